#include "tests/support/events.h"

namespace bel::testing {

BuildEvent request_event(const std::string& build, BuildRequestStatus status,
                         const std::vector<std::string>& partitions) {
  BuildEvent e;
  e.set_build_request_id(build);
  auto* r = e.mutable_build_request_event();
  r->set_status_code(status);
  for (const auto& p : partitions) r->add_requested_partitions()->set_str(p);
  return e;
}

BuildEvent partition_event(const std::string& build, const std::string& ref,
                           PartitionStatus status, const std::string& job_run) {
  BuildEvent e;
  e.set_build_request_id(build);
  auto* p = e.mutable_partition_event();
  p->mutable_partition_ref()->set_str(ref);
  p->set_status_code(status);
  p->set_job_run_id(job_run);
  return e;
}

BuildEvent job_event(const std::string& build, const std::string& job_run,
                     const std::string& label, JobStatus status,
                     const std::vector<std::string>& targets) {
  BuildEvent e;
  e.set_build_request_id(build);
  auto* j = e.mutable_job_event();
  j->set_job_run_id(job_run);
  j->mutable_job_label()->set_label(label);
  j->set_status_code(status);
  for (const auto& t : targets) j->add_target_partitions()->set_str(t);
  return e;
}

BuildEvent delegation_event(const std::string& build, const std::string& ref,
                            const std::string& to) {
  BuildEvent e;
  e.set_build_request_id(build);
  e.mutable_delegation_event()->mutable_partition_ref()->set_str(ref);
  e.mutable_delegation_event()->set_delegated_to_build_request_id(to);
  return e;
}

BuildEvent invalidation_event(const std::string& build, const std::string& ref,
                              const std::string& reason) {
  BuildEvent e;
  e.set_build_request_id(build);
  e.mutable_partition_invalidation_event()->mutable_partition_ref()->set_str(ref);
  e.mutable_partition_invalidation_event()->set_reason(reason);
  return e;
}

BuildEvent build_cancel_event(const std::string& build, const std::string& reason) {
  BuildEvent e;
  e.set_build_request_id(build);
  e.mutable_build_cancel_event()->set_reason(reason);
  return e;
}

BuildEvent job_run_cancel_event(const std::string& build, const std::string& job_run,
                                const std::string& reason) {
  BuildEvent e;
  e.set_build_request_id(build);
  e.mutable_job_run_cancel_event()->set_job_run_id(job_run);
  e.mutable_job_run_cancel_event()->set_reason(reason);
  return e;
}

BuildEvent with_id(BuildEvent event, const std::string& event_id) {
  event.set_event_id(event_id);
  return event;
}

}  // namespace bel::testing
