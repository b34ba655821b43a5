// The state of a projection actor (projection_actor.h) and its snapshot writing, apart so that
// each header reads as one idea. Include projection_actor.h, not this.
#ifndef BEL_ACTORS_READ_PROJECTION_STATE_H_
#define BEL_ACTORS_READ_PROJECTION_STATE_H_

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/read/snapshot_store.h"
#include "actors/read/view_actor.h"
#include "projections/stored_answers.h"

namespace bel::actors {

namespace detail {
std::shared_ptr<spdlog::logger> view_log();
// A view's requests to the storage actor and its reader: each is answered in moments (a page, a
// snapshot); the bound turns one that hangs into a failure the view reports (R9).
inline constexpr auto kRequestTimeout = std::chrono::minutes(10);
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
  bool catching_up = false;  // a catch-up scan is in flight
  std::string last_error;
  int64_t failed_idx = 0;
  int64_t snapshot_idx = 0;
  bool snapshot_in_flight = false;
  int64_t snapshot_bytes = 0;                            // size of the last snapshot written
  std::chrono::steady_clock::duration snapshot_cost{0};  // what serializing it took
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
  static inline const char* name = "bel.view";
};

template <class View>
using ProjectionPointer = ViewActor::stateful_pointer<ProjectionState<View>>;

// ---- snapshots ----------------------------------------------------------------------------------

// Saves `answers` (projections/stored_answers.h) as of `idx`; then calls `after` (may be empty),
// saved or not.
template <class View>
void save_view_answers(ProjectionPointer<View> self, const SnapshotStore& store, int64_t idx,
                       const std::string& answers, const std::function<void()>& after) {
  ViewSnapshot snap;
  snap.set_view(projections::answers_name(View::kName));
  snap.set_version(View::kVersion);
  snap.set_applied_idx(idx);
  snap.set_data(answers);
  self->request(store, detail::kRequestTimeout, snapshot_atom::value, std::move(snap))
      .then(
          [=](int64_t) {
            if (after) after();
          },
          [=](const caf::error& e) {
            detail::view_log()->warn("view={} stored answers not saved: {}", View::kName,
                                     from_caf_error(e).to_string());
            if (after) after();
          });
}

// Writes the view's snapshot and its stored answers, unless one is under way or nothing changed
// since the last (false then). `after` (may be empty) runs once both saves are answered, whether
// they succeeded or not.
template <class View>
bool write_view_snapshot(ProjectionPointer<View> self, std::function<void()> after = {}) {
  auto& s = self->state;
  if (s.state != v1::VIEW_HEALTHY || s.snapshot_in_flight || !s.view) return false;
  if (s.applied_idx == 0 || s.applied_idx == s.snapshot_idx) return false;
  ViewSnapshot snap;
  snap.set_view(View::kName);
  snap.set_version(View::kVersion);
  snap.set_applied_idx(s.applied_idx);
  const auto started = std::chrono::steady_clock::now();
  snap.set_data(s.view->serialize());
  std::string answers = projections::serialize_answers(*s.view, s.applied_idx);
  s.snapshot_cost = std::chrono::steady_clock::now() - started;
  s.snapshot_at = self->clock().now();
  s.snapshot_bytes = static_cast<int64_t>(snap.data().size());
  s.snapshot_in_flight = true;
  const SnapshotStore store =
      s.deps.snapshots ? s.deps.snapshots : caf::actor_cast<SnapshotStore>(s.deps.storage);
  self->request(store, detail::kRequestTimeout, snapshot_atom::value, std::move(snap))
      .then(
          [=](int64_t idx) {
            auto& st = self->state;
            st.snapshot_in_flight = false;
            st.snapshot_idx = std::max(st.snapshot_idx, idx);
            ++st.snapshots_written;
            if (answers.empty() && after) after();
          },
          [=](const caf::error& e) {
            // Not fatal: the view stays healthy and tries again at the next trigger.
            self->state.snapshot_in_flight = false;
            detail::view_log()->warn("view={} snapshot failed: {}", View::kName,
                                     from_caf_error(e).to_string());
            if (answers.empty() && after) after();
          });
  // Sent right behind the snapshot to the same store, which saves in the order it receives: a
  // coordinator stopping right after a rebuild (whose answer does not wait for the saves) keeps
  // both. The answers stand on their own (the view's answers at this idx, whichever snapshot
  // ends up saved), so their save does not wait for the snapshot's.
  if (!answers.empty()) save_view_answers<View>(self, store, s.applied_idx, answers, after);
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
