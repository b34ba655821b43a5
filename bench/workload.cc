#include "bench/workload.h"

#include <cassert>
#include <cstdio>
#include <deque>
#include <string>

#include "messages/status_names.h"

namespace bel::bench {
namespace {

// 2025-01-01T00:00:00Z in Unix nanoseconds; events are 1 ms apart from there.
constexpr int64_t kFirstTimestamp = 1735689600LL * 1000 * 1000 * 1000;
constexpr int64_t kEventSpacingNs = 1000 * 1000;

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// A version-4-shaped UUID: 64 pseudo-random bits from (seed, n) followed by n itself, so that
// distinct n give distinct ids.
std::string uuid_like(uint64_t seed, uint64_t n) {
  const uint64_t hi = splitmix64(seed * 0x100000001B3ULL ^ n);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-%04llx-%012llx",
                static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xFFFF),
                static_cast<unsigned long long>(hi & 0xFFF),
                static_cast<unsigned long long>(0x8000 | ((n >> 48) & 0x3FFF)),
                static_cast<unsigned long long>(n & 0xFFFFFFFFFFFFULL));
  return buf;
}

std::string padded(int64_t n, int width) {
  std::string s = std::to_string(n);
  if (static_cast<int>(s.size()) < width) s.insert(0, static_cast<size_t>(width) - s.size(), '0');
  return s;
}

const char* const kDatasets[] = {"orders",    "clicks",  "sessions", "payments",  "inventory",
                                 "shipments", "returns", "reviews",  "campaigns", "refunds"};

// The refs, job labels and ids of one build request.
struct BuildPlan {
  std::string id;
  std::vector<std::string> refs;
  std::vector<std::string> labels;
  std::vector<std::string> job_runs;
  std::vector<std::string> dates;
};

BuildPlan plan_build(const WorkloadOptions& options, int64_t b) {
  BuildPlan plan;
  plan.id = "br-bench" + std::to_string(options.seed) + "-" + padded(b + 1, 6);
  for (int j = 0; j < options.partitions_per_build; ++j) {
    const int64_t n = b * options.partitions_per_build + j;  // distinct across the stream
    const int64_t dataset = n % options.datasets;
    const int64_t day = n / options.datasets;
    // A calendar is not needed: the date only has to look like one and be distinct.
    const std::string date = padded(2000 + day / 336, 4) + "-" + padded(1 + (day / 28) % 12, 2) +
                             "-" + padded(1 + day % 28, 2);
    const std::string name = std::string(kDatasets[dataset % 10]) +
                             (dataset >= 10 ? "_" + std::to_string(dataset / 10) : "");
    plan.refs.push_back("data/" + name + "/" + date);
    plan.labels.push_back("//jobs/" + name + ":build");
    plan.job_runs.push_back("jr-bench" + std::to_string(options.seed) + "-" + padded(b + 1, 6) +
                            "-" + std::to_string(j + 1));
    plan.dates.push_back(date);
  }
  return plan;
}

BuildEvent base_event(const BuildPlan& plan) {
  BuildEvent e;
  e.set_build_request_id(plan.id);
  return e;
}

BuildEvent build_status(const BuildPlan& plan, BuildRequestStatus status, bool list_refs,
                        const char* message) {
  BuildEvent e = base_event(plan);
  auto* b = e.mutable_build_request_event();
  b->set_status_code(status);
  if (list_refs) {
    for (const auto& ref : plan.refs) b->add_requested_partitions()->set_str(ref);
  }
  b->set_message(message);
  return e;
}

BuildEvent partition_status(const BuildPlan& plan, int j, PartitionStatus status,
                            bool with_job_run) {
  BuildEvent e = base_event(plan);
  auto* p = e.mutable_partition_event();
  p->mutable_partition_ref()->set_str(plan.refs[j]);
  p->set_status_code(status);
  if (with_job_run) p->set_job_run_id(plan.job_runs[j]);
  return e;
}

BuildEvent job_status(const BuildPlan& plan, int j, JobStatus status, int64_t step) {
  BuildEvent e = base_event(plan);
  auto* job = e.mutable_job_event();
  job->set_job_run_id(plan.job_runs[j]);
  job->mutable_job_label()->set_label(plan.labels[j]);
  job->add_target_partitions()->set_str(plan.refs[j]);
  job->set_status_code(status);
  if (status == v1::JOB_SCHEDULED) {
    auto* config = job->mutable_config();
    config->add_outputs()->set_str(plan.refs[j]);
    config->add_args("--date");
    config->add_args(plan.dates[j]);
  } else if (status == v1::JOB_COMPLETED) {
    auto* manifest = job->add_manifests();
    manifest->add_outputs()->set_str(plan.refs[j]);
    manifest->set_start_time(kFirstTimestamp + step * kEventSpacingNs);
    manifest->set_end_time(kFirstTimestamp + (step + 3) * kEventSpacingNs);
    job->set_message("exit code 0");
  }
  return e;
}

// The events of one build request, in the order the coordinator would log them.
std::deque<BuildEvent> build_events(const WorkloadOptions& options, int64_t b) {
  const BuildPlan plan = plan_build(options, b);
  const int parts = options.partitions_per_build;
  std::deque<BuildEvent> out;
  out.push_back(build_status(plan, v1::BUILD_REQUEST_RECEIVED, true, "requested by bel bench"));
  for (int j = 0; j < parts; ++j) {
    out.push_back(partition_status(plan, j, v1::PARTITION_REQUESTED, false));
  }
  out.push_back(build_status(plan, v1::BUILD_REQUEST_EXECUTING, false, ""));
  for (int j = 0; j < parts; ++j) {
    out.push_back(job_status(plan, j, v1::JOB_SCHEDULED, b));
    out.push_back(partition_status(plan, j, v1::PARTITION_SCHEDULED, true));
    out.push_back(job_status(plan, j, v1::JOB_RUNNING, b));
    out.push_back(partition_status(plan, j, v1::PARTITION_BUILDING, true));
    out.push_back(partition_status(plan, j, v1::PARTITION_AVAILABLE, true));
    out.push_back(job_status(plan, j, v1::JOB_COMPLETED, b));
  }
  out.push_back(build_status(plan, v1::BUILD_REQUEST_COMPLETED, false, ""));
  return out;
}

}  // namespace

std::vector<BuildEvent> make_workload(const WorkloadOptions& options) {
  assert(options.partitions_per_build >= 1 && options.concurrent_builds >= 1 &&
         options.datasets >= 1);
  std::vector<BuildEvent> out;
  if (options.events <= 0) return out;
  out.reserve(static_cast<size_t>(options.events));
  // Round robin over the open build requests; a finished one is replaced by the next.
  std::vector<std::deque<BuildEvent>> open(static_cast<size_t>(options.concurrent_builds));
  int64_t next_build = 0;
  for (size_t slot = 0; static_cast<int64_t>(out.size()) < options.events;
       slot = (slot + 1) % open.size()) {
    if (open[slot].empty()) open[slot] = build_events(options, next_build++);
    BuildEvent e = std::move(open[slot].front());
    open[slot].pop_front();
    const auto n = static_cast<int64_t>(out.size());
    e.set_event_id(uuid_like(options.seed, static_cast<uint64_t>(n)));
    e.set_timestamp(kFirstTimestamp + n * kEventSpacingNs);
    fill_status_names(e);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace bel::bench
