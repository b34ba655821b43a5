#include "actors/read/query_actor.h"

#include <array>
#include <deque>

#include "actors/fail_answers.h"

namespace bel::actors {
namespace {

// A fallback scan reads the log; the bound only turns a reader that hangs into an answered error
// (R9), far above any scan's time.
constexpr auto kFallbackTimeout = std::chrono::minutes(10);

// A fallback waiting for a slot.
struct WaitingFallback {
  Query query;
  caf::typed_response_promise<QueryResult> promise;
};

struct QueryState {
  std::vector<ReaderActor> readers;
  QueryActorOptions options;
  size_t next_reader = 0;
  std::array<ViewActor, projections::kViewCount> views;  // by ViewKind
  int64_t fallbacks = 0;
  size_t fallbacks_in_flight = 0;
  std::deque<WaitingFallback> waiting;
  static inline const char* name = "bel.query";

  const ReaderActor& reader() {
    const auto& r = readers[next_reader];
    next_reader = (next_reader + 1) % readers.size();
    return r;
  }
};

using QueryPointer = QueryActor::stateful_pointer<QueryState>;

void run_fallback(QueryPointer self, Query query, caf::typed_response_promise<QueryResult> rp);

// A fallback ended: its slot goes to the oldest waiting one.
void fallback_done(QueryPointer self) {
  auto& st = self->state;
  --st.fallbacks_in_flight;
  if (st.waiting.empty()) return;
  WaitingFallback next = std::move(st.waiting.front());
  st.waiting.pop_front();
  run_fallback(self, std::move(next.query), std::move(next.promise));
}

// Runs `query` on a reader and delivers its answer; then starts the next waiting fallback.
void run_fallback(QueryPointer self, Query query, caf::typed_response_promise<QueryResult> rp) {
  auto& st = self->state;
  ++st.fallbacks_in_flight;
  // The reader answers (or dies, and takes this actor with it: they are linked).
  self->request(st.reader(), kFallbackTimeout, fallback_atom::value, std::move(query))
      .then(
          // The next scan is handed on before this answer goes out.
          [=](const QueryResult& answer) mutable {
            fallback_done(self);
            rp.deliver(answer);
          },
          [=](const caf::error& e) mutable {
            fallback_done(self);
            rp.deliver(e);
          });
}

// A fallback scan now, after the ones waiting, or `overloaded` when the queue is full.
caf::result<QueryResult> fallback(QueryPointer self, Query query) {
  auto& st = self->state;
  if (st.fallbacks_in_flight >= st.options.max_fallbacks_in_flight &&
      st.waiting.size() >= st.options.max_waiting_fallbacks) {
    return to_caf_error(make_error(
        ErrorCode::overloaded,
        "query tier: " + projections::describe_query(query) + ": " +
            std::to_string(st.fallbacks_in_flight) + " fallback scans running and " +
            std::to_string(st.waiting.size()) + " waiting; try again later"));
  }
  ++st.fallbacks;
  auto rp = self->make_response_promise<QueryResult>();
  if (st.fallbacks_in_flight < st.options.max_fallbacks_in_flight) {
    run_fallback(self, std::move(query), rp);
  } else {
    st.waiting.push_back(WaitingFallback{std::move(query), rp});
  }
  return rp;
}

QueryActor::behavior_type query_actor(QueryPointer self, std::vector<ReaderActor> readers,
                                      QueryActorOptions options) {
  assert(!readers.empty());
  for (const auto& r : readers) self->link_to(r);
  self->state.readers = std::move(readers);
  if (options.max_fallbacks_in_flight == 0) options.max_fallbacks_in_flight = 1;
  self->state.options = options;
  // Requests are delegated, except the fallbacks waiting for a slot: a throw answers the request
  // being handled and every waiting one (R9).
  answer_on_failure(self, ErrorCode::internal, "the query actor", [self](const caf::error& err) {
    for (auto& w : self->state.waiting) w.promise.deliver(err);
    self->state.waiting.clear();
  });
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
        return fallback(self, std::move(query));
      },
      [=](fallback_atom, Query& query) -> caf::result<QueryResult> {
        return fallback(self, std::move(query));
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

QueryActor spawn_query_actor(caf::actor_system& system, std::vector<ReaderActor> readers,
                             QueryActorOptions options) {
  return system.spawn(query_actor, std::move(readers), options);
}

}  // namespace bel::actors
