#include "bench/query_client.h"

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "actors/caf_support.h"
#include "bench/answer_tally.h"

namespace bel::bench {
namespace {

using actors::query_atom;

struct Outcome {
  AnswerTally tally;
  double seconds = 0;
};

struct QueryClientState {
  actors::BelApi api;
  const std::vector<Query>* queries = nullptr;
  int64_t count = 0;
  int64_t sent = 0;
  RequestWindow requests;
  std::shared_ptr<std::promise<Outcome>> done;
  std::shared_ptr<std::atomic<int64_t>> answered;  // read by the waiting thread
  static inline const char* name = "bel.bench.query_client";
};

using QueryClient = caf::stateful_actor<QueryClientState>*;

void send_query(QueryClient self);

bool more_to_send(QueryClient self) { return self->state.sent < self->state.count; }

void on_answer(QueryClient self, const caf::error* error) {
  auto& st = self->state;
  st.answered->fetch_add(1, std::memory_order_relaxed);
  if (st.requests.answer(
          error, [=] { return more_to_send(self); }, [=] { send_query(self); })) {
    Outcome outcome;
    outcome.tally = st.requests.tally();
    outcome.seconds = std::chrono::duration<double>(st.requests.elapsed()).count();
    st.done->set_value(outcome);
    self->quit();
  }
}

void send_query(QueryClient self) {
  auto& st = self->state;
  const Query& q = (*st.queries)[static_cast<size_t>(st.sent++) % st.queries->size()];
  st.requests.sent();
  self->request(st.api, caf::infinite, query_atom::value, q)
      .then([=](const QueryResult&) { on_answer(self, nullptr); },
            [=](const caf::error& e) { on_answer(self, &e); });
}

caf::behavior query_client(QueryClient self, actors::BelApi api, const std::vector<Query>* queries,
                           int64_t count, int window, std::shared_ptr<std::promise<Outcome>> done,
                           std::shared_ptr<std::atomic<int64_t>> answered) {
  auto& st = self->state;
  st.answered = std::move(answered);
  st.api = std::move(api);
  st.queries = queries;
  st.count = count;
  st.done = std::move(done);
  st.requests.open(
      window, [=] { return more_to_send(self); }, [=] { send_query(self); });
  // Nothing sends this; the behavior only keeps the actor alive while answers are due.
  return {[](actors::tick_atom) {}};
}

}  // namespace

Result<double> measure_query_rate(caf::actor_system& system, const actors::BelApi& api,
                                  const std::vector<Query>& queries, int64_t count, int window) {
  auto done = std::make_shared<std::promise<Outcome>>();
  auto answered = std::make_shared<std::atomic<int64_t>>(0);
  auto finished = done->get_future();
  auto client = system.spawn(query_client, api, &queries, count, window, done, answered);
  if (!wait_while_answered(finished, *answered, kStallTimeout, [](int64_t) {})) {
    caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
    return make_error(ErrorCode::timeout, "bench: no query answered for " +
                                              std::to_string(kStallTimeout.count()) + " s after " +
                                              std::to_string(answered->load()) + " of " +
                                              std::to_string(count));
  }
  const Outcome outcome = finished.get();
  BEL_RETURN_IF_ERROR(outcome.tally.check("", count, "queries failed"));
  return outcome.seconds > 0 ? static_cast<double>(outcome.tally.answered) / outcome.seconds : 0.0;
}

}  // namespace bel::bench
