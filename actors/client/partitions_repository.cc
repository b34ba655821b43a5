#include "actors/client/partitions_repository.h"

#include <algorithm>
#include <future>
#include <iterator>
#include <system_error>
#include <utility>

#include "projections/queries.h"

namespace bel::actors {
namespace {

Error bad(std::string what) { return make_error(ErrorCode::invalid_argument, std::move(what)); }

}  // namespace

Result<PartitionStatusResponse> PartitionsRepository::status(const std::string& partition_ref,
                                                             int64_t min_idx) const {
  return api_.ask_about(partition_ref, &Query::mutable_partition_status,
                        &PartitionStatusRequest::mutable_partition_ref, min_idx,
                        &QueryResult::mutable_partition_status);
}

Result<ActiveBuildsResponse> PartitionsRepository::active_builds(const std::string& partition_ref,
                                                                 int64_t min_idx) const {
  return api_.ask_about(partition_ref, &Query::mutable_active_builds,
                        &ActiveBuildsRequest::mutable_partition_ref, min_idx,
                        &QueryResult::mutable_active_builds);
}

Result<PartitionDetail> PartitionsRepository::show(const std::string& partition_ref, int recent,
                                                   int64_t min_idx) const {
  // The status query below checks the ref and min_idx.
  if (recent < 0 || recent > kMaxRecentEvents) {
    return bad("recent " + std::to_string(recent) + " is out of range 0.." +
               std::to_string(kMaxRecentEvents));
  }

  PartitionDetail detail;
  // Without views both are scans of the partition's events: asked at once, they run on two of
  // the query actor's readers.
  std::future<Result<ActiveBuildsResponse>> builds_asked;
  try {
    builds_asked =
        std::async(std::launch::async, [&] { return active_builds(partition_ref, min_idx); });
  } catch (const std::system_error&) {  // no thread to be had: one after the other
  }
  auto status_answer = status(partition_ref, min_idx);
  const bool asked_at_once = builds_asked.valid();
  Result<ActiveBuildsResponse> builds =
      asked_at_once ? builds_asked.get() : Result<ActiveBuildsResponse>(ActiveBuildsResponse());
  if (!status_answer.ok()) return status_answer.error();
  detail.status = std::move(*status_answer);

  // Never older than the status shown next to them (and asked now when they were not at once).
  if (!asked_at_once || (builds.ok() && builds->as_of_idx() < detail.status.as_of_idx())) {
    builds = active_builds(partition_ref, detail.status.as_of_idx());
  }
  if (!builds.ok()) return builds.error();
  detail.active_builds.assign(std::make_move_iterator(builds->mutable_build_request_ids()->begin()),
                              std::make_move_iterator(builds->mutable_build_request_ids()->end()));

  if (recent > 0) {
    // The newest `recent` events, read newest-first: one page (kMaxRecentEvents is within a
    // page's limit), however long the partition's history.
    ListEventsRequest request;
    request.set_limit(recent);
    request.mutable_filter()->add_partition_refs(partition_ref);
    request.set_order(v1::EVENT_ORDER_DESCENDING);
    auto page = api_.list_events(request);
    if (!page.ok()) return page.error();
    auto* events = page->mutable_events();
    detail.recent_events.assign(std::make_move_iterator(events->rbegin()),
                                std::make_move_iterator(events->rend()));
  }
  return detail;
}

namespace {
constexpr std::string_view kOperatorPrefix = "operator:";
}  // namespace

std::string operator_id(const std::string& user) { return std::string(kOperatorPrefix) + user; }

bool is_operator_id(std::string_view id) {
  return id.size() > kOperatorPrefix.size() &&
         id.substr(0, kOperatorPrefix.size()) == kOperatorPrefix;
}

Status PartitionsRepository::check_invalidation_build(const std::string& build_request_id) const {
  if (is_operator_id(build_request_id)) return ok_status();
  EventFilter received;
  received.add_build_request_ids(build_request_id);
  // Received as a build request: what makes an invalidation not an operator's (the views' and
  // the write rules' definition, docs/operators.md).
  received.add_event_types("build_request_event");
  received.add_event_types("build_cancel_event");
  auto page = api_.events_page(std::move(received), 0, 1, 0);
  if (!page.ok()) return page.error();
  if (!page->events().empty()) return ok_status();
  return make_error(ErrorCode::not_found,
                    "build request " + build_request_id +
                        " not found (an invalidation on behalf of a build names one the log has "
                        "received, or an operator as operator:NAME); nothing was changed");
}

Result<AppendAck> PartitionsRepository::invalidate(const std::string& partition_ref,
                                                   const std::string& reason,
                                                   const std::string& build_request_id,
                                                   const std::string& event_id) const {
  auto event = make_partition_invalidation_event(partition_ref, reason, build_request_id, event_id);
  if (!event.ok()) return event.error();
  return api_.append(std::move(*event));
}

}  // namespace bel::actors
