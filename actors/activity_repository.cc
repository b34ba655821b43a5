#include "actors/activity_repository.h"

#include <utility>

namespace bel::actors {

Result<ActivityResponse> ActivityRepository::activity(int64_t min_idx) const {
  Query query;  // ApiClient::query checks min_idx
  query.set_min_idx(min_idx);
  query.mutable_activity();
  auto result = api_.query(query);
  if (!result.ok()) return result.error();
  return std::move(*result->mutable_activity());
}

}  // namespace bel::actors
