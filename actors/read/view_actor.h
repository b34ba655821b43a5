// The interface of a projection actor (one per query view) as a typed actor handle; what answers
// its fallback queries (FallbackActor) is in reader_actor.h. The generic implementation is in
// projection_actor.h.
//
//   ViewActor view = spawn_view_actor(system, ViewKind::partition_status, deps, {});
//   self->request(view, kTimeout, query_atom::value, query).then(...);
//   self->request(view, kTimeout, status_atom::value).then([](const ViewStatus& s) { ... });
#ifndef BEL_ACTORS_READ_VIEW_ACTOR_H_
#define BEL_ACTORS_READ_VIEW_ACTOR_H_

#include <chrono>
#include <cstdint>
#include <vector>

#include <caf/all.hpp>

#include "actors/caf_support.h"
#include "actors/read/reader_actor.h"
#include "actors/read/restore_turns.h"
#include "actors/read/snapshot_store.h"
#include "actors/write/storage_actor.h"
#include "projections/queries.h"

namespace bel::actors {

using ViewActor = caf::typed_actor<
    // Answers from the view once it reflects min_idx_of(query); hands the query to the fallback
    // when the view is failed or rebuilding, or does not get there within the wait budget.
    caf::replies_to<query_atom, Query>::with<QueryResult>,
    caf::replies_to<status_atom>::with<ViewStatus>,
    // Folds the log again from idx 1 into an empty view; answers when done (state HEALTHY) or
    // with the error that stopped it (state FAILED). Queries use the fallback meanwhile.
    caf::replies_to<rebuild_atom>::with<ViewStatus>,
    // From the storage actor: events just committed, ascending idx. The view acknowledges them by
    // their count of events, half its credit at a time (storage_actor.h, `delivered`).
    caf::reacts_to<committed_atom, std::vector<BuildEvent>>,
    // Write a snapshot now (also sent by its own timer).
    caf::reacts_to<snapshot_atom>,
    // Timers, sent to itself only.
    caf::reacts_to<tick_atom>, caf::reacts_to<expire_atom>,
    // Its turn to load and restore its snapshot (ViewDeps::restore_turns).
    caf::reacts_to<restore_atom, RestoreTurn>>;

// What a view actor talks to.
struct ViewDeps {
  StorageActor storage;    // subscribes to it (with credit)
  ReaderActor reader;      // its own reader: snapshot load, catch-up, gap fill, rebuild
  FallbackActor fallback;  // answers queries the view cannot
  SnapshotStore snapshots;  // writes its snapshots; empty: through the storage actor
  // Shared by the views of a coordinator, so that they restore their snapshots one at a time
  // (restore_turns.h); empty: it restores as soon as it starts.
  std::shared_ptr<RestoreTurns> restore_turns = nullptr;
  // The spawner queued the view's first turn (restore_turns->wait) as it started it; otherwise
  // the view asks for its turn itself when it is ready to load.
  bool restore_turn_queued = false;
};

// The snapshot policy (docs/query-tier.md, "Snapshots"): a snapshot rewrites the whole state, so
// its cost grows with the state, S bytes. The next one is due once at least
// max(snapshot_every_events, S / snapshot_bytes_per_event) events were applied since the last one
// (at most snapshot_bytes_per_event bytes of snapshot written per event applied, amortised), or
// at the timer when something was applied and the view's thread spent at most
// snapshot_time_share of the time since the last one writing snapshots.
struct ViewActorConfig {
  // A snapshot is written after at least this many events applied since the last one (0 = no
  // snapshot by count)...
  int64_t snapshot_every_events = 50000;
  // ...and at least the last snapshot's size divided by this (0 = no size rule)...
  int64_t snapshot_bytes_per_event = 64;
  // ...or when this much time passed and something was applied (0 = no timer). The views' timers
  // run out of step: view k of kAllViews first ticks after (1 + k / kViewCount) intervals, so
  // that views started together do not each hold a snapshot at the same moment.
  std::chrono::milliseconds snapshot_interval{60000};
  // ...unless the last snapshot took more than this share of that time to serialize.
  double snapshot_time_share = 0.01;
  // Committed events from the storage actor in flight to the view at most, counted in events,
  // not messages: the storage actor sends a commit while fewer than this many are
  // unacknowledged, so the view's mailbox holds less than this plus one message (a commit: see
  // StorageActor's `subscribe`); later commits are read from the log. 0 = unbounded. The view
  // acknowledges them half a credit at a time, so a view that keeps up wakes the storage actor's
  // thread once per 8192 events, however small the commits (one-at-a-time appends commit one event
  // each).
  int32_t delivery_credit = 16384;
  // How long a query waits for the view to reach its min_idx before it goes to the fallback.
  std::chrono::milliseconds wait_budget{500};
  // Events read per page when catching up.
  int catch_up_page = 10000;
  // Start by loading the newest snapshot of the view's version (else fold from idx 1).
  bool load_snapshot = true;
  // Load the snapshot only when something needs the state: an event past it, or a question its
  // stored answers (projections/stored_answers.h) do not cover. A one-shot console command sets
  // it, so `bel activity` on a long log reads a few kilobytes, not the history. A coordinator
  // leaves it false: it restores at once (answering from the stored answers meanwhile), so that
  // its first event does not wait on a restore.
  bool restore_on_demand = false;
  // How many times the supervisor restarted this view (reported in ViewStatus).
  int64_t restarts = 0;
};

// How many events after a snapshot of `snapshot_bytes` bytes the next one is due under `config`
// (the policy above); a huge number when snapshot_every_events is 0 (no snapshots by count).
int64_t snapshot_due_after(const ViewActorConfig& config, int64_t snapshot_bytes);

// Spawns the projection actor of the view `kind`.
ViewActor spawn_view_actor(caf::actor_system& system, projections::ViewKind kind,
                           const ViewDeps& deps, const ViewActorConfig& config = {});

}  // namespace bel::actors

#endif  // BEL_ACTORS_READ_VIEW_ACTOR_H_
