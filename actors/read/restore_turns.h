// RestoreTurns: the views of one coordinator restore their snapshots one at a time. A restore
// holds the snapshot's bytes and the state built from them at once; four views restoring together
// held all four snapshots beside four growing states (on a 10M-event log 1.6 GB at the peak,
// where the restored views then hold ~1 GB). Taking turns, the peak is what the views hold once
// restored plus one view's snapshot. The cost: the views are ready one after another, not
// together; answers meanwhile come from the stored answers, as while any view loads.
//
//   auto turns = std::make_shared<RestoreTurns>();   // one per coordinator, in every ViewDeps
//   turns->wait(view);                                // queued as it starts, in kRestoreOrder
//   // ...its turn arrives as (restore_atom, RestoreTurn): the view keeps the RestoreTurn while
//   // it loads and restores, then drops it, which gives the next waiting view its turn.
//
// The order matters: the last view to restore holds its snapshot beside every other view's
// state. So a coordinator starts its views (and queues their turns) with the largest state first
// and one whose snapshot is small last. Measured on a 10M-event log: docs/performance.md.
//
// A turn ends when the last copy of its RestoreTurn is destroyed. A view that stops while it
// holds one destroys it with its state; a turn sent to a view that is gone is destroyed with the
// undelivered message. So no view holds up the others by failing. Turns go in the order wait()
// was called. Thread-safe: views call wait() from CAF's workers, and turns end on any thread.
#ifndef BEL_ACTORS_READ_RESTORE_TURNS_H_
#define BEL_ACTORS_READ_RESTORE_TURNS_H_

#include <cstdint>
#include <deque>
#include <iterator>
#include <memory>
#include <mutex>

#include <caf/all.hpp>

#include "projections/queries.h"

namespace bel::actors {

// The order in which a coordinator starts its views, and so restores them: the largest state
// first (on the 10M-event log's snapshots: build summaries 390 MB, job runs 320 MB, partition
// status and activity 76 MB each, uncompressed).
inline constexpr projections::ViewKind kRestoreOrder[] = {
    projections::ViewKind::build_summary, projections::ViewKind::job_runs,
    projections::ViewKind::partition_status, projections::ViewKind::activity};
static_assert(std::size(kRestoreOrder) == projections::kViewCount, "every view, once");

class RestoreTurns;

// Held while a view restores; the next turn starts when the last copy is gone.
class RestoreTicket {
 public:
  explicit RestoreTicket(std::shared_ptr<RestoreTurns> turns) : turns_(std::move(turns)) {}
  ~RestoreTicket();
  RestoreTicket(const RestoreTicket&) = delete;
  RestoreTicket& operator=(const RestoreTicket&) = delete;

 private:
  std::shared_ptr<RestoreTurns> turns_;
};
using RestoreTurn = std::shared_ptr<const RestoreTicket>;

class RestoreTurns : public std::enable_shared_from_this<RestoreTurns> {
 public:
  // Sends `view` (restore_atom, RestoreTurn) now when no turn is under way, else once the turns
  // of those that waited before it have ended.
  void wait(const caf::actor& view);

  // Turns given so far, and views waiting now (for tests and logs).
  int64_t given() const;
  size_t waiting() const;

 private:
  friend class RestoreTicket;
  void end();  // the current turn ended: give the next one, if anyone waits
  void give(const caf::actor_addr& view);

  mutable std::mutex mu_;
  bool busy_ = false;
  std::deque<caf::actor_addr> waiting_;  // weak: a view that stops is not kept alive
  int64_t given_ = 0;
};

}  // namespace bel::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bel::actors::RestoreTurn)

#endif  // BEL_ACTORS_READ_RESTORE_TURNS_H_
