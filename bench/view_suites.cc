// P4, P5, P6 and P9 of bench/log_suites.h: measured in this process on the main log.
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <caf/all.hpp>
#include <chrono>
#include <thread>

#include "actors/client/api_client.h"
#include "actors/coordinator.h"
#include "actors/coordinator_options.h"
#include "actors/sim/workload.h"
#include "bench/answer_tally.h"
#include "bench/log_suites.h"
#include "bench/machine.h"
#include "bench/query_client.h"
#include "projections/partition_status_view.h"
#include "storage/sqlite_support.h"
#include "storage/storage_factory.h"

namespace bel::bench {
namespace {

constexpr int kQueryWindow = 1000;  // P4's queries in flight
constexpr int kListCalls = 200;     // P6's calls per figure

using Clock = std::chrono::steady_clock;

// A coordinator started in this process on a log, stopped with this object.
class Coordinator {
 public:
  static Result<std::unique_ptr<Coordinator>> start(const std::string& uri, bool read_only) {
    auto c = std::unique_ptr<Coordinator>(new Coordinator());
    actors::CoordinatorOptions options;
    options.read_only = read_only;
    auto api = actors::start_coordinator(c->system_, uri, options);
    if (!api.ok()) return api.error();
    c->api_ = *api;
    c->started_ = true;
    return c;
  }
  ~Coordinator() {
    if (started_) actors::stop_coordinator(api_);
    system_.await_all_actors_done();
  }
  caf::actor_system& system() { return system_; }
  const actors::BelApi& api() const { return api_; }
  actors::ApiClient client() { return actors::ApiClient(system_, api_, std::chrono::minutes(10)); }

