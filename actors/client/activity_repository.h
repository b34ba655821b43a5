// bel::actors::ActivityRepository: the log's overview for `bel activity` (SPEC section 4:
// counts by status, the 10 most recent build requests and partitions), over an ApiClient.
//
//   bel::actors::ApiClient client(system, api);
//   bel::actors::ActivityRepository activity(client);
//   auto a = activity.activity(ack.idx());      // reflects at least that write
//   if (!a.ok()) return a.error();
//   print(a->active_builds_count(), a->event_count());
//
// Thread-safe as its ApiClient. Does not own the client, which must outlive it.
#ifndef BEL_ACTORS_CLIENT_ACTIVITY_REPOSITORY_H_
#define BEL_ACTORS_CLIENT_ACTIVITY_REPOSITORY_H_

#include <cstdint>

#include "actors/client/api_client.h"
#include "actors/client/repository.h"
#include "messages/error.h"
#include "messages/types.h"

namespace bel::actors {

class ActivityRepository : public Repository {
 public:
  using Repository::Repository;

  // The activity summary, reflecting at least `min_idx` (0: no particular idx). An empty log is
  // not an error: zero counts. invalid_argument for a negative min_idx; other errors are the
  // ApiClient's.
  Result<ActivityResponse> activity(int64_t min_idx = 0) const;
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_CLIENT_ACTIVITY_REPOSITORY_H_
