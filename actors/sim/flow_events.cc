#include "actors/sim/flow_events.h"

#include <utility>

#include "messages/for_people.h"

namespace bel::sim {

BuildEvent base_event(const std::string& build) {
  BuildEvent e;
  e.set_build_request_id(build);
  return e;
}

BuildEvent request_event(const std::string& build, BuildRequestStatus status,
                         const std::string& message, const std::vector<std::string>& requested) {
  BuildEvent e = base_event(build);
  auto* r = e.mutable_build_request_event();
  r->set_status_code(status);
  for (const auto& ref : requested) r->add_requested_partitions()->set_str(ref);
  r->set_message(message);
  return e;
}

BuildEvent partition_event(const std::string& build, const std::string& ref, PartitionStatus status,
                           const std::string& job_run, const std::string& message) {
  BuildEvent e = base_event(build);
  auto* p = e.mutable_partition_event();
  p->mutable_partition_ref()->set_str(ref);
  p->set_status_code(status);
  p->set_job_run_id(job_run);
  p->set_message(message);
  return e;
}

BuildEvent job_event(const std::string& build, const std::string& job_run,
                     const PlannedPartition& part, JobStatus status, const std::string& message) {
  BuildEvent e = base_event(build);
  auto* j = e.mutable_job_event();
  j->set_job_run_id(job_run);
  j->mutable_job_label()->set_label(part.job_label);
  j->add_target_partitions()->set_str(part.ref);
  j->set_status_code(status);
  j->set_message(message);
  return e;
}

BuildEvent delegation_event(const std::string& build, const std::string& ref, const std::string& to,
                            const std::string& message) {
  BuildEvent e = base_event(build);
  auto* d = e.mutable_delegation_event();
  d->mutable_partition_ref()->set_str(ref);
  d->set_delegated_to_build_request_id(to);
  d->set_message(message);
  return e;
}

BuildEvent invalidation_event(const std::string& build, const std::string& ref,
                              const std::string& reason) {
  BuildEvent e = base_event(build);
  e.mutable_partition_invalidation_event()->mutable_partition_ref()->set_str(ref);
  e.mutable_partition_invalidation_event()->set_reason(reason);
  return e;
}

std::string date_of(const std::string& ref) { return ref.substr(ref.rfind('/') + 1); }

JobConfig job_config(const PlannedBuild& plan, const PlannedPartition& part,
                     const std::string& run_id) {
  JobConfig config;
  config.add_outputs()->set_str(part.ref);
  for (size_t u : part.upstream) {
    auto* dep = config.add_inputs();
    dep->set_dep_type_code(v1::MATERIALIZE);
    dep->mutable_partition_ref()->set_str(plan.partitions[u].ref);
  }
  config.add_args("--date=" + date_of(part.ref));
  const Dataset& d = catalogue()[static_cast<size_t>(part.dataset)];
  if (*d.source != 0) config.add_args(std::string("--source=") + d.source);
  (*config.mutable_env())["BEL_SIM_RUN"] = run_id;
  return config;
}

void add_delegation(std::vector<BuildEvent>& batch, const std::string& build,
                    const std::string& ref, const std::string& to, int style,
                    const std::string& message) {
  auto delegation = delegation_event(build, ref, to, message);
  auto delegated = partition_event(build, ref, v1::PARTITION_DELEGATED, "", "delegated to " + to);
  switch (style) {
    case 1:
      batch.push_back(std::move(delegation));
      batch.push_back(std::move(delegated));
      break;
    case 2:
      batch.push_back(std::move(delegated));
      batch.push_back(std::move(delegation));
      break;
    case 3:
      delegated.mutable_partition_event()->set_message(message);
      batch.push_back(std::move(delegated));
      break;
    default:
      batch.push_back(std::move(delegation));
      break;
  }
}

BuildEvent job_graph_event(const PlannedBuild& plan, const std::string& run_id) {
  BuildEvent graph = base_event(plan.build_request_id);
  auto* g = graph.mutable_job_graph_event()->mutable_job_graph();
  g->set_label("graph-" + plan.build_request_id);
  for (const auto& ref : plan.requested_partitions) g->add_outputs()->set_str(ref);
  for (const auto& p : plan.partitions) {
    auto* task = g->add_nodes();
    task->mutable_job()->set_label(p.job_label);
    *task->mutable_config() = job_config(plan, p, run_id);
  }
  graph.mutable_job_graph_event()->set_message(
      plural(static_cast<int64_t>(plan.partitions.size()), "task") + " for " +
      plural(static_cast<int64_t>(plan.requested_partitions.size()), "requested partition"));
  return graph;
}

}  // namespace bel::sim