  // Waits until every view is healthy at the log's last idx (they restore their snapshots).
  Status wait_for_views() {
    const auto start = Clock::now();
    while (true) {
      auto status = client().views_status();
      if (!status.ok()) return status.error();
      bool ready = true;
      for (const auto& v : status->views()) {
        ready = ready && v.state() == v1::VIEW_HEALTHY && v.applied_idx() >= status->last_idx();
      }
      if (ready) return ok_status();
      if (seconds_since(start) > 600) {
        return make_error(ErrorCode::timeout, "the views did not catch up within 600 s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

 private:
  Coordinator() : system_((actors::configure_actor_system(config_), config_)) {}
  caf::actor_system_config config_;
  caf::actor_system system_;
  actors::BelApi api_;
  bool started_ = false;
};

// P4's questions: partition_status of refs half from the hot head (the first 1% of the
// generator's space), half from the whole space, and the partition with the most events.
std::vector<Query> status_queries(const BenchLog& log, int64_t min_idx) {
  sim::WorkloadOptions options;
  options.seed = log.seed;
  options.partitions = log.scale.partitions;
  sim::Workload workload(options);
  const int64_t space = workload.partition_count();
  const int64_t head = std::max<int64_t>(1, space / 100);
  std::vector<Query> out;
  uint64_t x = log.seed * 0x9E3779B97F4A7C15ULL + 1;
  for (int i = 0; i < 4096; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const int64_t n = static_cast<int64_t>(x % static_cast<uint64_t>(i % 2 == 0 ? head : space));
    Query q;
    q.set_min_idx(min_idx);
    q.mutable_partition_status()->set_partition_ref(i == 0 ? log.hot_partition
                                                           : workload.partition_ref(n));
    out.push_back(std::move(q));
  }
  return out;
}

// The seed's design: one question answered by folding every event of the log. Queries/s.
Result<double> fold_whole_log_rate(const BenchLog& log, const std::string& ref) {
  storage::StorageOptions options;
  options.read_only = true;
  auto reader = storage::open_storage(log.uri, options);
  if (!reader.ok()) return reader.error();
  const auto start = Clock::now();
  projections::PartitionStatusView view;
  int64_t since = 0;
  while (true) {
    auto page = (*reader)->list_events(since, EventFilter(), storage::kMaxListLimit);
    if (!page.ok()) return page.error();
    for (const auto& e : page->events()) view.apply(e);
    since = page->next_idx();
    if (!page->has_more()) break;
  }
  const auto answer = view.status(ref);
  const double seconds = seconds_since(start);
  if (answer.partition_ref() != ref) return make_error(ErrorCode::internal, "fold: wrong answer");
  return seconds > 0 ? 1.0 / seconds : 0.0;
}

// The ceiling of a rebuild: every event row read in idx order by raw SQLite and parsed (the
// payload, then the fields its columns keep). Events/s.
Result<double> raw_scan_parse_rate(const BenchLog& log) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(log.path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return make_error(ErrorCode::storage_unavailable, "bench: cannot open " + log.path);
  }
  sqlite3_stmt* stmt = nullptr;
  const auto start = Clock::now();
  int64_t parsed = 0;
  const std::string sql =
      std::string("SELECT ") + storage::kEventRowColumns + " FROM events ORDER BY idx";
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  BuildEvent event;
  while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (!storage::read_event_row(stmt, 0, log.uri, "scan", &event).ok()) break;
    ++parsed;
    rc = SQLITE_OK;
  }
  const double seconds = seconds_since(start);
  const std::string message = sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  if (rc != SQLITE_DONE || parsed != log.events) {
    return make_error(ErrorCode::storage_corrupt,
                      fmt::format("bench: scanning {}: {} of {} events parsed ({})", log.path,
                                  parsed, log.events, message));
  }
  return seconds > 0 ? static_cast<double>(parsed) / seconds : 0.0;
}

// Checkpoints the log's WAL into its file (TRUNCATE), so that P9 measures the settled file, and
// describes where its bytes are: "events 291, event_keys 66, ..." per event (SQLite's dbstat),
// or why it cannot.
std::string checkpoint_and_describe(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return "unknown (cannot open the file)";
  }
  sqlite3_busy_timeout(db, 10000);
  sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
  std::string out;
  int64_t events = 0;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    events = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  stmt = nullptr;
  const char* sql = "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC";
  if (events > 0 && sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const double per_event = static_cast<double>(sqlite3_column_int64(stmt, 1)) / events;
      if (per_event < 0.5) continue;
      out += fmt::format("{}{} {:.0f}", out.empty() ? "" : ", ",
                         reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), per_event);
    }
  } else {
    out = std::string("unknown (") + sqlite3_errmsg(db) + ")";
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// `measure(run, log)` on the main log (SuiteRun::main_log), or the error of getting it.
template <class Measure>
Result<Figure> on_main_log(SuiteRun& run, Measure measure) {
  auto log = run.main_log();
  if (!log.ok()) return log.error();
  return measure(run, **log);
}

}  // namespace

Result<std::vector<double>> raw_scan_parse_rates(SuiteRun& run, const BenchLog& log,
                                                 const char* figure) {
  const std::string key = "raw scan+parse " + log.scale.name;
  if (auto it = run.measured.find(key); it != run.measured.end()) return it->second;
  const int reps = run.options().repetitions;
  std::vector<double> rates;
  for (int rep = 0; rep < reps; ++rep) {
    run.progress(log_phase(figure, log, "raw scan+parse", rep, reps), rep, reps);
    auto rate = raw_scan_parse_rate(log);
    if (!rate.ok()) return rate.error();
    rates.push_back(*rate);
  }
  run.measured[key] = rates;
  return rates;
}

void note_ceiling_below(Figure& f, double target_rate) {
  if (!f.pass_note.empty() || f.baseline <= 0 || f.baseline >= target_rate) return;
  if (!f.detail.empty()) f.detail += "\n";
  f.detail += fmt::format(
      "this machine's raw scan+parse ceiling, measured in this run ({:.0f}/s), is below the "
      "{:.0f}/s target: one thread reading and parsing the log, and nothing else, does not "
      "reach it here",
      f.baseline, target_rate);
}

Figure log_figure(const std::string& id, const BenchLog& log, std::string unit,
                  std::string target) {
  Figure f;
  f.id = id;
  f.unit = std::move(unit);
  f.target = std::move(target);
  f.events = log.events;
  f.baseline_events = log.events;
  f.baseline_what = "none (absolute)";
  return f;
}

void finish_figure(Figure& f) {
  f.value = median(f.values);
  f.baseline = median(f.baselines);
  f.ratio = f.baseline > 0 ? f.value / f.baseline : 0;
}

void judge(const SuiteRun& run, Figure& f, bool pass) {
  f.pass = pass;
  if (run.options().quick) f.pass_note = "n/a at quick scale";
}

std::string log_phase(const char* id, const BenchLog& log, const std::string& what, int rep,
                      int reps) {
  return fmt::format("{} {} ({} log, run {}/{})", id, what, log.scale.name, rep + 1, reps);
}

static Result<Figure> p4_on(SuiteRun& run, const BenchLog& l) {
  Figure f = log_figure("P4", l, "queries/s", ">= 200000/s and >= 1000x");
  const int reps = run.options().repetitions;
  const int64_t count = run.options().quick ? 20000 : 400000;
  {
    auto coordinator = Coordinator::start(l.uri, /*read_only=*/true);
    if (!coordinator.ok()) return coordinator.error();
    BEL_RETURN_IF_ERROR((*coordinator)->wait_for_views());
    const auto queries = status_queries(l, l.events);
    for (int rep = 0; rep < reps; ++rep) {
      run.progress(log_phase("P4", l, "queries", rep, reps), rep, reps);
      auto rate = measure_query_rate((*coordinator)->system(), (*coordinator)->api(), queries,
                                     count, kQueryWindow);
      if (!rate.ok()) return rate.error().with_context(l.path);
      f.values.push_back(*rate);
    }
  }
  for (int rep = 0; rep < reps; ++rep) {
    run.progress(log_phase("P4", l, "fold per query", rep, reps), rep, reps);
    auto rate = fold_whole_log_rate(l, l.hot_partition);
    if (!rate.ok()) return rate.error().with_context(l.path);
    f.baselines.push_back(*rate);
  }
  finish_figure(f);
  judge(run, f, f.value >= 200000 && f.ratio >= 1000);
  f.what = fmt::format(
      "partition_status queries/s through the bel_api of a read-only coordinator on the log, "
      "views loaded, {} in flight, {} per run",
      kQueryWindow, count);
  f.baseline_what =
      "the seed's scan-per-query design: one partition_status answered by folding the whole log "
      "(list_events pages of 10000 into the partition status view)";
  f.detail = fmt::format("fold per query: {:.2f} s", f.baseline > 0 ? 1 / f.baseline : 0);
  return f;
}

Result<Figure> measure_p4(SuiteRun& run) { return on_main_log(run, p4_on); }

static Result<Figure> p5_on(SuiteRun& run, const BenchLog& l) {
  Figure f = log_figure("P5", l, "events/s", ">= 1000000/s and >= 0.5x");
  const int reps = run.options().repetitions;
  std::vector<double> cpu_per_event;
  {
    auto coordinator = Coordinator::start(l.uri, /*read_only=*/false);
    if (!coordinator.ok()) return coordinator.error();
    BEL_RETURN_IF_ERROR((*coordinator)->wait_for_views());
    for (int rep = 0; rep < reps; ++rep) {
      run.progress(log_phase("P5", l, "rebuild", rep, reps), rep, reps);
      const auto start = Clock::now();
      const double cpu_start = process_cpu_seconds();
      auto rebuilt = (*coordinator)->client().rebuild("", std::chrono::hours(2));
      const double seconds = seconds_since(start);
      if (!rebuilt.ok()) return rebuilt.error().with_context(l.path);
      const auto events = static_cast<double>(std::max<int64_t>(1, rebuilt->last_idx()));
      cpu_per_event.push_back((process_cpu_seconds() - cpu_start) / events);
      f.values.push_back(seconds > 0 ? static_cast<double>(rebuilt->last_idx()) / seconds : 0);
    }
  }
  auto raw = raw_scan_parse_rates(run, l, "P5");
  if (!raw.ok()) return raw.error();
  f.baselines = *raw;
  finish_figure(f);
  judge(run, f, f.value >= 1000000 && f.ratio >= 0.5);
  f.what =
      "events/s of rebuilding every view (the coordinator's rebuild of \"\", snapshots "
      "written), in this process";
  f.baseline_what = kRawScanParseWhat;
  f.detail = fmt::format("process CPU per event rebuilt: {:.2f} us (all threads; median)",
                         median(cpu_per_event) * 1e6);
  note_ceiling_below(f, 1000000);
  return f;
}

Result<Figure> measure_p5(SuiteRun& run) { return on_main_log(run, p5_on); }

Result<std::vector<Figure>> measure_p6(SuiteRun& run) {
  auto log = run.main_log();
  if (!log.ok()) return log.error();
  const BenchLog& l = **log;
  storage::StorageOptions options;
  options.read_only = true;
  auto reader = storage::open_storage(l.uri, options);
  if (!reader.ok()) return reader.error();
  EventFilter filter;
  filter.add_partition_refs(l.hot_partition);
  const int reps = run.options().repetitions;
  std::vector<Figure> out;
  const std::pair<const char*, std::function<Result<EventPage>(storage::Storage&)>> orders[] = {
      {"oldest-first", [&](storage::Storage& s) { return s.list_events(0, filter, 10); }},
      {"newest-first",
       [&](storage::Storage& s) { return s.list_events_backward(0, filter, 10); }}};
  for (const auto& [order, call] : orders) {
    Figure f = log_figure(std::string("P6 ") + order, l, "ms", "<= 1 ms median");
    f.what = fmt::format(
        "list_events of {} ({} events), a page of 10, {}, on a read-only "
        "storage: median ms per call over {} calls",
        l.hot_partition, l.hot_partition_events, order, kListCalls);
    if (!call) {
      f.pass_note = "not measured: no descending scan in the storage interface yet";
      out.push_back(std::move(f));
      continue;
    }
    for (int rep = 0; rep < reps; ++rep) {
      run.progress(log_phase("P6", l, order, rep, reps), rep, reps);
      std::vector<double> calls;
      for (int i = 0; i < kListCalls; ++i) {
        const auto start = Clock::now();
        auto page = call(**reader);
        calls.push_back(seconds_since(start) * 1000);
        if (!page.ok()) return page.error().with_context(l.path);
        if (page->events_size() != std::min<int64_t>(10, l.hot_partition_events)) {
          return make_error(ErrorCode::internal,
                            fmt::format("{}: list_events of {} returned {} events", l.path,
                                        l.hot_partition, page->events_size()));
        }
      }
      f.values.push_back(median(calls));
    }
    finish_figure(f);
    judge(run, f, f.value <= 1.0 && l.hot_partition_events >= 100);
    f.detail = fmt::format("per-run medians (ms): {:.3f}", fmt::join(f.values, ", "));
    out.push_back(std::move(f));
  }
  return out;
}

static Result<Figure> p9_on(SuiteRun& run, const BenchLog& l) {
  Figure f = log_figure("P9", l, "bytes/event", "<= 400 bytes/event");
  const std::string parts = checkpoint_and_describe(l.path);
  const int64_t bytes = log_bytes_on_disk(l.path);
  f.values.push_back(static_cast<double>(bytes) / static_cast<double>(l.events));
  finish_figure(f);
  run.measured["P9 " + l.scale.name] = f.values;
  judge(run, f, f.value <= 400);
  f.what =
      "bytes on disk per event: the SQLite file (after a WAL checkpoint) and its WAL: events, "
      "id index, per-build index, key index, snapshots, meta";
  f.detail = fmt::format(
      "{} bytes for {} events; payloads {:.0f} bytes of JSON per event ({:.0f} as protobuf); "
      "bytes per event by table and index: {}",
      bytes, l.events, l.json_bytes_per_event, l.payload_bytes_per_event, parts);
  return f;
}

Result<Figure> measure_p9(SuiteRun& run) { return on_main_log(run, p9_on); }

}  // namespace bel::bench
