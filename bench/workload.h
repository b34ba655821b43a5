// The default workload of `bel bench` (SPEC section 8): a deterministic stream of DataBuild-like
// events that is valid under the strict transition rules of SPEC section 2, so that the log
// accepts every one of them, in order, on a fresh log.
//
//   bel::bench::WorkloadOptions options;
//   options.events = 200000;
//   std::vector<bel::BuildEvent> events = bel::bench::make_workload(options);
//   // events.size() == 200000; distinct event_ids; idx 0; timestamps and status names set
//
// Shape: build requests, `concurrent_builds` of them interleaved event by event. Each one is
//   RECEIVED (listing its partitions), REQUESTED for each partition, EXECUTING, then per
//   partition one job run: JOB_SCHEDULED, SCHEDULED, JOB_RUNNING, BUILDING, AVAILABLE,
//   JOB_COMPLETED (with a manifest), and finally COMPLETED:
//   3 + 7 * partitions_per_build events (31 by default). The stream is cut at exactly `events`;
//   every prefix of a valid stream is valid.
// Partition refs ("data/<dataset>/<date>") are distinct per build request and spread over
// `datasets` datasets, so the index rows land all over the key space as in production.
// Event ids look like UUIDs (36 characters), as a producer that retries with its own ids sends
// them; the log therefore checks each one for idempotency, as it would in production.
//
// Everything the log would fill in (event_id, timestamp, status names) is already set, so the
// payload the log stores is byte for byte what a baseline that bypasses the log stores.
#ifndef BEL_BENCH_WORKLOAD_H_
#define BEL_BENCH_WORKLOAD_H_

#include <cstdint>
#include <vector>

#include "messages/types.h"

namespace bel::bench {

struct WorkloadOptions {
  int64_t events = 200000;
  uint64_t seed = 1;
  int partitions_per_build = 4;
  int concurrent_builds = 8;
  int datasets = 50;
};

// Exactly options.events events (none for events <= 0). The same options give the same stream.
// REQUIRES: partitions_per_build >= 1, concurrent_builds >= 1, datasets >= 1
std::vector<BuildEvent> make_workload(const WorkloadOptions& options);

}  // namespace bel::bench

#endif  // BEL_BENCH_WORKLOAD_H_
