#include "actors/sim/flow_steps.h"

#include <cstdio>
#include <utility>

#include "actors/sim/flow_events.h"

namespace bel::sim {
namespace {

// Most steps write two events at once: a job's (or request's) and the partition's that follows.
std::vector<BuildEvent> two_events(BuildEvent first, BuildEvent second) {
  std::vector<BuildEvent> batch;
  batch.push_back(std::move(first));
  batch.push_back(std::move(second));
  return batch;
}

// A job run step of partition `i`: the run's JobEvent, then the partition's PartitionEvent.
std::vector<BuildEvent> job_step_events(const PlannedBuild& plan, size_t i,
                                        const std::string& job_run, JobStatus job_status,
                                        const std::string& job_message,
                                        PartitionStatus partition_status,
                                        const std::string& partition_message) {
  const PlannedPartition& p = plan.partitions[i];
  const std::string& id = plan.build_request_id;
  return two_events(job_event(id, job_run, p, job_status, job_message),
                    partition_event(id, p.ref, partition_status, job_run, partition_message));
}

}  // namespace

std::string job_run_id(const std::string& run_id, const PlannedBuild& plan, size_t i) {
  const std::string& id = plan.build_request_id;
  return "jr-" + run_id + "-" + id.substr(id.rfind('-') + 1) + "-" + std::to_string(i + 1);
}

PlanningBatch planning_batch(const PlannedBuild& plan, const std::vector<Availability>& found,
                             const std::string& run_id) {
  const std::string& id = plan.build_request_id;
  const size_t n = plan.partitions.size();
  PlanningBatch out;
  out.historical.assign(n, false);
  out.invalidated.assign(n, false);
  std::vector<BuildEvent> invalidations, delegations, requested;
  for (size_t i = 0; i < n; ++i) {
    const PlannedPartition& p = plan.partitions[i];
    const std::string& builder = found[i].build_request_id;
    if (builder.empty()) {
      requested.push_back(
          partition_event(id, p.ref, v1::PARTITION_REQUESTED, "", "needed by " + id));
      continue;
    }
    std::string reason;
    for (size_t u : p.upstream) {
      if (out.invalidated[u]) reason = "upstream " + plan.partitions[u].ref + " invalidated";
    }
    if (reason.empty() && p.invalidate_if_available) {
      reason = "late-arriving data for " + date_of(p.ref) + ": source re-delivered after " +
               builder + " built it";
    }
    if (!reason.empty()) {
      out.invalidated[i] = true;
      ++out.invalidated_count;
      invalidations.push_back(invalidation_event(id, p.ref, reason));
      requested.push_back(
          partition_event(id, p.ref, v1::PARTITION_REQUESTED, "", "rebuild after invalidation"));
      continue;
    }
    // Historical delegation: the job that would build it is skipped.
    out.historical[i] = true;
    ++out.historical_count;
    std::string message = "already available: built by " + builder;
    if (!found[i].job_run_id.empty()) message += " in job run " + found[i].job_run_id;
    add_delegation(delegations, id, p.ref, builder,
                   p.delegation_style == 3 ? 0 : p.delegation_style, message);
    delegations.push_back(job_event(id, job_run_id(run_id, plan, i), p, v1::JOB_SKIPPED,
                                    "output " + p.ref + " already available from " + builder));
  }
  out.requested_count = static_cast<int>(requested.size());
  out.events.push_back(job_graph_event(plan, run_id));
  for (auto* list : {&invalidations, &delegations, &requested}) {
    for (auto& e : *list) out.events.push_back(std::move(e));
  }
  out.events.push_back(request_event(
      id, v1::BUILD_REQUEST_ANALYSIS_COMPLETED,
      plural(out.requested_count, "partition") + " to build, " +
          std::to_string(out.historical_count) + " already available" +
          (out.invalidated_count > 0 ? ", " + std::to_string(out.invalidated_count) + " invalidated"
                                     : "")));
  out.events.push_back(
      request_event(id, v1::BUILD_REQUEST_EXECUTING,
                    "executing in " + plural(max_wave(plan) + 1, "wave") + ", upstream first"));
  return out;
}

std::vector<BuildEvent> received_events(const PlannedBuild& plan) {
  const std::string& id = plan.build_request_id;
  return two_events(
      request_event(id, v1::BUILD_REQUEST_RECEIVED, plan.requested_by, plan.requested_partitions),
      request_event(
          id, v1::BUILD_REQUEST_PLANNING,
          "planning " + plural(static_cast<int64_t>(plan.partitions.size()), "partition") + " (" +
              std::to_string(plan.requested_partitions.size()) + " requested, the rest upstream)"));
}

std::vector<BuildEvent> schedule_job_events(const PlannedBuild& plan, size_t i,
                                            const std::string& job_run, const std::string& run_id) {
  const PlannedPartition& p = plan.partitions[i];
  std::vector<BuildEvent> batch = job_step_events(
      plan, i, job_run, v1::JOB_SCHEDULED,
      "queued on pool batch-" + std::string(p.run_ns > 300 * kSecond ? "large" : "small"),
      v1::PARTITION_SCHEDULED, "job run " + job_run + " scheduled");
  *batch[0].mutable_job_event()->mutable_config() = job_config(plan, p, run_id);
  return batch;
}

std::vector<BuildEvent> run_job_events(const PlannedBuild& plan, size_t i,
                                       const std::string& job_run) {
  const uint64_t n = static_cast<uint64_t>(plan.number) * 31 + i;
  char worker[64];
  std::snprintf(worker, sizeof worker, "started on worker-%llu (pod batch-%04llx)",
                static_cast<unsigned long long>(1 + n % 12),
                static_cast<unsigned long long>(mix(n) & 0xffff));
  // No durations in the messages: the log's own timestamps say how long each step took.
  return job_step_events(plan, i, job_run, v1::JOB_RUNNING, worker, v1::PARTITION_BUILDING,
                         "job run " + job_run + " running");
}

std::vector<BuildEvent> end_job_events(const PlannedBuild& plan, size_t i,
                                       const std::string& job_run) {
  const PlannedPartition& p = plan.partitions[i];
  if (p.job_fails) {
    return job_step_events(plan, i, job_run, v1::JOB_FAILED, p.failure_message,
                           v1::PARTITION_FAILED,
                           "job run " + job_run + " failed: " + p.failure_message);
  }
  std::vector<BuildEvent> batch = job_step_events(
      plan, i, job_run, v1::JOB_COMPLETED, "wrote " + format_count(p.rows) + " rows",
      v1::PARTITION_AVAILABLE, "wrote " + format_count(p.rows) + " rows");
  auto* manifest = batch[0].mutable_job_event()->add_manifests();
  manifest->add_outputs()->set_str(p.ref);
  (*manifest->mutable_metadata())["rows"] = std::to_string(p.rows);
  (*manifest->mutable_metadata())["bytes"] = std::to_string(p.rows * 118);
  return batch;
}

BuildEvent upstream_failed_event(const PlannedBuild& plan, size_t i, size_t u) {
  return partition_event(plan.build_request_id, plan.partitions[i].ref, v1::PARTITION_FAILED, "",
                         "not built: upstream " + plan.partitions[u].ref + " failed");
}

BuildEvent build_end_event(const PlannedBuild& plan, const std::vector<PartOutcome>& outcomes) {
  std::vector<std::string> failed;
  int built = 0, delegated = 0;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i] == PartOutcome::failed) failed.push_back(plan.partitions[i].ref);
    built += outcomes[i] == PartOutcome::available;
    delegated += outcomes[i] == PartOutcome::historical || outcomes[i] == PartOutcome::delegated;
  }
  const std::string& id = plan.build_request_id;
  if (failed.empty()) {
    std::string message = "built " + plural(built, "partition");
    if (delegated > 0) message += ", " + std::to_string(delegated) + " delegated";
    return request_event(id, v1::BUILD_REQUEST_COMPLETED, message);
  }
  std::string message = std::to_string(failed.size()) + " of " +
                        plural(static_cast<int64_t>(plan.partitions.size()), "partition") +
                        " failed: ";
  for (size_t i = 0; i < failed.size(); ++i) {
    if (i == 3) {
      message += ", ...";
      break;
    }
    message += (i == 0 ? "" : ", ") + failed[i];
  }
  return request_event(id, v1::BUILD_REQUEST_FAILED, message);
}

std::vector<BuildEvent> cancel_events(const PlannedBuild& plan,
                                      const std::vector<std::string>& running) {
  const std::string& id = plan.build_request_id;
  std::vector<BuildEvent> batch;
  for (const auto& job_run : running) {
    BuildEvent e = base_event(id);
    e.mutable_job_run_cancel_event()->set_job_run_id(job_run);
    e.mutable_job_run_cancel_event()->set_reason("build request " + id + " " + plan.cancel_reason);
    batch.push_back(std::move(e));
  }
  BuildEvent e = base_event(id);
  e.mutable_build_cancel_event()->set_reason(plan.cancel_reason);
  batch.push_back(std::move(e));
  return batch;
}

}  // namespace bel::sim
