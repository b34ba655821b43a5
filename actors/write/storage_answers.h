// How the storage actor answers the appends it holds until their COMMIT (storage_actor.cc): a
// request for one event or a batch, answered through its response promise, or one of the
// supervisor's flights, answered in one (answered_atom, answers) message per sender when the
// handler that answered them ends.
#ifndef BEL_ACTORS_WRITE_STORAGE_ANSWERS_H_
#define BEL_ACTORS_WRITE_STORAGE_ANSWERS_H_

#include <algorithm>
#include <caf/all.hpp>
#include <cstdint>
#include <utility>
#include <vector>

#include "actors/write/storage_actor.h"

namespace bel::actors::storage_answers {

// One waiting append: a request for a single event or a batch, or one of the supervisor's
// flights (answered in the sender's next (answered_atom, ...) message, see Outbox).
struct Waiter {
  enum class Kind { one, many, flight };
  Kind kind = Kind::one;
  caf::typed_response_promise<AppendAck> one;
  caf::typed_response_promise<AppendAcks> many;
  caf::strong_actor_ptr sender;  // of a flight
  uint64_t flight = 0;
};

// The answers to flights not sent yet, by sender (in practice one: the supervisor). Sent as one
// message per sender when the handler that answered them ends (Outbox::send).
class Outbox {
 public:
  void add(const Waiter& w, std::vector<AppendAck> acks, caf::error error) {
    auto it = std::find_if(by_sender_.begin(), by_sender_.end(),
                           [&](const auto& entry) { return entry.first == w.sender; });
    if (it == by_sender_.end()) it = by_sender_.insert(by_sender_.end(), {w.sender, {}});
    it->second.push_back(FlightAnswer{w.flight, std::move(acks), std::move(error)});
  }

  template <class Self>
  void send(Self* self) {
    for (auto& [sender, answers] : by_sender_) {
      if (sender == nullptr) continue;
      sender->enqueue(self->ctrl(), caf::make_message_id(),
                      caf::make_message(answered_atom::value, std::move(answers)), self->context());
    }
    by_sender_.clear();
  }

 private:
  std::vector<std::pair<caf::strong_actor_ptr, std::vector<FlightAnswer>>> by_sender_;
};

// Answers `w` with `error`.
void fail(Outbox& out, Waiter& w, const Error& error);

// Answers `w` with its acks (one for a single event), or with their error.
void deliver(Outbox& out, Waiter& w, Result<std::vector<AppendAck>>& acks);

}  // namespace bel::actors::storage_answers

#endif  // BEL_ACTORS_WRITE_STORAGE_ANSWERS_H_
