// The coordinator's appends from admission to answer, as its supervisor keeps them:
// - the pending limit (SPEC R5), counted in events and in encoded bytes, refused at once;
// - the checks that need no state (LogWriter::check_event), made here rather than on the
//   storage actor's one thread, each event measured once for both;
// - every admitted append answered exactly once: with the storage actor's answer to its flight
//   (FlightAnswer, storage_actor.h), or with an error should that actor stop first (R9).
//
//   AppendAdmission appends(config.storage, log_uri);
//   auto load = appends.admit(event);               // an error: refuse the append with it
//   auto rp = self->make_response_promise<AppendAck>();
//   uint64_t flight = appends.hold(*load, self->clock().now(), rp);
//   self->send(storage, append_atom::value, checked_atom::value, flight, std::move(event));
//   // on (answered_atom, answers):   for (auto& a : answers) appends.answer(a, now);
//   // on the storage actor's down:   appends.fail_all(error);
//
// The appends in flight are a hash map by flight number, not CAF requests: CAF 0.17 keeps an
// actor's pending requests in a flat map searched and erased linearly, so each answer would cost
// as much as there are appends in flight (docs/performance.md).
//
// Not thread-safe: one owner (the supervisor's state).
#ifndef BEL_ACTORS_WRITE_APPEND_ADMISSION_H_
#define BEL_ACTORS_WRITE_APPEND_ADMISSION_H_

#include <caf/all.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/bel_api.h"
#include "actors/write/append_metrics.h"
#include "actors/write/storage_actor.h"

namespace bel::actors {

// The independent appends of one (append_atom, each_atom, events) message: one outcome per
// event, delivered together once none is waiting.
struct EachGroup {
  caf::typed_response_promise<AppendOutcomes> rp;
  AppendOutcomes outcomes;
  std::vector<char> settled;  // by slot
  size_t waiting = 0;

  // Records `outcome` at `slot` unless that slot has its outcome already; delivers every outcome
  // when it was the last one waited for.
  void settle(size_t slot, AppendOutcome outcome);
};

// The single-event appends a supervisor admitted and has not sent to the storage actor yet. It
// sends them together, so the storage actor's thread, which every append waits for, takes one
// message for them instead of one each: at once when kMaxEvents are queued, else on a flush it
// sends itself, which lands behind every append already in its mailbox.
class OutgoingAppends {
 public:
  static constexpr size_t kMaxEvents = 1024;
  enum class Next { nothing, flush_later, send_now };

  // Queues an admitted append; what the owner must do next: send now (full), send itself its
  // flush (the first append queued since the last flush arrived), or nothing.
  Next push(uint64_t flight, BuildEvent event);
  void flush_arrived() { flush_scheduled_ = false; }
  bool empty() const { return flights_.empty(); }
  // What is queued (flight numbers, events), leaving the queue empty.
  std::pair<std::vector<uint64_t>, std::vector<BuildEvent>> take();
  void clear();

 private:
  std::vector<uint64_t> flights_;
  std::vector<BuildEvent> events_;
  bool flush_scheduled_ = false;
};

class AppendAdmission {
 public:
  using TimePoint = caf::actor_clock::time_point;

  AppendAdmission() = default;
  AppendAdmission(StorageActorConfig limits, std::string log_uri)
      : limits_(limits), log_uri_(std::move(log_uri)) {}

  // Fills the status names of the append's events, measures them, and checks them against the
  // pending limit, then with LogWriter::check_event. The load the append adds to the pending
  // one, or the error refusing it (counted as overloaded or rejected). An event appended alone
  // (not in a batch) is refused naming no position: "partition_event.partition_ref is empty".
  Result<PendingLoad> admit(BuildEvent& event);
  Result<PendingLoad> admit(std::vector<BuildEvent>& batch);

  // Admits each of `events` alone, as if each came by itself: a refused one is answered at once
  // at its slot of `rp`'s outcomes; an admitted one is held and handed to `send` with its flight
  // number. `rp` is delivered once each has its outcome (at once if none was admitted). Should
  // anything throw part way (out of memory), the events not yet held are answered with an
  // internal error before the exception leaves; those held are answered by fail_all (R9).
  void admit_each(std::vector<BuildEvent>& events, TimePoint admitted,
                  caf::typed_response_promise<AppendOutcomes> rp,
                  const std::function<void(uint64_t, BuildEvent&)>& send);

  // Holds an admitted append (`load` from admit) until its answer, counting it as pending; its
  // flight number.
  uint64_t hold(const PendingLoad& load, TimePoint admitted,
                caf::typed_response_promise<AppendAck> rp);
  uint64_t hold(const PendingLoad& load, TimePoint admitted,
                caf::typed_response_promise<AppendAcks> rp);
  // One of a group's appends, answered at its `slot` of the group's outcomes.
  uint64_t hold(const PendingLoad& load, TimePoint admitted, std::shared_ptr<EachGroup> group,
                size_t slot);

  // Delivers the storage actor's answer to its append and takes it out of the pending load;
  // nothing when that was answered already (by fail_all).
  void answer(FlightAnswer& answer, TimePoint now);

  // Answers every append held with `error` (R9).
  void fail_all(const caf::error& error);

  // An append refused before admit (the coordinator stopping, no storage actor), for the metrics.
  void refused(ErrorCode code) { metrics_.rejected(code); }

  // Adds what admission counts to the storage actor's `stats`: refusals, the pending and peak
  // pending bytes, the acknowledgement latencies and the errors by code.
  void add_to(StorageStats* stats) const;

  size_t in_flight() const { return flights_.size(); }

  // The storage actor's latest stats, kept for when its thread cannot answer (a lock another
  // process holds, a frozen disk): remembered() gives them with last_idx raised to the highest
  // idx acknowledged since, so that a read point taken from them covers every answered append.
  void remember(const StorageStats& stats) { remembered_ = stats; }
  std::optional<StorageStats> remembered() const;

 private:
  enum class Kind { one, many, each };
  struct Flight {
    PendingLoad load;
    TimePoint admitted;
    Kind kind = Kind::one;
    caf::typed_response_promise<AppendAck> one;    // a single event's append,
    caf::typed_response_promise<AppendAcks> many;  // a batch's, or
    std::shared_ptr<EachGroup> group;              // one of a group's, at
    size_t slot = 0;
  };

  // The pending limit for `load`, then the checks of events[0, n) (whose sizes_ are measured).
  template <class Events>
  Result<PendingLoad> check(const PendingLoad& load, Events& events, size_t n);
  uint64_t hold(Flight flight);
  static void fail(Flight& flight, const caf::error& error);

  StorageActorConfig limits_;
  std::string log_uri_;
  PendingLoad pending_;
  size_t peak_pending_bytes_ = 0;
  int64_t overloaded_ = 0;
  int64_t rejected_ = 0;  // refused by their events' structure
  AppendMetrics metrics_;
  std::unordered_map<uint64_t, Flight> flights_;
  std::optional<StorageStats> remembered_;
  int64_t answered_idx_ = 0;  // the highest idx acknowledged
  uint64_t next_flight_ = 0;
  std::vector<size_t> sizes_;  // scratch of admit
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_WRITE_APPEND_ADMISSION_H_
