// Appender: a producer actor's single-event appends, carried to the coordinator several to a
// message (bel_api.h, each_atom), as a Kafka producer carries records in batches. Each append is
// still its own: its own idempotency, checks and transition rules, its own answer, in the order
// appended; only the messages between the actors are shared. Ids are assigned as the producer
// wishes (bel::new_event_id() gives time-ordered ones), or by the log when left empty.
//
//   caf::behavior worker(caf::event_based_actor* self, bel::actors::BelApi api) {
//     bel::actors::Appender appender(self, api);
//     appender.append(event, [](bel::Result<bel::AppendAck> ack) {
//       if (!ack.ok()) { /* ack.error(): invalid_transition, overloaded, ... */ }
//     });
//     ...
//   }
//
// When appends go out: at once while fewer than max_messages_in_flight of this appender's
// messages are unanswered (one at a time, an append waits for nothing); else with the next
// answer, together with every append made while answers are delivered. So a producer that keeps
// many appends in flight, appending again from its callbacks, sends one message per answer it
// gets rather than one per append: on this project's 2-core machines that is a third less CPU per
// append than a request each (docs/performance.md).
//
// Every append is answered exactly once, on the producer's actor: with its ack after COMMIT, or
// its error (the coordinator's refusal, its stop: SPEC R9; the message's deadline when one is
// set: timeout, its outcome then unknown, "bel_api append of 3 events (an Appender's message): no
// answer within 500ms"). Appends still waiting when the producer's actor ends
// are dropped with it, unanswered. An append refused on arrival (overloaded, invalid_event) is
// answered with the rest of its message, once those are committed: within a commit of its
// refusal, never after waiting for room. So a deadline shorter than a commit under load could
// turn such a refusal into a timeout; the default sets none. A coordinator actor killed outright
// (exit_reason::kill rather than stop_coordinator) answers nothing, as for any CAF request: a
// producer that must survive that monitors the coordinator or sets a deadline.
//
// Not thread-safe: use it on its actor only. Copies share one queue.
#ifndef BEL_ACTORS_CLIENT_APPENDER_H_
#define BEL_ACTORS_CLIENT_APPENDER_H_

#include <caf/all.hpp>
#include <cstdint>
#include <functional>
#include <memory>

#include "actors/bel_api.h"
#include "messages/error.h"
#include "messages/types.h"

namespace bel::actors {

struct AppenderOptions {
  // Most appends carried in one message.
  size_t max_batch = 256;
  // While fewer of this appender's messages are unanswered, an append goes out at once.
  size_t max_messages_in_flight = 4;
  // Each message's deadline; infinite: none (the coordinator answers every append, R9).
  caf::duration timeout{caf::infinite};
};

class Appender {
 public:
  using Done = std::function<void(Result<AppendAck>)>;

  Appender(caf::event_based_actor* self, BelApi api, AppenderOptions options = {});

  // Appends `event` alone; `done` (may be empty) gets its ack or its error, on this actor.
  void append(BuildEvent event, Done done);

  // Appended and not answered yet.
  size_t in_flight() const;
  // Messages sent to the coordinator so far.
  int64_t messages_sent() const;

  struct State;  // internal: what copies share, kept alive by the answers still due

 private:
  std::shared_ptr<State> state_;
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_CLIENT_APPENDER_H_
