#include "actors/client/builds_repository.h"

#include <utility>

#include "messages/status_names.h"
#include "projections/queries.h"

namespace bel::actors {

Result<BuildEvent> make_build_cancel_event(const std::string& build_request_id,
                                           const std::string& reason, const std::string& event_id) {
  BEL_RETURN_IF_ERROR(projections::check_required("build_request_id", build_request_id));
  BEL_RETURN_IF_ERROR(projections::check_required("reason", reason));
  BuildEvent event;
  event.set_event_id(event_id);
  event.set_build_request_id(build_request_id);
  event.mutable_build_cancel_event()->set_reason(reason);
  return event;
}

Result<BuildsListResponse> BuildsRepository::list(const BuildsListRequest& request,
                                                  int64_t min_idx) const {
  return api_.ask_for(&Query::mutable_builds_list, request, min_idx,
                      &QueryResult::mutable_builds_list);
}

Result<BuildRequestSummary> BuildsRepository::show(const std::string& build_request_id,
                                                   int64_t min_idx) const {
  Query query;
  query.mutable_build_summary()->set_build_request_id(build_request_id);
  return api_.ask_for(std::move(query), min_idx, &QueryResult::mutable_build_summary);
}

Result<EventPage> BuildsRepository::events(const std::string& build_request_id, int64_t since_idx,
                                           int limit, int64_t min_idx) const {
  EventFilter filter;  // ApiClient::list_events checks the id
  filter.add_build_request_ids(build_request_id);
  return api_.events_page(std::move(filter), since_idx, limit, min_idx);
}

Result<AppendAck> BuildsRepository::cancel(const std::string& build_request_id,
                                           const std::string& reason,
                                           const std::string& event_id) const {
  auto event = make_build_cancel_event(build_request_id, reason, event_id);
  if (!event.ok()) return event.error();
  auto ack = api_.append(std::move(*event));
  if (ack.ok() || ack.error().code != ErrorCode::invalid_transition) return ack;
  // The rules' message speaks of transitions; say what the operator needs: it had ended.
  if (auto ended = ended_build_error(build_request_id, ack.error().code)) return *ended;
  return ack;
}

std::optional<Error> BuildsRepository::ended_build_error(const std::string& build_request_id,
                                                         ErrorCode code) const {
  // The refusal was judged on the log as committed: read a summary that reflects all of it.
  auto stats = api_.stats();
  auto summary = show(build_request_id, stats.ok() ? stats->last_idx() : 0);
  if (!summary.ok() || !is_terminal_build_status(summary->status_code())) return std::nullopt;
  return Error{code, build_request_id + " already " + short_status_name(summary->status_name()) +
                         " at idx " + std::to_string(summary->last_idx()) +
                         "; nothing was changed"};
}

}  // namespace bel::actors
