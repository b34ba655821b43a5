// The events of a planned DataBuild flow, as the coordinator logs them: one constructor per
// event kind, with the build request id set and nothing the log fills in (idx, event_id,
// timestamp, status names). Shared by the simulator's workers and the workload generator.
//
//   std::vector<bel::BuildEvent> batch;
//   batch.push_back(bel::sim::request_event(id, v1::BUILD_REQUEST_RECEIVED, plan.requested_by,
//                                           plan.requested_partitions));
//   bel::sim::add_delegation(batch, id, ref, "br-x-000003", plan.partitions[0].delegation_style,
//                            "being built by br-x-000003");
//
// Pure code: no I/O, no clock.
#ifndef BEL_ACTORS_SIM_FLOW_EVENTS_H_
#define BEL_ACTORS_SIM_FLOW_EVENTS_H_

#include <string>
#include <vector>

#include "actors/sim/plan.h"
#include "messages/types.h"

namespace bel::sim {

BuildEvent base_event(const std::string& build);

BuildEvent request_event(const std::string& build, BuildRequestStatus status,
                         const std::string& message,
                         const std::vector<std::string>& requested = {});

BuildEvent partition_event(const std::string& build, const std::string& ref, PartitionStatus status,
                           const std::string& job_run, const std::string& message);

// A JobEvent of `part`'s job (label, the partition as target).
BuildEvent job_event(const std::string& build, const std::string& job_run,
                     const PlannedPartition& part, JobStatus status, const std::string& message);

BuildEvent delegation_event(const std::string& build, const std::string& ref, const std::string& to,
                            const std::string& message);

BuildEvent invalidation_event(const std::string& build, const std::string& ref,
                              const std::string& reason);

// "2026-11-21" of "sales/daily/2026-11-21".
std::string date_of(const std::string& ref);

// The config of `part`'s job: its output, its upstream partitions as inputs, --date (and
// --source for ingests), and BEL_SIM_RUN=<run_id> in the environment.
JobConfig job_config(const PlannedBuild& plan, const PlannedPartition& part,
                     const std::string& run_id);

// The events of one delegation, in the order `style` says (see PlannedPartition).
void add_delegation(std::vector<BuildEvent>& batch, const std::string& build,
                    const std::string& ref, const std::string& to, int style,
                    const std::string& message);

// The JobGraphEvent of `plan`: its requested partitions as outputs, one task per partition.
BuildEvent job_graph_event(const PlannedBuild& plan, const std::string& run_id);

}  // namespace bel::sim

#endif  // BEL_ACTORS_SIM_FLOW_EVENTS_H_
