#include "bench/append_suites.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "bench/acked_appends.h"
#include "bench/machine.h"
#include "bench/raw_sqlite.h"
#include "messages/event_id.h"

namespace bel::bench {
namespace {

// The targets' ratios to the baselines (SPEC section 8).
constexpr double kP1MinRatio = 0.5;
constexpr double kP1rMinRatio = 0.6;
constexpr double kP2MinRatio = 0.6;
constexpr double kP3MinRatio = 20;

std::string phase(const char* id, const char* what, int rep, int reps) {
  return fmt::format("{} {} (run {}/{})", id, what, rep + 1, reps);
}

// Runs `measure(path)` on a fresh database file named `file` in the run's directory and removes
// the file afterwards, whatever the outcome; returns what `measure` returned.
template <typename Measure>
auto on_fresh_db(SuiteRun& run, const std::string& file, const Measure& measure)
    -> decltype(measure(file)) {
  const std::string path = run.fresh_db_path(file);
  auto measured = measure(path);
  run.remove_db(path);
  return measured;
}

// bel's acked appends of `events` with `window` in flight, on a fresh log that is removed after.
Result<AckedAppends> bel_appends(SuiteRun& run, const std::vector<BuildEvent>& events, int window,
                                 const std::string& file, const std::string& phase_name,
                                 std::optional<AppendPath> path_override = std::nullopt) {
  return on_fresh_db(run, file, [&](const std::string& path) {
    AckedAppendsOptions options;
    options.log_path = path;
    options.window = window;
    options.durability_full = run.options().durability_full;
    options.path = path_override.value_or(run.options().path);
    options.client = run.options().client;
    return measure_acked_appends(options, events, run.progress_of(phase_name));
  });
}

// One repetition of a figure measured against a baseline. Odd repetitions measure the baseline
// first, so that neither side always runs on a disk the other just left busy.
Status run_pair(int rep, const std::function<Status()>& candidate,
                const std::function<Status()>& baseline) {
  if (rep % 2 == 1) {
    BEL_RETURN_IF_ERROR(baseline());
    return candidate();
  }
  BEL_RETURN_IF_ERROR(candidate());
  return baseline();
}

// A figure in appends/s over `n` events, candidate and baseline on the same `n`.
Figure appends_figure(const char* id, int64_t n, std::string target) {
  Figure f;
  f.id = id;
  f.unit = "appends/s";
  f.events = n;
  f.baseline_events = n;
  f.target = std::move(target);
  return f;
}

std::string via(const SuiteRun& run) {
  switch (run.options().path) {
    case AppendPath::coordinator:
      return run.options().client == AppendClient::appender
                 ? "the client library's Appender to the bel_api of an in-process coordinator "
                   "(storage actor + views)"
                 : "one request per append to the bel_api of an in-process coordinator "
                   "(storage actor + views)";
    case AppendPath::storage_actor:
      return "the storage actor alone (no views)";
    case AppendPath::pure_actor:
      return "not bel: an actor that writes each as one pure-append row and answers after COMMIT "
             "(no id, index, rules or views)";
    case AppendPath::ids_actor:
      return "not bel: an actor that writes each as one row with its id under UNIQUE and answers "
             "after COMMIT (no key index, rules or views)";
  }
  return "";
}

// `events` with ids as bel's client library assigns them (P1: "ids assigned by bel or by its
// client library"): time-ordered UUIDv7s, so the log's id index grows at its end.
std::vector<BuildEvent> with_client_ids(const std::vector<BuildEvent>& events) {
  std::vector<BuildEvent> out = events;
  for (auto& e : out) e.set_event_id(new_event_id());
  return out;
}

std::string latency_text(const std::vector<Latency>& runs) {
  std::vector<double> p50, p99, p999;
  for (const auto& l : runs) {
    p50.push_back(l.p50);
    p99.push_back(l.p99);
    p999.push_back(l.p999);
  }
  return fmt::format("ack latency p50 {:.0f} us, p99 {:.0f} us, p99.9 {:.0f} us", median(p50),
                     median(p99), median(p999));
}

void finish(Figure& f) {
  f.value = median(f.values);
  f.baseline = median(f.baselines);
  f.ratio = f.baseline > 0 ? f.value / f.baseline : 0;
}

// P1's value per repetition, measured for P3 when P1 did not run.
Result<std::vector<double>> p1_values(SuiteRun& run, int64_t* events_out) {
  const int64_t n = events_for(run.options(), kP1DefaultEvents);
  *events_out = n;
  if (run.p1_values && run.p1_events == n) return *run.p1_values;
  const auto events = with_client_ids(run.events(n));
  const int reps = run.options().repetitions;
  std::vector<double> values;
  for (int rep = 0; rep < reps; ++rep) {
    auto m = bel_appends(run, events, run.options().in_flight, "p3-bel.db",
                         phase("P3", "bel as P1", rep, reps));
    if (!m.ok()) return m.error();
    values.push_back(m->per_second);
  }
  run.p1_values = values;
  run.p1_events = n;
  return values;
}

}  // namespace

namespace {

// A raw SQLite ceiling of bench/raw_sqlite.h: raw_batch_inserts or pure_append_ceiling.
using RawCeiling = Result<RawRate> (*)(const std::string& path, const std::vector<RawRow>& rows,
                                       int64_t batch_size, bool durability_full,
                                       const ProgressFn& progress);

// What a 1000-in-flight figure (P1, P1r) compares: bel's acked appends of `events` against
// `ceiling` over `rows` (the same events as raw rows), raw SQLite in transactions of the group
// size bel achieved in the same repetition (when the ceiling runs first, in odd repetitions, the
// previous one's; the first: the window). Fills values, baselines and the detail line (group
// sizes, ack latencies).
Status measure_in_flight(SuiteRun& run, Figure& f, const std::vector<BuildEvent>& events,
                         const char* ceiling_name, RawCeiling ceiling,
                         const std::vector<RawRow>& rows, double* group_out) {
  const int reps = run.options().repetitions;
  const std::string bel_db = fmt::format("{}-bel.db", f.id);
  const std::string raw_db = fmt::format("{}-raw.db", f.id);
  std::vector<double> groups;
  std::vector<Latency> latencies;
  std::vector<double> cpu_per_append;
  std::vector<double> storage_share, storage_per_append;  // the storage actor's thread
  std::vector<double> commit_share, index_share;          // of its wall time
  std::vector<double> runqueue_share;                     // its wait for a core
  std::vector<double> per_message;                        // appends per message sent
  int64_t largest = 0;
  for (int rep = 0; rep < reps; ++rep) {
    auto candidate = [&]() -> Status {
      auto m = bel_appends(run, events, run.options().in_flight, bel_db,
                           phase(f.id.c_str(), "bel", rep, reps));
      if (!m.ok()) return m.error();
      cpu_per_append.push_back(m->cpu_seconds /
                               static_cast<double>(std::max<int64_t>(1, m->events)));
      if (m->storage_thread_cpu_seconds >= 0 && m->seconds > 0) {
        storage_share.push_back(m->storage_thread_cpu_seconds / m->seconds);
        storage_per_append.push_back(m->storage_thread_cpu_seconds /
                                     static_cast<double>(std::max<int64_t>(1, m->events)));
      }
      if (m->storage_thread_runqueue_seconds >= 0 && m->seconds > 0) {
        runqueue_share.push_back(m->storage_thread_runqueue_seconds / m->seconds);
      }
      if (m->storage_commit_seconds >= 0 && m->seconds > 0) {
        commit_share.push_back(m->storage_commit_seconds / m->seconds);
        index_share.push_back(m->storage_index_seconds / m->seconds);
      }
      f.values.push_back(m->per_second);
      groups.push_back(m->average_group());
      per_message.push_back(static_cast<double>(m->events) /
                            static_cast<double>(std::max<int64_t>(1, m->messages)));
      latencies.push_back(m->latency_us);
      largest = std::max<int64_t>(largest, m->stats.max_group_events());
      return ok_status();
    };
    auto baseline = [&]() -> Status {
      const auto group = std::max<int64_t>(
          1, groups.empty() ? run.options().in_flight : std::llround(groups.back()));
      auto raw = on_fresh_db(run, raw_db, [&](const std::string& path) {
        return ceiling(path, rows, group, run.options().durability_full,
                       run.progress_of(phase(f.id.c_str(), ceiling_name, rep, reps)));
      });
      if (!raw.ok()) return raw.error();
      f.baselines.push_back(raw->per_second);
      return ok_status();
    };
    BEL_RETURN_IF_ERROR(run_pair(rep, candidate, baseline));
  }
  finish(f);
  *group_out = median(groups);
  f.detail = fmt::format(
      "group commit: {:.1f} events per commit (runs: {}), largest {}; {}; process CPU per acked "
      "append {:.1f} us (all threads, producers included, from the first send to the last ack)",
      *group_out, join_rounded(groups), largest, latency_text(latencies),
      median(cpu_per_append) * 1e6);
  f.detail += fmt::format("; {:.1f} appends per message the producers sent (runs: {})",
                          median(per_message), join_rounded(per_message));
  if (f.id == "P1") {
    if (auto note = cores_at_target(median(cpu_per_append), kP1MinPerSecond, online_cores());
        !note.empty()) {
      f.detail += "; " + note;
    }
  }
  // Every append passes through that one thread: near 100% of the window, it bounds the figure.
  if (!storage_share.empty()) {
    f.detail += fmt::format(
        "; the storage actor's thread on the CPU {:.0f}% of the window, {:.1f} us per acked append",
        median(storage_share) * 100, median(storage_per_append) * 1e6);
  }
  if (!runqueue_share.empty()) {
    f.detail += fmt::format(", waiting for a core {:.0f}%", median(runqueue_share) * 100);
  }
  // Its wall time, waits for the disk included: what is left it waited for appends.
  if (!commit_share.empty()) {
    f.detail += fmt::format(
        "; by the clock, in append groups (staging, commit, fsync, answers) {:.0f}% of the window "
        "and in index batches {:.0f}%",
        median(commit_share) * 100, median(index_share) * 100);
  }
  return ok_status();
}

// P1's ceilings for any actor design, in the same run (docs/performance.md, "Where P1's limit
// is"): the same single-event appends through one actor that only writes the pure-append row, or
// the row with its id under UNIQUE (what idempotency needs of an acknowledged append), and
// answers after COMMIT. Added to the detail, beside the pure-append ceiling they are compared
// with; nothing when --via is one of those actors already.
Status add_actor_ceilings(SuiteRun& run, Figure& f, const std::vector<BuildEvent>& events) {
  const AppendPath path = run.options().path;
  if (path == AppendPath::pure_actor || path == AppendPath::ids_actor) return ok_status();
  const int reps = run.options().repetitions;
  std::vector<double> pure, ids;
  for (int rep = 0; rep < reps; ++rep) {
    for (int k = 0; k < 2; ++k) {
      const bool with_ids = (k + rep) % 2 == 0;
      const AppendPath actor = with_ids ? AppendPath::ids_actor : AppendPath::pure_actor;
      auto m = bel_appends(run, events, run.options().in_flight, "p1-actor.db",
                           phase("P1", to_string(actor), rep, reps), actor);
      if (!m.ok()) return m.error();
      (with_ids ? ids : pure).push_back(m->per_second);
    }
  }
  note_actor_ceilings(f, median(pure), median(ids), !run.options().quick, run.options().client);
  return ok_status();
}

}  // namespace

void note_actor_ceilings(Figure& f, double pure_per_s, double ids_per_s, bool judged,
                         AppendClient client) {
  const double ceiling = f.baseline > 0 ? f.baseline : 1;
  const double ids_ratio = ids_per_s / ceiling;
  f.detail += fmt::format(
      "; actor-fed ceilings in this run (not bel: one actor writes each append and answers "
      "after COMMIT, its appends sent as bel's are, {}): one pure-append row each {:.0f}/s ({}), "
      "the row with its id under UNIQUE {:.0f}/s ({})",
      client == AppendClient::appender ? "through the Appender" : "a request each", pure_per_s,
      ratio_text(pure_per_s / ceiling), ids_per_s, ratio_text(ids_ratio));
  if (!judged) return;
  std::vector<std::string> below;
  if (ids_ratio < kP1MinRatio) {
    below.push_back(fmt::format("{} of the pure-append ceiling, below the {}x target",
                                ratio_text(ids_ratio), kP1MinRatio));
  }
  if (ids_per_s < kP1MinPerSecond) {
    below.push_back(fmt::format("{:.0f}/s, below the {:.0f}/s target", ids_per_s, kP1MinPerSecond));
  }
  if (below.empty()) return;
  f.detail += fmt::format(
      "\none actor that writes each append with its unique id (what idempotency needs) and "
      "nothing else reaches {} in this run",
      fmt::join(below, " and "));
}

Result<Figure> measure_p1(SuiteRun& run) {
  const int64_t n = events_for(run.options(), kP1DefaultEvents);
  const auto events = with_client_ids(run.events(n));
  const std::vector<RawRow> rows = raw_rows(events);
  Figure f =
      appends_figure("P1", n, fmt::format(">= {:.0f}/s and >= {}x", kP1MinPerSecond, kP1MinRatio));
  double group = 0;
  // The pure-append ceiling: what the disk allows for one integer-keyed row per event.
  BEL_RETURN_IF_ERROR(measure_in_flight(run, f, events, "pure-append ceiling", pure_append_ceiling,
                                        rows, &group));
  f.pass = f.value >= kP1MinPerSecond && f.ratio >= kP1MinRatio;
  f.what = fmt::format("acked appends/s, {} single-event appends in flight, through {}",
                       run.options().in_flight, via(run));
  f.baseline_what = fmt::format(
      "pure-append ceiling: one row per event (integer key, payload) in raw SQLite, 1 "
      "transaction per {:.0f} rows (the group size bel achieved), no id, no index, no actors",
      group);
  f.detail = "ids from the client library (UUIDv7); " + f.detail;
  BEL_RETURN_IF_ERROR(add_actor_ceilings(run, f, events));
  run.p1_values = f.values;
  run.p1_events = n;
  return f;
}

Result<Figure> measure_p1r(SuiteRun& run) {
  const int64_t n = events_for(run.options(), kP1DefaultEvents);
  // The workload's own ids: random version-4 UUIDs, as a producer that assigns its own sends.
  const auto& events = run.events(n);
  const std::vector<RawRow> rows = raw_rows(events);
  Figure f = appends_figure("P1r", n, fmt::format(">= {}x", kP1rMinRatio));
  double group = 0;
  BEL_RETURN_IF_ERROR(measure_in_flight(run, f, events, "raw ceiling, same ids", raw_batch_inserts,
                                        rows, &group));
  f.pass = f.ratio >= kP1rMinRatio;
  f.what = fmt::format(
      "acked appends/s, {} single-event appends in flight, random v4 event_ids from the "
      "producers, through {}",
      run.options().in_flight, via(run));
  f.baseline_what = fmt::format(
      "raw SQLite with the same ids and bel's schema (events rows, the unique event_id index), 1 "
      "transaction per {:.0f} rows (the group size bel achieved), no validation, no actors",
      group);
  f.detail = "random v4 ids: the unique index takes one random page per event; " + f.detail;
  return f;
}

Result<Figure> measure_p2(SuiteRun& run) {
  const int64_t n = events_for(run.options(), kP2DefaultEvents);
  // A producer's ids, as in P1: P1r is the figure for random ids from producers.
  const auto events = with_client_ids(run.events(n));
  const std::vector<RawRow> rows = raw_rows(events);
  const int reps = run.options().repetitions;
  Figure f = appends_figure("P2", n, fmt::format(">= {}x", kP2MinRatio));
  int64_t commits = 0;
  std::vector<Latency> latencies;
  for (int rep = 0; rep < reps; ++rep) {
    auto candidate = [&]() -> Status {
      auto m = bel_appends(run, events, 1, "p2-bel.db", phase("P2", "bel", rep, reps));
      if (!m.ok()) return m.error();
      f.values.push_back(m->per_second);
      latencies.push_back(m->latency_us);
      commits = m->stats.commits();
      return ok_status();
    };
    auto baseline = [&]() -> Status {
      auto raw = on_fresh_db(run, "p2-raw.db", [&](const std::string& path) {
        return raw_commit_per_row(path, rows, run.options().durability_full,
                                  run.progress_of(phase("P2", "raw SQLite per row", rep, reps)));
      });
      if (!raw.ok()) return raw.error();
      f.baselines.push_back(raw->per_second);
      return ok_status();
    };
    BEL_RETURN_IF_ERROR(run_pair(rep, candidate, baseline));
  }
  finish(f);
  f.pass = f.ratio >= kP2MinRatio;
  f.what =
      "acked appends/s, one at a time (the next sent after the previous ack), through " + via(run);
  f.baseline_what =
      "raw SQLite, one transaction per row, same rows and schema, no actors, no validation";
  f.detail = fmt::format(
      "ids from the client library (UUIDv7); {} commits for {} events in the last run; {}", commits,
      n, latency_text(latencies));
  return f;
}

Result<Figure> measure_p3(SuiteRun& run) {
  const int64_t naive_n = events_for(run.options(), kP3DefaultEvents);
  const bool reused =
      run.p1_values.has_value() && run.p1_events == events_for(run.options(), kP1DefaultEvents);
  Figure f;
  f.id = "P3";
  f.unit = "appends/s";
  f.target = fmt::format(">= {:.0f}x", kP3MinRatio);
  auto values = p1_values(run, &f.events);
  if (!values.ok()) return values.error();
  f.values = *values;
  const auto& naive_events = run.events(naive_n);
  f.baseline_events = naive_n;
  const int reps = run.options().repetitions;
  for (int rep = 0; rep < reps; ++rep) {
    auto naive = on_fresh_db(run, "p3-naive.db", [&](const std::string& path) {
      return naive_json_per_event(path, naive_events, run.options().durability_full,
                                  run.progress_of(phase("P3", "naive", rep, reps)));
    });
    if (!naive.ok()) return naive.error();
    f.baselines.push_back(naive->per_second);
  }
  finish(f);
  f.pass = f.ratio >= kP3MinRatio;
  f.what = std::string("P1's figure (") + (reused ? "the same runs" : "measured again") + ")";
  f.baseline_what =
      "the naive design: one transaction per event, JSON text payload, no actors, no group "
      "commit, on the first events of the same workload";
  f.detail = fmt::format("naive: {} events per run (each waits for its own fsync)", naive_n);
  return f;
}

}  // namespace bel::bench
