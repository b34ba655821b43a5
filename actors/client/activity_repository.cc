#include "actors/client/activity_repository.h"

#include <utility>

namespace bel::actors {

Result<ActivityResponse> ActivityRepository::activity(int64_t min_idx) const {
  Query query;
  query.mutable_activity();
  return api_.ask_for(std::move(query), min_idx, &QueryResult::mutable_activity);
}

}  // namespace bel::actors
