// Test helpers for the storage suites: concise builders for events of every type and
// comparisons that ignore idx. (A fresh temporary directory: bel::testing::TempDir, in
// tests/support/run_command.h.)
//
//   auto ev = partition_event("br-1", "data/a", v1::PARTITION_BUILDING, "run-1");
//   auto job = job_event("br-1", "run-1", "//jobs:a", {"data/a", "data/b"});
#ifndef BEL_TESTS_STORAGE_STORAGE_TEST_EVENTS_H_
#define BEL_TESTS_STORAGE_STORAGE_TEST_EVENTS_H_

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "messages/status_names.h"
#include "messages/types.h"

namespace bel::storage::testing {

// A new event with a process-unique event_id and an increasing timestamp (safe to call from
// several threads: the multi-writer suites do).
inline BuildEvent base_event(const std::string& build_request_id) {
  static std::atomic<int64_t> next{0};
  const int64_t counter = ++next;
  BuildEvent event;
  event.set_event_id("ev-" + std::to_string(counter));
  event.set_timestamp(1'700'000'000'000'000'000 + counter);
  event.set_build_request_id(build_request_id);
  return event;
}

inline BuildEvent build_request_event(const std::string& br,
                                      const std::vector<std::string>& requested = {},
                                      v1::BuildRequestStatus status = v1::BUILD_REQUEST_RECEIVED) {
  BuildEvent event = base_event(br);
  auto* e = event.mutable_build_request_event();
  e->set_status_code(status);
  e->set_status_name(status_name(status));
  for (const auto& ref : requested) e->add_requested_partitions()->set_str(ref);
  return event;
}

inline BuildEvent partition_event(const std::string& br, const std::string& ref,
                                  v1::PartitionStatus status = v1::PARTITION_REQUESTED,
                                  const std::string& job_run_id = "") {
  BuildEvent event = base_event(br);
  auto* e = event.mutable_partition_event();
  e->mutable_partition_ref()->set_str(ref);
  e->set_status_code(status);
  e->set_status_name(status_name(status));
  e->set_job_run_id(job_run_id);
  return event;
}

inline BuildEvent job_event(const std::string& br, const std::string& job_run_id,
                            const std::string& label, const std::vector<std::string>& targets = {},
                            v1::JobStatus status = v1::JOB_SCHEDULED) {
  BuildEvent event = base_event(br);
  auto* e = event.mutable_job_event();
  e->set_job_run_id(job_run_id);
  e->mutable_job_label()->set_label(label);
  for (const auto& ref : targets) e->add_target_partitions()->set_str(ref);
  e->set_status_code(status);
  e->set_status_name(status_name(status));
  return event;
}

inline BuildEvent delegation_event(const std::string& br, const std::string& ref,
                                   const std::string& delegated_to) {
  BuildEvent event = base_event(br);
  auto* e = event.mutable_delegation_event();
  e->mutable_partition_ref()->set_str(ref);
  e->set_delegated_to_build_request_id(delegated_to);
  return event;
}

inline BuildEvent job_graph_event(const std::string& br, const std::vector<std::string>& outputs) {
  BuildEvent event = base_event(br);
  auto* graph = event.mutable_job_graph_event()->mutable_job_graph();
  graph->set_label("graph");
  for (const auto& ref : outputs) graph->add_outputs()->set_str(ref);
  return event;
}

inline BuildEvent partition_invalidation_event(const std::string& br, const std::string& ref) {
  BuildEvent event = base_event(br);
  auto* e = event.mutable_partition_invalidation_event();
  e->mutable_partition_ref()->set_str(ref);
  e->set_reason("stale");
  return event;
}

inline BuildEvent job_run_cancel_event(const std::string& br, const std::string& job_run_id) {
  BuildEvent event = base_event(br);
  auto* e = event.mutable_job_run_cancel_event();
  e->set_job_run_id(job_run_id);
  e->set_reason("user");
  return event;
}

inline BuildEvent build_cancel_event(const std::string& br) {
  BuildEvent event = base_event(br);
  event.mutable_build_cancel_event()->set_reason("user");
  return event;
}

// True when `a` and `b` are equal apart from idx.
inline bool same_apart_from_idx(BuildEvent a, BuildEvent b) {
  a.clear_idx();
  b.clear_idx();
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

}  // namespace bel::storage::testing

#endif  // BEL_TESTS_STORAGE_STORAGE_TEST_EVENTS_H_
