#include "actors/read/restore_turns.h"

#include <utility>

#include "actors/caf_support.h"

namespace bel::actors {

RestoreTicket::~RestoreTicket() { turns_->end(); }

void RestoreTurns::wait(const caf::actor& view) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (busy_) {
      waiting_.push_back(view.address());
      return;
    }
    busy_ = true;
    ++given_;
  }
  give(view.address());
}

void RestoreTurns::end() {
  caf::actor_addr next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (waiting_.empty()) {
      busy_ = false;
      return;
    }
    next = std::move(waiting_.front());
    waiting_.pop_front();
    ++given_;
  }
  give(next);
}

// Outside the lock: when `view` is gone, the ticket (or the undelivered message holding it) is
// destroyed here, which ends this turn at once and gives the next.
void RestoreTurns::give(const caf::actor_addr& view) {
  auto turn = std::make_shared<const RestoreTicket>(shared_from_this());
  if (auto handle = caf::actor_cast<caf::actor>(view)) {
    caf::anon_send(handle, restore_atom::value, std::move(turn));
  }
}

int64_t RestoreTurns::given() const {
  std::lock_guard<std::mutex> lock(mu_);
  return given_;
}

size_t RestoreTurns::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_.size();
}

}  // namespace bel::actors
