#include "actors/client/command_events.h"

#include <initializer_list>
#include <utility>

#include "projections/queries.h"

namespace bel::actors {
namespace {

using Field = std::pair<const char*, const std::string&>;

// An event of build request `build_request_id` with `event_id`, once every `required` field (in
// order) is non-empty: invalid_argument naming the first empty one otherwise.
Result<BuildEvent> command_event(std::initializer_list<Field> required,
                                 const std::string& build_request_id, const std::string& event_id) {
  for (const Field& field : required) {
    BEL_RETURN_IF_ERROR(projections::check_required(field.first, field.second));
  }
  BuildEvent event;
  event.set_event_id(event_id);
  event.set_build_request_id(build_request_id);
  return event;
}

}  // namespace

Result<BuildEvent> make_build_cancel_event(const std::string& build_request_id,
                                           const std::string& reason, const std::string& event_id) {
  auto event = command_event({{"build_request_id", build_request_id}, {"reason", reason}},
                             build_request_id, event_id);
  if (event.ok()) event->mutable_build_cancel_event()->set_reason(reason);
  return event;
}

Result<BuildEvent> make_job_run_cancel_event(const std::string& build_request_id,
                                             const std::string& job_run_id,
                                             const std::string& reason,
                                             const std::string& event_id) {
  auto event = command_event(
      {{"build_request_id", build_request_id}, {"job_run_id", job_run_id}, {"reason", reason}},
      build_request_id, event_id);
  if (!event.ok()) return event;
  auto* cancel = event->mutable_job_run_cancel_event();
  cancel->set_job_run_id(job_run_id);
  cancel->set_reason(reason);
  return event;
}

Result<BuildEvent> make_partition_invalidation_event(const std::string& partition_ref,
                                                     const std::string& reason,
                                                     const std::string& build_request_id,
                                                     const std::string& event_id) {
  auto event = command_event({{"partition_ref", partition_ref},
                              {"reason", reason},
                              {"build_request_id", build_request_id}},
                             build_request_id, event_id);
  if (!event.ok()) return event;
  auto* invalidation = event->mutable_partition_invalidation_event();
  invalidation->mutable_partition_ref()->set_str(partition_ref);
  invalidation->set_reason(reason);
  return event;
}

}  // namespace bel::actors
