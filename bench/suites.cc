#include "bench/suites.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "bench/append_suites.h"
#include "bench/log_suites.h"
#include "bench/postgres_suites.h"

namespace bel::bench {

const std::vector<Suite>& suites() {
  static const std::vector<Suite> table = {
      {"p1", "P1",
       "acked appends/s, 1000 in flight, durability full, vs the raw SQLite batch-insert ceiling",
       kP1DefaultEvents, measure_p1},
      {"p1r", "P1r",
       "P1 with random v4 event_ids from the producers, vs raw SQLite with the same ids",
       kP1DefaultEvents, measure_p1r},
      {"p2", "P2", "acked appends/s, one at a time, durability full, vs raw one-commit-per-row",
       kP2DefaultEvents, measure_p2},
      {"p3", "P3", "P1 vs the naive design (a transaction per event, JSON text, no actors)",
       kP3DefaultEvents, measure_p3},
      {"p4", "P4", "partition status queries/s from the views vs folding the whole log per query",
       kMainLogEvents, measure_p4},
      {"p5", "P5", "rebuild of every view, events/s, vs a raw scan+parse of the log",
       kMainLogEvents, measure_p5},
      {"p6", "P6", "list_events of one partition, a page of 10, oldest- and newest-first",
       kMainLogEvents, nullptr, measure_p6},
      {"p7", "P7", "coordinator start to its first answered activity query", kMainLogEvents,
       measure_p7},
      {"p8", "P8", "coordinator memory (RSS) over the log, write-side state included",
       kMainLogEvents, measure_p8},
      {"p9", "P9", "disk bytes per event, indexes and snapshots included", kMainLogEvents,
       measure_p9},
      {"p10", "P10",
       "console commands without a coordinator, and a 1k-event bel append, vs the same on a "
       "~10k-event log",
       kMainLogEvents, nullptr, measure_p10},
      {"p11", "P11", "bel check and bel views rebuild: events/s, peak RSS", kMainLogEvents, nullptr,
       measure_p11},
      {"p12", "P12", "growth to a 10M-event log (--scale 10m): P7, P8, P9, P10 again",
       kGrowthLogEvents, nullptr, measure_p12},
      {"pg", "P1/P2 postgres", "P1 and P2 on PostgreSQL (--postgres URI) beside SQLite", 20000,
       nullptr, measure_postgres},
  };
  return table;
}

Result<std::vector<const Suite*>> select_suites(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::vector<const Suite*> out;
  std::string names;
  for (const auto& s : suites()) {
    if (lower.empty() || lower == "all" || lower == s.name) out.push_back(&s);
    names += s.name + ", ";
  }
  if (out.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "unknown suite \"" + name + "\" (suites: " + names + "all)");
  }
  return out;
}

int64_t events_for(const BenchOptions& options, int64_t suite_default) {
  return options.events > 0 ? options.events : suite_default;
}

std::string cores_at_target(double cpu_seconds_per_item, double target_per_second, int cores,
                            const char* item) {
  if (cpu_seconds_per_item <= 0 || target_per_second <= 0 || cores <= 0) return {};
  return fmt::format(
      "at this CPU per {}, {:.0f}/s would keep {:.2f} of this machine's {} cores busy", item,
      target_per_second, cpu_seconds_per_item * target_per_second, cores);
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

std::string ratio_text(double ratio) {
  if (ratio < 1) return fmt::format("{:.3f}x", ratio);
  if (ratio < 100) return fmt::format("{:.2f}x", ratio);
  return fmt::format("{:.0f}x", ratio);
}

std::string join_rounded(const std::vector<double>& values) {
  return fmt::format("{:.0f}", fmt::join(values, ", "));
}

sim::WorkloadOptions default_workload() {
  sim::WorkloadOptions options;
  options.seed = 1;
  options.partitions = 100000;
  options.event_ids = sim::EventIds::uuid;
  return options;
}

const std::vector<BuildEvent>& SuiteRun::events(int64_t n) {
  for (const auto& [size, workload] : workloads_) {
    if (size == n) return workload;
  }
  workloads_.emplace_back(n, sim::generate_events(default_workload(), n));
  return workloads_.back().second;
}

std::string SuiteRun::fresh_db_path(const std::string& name) {
  const std::string path = (std::filesystem::path(options_.dir) / name).string();
  remove_db(path);
  // Let the filesystem settle what earlier phases left (deleted logs, checkpoints), so that it is
  // not written back during, and charged to, the phase about to start.
  const int fd = open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    syncfs(fd);
    close(fd);
  }
  return path;
}

void SuiteRun::remove_db(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::filesystem::remove(path + suffix, ec);
  }
}

Result<const BenchLog*> SuiteRun::log_at(const LogScale& scale) {
  for (const auto& log : logs_) {
    if (log->scale.name == scale.name) return log.get();
  }
  auto log = ensure_log(options_.log_dir, scale, options_.seed, options_.progress);
  if (!log.ok()) return log.error();
  logs_.push_back(std::make_unique<BenchLog>(std::move(*log)));
  return logs_.back().get();
}

Result<const BenchLog*> SuiteRun::main_log() {
  return log_at(options_.quick ? scale_quick() : scale_1m());
}

Result<const BenchLog*> SuiteRun::small_log() {
  return log_at(options_.quick ? scale_quick_small() : scale_10k());
}

Result<const BenchLog*> SuiteRun::growth_log() {
  return log_at(options_.quick ? scale_quick_growth() : scale_10m());
}

void SuiteRun::progress(const std::string& phase, int64_t done, int64_t total) const {
  if (options_.progress) options_.progress(phase, done, total);
}

ProgressFn SuiteRun::progress_of(const std::string& phase) const {
  if (!options_.progress) return {};
  return [this, phase](int64_t done, int64_t total) { progress(phase, done, total); };
}

std::vector<BenchLog> SuiteRun::logs() const {
  std::vector<BenchLog> out;
  for (const auto& log : logs_) out.push_back(*log);
  return out;
}

Result<std::vector<Figure>> run_suites(const std::vector<const Suite*>& selected,
                                       const BenchOptions& options, std::vector<BenchLog>* logs) {
  SuiteRun run(options);
  std::vector<Figure> figures;
  for (const Suite* suite : selected) {
    if (suite->measure_rows) {
      auto rows = suite->measure_rows(run);
      if (!rows.ok()) return rows.error().with_context("bench " + suite->name);
      for (auto& f : *rows) figures.push_back(std::move(f));
    } else {
      auto figure = suite->measure(run);
      if (!figure.ok()) return figure.error().with_context("bench " + suite->name);
      figures.push_back(std::move(*figure));
    }
  }
  for (auto& f : figures) {
    if (options.quick && f.pass_note.empty()) f.pass_note = "n/a at quick scale";
    const bool at_window = f.id == "P1" || f.id == "P1r" || f.id == "P3";
    if (at_window && options.in_flight != kP1Window && f.pass_note.empty()) {
      f.pass_note = fmt::format("not judged at {} in flight (the target is at {})",
                                options.in_flight, kP1Window);
    }
    const bool appends = at_window || f.id == "P2";
    const bool not_bel =
        options.path == AppendPath::pure_actor || options.path == AppendPath::ids_actor;
    if (appends && not_bel && f.pass_note.empty()) {
      f.pass_note = fmt::format("not judged: not bel (--via {}, a ceiling for actor-fed appends)",
                                to_string(options.path));
    }
  }
  if (logs != nullptr) *logs = run.logs();
  return figures;
}

}  // namespace bel::bench
