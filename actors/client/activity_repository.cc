#include "actors/client/activity_repository.h"

namespace bel::actors {

Result<ActivityResponse> ActivityRepository::activity(int64_t min_idx) const {
  return api_.ask_for(&Query::mutable_activity, ActivityRequest(), min_idx,
                      &QueryResult::mutable_activity);
}

}  // namespace bel::actors
