// The suites of `bel bench` (SPEC section 8) and the figures they measure. Each figure puts bel's
// value beside a baseline measured in the same process, on the same events, on the same disk, in
// the same run, so that the ratio compares across machines:
//
//   p1  acked appends/s, 1000 in flight, durability full    vs the raw SQLite batch-insert
//       (default 200000 events)                                ceiling at the achieved group size
//   p2  acked appends/s, one at a time, durability full     vs raw SQLite, one commit per row
//       (default 2000 events)
//   p3  P1's figure                                         vs the naive design: a transaction
//       (naive default 2000 events)                            per event, JSON text, no actors
//   p4..p12  queries, rebuild, list_events, start, memory, disk, console commands, check, growth
//       on generated logs kept in a cache (bench/log_suites.h, bench/bench_log.h)
//
//   auto selected = bel::bench::select_suites("all");        // or "p1", "p2", ...
//   if (!selected.ok()) usage(selected.error());             // lists the suite names
//   bel::bench::BenchOptions options;
//   options.dir = "/tmp/bel-bench-x";                         // must exist; files are removed
//   auto figures = bel::bench::run_suites(*selected, options);
//   for (const auto& f : *figures) print(f.id, f.value, f.baseline, f.ratio, f.pass);
//
// Adding a suite: write its run function in its own file of bench/, declare it below and add a
// row to the table in suites.cc.
#ifndef BEL_BENCH_SUITES_H_
#define BEL_BENCH_SUITES_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/sim/workload.h"
#include "bench/acked_appends.h"
#include "bench/bench_log.h"
#include "messages/error.h"
#include "messages/types.h"

namespace bel::bench {

// P1's appends in flight (SPEC section 8), where its targets (and P1r's and P3's) are judged.
inline constexpr int kP1Window = 1000;

struct BenchOptions {
  std::string dir;      // an existing directory for the temporary files; each is removed
  int64_t events = 0;   // events per suite; 0 = each suite's default
  int repetitions = 3;  // per figure; value and baseline are the medians
  bool durability_full = true;
  AppendPath path = AppendPath::coordinator;
  AppendClient client = AppendClient::appender;  // of a coordinator's appends
  // P1, P1r and P3's appends in flight: SPEC's 1000 by default, where their targets are judged.
  // More are kept by several producers of at most 1000 each (a diagnostic of bel's cost per
  // append as the appends in flight grow).
  int in_flight = kP1Window;
  // P4..P12: where generated logs are kept between runs (must exist), their seed, and the scale:
  // "1m" (P4..P11 on the 1M-event log; P12 not measured) or "10m" (also P12 on a 10M-event log).
  std::string log_dir;
  uint64_t seed = 1;
  std::string scale = "1m";
  // A libpq URI of a PostgreSQL database: the `pg` suite measures P1 and P2 there too, each on a
  // fresh schema (bel_bench_<pid>_<n>, left in place), beside the same figure on SQLite.
  std::string postgres;
  // Every figure at a small scale, in seconds: absolute targets are not judged (pass_note).
  bool quick = false;
  // The `bel` binary P7, P8, P10 and P11 run as child processes (default: this executable).
  std::string bel_binary;
  // Called from the calling thread: the phase under way ("P1 bel, run 1/3") and its progress.
  std::function<void(const std::string& phase, int64_t done, int64_t total)> progress;
};

struct Figure {
  std::string id;             // "P1"; a figure of several rows names each: "P10 activity"
  std::string what;           // what `value` measures, for people
  std::string unit;           // of value and baseline: "appends/s"
  double value = 0;           // bel's figure (median over the repetitions)
  std::string baseline_what;  // what `baseline` measures
  double baseline = 0;        // median over the repetitions
  double ratio = 0;           // value / baseline (0 when the baseline is 0)
  std::string target;         // the SPEC's target, e.g. ">= 100000/s and >= 0.6x"
  bool pass = false;
  // When set, what the pass column says instead of pass/fail ("n/a at quick scale", "not
  // measured: ..."); `pass` then means nothing.
  std::string pass_note;
  int64_t events = 0;             // events bel appended per repetition
  int64_t baseline_events = 0;    // events the baseline wrote per repetition
  std::vector<double> values;     // per repetition
  std::vector<double> baselines;  // per repetition
  std::string detail;             // e.g. group commit sizes
};

// The workload of `bel bench` (SPEC section 8): realistic DataBuild flows (actors/sim/workload.h)
// over 100,000 partitions with a hot head, valid under the strict rules so that a fresh log
// accepts every event in order; event ids UUID-shaped, as a producer that retries with its own ids
// sends them (the log checks each for idempotency, as in production); idx 0 (as appended);
// timestamps and status names set, so that what the log stores is byte for byte what a baseline
// that bypasses the log stores.
sim::WorkloadOptions default_workload();

// What the suites of one run share: the options, the workload (generated once per size), the
// temporary files, and figures a later suite compares with (P3 reuses P1's values).
class SuiteRun {
 public:
  explicit SuiteRun(const BenchOptions& options) : options_(options) {}

