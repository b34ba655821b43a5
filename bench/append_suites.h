// The append suites of `bel bench` (SPEC section 8, P1, P1r, P2, P3); bench/suites.h lists them and
// runs them. Each repetition writes fresh files (bel's log and the baseline's) and removes them;
// odd repetitions run the baseline first, so that neither side always follows the other's I/O.
//
//   P1  value: acked appends/s through bel (window 1000, single-event appends, durability full,
//       ids from the client library's bel::new_event_id)
//       baseline: the pure-append ceiling, one integer-keyed row per event in raw SQLite, one
//       transaction per G rows, where G is the average group the storage actor committed in the
//       same repetition (the previous one when the baseline runs first)
//       target: value >= 100000/s and ratio >= 0.5; detail: group size, ack latency percentiles
//   P1r value: P1 with the workload's random version-4 event_ids, supplied by the producers
//       baseline: raw SQLite with bel's schema and the same ids (raw_batch_inserts), one
//       transaction per G rows as for P1
//       target: ratio >= 0.6; detail: group size, ack latency percentiles
//   P2  value: acked appends/s through bel, one at a time (window 1)
//       baseline: raw SQLite, one commit per row, same rows, synchronous=FULL, WAL
//       target: ratio >= 0.6; detail: ack latency percentiles
//   P3  value: P1's value (measured again unless P1 ran in this run)
//       baseline: the naive design, one transaction per event with its JSON text as payload, no
//       actors, on the first events of the same workload
//       target: ratio >= 20
#ifndef BEL_BENCH_APPEND_SUITES_H_
#define BEL_BENCH_APPEND_SUITES_H_

#include <cstdint>
#include <string>

#include "bench/suites.h"

namespace bel::bench {

inline constexpr int64_t kP1DefaultEvents = 200000;
inline constexpr int64_t kP2DefaultEvents = 2000;
inline constexpr int64_t kP3DefaultEvents = 2000;  // of the naive baseline: ~1 fsync each
inline constexpr double kP1MinPerSecond = 100000;

Result<Figure> measure_p1(SuiteRun& run);
// Adds to P1's detail the actor-fed ceilings measured in the run (one actor writing each append's
// pure row, `pure_per_s`, or its row with its id under UNIQUE, `ids_per_s`, its appends sent by
// `client` as bel's are), and, when `judged` (not the quick scale), which of P1's targets even
// the second misses: this machine's limit is then below that target, measured in the same run.
// REQUIRES: f.baseline is the ceiling.
void note_actor_ceilings(Figure& f, double pure_per_s, double ids_per_s, bool judged,
                         AppendClient client);
Result<Figure> measure_p1r(SuiteRun& run);
Result<Figure> measure_p2(SuiteRun& run);
Result<Figure> measure_p3(SuiteRun& run);

}  // namespace bel::bench

#endif  // BEL_BENCH_APPEND_SUITES_H_
