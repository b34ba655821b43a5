// One seeded generator of DataBuild event streams, for the simulator's plans, the property tests
// and the benchmarks. It plays a coordinator: several build requests open at once, their events
// interleaved one by one, each event produced when asked for (streaming: 10M events never sit in
// memory at once).
//
// Flows (mode realistic). A build request is RECEIVED (listing the partitions it wants), PLANNING,
// then one planning batch: a JobGraphEvent; a PartitionInvalidationEvent for each partition that
// is AVAILABLE but got late data (and everything downstream of it in the request), then
// REQUESTED to rebuild it; for each other AVAILABLE partition a delegation to the build request
// that built it (DelegationEvent and/or PartitionEvent DELEGATED, and a JOB_SKIPPED job run);
// REQUESTED for the rest; ANALYSIS_COMPLETED; EXECUTING. Then its jobs in waves, upstream first:
// a partition an older open request is building is delegated to it; one whose upstream failed is
// FAILED without a job; else a job run SCHEDULED -> RUNNING -> COMPLETED (partition SCHEDULED ->
// BUILDING -> AVAILABLE, with a manifest) or FAILED (partition FAILED), or cancelled while
// running (JobRunCancelEvent, partition FAILED). Finally COMPLETED or FAILED; a request the plan
// cancels is cancelled once its jobs of one wave run (JobRunCancelEvents, BuildCancelEvent).
// Now and then (operator_invalidation_rate) an operator invalidates an AVAILABLE partition
// between requests (SPEC section 2: the build_request_id "operator:<user>" is never received).
// Every event passes the strict rules.
//
// Skew. The partition space (options.partitions, rounded up to whole catalogue units of 8
// datasets; a unit is a date, or a region and a date) has a hot head: a share hot_share of the
// requests want one of the first hot_fraction of the units (the newest dates), the rest any unit.
// So a few partitions are built, delegated and invalidated over and over, and a long tail is
// built once or never.
//
// Mode adversarial, for property tests: the same kinds of events with the edge orders a
// coordinator may produce: partitions listed late or twice, requests cancelled or invalidating
// at any point (before their job graph, from PLANNING on), job runs with several targets and
// their targets listed on any status, delegations in either order or half of them, job runs
// cancelled leaving partitions where they were, builds racing on a small space of refs
// ("data/<dataset>/<date>"). Valid under the strict rules unless oddity_rate > 0: then that share
// of events breaks them (statuses going back, events after a terminal status, unknown build
// requests and job runs), as a log in lenient mode may hold.
//
// Determinism: the same options give the same events. Ids derive from the seed; the clock is
// simulated (ascending timestamps from start_ns) unless options.clock supplies them.
//
//   bel::sim::WorkloadOptions options;
//   options.seed = 7;
//   options.partitions = 100000;
//   bel::sim::Workload workload(options);
//   std::vector<bel::BuildEvent> batch;
//   while (...) {
//     batch.clear();
//     workload.next_batch(512, batch);   // or: const BuildEvent& e = workload.next();
//     append(batch);
//   }
//   // or, for a fixed count: bel::sim::generate(options, 1000000, [&](const BuildEvent& e) {...});
//
// Speed: some 350,000 events/s in either mode on one core of a busy build machine (1M events in
// about 3 s; BM_GenerateWorkload in bench/micro_bench.cc). Memory is bounded by the open requests
// and two integers per partition, not by the length of the stream.
//
// Not thread-safe: one owner per instance. Pure code: no CAF, no I/O, no clock.
#ifndef BEL_ACTORS_SIM_WORKLOAD_H_
#define BEL_ACTORS_SIM_WORKLOAD_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "messages/types.h"

namespace bel::sim {

enum class WorkloadMode { realistic, adversarial };

enum class EventIds {
  none,        // left empty: the log assigns them
  sequential,  // "ev-<seed>-<n>", n = 1, 2, ...
  uuid,        // 36 characters shaped like a UUID, as a producer that retries with its own ids
};

struct WorkloadOptions {
  uint64_t seed = 1;
  WorkloadMode mode = WorkloadMode::realistic;
  int64_t partitions = 1000;    // distinct partition refs (realistic: rounded up to units of 8)
  int concurrent_builds = 8;    // build requests open at the same time, at most; >= 1
  double hot_share = 0.5;       // realistic: the share of requests that want a hot unit
  double hot_fraction = 0.001;  // realistic: the hot units, as a share of all (at least one)
  // Realistic mode, per request or partition (see PlanRates): a job fails; a request is
  // cancelled midway; a needed AVAILABLE partition is invalidated and rebuilt; a job run is
  // cancelled while running. Per event: an operator invalidates an AVAILABLE partition.
  double failure_rate = 0.05;
  double cancel_rate = 0.03;
  double invalidate_rate = 0.03;
  double job_cancel_rate = 0.01;
  double operator_invalidation_rate = 0.002;
  double oddity_rate = 0.0;  // adversarial mode: the share of events breaking the strict rules
  std::string id_prefix;     // build request ids "br-<prefix>-<n>"; empty: 6 hex digits of seed
  EventIds event_ids = EventIds::sequential;
  bool set_idx = false;  // idx 1, 2, ... as read back from a fresh log; else 0, as appended
  // Timestamps: when `clock` is set each event gets clock(); else a simulated clock starting at
  // start_ns, 1 ns to 2 ms between events.
  std::function<int64_t()> clock;
  int64_t start_ns = 1735689600LL * 1000 * 1000 * 1000;  // 2025-01-01T00:00:00Z
};

class Workload {
 public:
  // REQUIRES: options.concurrent_builds >= 1, options.partitions >= 1
  explicit Workload(WorkloadOptions options);
  ~Workload();
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  // The next event; valid until the next call. The stream never ends.
  const BuildEvent& next();
  // Appends the next `n` events to `out`.
  void next_batch(size_t n, std::vector<BuildEvent>& out);
  // Events produced so far.
  int64_t produced() const;

  // Partition number `n` of the space (0 <= n < partition_count()).
  std::string partition_ref(int64_t n) const;
  int64_t partition_count() const;

  class Flow;  // a mode's engine (workload_flow.h)

 private:
  WorkloadOptions options_;
  std::unique_ptr<Flow> flow_;
  BuildEvent current_;
  int64_t produced_ = 0;
};

// Calls `fn` with each of the first `n` events of `options`' stream, in order.
void generate(const WorkloadOptions& options, int64_t n,
              const std::function<void(const BuildEvent&)>& fn);

// The first `n` events of `options`' stream (for tests and small workloads).
std::vector<BuildEvent> generate_events(const WorkloadOptions& options, int64_t n);

// Partition number `n` of the adversarial mode's space: "data/<dataset>/<date>".
std::string adversarial_partition(int n);

}  // namespace bel::sim

#endif  // BEL_ACTORS_SIM_WORKLOAD_H_
