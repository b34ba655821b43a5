// bel::bench::AnswerTally: the answers a bench client that keeps requests in flight has had
// (acked appends, queries): how many succeeded, how many failed, and the first failure for the
// report. bel::bench::RequestWindow: the rest such a client shares, whatever it sends: it keeps
// up to a window of requests in flight, tallies their answers and times the whole run.
//
//   tally.count(error);   // once per answer; nullptr for a success
//   BEL_RETURN_IF_ERROR(tally.check(uri + ": ", total, "appends were refused"));
//
//   // more(): whether a request is left to send; send(): sends one, calling requests.sent().
//   requests.open(window, more, send);                    // in the client's behavior
//   if (requests.answer(error, more, send)) {             // in each answer's handler
//     report(requests.tally(), requests.elapsed());       // that was the last answer due
//   }
//
//   if (!wait_while_answered(finished, answered, stall, progress)) stop();  // the waiting thread
#ifndef BEL_BENCH_ANSWER_TALLY_H_
#define BEL_BENCH_ANSWER_TALLY_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <string>

#include "actors/caf_support.h"
#include "messages/error.h"

namespace bel::bench {

// How long a bench client waits for the next answer when none comes (wait_while_answered): far
// beyond any append's or query's wait (1000 queued appends commit within milliseconds); it only
// turns a hung coordinator into an error instead of a hung bench. The clients' requests carry no
// timeout of their own: with 1000 in flight, CAF 0.17's per-request timeouts (a clock
// registration, wake-up and cancellation each) would time CAF's clock thread, not bel (they took
// a sixth of the samples of a P4 run there). One deadline for the whole run is what a producer
// with many requests in flight needs (actors/bel_api.h).
constexpr std::chrono::seconds kStallTimeout{120};

// Seconds on the steady clock since `start`.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct AnswerTally {
  int64_t answered = 0;  // successes
  int64_t failed = 0;
  std::string first_error;

  void count(const caf::error* error) {
    if (error == nullptr) {
      ++answered;
    } else if (failed++ == 0) {
      first_error = actors::from_caf_error(*error).to_string();
    }
  }

  // internal "<prefix><failed> of <total> <what>; first: <first_error>" when any failed.
  Status check(const std::string& prefix, int64_t total, const char* what) const {
    if (failed == 0) return ok_status();
    return make_error(ErrorCode::internal, prefix + std::to_string(failed) + " of " +
                                               std::to_string(total) + " " + what +
                                               "; first: " + first_error);
  }
};

// Not thread-safe: one client actor owns it.
class RequestWindow {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts the clock, then calls send() while more() and fewer than `size` requests are in
  // flight.
  template <class More, class Send>
  void open(int64_t size, More more, Send send) {
    size_ = size;
    start_ = Clock::now();
    while (more() && in_flight_ < size_) send();
  }

  // Counts a request as in flight: send() calls it once per request.
  void sent() { ++in_flight_; }

  // Counts an answer (`error` nullptr for a success), then calls send() when more() says a
  // request is left. True when that was the last answer due: nothing left to send or in flight.
  template <class More, class Send>
  bool answer(const caf::error* error, More more, Send send) {
    --in_flight_;
    tally_.count(error);
    if (more()) {
      send();
      return false;
    }
    return in_flight_ == 0;
  }

  const AnswerTally& tally() const { return tally_; }
  // When open() was called, and the time since.
  Clock::time_point started() const { return start_; }
  Clock::duration elapsed() const { return Clock::now() - start_; }

 private:
  int64_t size_ = 1;
  int64_t in_flight_ = 0;
  AnswerTally tally_;
  Clock::time_point start_;
};

// Waits for `finished`, the result of a client whose requests carry no timeout of their own
// (CAF 0.17 registers each with its clock thread, which a figure would then time): one deadline
// for the run instead. `answered` counts the client's answers; `progress` (may be empty) hears it
// every 100 ms. False, with `finished` not ready, once no answer came for `stall`.
template <class T, class Progress>
bool wait_while_answered(std::future<T>& finished, const std::atomic<int64_t>& answered,
                         std::chrono::seconds stall, Progress progress) {
  int64_t last_answered = -1;
  auto last_answer = std::chrono::steady_clock::now();
  while (finished.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    const int64_t now_answered = answered.load(std::memory_order_relaxed);
    progress(now_answered);
    if (now_answered != last_answered) {
      last_answered = now_answered;
      last_answer = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - last_answer > stall) {
      return false;
    }
  }
  return true;
}

}  // namespace bel::bench

#endif  // BEL_BENCH_ANSWER_TALLY_H_
