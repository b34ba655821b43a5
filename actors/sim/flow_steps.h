// The batches of one planned DataBuild build request, step by step, as the coordinator logs them:
// planning (job graph, invalidations, delegations to what is available, REQUESTED, ANALYSIS_
// COMPLETED, EXECUTING), each job run (scheduled, running, ended), a partition whose upstream
// failed, the end (COMPLETED or FAILED) and a cancel. The simulator's workers append them
// through bel_api; the workload generator interleaves them into a stream. Both decide what
// happens (from the log's answers or from their own picture of the partitions); these functions
// only say how it is logged, so the two log the same flows with the same messages.
//
//   std::vector<Availability> found(plan.partitions.size());   // from the partitions' statuses
//   PlanningBatch planning = planning_batch(plan, found, run_id);
//   append(planning.events);
//   const std::string run = job_run_id(run_id, plan, 0);
//   append(schedule_job_events(plan, 0, run, run_id));
//   append(run_job_events(plan, 0, run));
//   append(end_job_events(plan, 0, run));    // JOB_COMPLETED (manifest) + AVAILABLE, or FAILED
//
// Pure code: no I/O, no clock.
#ifndef BEL_ACTORS_SIM_FLOW_STEPS_H_
#define BEL_ACTORS_SIM_FLOW_STEPS_H_

#include <string>
#include <vector>

#include "actors/sim/plan.h"
#include "messages/types.h"

namespace bel::sim {

// What became of one partition of a build request: not decided yet; delegated to the request
// that built it; built; failed (its job, or upstream); delegated to a request building it; its
// job running when the request is cancelled.
enum class PartOutcome { open, historical, available, failed, delegated, running };

// "jr-<run_id>-<the build request's number>-<i + 1>": the job run of partition `i`.
std::string job_run_id(const std::string& run_id, const PlannedBuild& plan, size_t i);

// What planning found for one partition: AVAILABLE, built by build_request_id (in job_run_id,
// when known), or not available (build_request_id empty).
struct Availability {
  std::string build_request_id;
  std::string job_run_id;
};

struct PlanningBatch {
  std::vector<BuildEvent> events;
  std::vector<bool> historical;   // per partition: delegated to the request that built it
  std::vector<bool> invalidated;  // per partition: invalidated (late data, or upstream)
  int historical_count = 0;
  int invalidated_count = 0;
  int requested_count = 0;
};

// The batch after PLANNING: the job graph; an invalidation (and REQUESTED) for each available
// partition with late data or an invalidated upstream; a delegation and a JOB_SKIPPED job run
// for each other available one; REQUESTED for the rest; ANALYSIS_COMPLETED; EXECUTING.
// REQUIRES: found.size() == plan.partitions.size()
PlanningBatch planning_batch(const PlannedBuild& plan, const std::vector<Availability>& found,
                             const std::string& run_id);

// RECEIVED (listing the requested partitions) and PLANNING.
std::vector<BuildEvent> received_events(const PlannedBuild& plan);

// JOB_SCHEDULED (with its config) and partition SCHEDULED.
std::vector<BuildEvent> schedule_job_events(const PlannedBuild& plan, size_t i,
                                            const std::string& job_run, const std::string& run_id);
// JOB_RUNNING and partition BUILDING.
std::vector<BuildEvent> run_job_events(const PlannedBuild& plan, size_t i,
                                       const std::string& job_run);
// JOB_FAILED and partition FAILED when the plan says the job fails, else JOB_COMPLETED (with a
// manifest whose start and end times are left 0 for the caller) and partition AVAILABLE.
std::vector<BuildEvent> end_job_events(const PlannedBuild& plan, size_t i,
                                       const std::string& job_run);
// Partition `i` FAILED without a job because upstream partition `u` failed.
BuildEvent upstream_failed_event(const PlannedBuild& plan, size_t i, size_t u);
// COMPLETED ("built 3 partitions, 1 delegated") when no partition failed, else FAILED naming
// the first failed partitions. REQUIRES: outcomes.size() == plan.partitions.size()
BuildEvent build_end_event(const PlannedBuild& plan, const std::vector<PartOutcome>& outcomes);
// A JobRunCancelEvent for each of `running` (job run ids), then the BuildCancelEvent.
std::vector<BuildEvent> cancel_events(const PlannedBuild& plan,
                                      const std::vector<std::string>& running);

}  // namespace bel::sim

#endif  // BEL_ACTORS_SIM_FLOW_STEPS_H_