  const BenchOptions& options() const { return options_; }
  // The first `n` events of default_workload().
  const std::vector<BuildEvent>& events(int64_t n);
  // A path in options().dir for a database file named `name`; any leftover is removed first and
  // the filesystem is synced, so that the phase about to start does not pay for earlier ones.
  std::string fresh_db_path(const std::string& name);
  // Removes the database file at `path` with its -wal and -shm files.
  void remove_db(const std::string& path);
  // Reports progress of `phase` to options().progress, if any.
  void progress(const std::string& phase, int64_t done, int64_t total) const;
  ProgressFn progress_of(const std::string& phase) const;

  // P1's per-repetition values once measured, with the events they appended.
  std::optional<std::vector<double>> p1_values;
  int64_t p1_events = 0;

  // P4..P12's logs: the main one (1M events, or the quick scale), P10's small one (~10k) and
  // P12's growth one (10M); each generated or found in options().log_dir once per run.
  Result<const BenchLog*> main_log();
  Result<const BenchLog*> small_log();
  Result<const BenchLog*> growth_log();
  // Every log the suites asked for so far.
  std::vector<BenchLog> logs() const;
  // Whether P12 runs: --scale 10m, or --quick (at its own small scale).
  bool growth_enabled() const { return options_.quick || options_.scale == "10m"; }
  // Per-repetition values measured on a log, by "<figure> <scale>" ("P7 1m", "P10 activity 1m"):
  // P7 and P8 share their runs, and P12 compares with the main log's figures of this run.
  std::map<std::string, std::vector<double>> measured;
  // What failed in those measurements (a console command's exit and message), by the same keys.
  std::map<std::string, std::string> failures;

 private:
  Result<const BenchLog*> log_at(const LogScale& scale);

  const BenchOptions& options_;
  std::vector<std::pair<int64_t, std::vector<BuildEvent>>> workloads_;
  std::vector<std::unique_ptr<BenchLog>> logs_;
};

struct Suite {
  std::string name;        // on the command line: "p1"
  std::string id;          // of its figure: "P1"
  std::string summary;     // one line for --help
  int64_t default_events;  // when BenchOptions::events is 0
  std::function<Result<Figure>(SuiteRun& run)> measure;
  // A suite of several rows (P6, P10, P11, P12) sets this instead of `measure`.
  std::function<Result<std::vector<Figure>>(SuiteRun& run)> measure_rows = {};
};

// Every suite, in order.
const std::vector<Suite>& suites();

// The suites `name` selects: "all" (or "") is every suite, else the one with that name (any
// case). invalid_argument listing the names otherwise.
Result<std::vector<const Suite*>> select_suites(const std::string& name);

// Runs `selected` in order and returns one figure per suite. An error when a measurement could
// not run (a file could not be written, an append was refused); a missed target is not an
// error (Figure::pass). REQUIRES: options.dir exists, options.repetitions >= 1
// `logs`, when not null, receives the generated logs the suites used (made or found in the cache).
Result<std::vector<Figure>> run_suites(const std::vector<const Suite*>& selected,
                                       const BenchOptions& options,
                                       std::vector<BenchLog>* logs = nullptr);

// The median of `values` (the mean of the middle two for an even count); 0 when empty.
double median(std::vector<double> values);

// What a rate target asks of the machine at the CPU one item cost in the run: "at this CPU per
// append, 100000/s would keep 1.82 of this machine's 2 cores busy" (all of the process's threads
// together, so that a run shows how near the target is to the cores it has); `item` names what
// the rate counts (P1's appends, P11's events). Empty when either figure is unknown (0 or less).
std::string cores_at_target(double cpu_seconds_per_item, double target_per_second, int cores,
                            const char* item = "append");

// A ratio for people, "0.498x": three decimals below 1, so that a ratio just under a target
// such as 0.5x never reads as the target itself ("0.50x"); two up to 100 ("28.82x"), none above.
std::string ratio_text(double ratio);

// `values` rounded to whole numbers, comma-separated: "1203, 1187, 1250".
std::string join_rounded(const std::vector<double>& values);

// The events a suite appends: options.events, or `suite_default` (its Suite::default_events) when
// that is 0.
int64_t events_for(const BenchOptions& options, int64_t suite_default);

}  // namespace bel::bench

#endif  // BEL_BENCH_SUITES_H_
