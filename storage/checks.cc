#include "storage/checks.h"

#include <fmt/format.h>

#include "messages/filter_match.h"
#include "storage/storage.h"

namespace bel::storage {

Status check_list_args(const std::string& uri, int64_t since_idx, const EventFilter& filter,
                       int limit) {
  if (limit < 1 || limit > kMaxListLimit) {
    return make_error(
        ErrorCode::invalid_argument,
        fmt::format("{}: list_events: limit {} is out of range 1..{}", uri, limit, kMaxListLimit));
  }
  if (since_idx < 0) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("{}: list_events: since_idx {} is negative", uri, since_idx));
  }
  if (auto ok = check_filter(filter); !ok.ok()) {
    return ok.error().with_context(uri + ": list_events");
  }
  return ok_status();
}

Error read_only_error(const std::string& uri, const char* what) {
  return make_error(ErrorCode::invalid_argument,
                    fmt::format("{}: {}: opened read-only", uri, what));
}

Status check_meta_key(const std::string& uri, const std::string& key) {
  if (key.empty()) {
    return make_error(ErrorCode::invalid_argument, fmt::format("{}: set_meta: key is empty", uri));
  }
  if (key == kSchemaVersionKey || key == kIndexedIdxKey) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("{}: set_meta: \"{}\" is managed by the storage", uri, key));
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
