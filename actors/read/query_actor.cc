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

// Asks the questions of one (query_atom, each_atom, queries) message of `query`, a few at a
// time, and answers with every outcome once each is answered; then quits. One per message, so
// that its requests (CAF 0.17 searches an actor's pending requests linearly) never slow the
// query actor's other answers.
struct EachState {
  std::vector<Query> queries;
  QueryOutcomes outcomes;
  std::vector<char> answered_at;  // per question: its outcome is in
  size_t next = 0, answered = 0;
  bool delivered = false;
  caf::typed_response_promise<QueryOutcomes> promise;
  static inline const char* name = "bel.query_each";
};
using EachActor = caf::typed_actor<
    caf::replies_to<query_atom, each_atom, std::vector<Query>>::with<QueryOutcomes>>;

using EachPointer = EachActor::stateful_pointer<EachState>;

void deliver_each(EachPointer self) {
  auto& st = self->state;
  st.delivered = true;
  st.promise.deliver(std::move(st.outcomes));
  self->quit();
}

void ask_next(EachPointer self, QueryActor query) {
  auto& st = self->state;
  const size_t i = st.next++;
  auto done = [self, query, i](QueryResult answer, caf::error error) {
    auto& st = self->state;
    if (st.delivered || st.answered_at[i]) return;
    st.answered_at[i] = 1;
    st.outcomes[i].answer = std::move(answer);
    st.outcomes[i].error = std::move(error);
    if (++st.answered == st.queries.size()) {
      deliver_each(self);
    } else if (st.next < st.queries.size()) {
      ask_next(self, query);
    }
  };
  // No timeout of its own: the query actor answers every question (a view at once, a fallback
  // scan within kFallbackTimeout), and one that stops is met by the down handler (it keeps the
  // promises of its scans in its state, which no one answers once it is gone). CAF 0.17 would
  // register each request's timeout with its clock thread: microseconds per question.
  self->request(query, caf::infinite, query_atom::value, st.queries[i])
      .then([done](QueryResult& answer) mutable { done(std::move(answer), caf::error{}); },
            [done](caf::error& error) mutable { done(QueryResult{}, std::move(error)); });
}

EachActor::behavior_type query_each(EachPointer self, QueryActor query) {
  return {
      [=](query_atom, each_atom, std::vector<Query>& queries) -> caf::result<QueryOutcomes> {
        auto& st = self->state;
        if (queries.empty()) {
          self->quit();
          return QueryOutcomes{};
        }
        st.queries = std::move(queries);
        st.outcomes.resize(st.queries.size());
        st.answered_at.assign(st.queries.size(), 0);
        // The query actor stopped (a shutdown, a reader that died): the questions it had not
        // answered never will be.
        self->monitor(query);
        self->set_down_handler([=](const caf::down_msg&) {
          auto& st = self->state;
          if (st.delivered) return;
          for (size_t i = 0; i < st.outcomes.size(); ++i) {
            if (st.answered_at[i]) continue;
            st.outcomes[i].error =
                to_caf_error(make_error(ErrorCode::storage_unavailable,
                                        "the coordinator's query actor stopped before answering " +
                                            projections::describe_query(st.queries[i])));
          }
          deliver_each(self);
        });
        st.promise = self->make_response_promise<QueryOutcomes>();
        while (st.next < std::min(st.queries.size(), kQueriesInFlightPerMessage)) {
          ask_next(self, query);
        }
        return st.promise;
      },
  };
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
      [=](query_atom, each_atom, std::vector<Query>& queries) -> caf::result<QueryOutcomes> {
        if (queries.size() > kMaxQueriesPerMessage) {
          return to_caf_error(make_error(
              ErrorCode::invalid_argument,
              "query tier: " + std::to_string(queries.size()) + " questions in one message, " +
                  "more than " + std::to_string(kMaxQueriesPerMessage) + "; split them"));
        }
        auto each = self->spawn(query_each, caf::actor_cast<QueryActor>(self));
        return self->delegate(each, query_atom::value, each_atom::value, std::move(queries));
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
