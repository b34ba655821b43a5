#include "tests/support/random_stream.h"

#include <algorithm>

#include "messages/status_names.h"

namespace bel::testing {

RandomStreamOptions stream_options(int num_events, int concurrent_builds, int partition_space) {
  RandomStreamOptions o;
  o.num_events = num_events;
  o.concurrent_builds = concurrent_builds;
  o.partition_space = partition_space;
  return o;
}

RandomStreamOptions few_busy_partitions(int num_events) { return stream_options(num_events, 6, 6); }

sim::WorkloadOptions random_stream_options(uint64_t seed, const RandomStreamOptions& options) {
  sim::WorkloadOptions o;
  o.seed = seed;
  o.mode = sim::WorkloadMode::adversarial;
  o.partitions = std::max(1, options.partition_space);
  o.concurrent_builds = std::max(1, options.concurrent_builds);
  o.event_ids = sim::EventIds::sequential;
  o.set_idx = true;
  return o;
}

sim::WorkloadOptions mixed_workload_options(uint64_t seed, int partitions, uint64_t ids_period) {
  sim::WorkloadOptions o;
  o.seed = seed;
  o.mode = seed % 2 ? sim::WorkloadMode::adversarial : sim::WorkloadMode::realistic;
  o.event_ids = seed % ids_period ? sim::EventIds::uuid : sim::EventIds::sequential;
  o.partitions = partitions;
  return o;
}

std::vector<BuildEvent> random_stream(uint64_t seed, const RandomStreamOptions& options) {
  return sim::generate_events(random_stream_options(seed, options), options.num_events);
}

std::vector<BuildEvent> random_events(int num_events, uint64_t seed) {
  RandomStreamOptions options;
  options.num_events = num_events;
  return random_stream(seed, options);
}

std::string random_stream_partition(int n) { return sim::adversarial_partition(n); }

void assign_idx(std::vector<BuildEvent>& events) {
  int64_t idx = 0;
  for (auto& e : events) e.set_idx(++idx);
}

// ---- StreamBuilder ---------------------------------------------------------------------------

StreamBuilder& StreamBuilder::at(int64_t timestamp) {
  next_timestamp_ = timestamp;
  return *this;
}

BuildEvent& StreamBuilder::next(const std::string& build_request_id) {
  events_.emplace_back();
  BuildEvent& e = events_.back();
  const auto idx = static_cast<int64_t>(events_.size());
  e.set_idx(idx);
  e.set_event_id("ev-" + std::to_string(idx));
  e.set_timestamp(next_timestamp_ != 0 ? next_timestamp_ : 1000 * idx);
  next_timestamp_ = 0;
  e.set_build_request_id(build_request_id);
  return e;
}

StreamBuilder& StreamBuilder::done() {
  fill_status_names(events_.back());
  return *this;
}

StreamBuilder& StreamBuilder::build(const std::string& build_request_id, BuildRequestStatus status,
                                    const std::vector<std::string>& requested,
                                    const std::string& message) {
  auto* e = next(build_request_id).mutable_build_request_event();
  e->set_status_code(status);
  for (const auto& ref : requested) e->add_requested_partitions()->set_str(ref);
  e->set_message(message);
  return done();
}

StreamBuilder& StreamBuilder::cancel_build(const std::string& build_request_id,
                                           const std::string& reason) {
  next(build_request_id).mutable_build_cancel_event()->set_reason(reason);
  return done();
}

StreamBuilder& StreamBuilder::partition(const std::string& build_request_id, const std::string& ref,
                                        PartitionStatus status, const std::string& job_run_id,
                                        const std::string& message) {
  auto* e = next(build_request_id).mutable_partition_event();
  e->mutable_partition_ref()->set_str(ref);
  e->set_status_code(status);
  e->set_job_run_id(job_run_id);
  e->set_message(message);
  return done();
}

StreamBuilder& StreamBuilder::delegate(const std::string& build_request_id, const std::string& ref,
                                       const std::string& to_build_request_id) {
  auto* e = next(build_request_id).mutable_delegation_event();
  e->mutable_partition_ref()->set_str(ref);
  e->set_delegated_to_build_request_id(to_build_request_id);
  return done();
}

StreamBuilder& StreamBuilder::invalidate(const std::string& build_request_id,
                                         const std::string& ref, const std::string& reason) {
  auto* e = next(build_request_id).mutable_partition_invalidation_event();
  e->mutable_partition_ref()->set_str(ref);
  e->set_reason(reason);
  return done();
}

StreamBuilder& StreamBuilder::job(const std::string& build_request_id,
                                  const std::string& job_run_id, const std::string& label,
                                  JobStatus status, const std::vector<std::string>& targets,
                                  const std::string& message) {
  auto* e = next(build_request_id).mutable_job_event();
  e->set_job_run_id(job_run_id);
  e->mutable_job_label()->set_label(label);
  for (const auto& ref : targets) e->add_target_partitions()->set_str(ref);
  e->set_status_code(status);
  e->set_message(message);
  return done();
}

StreamBuilder& StreamBuilder::cancel_job(const std::string& build_request_id,
                                         const std::string& job_run_id, const std::string& reason) {
  auto* e = next(build_request_id).mutable_job_run_cancel_event();
  e->set_job_run_id(job_run_id);
  e->set_reason(reason);
  return done();
}

StreamBuilder& StreamBuilder::graph(const std::string& build_request_id) {
  next(build_request_id).mutable_job_graph_event()->mutable_job_graph()->set_label("graph");
  return done();
}

}  // namespace bel::testing
