// Concise builders of valid BuildEvents for tests.
//
//   auto e = bel::testing::request_event("br-1", bel::v1::BUILD_REQUEST_RECEIVED, {"p/1"});
#ifndef BEL_TESTS_SUPPORT_EVENTS_H_
#define BEL_TESTS_SUPPORT_EVENTS_H_

#include <string>
#include <vector>

#include "messages/types.h"

namespace bel::testing {

BuildEvent request_event(const std::string& build, BuildRequestStatus status,
                         const std::vector<std::string>& partitions = {});
BuildEvent partition_event(const std::string& build, const std::string& ref,
                           PartitionStatus status, const std::string& job_run = {});
BuildEvent job_event(const std::string& build, const std::string& job_run,
                     const std::string& label, JobStatus status,
                     const std::vector<std::string>& targets = {});
BuildEvent delegation_event(const std::string& build, const std::string& ref,
                            const std::string& to);
BuildEvent invalidation_event(const std::string& build, const std::string& ref,
                              const std::string& reason);
BuildEvent build_cancel_event(const std::string& build, const std::string& reason);
BuildEvent job_run_cancel_event(const std::string& build, const std::string& job_run,
                                const std::string& reason);

// The same event with an explicit event_id.
BuildEvent with_id(BuildEvent event, const std::string& event_id);

}  // namespace bel::testing

#endif  // BEL_TESTS_SUPPORT_EVENTS_H_
