#include "storage/checks.h"

#include <fmt/format.h>

#include "messages/filter_match.h"
#include "storage/storage.h"

namespace bel::storage {

namespace {

Status check_scan_args(const std::string& uri, const char* call, const char* idx_name,
                       int64_t idx, const EventFilter& filter, int limit) {
  if (limit < 1 || limit > kMaxListLimit) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("{}: {}: limit {} is out of range 1..{}", uri, call, limit,
                                  kMaxListLimit));
  }
  if (idx < 0) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("{}: {}: {} {} is negative", uri, call, idx_name, idx));
  }
  if (auto ok = check_filter(filter); !ok.ok()) {
    return ok.error().with_context(uri + ": " + call);
  }
  return ok_status();
}

}  // namespace

Status check_list_args(const std::string& uri, int64_t since_idx, const EventFilter& filter,
                       int limit) {
  return check_scan_args(uri, "list_events", "since_idx", since_idx, filter, limit);
}

Status check_backward_args(const std::string& uri, int64_t before_idx, const EventFilter& filter,
                           int limit) {
  return check_scan_args(uri, "list_events_backward", "before_idx", before_idx, filter, limit);
}

namespace {

int limit_of(const ListEventsRequest& request) {
  return request.limit() == 0 ? kDefaultListLimit : request.limit();
}

}  // namespace

Status check_list_request(const std::string& uri, const ListEventsRequest& request) {
  // A request's limit may be 0 (the default), which the calls it becomes do not take.
  if (request.limit() < 0 || request.limit() > kMaxListLimit) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("{}: list_events: limit {} is out of range (1..{}, or 0 for the "
                                  "default {})",
                                  uri, request.limit(), kMaxListLimit, kDefaultListLimit));
  }
  switch (request.order()) {
    case v1::EVENT_ORDER_ASCENDING:
      return check_list_args(uri, request.since_idx(), request.filter(), limit_of(request));
    case v1::EVENT_ORDER_DESCENDING:
      if (request.since_idx() != 0) {
        return make_error(ErrorCode::invalid_argument,
                          fmt::format("{}: list_events: since_idx {} with descending order (pass "
                                      "before_idx to continue a newest-first walk)",
                                      uri, request.since_idx()));
      }
      return check_backward_args(uri, request.before_idx(), request.filter(), limit_of(request));
    default:
      return make_error(ErrorCode::invalid_argument,
                        fmt::format("{}: list_events: order {} is not ascending (0) or "
                                    "descending (1)",
                                    uri, static_cast<int>(request.order())));
  }
}

Result<EventPage> list_page(Storage& storage, const ListEventsRequest& request) {
  BEL_RETURN_IF_ERROR(check_list_request(storage.uri(), request));
  if (request.order() == v1::EVENT_ORDER_DESCENDING) {
    return storage.list_events_backward(request.before_idx(), request.filter(), limit_of(request));
  }
  return storage.list_events(request.since_idx(), request.filter(), limit_of(request));
}

Error read_only_error(const std::string& uri, const char* what) {
  return make_error(ErrorCode::invalid_argument,
                    fmt::format("{}: {}: opened read-only", uri, what));
}

Status check_meta_key(const std::string& uri, const std::string& key) {
  if (key.empty()) {
    return make_error(ErrorCode::invalid_argument, fmt::format("{}: set_meta: key is empty", uri));
  }
  if (key == kSchemaVersionKey || key == kIndexedIdxKey || key == kLogIdKey ||
      key == kWriterPathKey) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("{}: set_meta: \"{}\" is managed by the storage", uri, key));
  }
  return ok_status();
}

Status serialize_payload(const std::string& uri, size_t position, const BuildEvent& event,
                         BuildEvent& scratch, std::string& payload) {
  const BuildEvent* stored = &event;
  if (event.idx() != 0) {  // the idx lives in its column, never in the payload
    scratch = event;
    scratch.clear_idx();
    stored = &scratch;
  }
  if (!stored->SerializeToString(&payload)) {
    return make_error(ErrorCode::internal,
                      fmt::format("{}: append #{}: event does not serialize", uri, position + 1));
  }
  return ok_status();
}

Error duplicate_event_id_error(const std::string& uri, size_t position,
                               const std::string& event_id) {
  return make_error(ErrorCode::duplicate_event_id,
                    fmt::format("{}: append #{}: event_id \"{}\" is not unique (already in the log "
                                "or earlier in the batch)",
                                uri, position + 1, event_id));
}

}  // namespace bel::storage
