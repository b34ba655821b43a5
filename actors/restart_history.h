// The restarts of one supervised child, for the supervisor's restart limit (supervisor.h: more
// than max_restarts within restart_window, and the supervisor gives up on that child).
//
//   RestartHistory h;
//   if (!h.allow(clock.now(), std::chrono::seconds(60), 10)) give_up();
#ifndef BEL_ACTORS_RESTART_HISTORY_H_
#define BEL_ACTORS_RESTART_HISTORY_H_

#include <caf/actor_clock.hpp>
#include <chrono>
#include <cstdint>
#include <deque>

namespace bel::actors {

struct RestartHistory {
  std::deque<caf::actor_clock::time_point> times;  // within the window
  int64_t total = 0;
  bool given_up = false;

  // True, and the restart recorded, when fewer than `max` happened within `window` before `now`;
  // else false and given up.
  bool allow(caf::actor_clock::time_point now, std::chrono::seconds window, int max) {
    while (!times.empty() && now - times.front() > window) times.pop_front();
    if (static_cast<int>(times.size()) >= max) {
      given_up = true;
      return false;
    }
    times.push_back(now);
    ++total;
    return true;
  }
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_RESTART_HISTORY_H_
