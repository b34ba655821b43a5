// The suites of `bel bench` that measure a grown log (SPEC section 8, P4..P12), on the logs of
// bench/bench_log.h (the 1M-event log over 100,000 partitions; ~10k for P10's baseline; 10M for
// P12; small ones with --quick). P4 and P5 put bel beside a baseline measured in the same run;
// P6..P12 are absolute, with the machine noted by the report.
//
//   P4   value: partition_status queries/s through the bel_api of a coordinator started on the
//        log (read-only), views loaded, kQueryWindow queries in flight, refs half from the hot
//        head, half from the whole space
//        baseline: the seed's design, answering one query by folding the whole log (list_events
//        pages through the partition status view); target >= 200000/s and >= 1000x
//   P5   value: events/s of rebuilding every view (the coordinator's rebuild, snapshots written)
//        baseline: raw SQLite scan of the payloads, each parsed into a BuildEvent
//        target >= 1000000/s and >= 0.5x
//   P6   list_events of the partition with the most events, a page of 10, oldest-first and
//        newest-first: median ms per call over kListCalls calls; target <= 1 ms
//   P7   a fresh `bel bench --probe-coordinator` process: start to first answered activity, s
//   P8   the same process's peak RSS once every view has caught up, bytes; target <= 500 MiB
//   P9   the log's bytes on disk (file + WAL) per event; target <= 400
//   P10  each console command of SPEC P10 as a `bel` child process with no coordinator: median
//        ms on the main log beside the ~10k-event log; targets <= 100 ms / 0.5 s and 2x / 3x.
//        Beside them, "history: append 1k": `bel append` of the 1k events that follow the log's
//        (bench_log.h: ensure_next_events) onto a fresh copy of each log, target <= 3x
//   P11  `bel check`, SQLite's integrity_check (timed apart) and `bel views rebuild` as child
//        processes: events/s and peak RSS; target >= 1000000/s and <= 500 MiB; the events/s
//        beside P5's baseline (measured once per run)
//   P12  (--scale 10m) P7, P8, P9 and P10 on the 10M-event log, each beside its 1M figure
#ifndef BEL_BENCH_LOG_SUITES_H_
#define BEL_BENCH_LOG_SUITES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "bench/suites.h"

namespace bel::bench {

inline constexpr int64_t kMainLogEvents = 1000000;
inline constexpr int64_t kGrowthLogEvents = 10000000;

Result<Figure> measure_p4(SuiteRun& run);
Result<Figure> measure_p5(SuiteRun& run);
Result<std::vector<Figure>> measure_p6(SuiteRun& run);
Result<Figure> measure_p7(SuiteRun& run);
Result<Figure> measure_p8(SuiteRun& run);
Result<Figure> measure_p9(SuiteRun& run);
Result<std::vector<Figure>> measure_p10(SuiteRun& run);
Result<std::vector<Figure>> measure_p11(SuiteRun& run);
Result<std::vector<Figure>> measure_p12(SuiteRun& run);

// Shared by the files that implement the suites above.

// A figure measured on `log`, its baseline "none (absolute)" until the caller says otherwise.
Figure log_figure(const std::string& id, const BenchLog& log, std::string unit, std::string target);

// Fills value, baseline and ratio (value / baseline, 0 when the baseline is 0) from the
// repetitions' medians.
void finish_figure(Figure& f);

// Judges `f` against its target: `pass` when not at the quick scale, else pass_note says so.
void judge(const SuiteRun& run, Figure& f, bool pass);

// The ceiling of a rebuild (P5) and of the checks (P11): every event row of `log` read in idx order
// by raw SQLite and parsed, on one thread; events/s per repetition. Measured once per run and log,
// the progress bar naming `figure`; the suites that come later reuse it.
Result<std::vector<double>> raw_scan_parse_rates(SuiteRun& run, const BenchLog& log,
                                                 const char* figure);
inline constexpr const char* kRawScanParseWhat =
    "raw SQLite: SELECT payload FROM events ORDER BY idx, each parsed into a BuildEvent (no "
    "views), one thread";

// When f's baseline is that ceiling and below `target_rate` (an absolute events/s target), says
// so in f.detail: the target is then above what this machine does, measured in the same run. Call
// after judge(); nothing is said of a figure not judged (the quick scale).
void note_ceiling_below(Figure& f, double target_rate);

// "P4 (1m log, run 2/3)": a phase name for the progress bar.
std::string log_phase(const char* id, const BenchLog& log, const std::string& what, int rep,
                      int reps);

}  // namespace bel::bench

#endif  // BEL_BENCH_LOG_SUITES_H_
