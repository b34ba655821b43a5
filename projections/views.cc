#include "projections/views.h"

#include "messages/status_names.h"

namespace bel::projections {
Result<Page> check_page(int32_t limit, int32_t offset) {
  if (limit < 0 || limit > kMaxLimit) {
    return make_error(ErrorCode::invalid_argument,
                      "limit " + std::to_string(limit) + " is out of range (1.." +
                          std::to_string(kMaxLimit) + ", or 0 for the default " +
                          std::to_string(kDefaultLimit) + ")");
  }
  if (offset < 0) {
    return make_error(ErrorCode::invalid_argument,
                      "offset " + std::to_string(offset) + " is negative");
  }
  return Page{limit == 0 ? kDefaultLimit : limit, offset};
}

void StatusCounts::add(int status, int64_t delta) {
  auto it = counts_.try_emplace(status, 0).first;
  it->second += delta;
  if (it->second == 0) counts_.erase(it);
}

int64_t StatusCounts::get(int status) const {
  auto it = counts_.find(status);
  return it == counts_.end() ? 0 : it->second;
}

int64_t StatusCounts::matching(const std::set<int>& filter, int64_t all) const {
  if (filter.empty()) return all;
  int64_t total = 0;
  for (int s : filter) total += get(s);
  return total;
}

std::string build_ended_text(const std::string& build_request_id, BuildRequestStatus status) {
  const char* what = status == v1::BUILD_REQUEST_CANCELLED ? "was cancelled"
                     : status == v1::BUILD_REQUEST_FAILED  ? "failed"
                                                           : "completed";
  return "build " + build_request_id + " " + what;
}

bool is_operator_action(const BuildEvent& event, BuildRequestStatus status_so_far) {
  return event.has_partition_invalidation_event() && status_so_far == v1::BUILD_REQUEST_UNKNOWN;
}

Error snapshot_error(std::string_view view, std::string_view what) {
  return make_error(ErrorCode::storage_corrupt,
                    std::string(view) + " snapshot: " + std::string(what));
}

Status SnapshotEntryOrder::check(std::string_view kind, std::string_view key, int64_t first_idx,
                                 int64_t last_idx, bool seen) {
  auto entry = [&] { return std::string(kind) + " " + std::string(key); };
  if (first_idx <= previous_idx_ || last_idx > as_of_idx_) {
    return snapshot_error(
        view_, entry() + " has first_idx " + std::to_string(first_idx) + " out of order");
  }
  if (seen) return snapshot_error(view_, entry() + " appears twice");
  previous_idx_ = first_idx;
  return ok_status();
}

}  // namespace bel::projections
