// The logs `bel bench` measures P4-P12 on (SPEC section 8, "1M-event log"): realistic DataBuild
// flows from the one workload generator (actors/sim/workload.h) over a skewed partition space,
// written through the log writer and kept in a cache directory, so that a second run starts at
// once.
//
//   auto log = bel::bench::ensure_log(cache_dir, bel::bench::scale_1m(), 1, progress);
//   if (!log.ok()) return log.error();       // the cache could not be written, an append refused
//   open(log->uri);                          // "sqlite:///.../bel-bench-1m-1000000e-...db"
//
// How a log is made, once per (scale, seed): the generator's events with no event_id (the log
// assigns time-ordered ids, as for producers that leave them empty) and its default payloads,
// staged and committed through actors::LogWriter in batches of kGenerateBatch events (validation,
// idempotency and the transition state exactly as a coordinator's writer applies them, at one
// transaction per batch instead of per group), the derived key index caught up, then every view
// rebuilt by a coordinator started on it, so that the log carries the snapshots a long-running
// coordinator leaves. A manifest beside the file, written once the events are in, records what a
// figure needs (the partition with the most events, a build request and a job run to show) and,
// rewritten after the snapshots, that the log is complete; a log without a manifest is made
// afresh, one whose snapshots were not finished only has its views rebuilt.
//
// Beside a log, on request, the events that follow its own in the generator's stream
// (ensure_next_events): appended to a copy of the log they continue its flows, as a writer's next
// batch would, which is what the bench's `bel append` on a long history appends.
//
// Errors name the file. Not thread-safe: one caller per cache directory at a time.
#ifndef BEL_BENCH_BENCH_LOG_H_
#define BEL_BENCH_BENCH_LOG_H_

#include <cstdint>
#include <functional>
#include <string>

#include "messages/error.h"

namespace bel::bench {

// Events per LogWriter stage+commit while generating: large enough that a commit's fsync and
// the idempotency lookup are amortised over many events.
inline constexpr int64_t kGenerateBatch = 8192;

struct LogScale {
  std::string name;        // "1m": part of the cache key and of figure names
  int64_t events = 0;      // events in the log
  int64_t partitions = 0;  // the generator's partition space
};

// SPEC section 8's "1M-event log" (100,000 partitions), P12's 10M log (1,000,000 partitions),
// P10's "~10k-event log" (1,000 partitions) and the quick scale of `bel bench --quick`.
LogScale scale_1m();
LogScale scale_10m();
LogScale scale_10k();
LogScale scale_quick();         // 20,000 events over 2,000 partitions
LogScale scale_quick_small();   // 2,000 events over 200 partitions (the quick P10 baseline)
LogScale scale_quick_growth();  // 60,000 events over 6,000 partitions (the quick P12)

struct BenchLog {
  LogScale scale;
  uint64_t seed = 0;
  std::string path;  // the SQLite file
  std::string uri;   // "sqlite://" + path
  int64_t events = 0;
  std::string hot_partition;  // the partition with the most events
  int64_t hot_partition_events = 0;
  std::string build_request_id;        // a build request with a job run, from the middle of the log
  std::string job_run_id;              // one of its job runs
  double json_bytes_per_event = 0;     // events as JSON, mean over a sample
  double payload_bytes_per_event = 0;  // serialized BuildEvent, mean over every event
  double generate_seconds = 0;         // generating and committing (when made by this run)
  double index_seconds = 0;            // catching the key index up
  double generator_cpu_seconds = 0;    // of generate_seconds: CPU in the workload generator
  double writer_cpu_seconds = 0;       // and CPU in the LogWriter (validation, commits)
  double snapshot_seconds = 0;         // the views rebuilt and snapshotted
  bool snapshotted = false;  // every view rebuilt and snapshotted (the last step of making it)
  bool reused = false;       // its events found in the cache
};

using PhaseProgress = std::function<void(const std::string& phase, int64_t done, int64_t total)>;

// The log of `scale` and `seed` in `cache_dir` (which must exist): the cached one when its
// manifest is there, else made afresh (see the file comment). `progress` (may be empty) hears
// each phase.
Result<BenchLog> ensure_log(const std::string& cache_dir, const LogScale& scale, uint64_t seed,
                            const PhaseProgress& progress);

// The size on disk of the SQLite file at `path` with its -wal file, in bytes.
int64_t log_bytes_on_disk(const std::string& path);

// Events in the file of ensure_next_events.
inline constexpr int64_t kNextEvents = 1000;

// A file of JSON lines (proto3 JSON, no event ids: the log assigns them) holding the kNextEvents
// events that follow `log`'s events in the stream that made it, kept beside the log: made on the
// first call (the generator runs through the log's events again, without writing them), found
// on later ones. Its path, or an error naming the file.
Result<std::string> ensure_next_events(const BenchLog& log, const PhaseProgress& progress);

}  // namespace bel::bench

#endif  // BEL_BENCH_BENCH_LOG_H_
