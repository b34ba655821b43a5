// The state of a projection actor (projection_actor.h) and its snapshot writing, apart so that
// each header reads as one idea. Include projection_actor.h, not this.
#ifndef BEL_ACTORS_READ_PROJECTION_STATE_H_
#define BEL_ACTORS_READ_PROJECTION_STATE_H_

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/read/snapshot_store.h"
#include "actors/read/view_actor.h"
#include "actors/read/view_restore.h"
#include "projections/stored_answers.h"
#include "storage/snapshot_codec.h"

namespace bel::actors {

namespace detail {
std::shared_ptr<spdlog::logger> view_log();
// A view's requests to the storage actor and its reader: each is answered in moments (a page, a
// snapshot); the bound turns one that hangs into a failure the view reports (R9).
inline constexpr auto kRequestTimeout = std::chrono::minutes(10);
// Gives the free pages of the heap back to the system (jemalloc's purge of every arena when it is
// the process's allocator, else glibc's malloc_trim; nothing elsewhere): what a restore freed, so
// that the next view's restore does not add to it.
void return_free_memory();
// A view's failed answer as the asker sees it: an unknown key or a bad question is about the
// question and reads as itself ("job label //x not found"); anything else names the view `name`
// and its applied idx.
caf::error answer_error(const Error& error, const char* name, int64_t applied_idx);
}  // namespace detail

template <class View>
struct ProjectionState {
  ViewDeps deps;
  ViewActorConfig config;
  std::optional<View> view;
  // restore_on_demand: HEALTHY at applied_idx from the stored answers alone, the snapshot not
  // loaded (view is empty) until something needs it.
  bool deferred = false;
  // The answers saved beside the snapshot, at stored_idx: while the view loads (or, deferred,
  // instead of loading) it answers the questions they cover.
  projections::StoredAnswers stored;
  int64_t stored_idx = 0;
  ViewState state = v1::VIEW_LOADING;
  int64_t applied_idx = 0;
  int64_t seen_idx = 0;      // the highest committed idx this actor has heard of
  int32_t unacked = 0;       // committed events handled and not yet acknowledged
  bool catching_up = false;  // a catch-up scan is in flight
  // Its turn to restore (deps.restore_turns): asked for and not come yet, ready to load and
  // waiting for it, and the turn itself from its arrival until the snapshot is restored (or,
  // when a rebuild took over, until the snapshot's load in flight has answered).
  bool turn_asked = false;
  bool awaiting_turn = false;
  RestoreTurn turn;
  bool snapshot_loading = false;  // the snapshot's load is in flight
  std::string last_error;
  int64_t failed_idx = 0;
  int64_t snapshot_idx = 0;
  bool snapshot_in_flight = false;
  int64_t snapshot_bytes = 0;                            // size of the last snapshot written
  std::chrono::steady_clock::duration snapshot_cost{0};  // what serializing and compressing it took
  // When the last snapshot was taken, on the actor's clock (virtual under CAF's test coordinator).
  caf::actor_clock::time_point snapshot_at{};
  int64_t applies = 0;
  int64_t snapshots_written = 0;
  int64_t answered = 0;
  int64_t fallbacks = 0;
  bool expiry_armed = false;
  struct Parked {
    Query query;
    caf::typed_response_promise<QueryResult> promise;
    caf::actor_clock::time_point deadline;
  };
  std::multimap<int64_t, Parked> parked;  // by min_idx
  std::vector<caf::typed_response_promise<ViewStatus>> rebuild_waiters;
  // Rebuild requests of a finished rebuild, answered once its snapshot and stored answers are
  // saved; snapshot_again: that write waits for an older one still in flight; snapshot_epoch:
  // bumped by each rebuild, so that an older write's reply moves nothing.
  std::vector<caf::typed_response_promise<ViewStatus>> saving_waiters;
  bool snapshot_again = false;
  int64_t snapshot_epoch = 0;
  static inline const char* name = "bel.view";
};

template <class View>
using ProjectionPointer = ViewActor::stateful_pointer<ProjectionState<View>>;

// The stored answers of View in `snap` (loaded as stored: inflated here, they are small).
template <class View>
Result<projections::StoredAnswers> parse_stored_answers(const ViewSnapshot& snap) {
  if (!snap.data_encoded()) {
    return projections::StoredAnswers::parse(View::kName, View::kVersion, snap.data());
  }
  auto plain = storage::decode_snapshot_data(snap.data());
  if (!plain.ok()) return plain.error();
  return projections::StoredAnswers::parse(View::kName, View::kVersion, *plain);
}

// ---- snapshots ----------------------------------------------------------------------------------

// What `views status` and a rebuild's answer say of the view.
template <class View>
ViewStatus view_status(const ProjectionState<View>& s) {
  ViewStatus out;
  out.set_view(View::kName);
  out.set_version(View::kVersion);
  out.set_state(s.state);
  out.set_applied_idx(s.applied_idx);
  out.set_lag(std::max<int64_t>(0, s.seen_idx - s.applied_idx));
  out.set_last_error(s.last_error);
  out.set_failed_idx(s.failed_idx);
  out.set_snapshot_idx(s.snapshot_idx);
  out.set_applies(s.applies);
  out.set_snapshots_written(s.snapshots_written);
  out.set_restarts(s.config.restarts);
  out.set_answered(s.answered);
  out.set_fallbacks(s.fallbacks);
  return out;
}

template <class View>
bool write_view_snapshot(ProjectionPointer<View> self);

// The last reply of a write (saved or not): writes again if a rebuild asked meanwhile, else
// answers the rebuild requests waiting for the saves.
template <class View>
void view_snapshot_saved(ProjectionPointer<View> self) {
  auto& s = self->state;
  s.snapshot_in_flight = false;
  if (s.snapshot_again) {
    s.snapshot_again = false;
    if (write_view_snapshot<View>(self)) return;  // its own last reply answers them
  }
  auto waiters = std::move(s.saving_waiters);
  s.saving_waiters.clear();
  const ViewStatus out = view_status(s);
  for (auto& rp : waiters) rp.deliver(out);
}

// Writes the view's snapshot, then its stored answers (projections/stored_answers.h), unless a
// write is under way or nothing changed since the last (false then). Both go to the same store,
// which saves in the order it receives them; the answers stand on their own (the view's answers
// at this idx, whichever snapshot ends up saved), so they do not wait for the snapshot's reply.
template <class View>
bool write_view_snapshot(ProjectionPointer<View> self) {
  auto& s = self->state;
  if (s.state != v1::VIEW_HEALTHY || s.snapshot_in_flight || !s.view) return false;
  if (s.applied_idx == 0 || s.applied_idx == s.snapshot_idx) return false;
  ViewSnapshot snap;
  snap.set_view(View::kName);
  snap.set_version(View::kVersion);
  snap.set_applied_idx(s.applied_idx);
  const auto started = std::chrono::steady_clock::now();
  // Room for the last snapshot's size and an eighth more (the view has grown since), so that
  // the bytes are not copied into a larger buffer each time they outgrow one.
  const auto hint = static_cast<size_t>(s.snapshot_bytes + s.snapshot_bytes / 8);
  // Compressed here, on this view's thread, not in the snapshot store's one thread: the four
  // views' snapshots then compress side by side (a rebuild's snapshots took a third of P5). And
  // compressed as it is serialized, so that the plain bytes are never held whole (hundreds of
  // megabytes for a view on a 10M-event log); a fifth of the plain size is reserved for them.
  if (auto encoded = compressed_snapshot(*s.view, hint / 5, &s.snapshot_bytes); encoded.ok()) {
    snap.set_data(std::move(*encoded));
    snap.set_data_encoded(true);
  } else {
    snap.set_data(s.view->serialize(hint));  // the store tries again, and names the error
  }
  std::string answers = projections::serialize_answers(*s.view, s.applied_idx);
  s.snapshot_cost = std::chrono::steady_clock::now() - started;
  s.snapshot_at = self->clock().now();
  s.snapshot_in_flight = true;
  const bool with_answers = !answers.empty();
  const int64_t epoch = s.snapshot_epoch;
  const SnapshotStore store =
      s.deps.snapshots ? s.deps.snapshots : caf::actor_cast<SnapshotStore>(s.deps.storage);
  self->request(store, detail::kRequestTimeout, snapshot_atom::value, std::move(snap))
      .then(
          [=](int64_t idx) {
            auto& st = self->state;
            if (epoch == st.snapshot_epoch) {
              st.snapshot_idx = std::max(st.snapshot_idx, idx);
              ++st.snapshots_written;
              // A healthy view's last error is a snapshot's (one not restored, or not saved):
              // this one replaces it.
              if (st.state == v1::VIEW_HEALTHY) st.last_error.clear();
            }
            if (!with_answers) view_snapshot_saved<View>(self);
          },
          [=](const caf::error& e) {
            // Not fatal: the view stays healthy and tries again at the next trigger, and
            // `views status` shows why meanwhile.
            auto& st = self->state;
            const std::string why = from_caf_error(e).to_string();
            if (epoch == st.snapshot_epoch && st.state == v1::VIEW_HEALTHY) {
              st.last_error = "saving the snapshot: " + why;
            }
            detail::view_log()->warn("view={} snapshot failed: {}", View::kName, why);
            if (!with_answers) view_snapshot_saved<View>(self);
          });
  if (!with_answers) return true;
  ViewSnapshot stored;
  stored.set_view(projections::answers_name(View::kName));
  stored.set_version(View::kVersion);
  stored.set_applied_idx(s.applied_idx);
  stored.set_data(std::move(answers));
  self->request(store, detail::kRequestTimeout, snapshot_atom::value, std::move(stored))
      .then([=](int64_t) { view_snapshot_saved<View>(self); },
            [=](const caf::error& e) {
              detail::view_log()->warn("view={} stored answers not saved: {}", View::kName,
                                       from_caf_error(e).to_string());
              view_snapshot_saved<View>(self);
            });
  return true;
}

template <class View>
void maybe_write_view_snapshot(ProjectionPointer<View> self) {
  auto& s = self->state;
  if (s.applied_idx - s.snapshot_idx >= snapshot_due_after(s.config, s.snapshot_bytes)) {
    write_view_snapshot<View>(self);
  }
}

}  // namespace bel::actors

#endif  // BEL_ACTORS_READ_PROJECTION_STATE_H_
