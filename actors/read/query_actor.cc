#include "actors/read/query_actor.h"

#include <array>

#include "actors/fail_answers.h"

namespace bel::actors {
namespace {

struct QueryState {
  std::vector<ReaderActor> readers;
  size_t next_reader = 0;
  std::array<ViewActor, projections::kViewCount> views;  // by ViewKind
  int64_t fallbacks = 0;
  static inline const char* name = "bel.query";

  const ReaderActor& reader() {
    const auto& r = readers[next_reader];
    next_reader = (next_reader + 1) % readers.size();
    return r;
  }
};

using QueryPointer = QueryActor::stateful_pointer<QueryState>;

QueryActor::behavior_type query_actor(QueryPointer self, std::vector<ReaderActor> readers) {
  assert(!readers.empty());
  for (const auto& r : readers) self->link_to(r);
  self->state.readers = std::move(readers);
  // It parks nothing (requests are delegated): a throw answers the request being handled (R9).
  answer_on_failure(self, ErrorCode::internal, "the query actor", [](const caf::error&) {});
  // A view that went down is not asked again until the supervisor names its successor.
  self->set_down_handler([=](const caf::down_msg& down) {
    for (auto& view : self->state.views) {
      if (view && view.address() == down.source) view = ViewActor{};
    }
  });
  return {
      [=](query_atom, Query& query) -> caf::result<QueryResult> {
        if (auto ok = projections::check_query(query); !ok.ok()) return to_caf_error(ok.error());
        const auto& view = self->state.views[static_cast<size_t>(projections::view_for(query))];
        if (view) return self->delegate(view, query_atom::value, std::move(query));
        ++self->state.fallbacks;
        return self->delegate(self->state.reader(), fallback_atom::value, std::move(query));
      },
      [=](fallback_atom, Query& query) -> caf::result<QueryResult> {
        ++self->state.fallbacks;
        return self->delegate(self->state.reader(), fallback_atom::value, std::move(query));
      },
      [=](list_atom, ListEventsRequest& request) -> caf::result<EventPage> {
        return self->delegate(self->state.reader(), list_atom::value, std::move(request));
      },
      [=](set_atom, int32_t kind, const ViewActor& view) {
        if (kind < 0 || kind >= static_cast<int32_t>(self->state.views.size())) return;
        if (view) self->monitor(view);
        self->state.views[static_cast<size_t>(kind)] = view;
      },
      [=](fallbacks_atom) -> int64_t { return self->state.fallbacks; },
  };
}

}  // namespace

QueryActor spawn_query_actor(caf::actor_system& system, std::vector<ReaderActor> readers) {
  return system.spawn(query_actor, std::move(readers));
}

}  // namespace bel::actors
