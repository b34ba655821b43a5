// A BelApi that takes every request and never answers: each handler says the answer was
// delegated elsewhere, so no reply is ever sent and callers can only time out (or see the actor,
// or the process holding it, go away). `on_request`, when set, runs as each request arrives.
//
//   auto never = system.spawn(bel::testing::silent_api, std::function<void()>{});
// Header-only: suites that use it link bel_actors.
#ifndef BEL_TESTS_SUPPORT_SILENT_API_H_
#define BEL_TESTS_SUPPORT_SILENT_API_H_

#include <functional>
#include <string>
#include <vector>

#include "actors/bel_api.h"

namespace bel::testing {

inline actors::BelApi::behavior_type silent_api(std::function<void()> on_request) {
  using namespace bel::actors;
  auto arrived = [on_request] {
    if (on_request) on_request();
  };
  return {
      [=](append_atom, const BuildEvent&) -> caf::result<AppendAck> {
        arrived();
        return caf::delegated<AppendAck>{};
      },
      [=](append_atom, const std::vector<BuildEvent>&) -> caf::result<AppendAcks> {
        arrived();
        return caf::delegated<AppendAcks>{};
      },
      [=](append_atom, each_atom,
          const std::vector<BuildEvent>&) -> caf::result<actors::AppendOutcomes> {
        arrived();
        return caf::delegated<actors::AppendOutcomes>{};
      },
      [=](query_atom, const Query&) -> caf::result<QueryResult> {
        arrived();
        return caf::delegated<QueryResult>{};
      },
      [=](query_atom, each_atom, const std::vector<Query>&) -> caf::result<QueryOutcomes> {
        arrived();
        return caf::delegated<QueryOutcomes>{};
      },
      [=](fallback_atom, const Query&) -> caf::result<QueryResult> {
        arrived();
        return caf::delegated<QueryResult>{};
      },
      [=](list_atom, const ListEventsRequest&) -> caf::result<EventPage> {
        arrived();
        return caf::delegated<EventPage>{};
      },
      [=](views_atom) -> caf::result<ViewsStatus> {
        arrived();
        return caf::delegated<ViewsStatus>{};
      },
      [=](rebuild_atom, const std::string&) -> caf::result<ViewsStatus> {
        arrived();
        return caf::delegated<ViewsStatus>{};
      },
      [=](stats_atom) -> caf::result<StorageStats> {
        arrived();
        return caf::delegated<StorageStats>{};
      },
      [=](meta_atom, const std::string&, const std::string&) -> caf::result<std::string> {
        arrived();
        return caf::delegated<std::string>{};
      },
  };
}

}  // namespace bel::testing

#endif  // BEL_TESTS_SUPPORT_SILENT_API_H_
