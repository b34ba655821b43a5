// The events of the console's and the coordinator's commands — cancelling a build request or a
// job run, invalidating a partition — as BuildsRepository, JobRunsRepository and
// PartitionsRepository append them; a producer that batches its own appends builds them here too.
//
//   auto event = bel::actors::make_build_cancel_event("br-7", "superseded by br-9");
//   if (!event.ok()) return event.error();      // invalid_argument "reason is empty", ...
//   client.append(std::move(*event));
#ifndef BEL_ACTORS_CLIENT_COMMAND_EVENTS_H_
#define BEL_ACTORS_CLIENT_COMMAND_EVENTS_H_

#include <string>

#include "messages/error.h"
#include "messages/types.h"

namespace bel::actors {

// The event that cancels build request `build_request_id` with `reason`. event_id empty lets the
// log assign one; timestamp 0 lets the log assign "now". invalid_argument, naming the field, for
// an empty build_request_id or reason.
Result<BuildEvent> make_build_cancel_event(const std::string& build_request_id,
                                           const std::string& reason,
                                           const std::string& event_id = "");

// The event that cancels job run `job_run_id` of build request `build_request_id` (the run's
// own: the log rejects any other) with `reason`. event_id empty lets the log assign one;
// timestamp 0 lets the log assign "now". invalid_argument, naming the field, for an empty
// build_request_id, job_run_id or reason.
Result<BuildEvent> make_job_run_cancel_event(const std::string& build_request_id,
                                             const std::string& job_run_id,
                                             const std::string& reason,
                                             const std::string& event_id = "");

// The event that invalidates partition `partition_ref` on behalf of build request
// `build_request_id`, with `reason` (the status message it leaves). event_id empty lets the log
// assign one; timestamp 0 lets the log assign "now". invalid_argument, naming the field, for an
// empty partition_ref, reason or build_request_id.
Result<BuildEvent> make_partition_invalidation_event(const std::string& partition_ref,
                                                     const std::string& reason,
                                                     const std::string& build_request_id,
                                                     const std::string& event_id = "");

}  // namespace bel::actors

#endif  // BEL_ACTORS_CLIENT_COMMAND_EVENTS_H_
