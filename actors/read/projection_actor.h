// projection_actor<View>: the generic projection actor around one query view (SPEC section 5,
// DESIGN "Projections"). Include this only to wrap a view type of your own (tests do); everyone
// else uses spawn_view_actor() from view_actor.h.
//
// A View provides:
//   static constexpr const char* kName; static constexpr int kVersion;
//   void apply(const BuildEvent&);            // ascending idx; may throw (the view then fails)
//   std::string serialize(SnapshotTarget target) const;  // projections/views.h
//   static Result<View> restore(const std::string&);
//   Result<QueryResult> answer(const View&, const Query&);   // found by argument-dependent lookup
//
// The actor:
//  - subscribes to the storage actor and applies only idx == applied_idx + 1; an older idx is
//    dropped (already applied), a newer one means a gap, filled from its reader before going on;
//  - starts from the newest snapshot of its own name and version (another version is never
//    loaded, so a version change folds from idx 1) and catches up from the log; while it loads,
//    the answers saved beside that snapshot (projections/stored_answers.h), when they are as of
//    the log's last idx, answer the questions they cover; with restore_on_demand the snapshot is
//    loaded only when an event or another question needs it;
//  - takes the storage actor's committed messages with credit (ViewActorConfig::delivery_credit,
//    in events), acknowledging them half a credit at a time; commits withheld meanwhile are read
//    from the log, like a gap;
//  - writes snapshots, then their stored answers, through the snapshot store (or the storage
//    actor) under the policy of ViewActorConfig: the next is due after a number of events that
//    grows with the state's size, or at the timer when serializing costs at most a small share
//    of the view's time;
//  - when apply throws, marks itself FAILED with the idx and the error and stops applying;
//    `rebuild` starts again from an empty view;
//  - answers a query once applied_idx >= min_idx (parking it up to the wait budget), and hands it
//    to the fallback when it cannot (FAILED, REBUILDING, or the budget ran out).
#ifndef BEL_ACTORS_READ_PROJECTION_ACTOR_H_
#define BEL_ACTORS_READ_PROJECTION_ACTOR_H_

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/fail_answers.h"
#include "actors/read/projection_state.h"
#include "actors/read/view_actor.h"
#include "actors/read/view_restore.h"
#include "projections/stored_answers.h"

namespace bel::actors {

template <class View>
class ProjectionActor {
 public:
  using State = ProjectionState<View>;
  using Pointer = ViewActor::stateful_pointer<State>;

  static ViewActor::behavior_type make(Pointer self, ViewDeps deps, ViewActorConfig config) {
    auto& st = self->state;
    st.deps = std::move(deps);
    st.config = config;
    st.turn_asked = st.deps.restore_turn_queued;
    // The reader is this view's alone: it dies with the view, and takes the view down with it
    // (the supervisor then starts both again).
    self->link_to(st.deps.reader);
    // Subscribe first, and load once subscribed: every event committed after the subscription
    // reaches us, and the catch-up reads everything up to it (the overlap is dropped by idx).
    auto subscribed =
        st.config.delivery_credit > 0
            ? self->request(st.deps.storage, detail::kRequestTimeout, subscribe_atom::value,
                            caf::actor_cast<CommitSubscriber>(self), st.config.delivery_credit)
            : self->request(st.deps.storage, detail::kRequestTimeout, subscribe_atom::value,
                            caf::actor_cast<CommitSubscriber>(self));
    subscribed.then(
        [=](int64_t last_committed) {
          auto& s = self->state;
          s.seen_idx = std::max(s.seen_idx, last_committed);
          if (s.state == v1::VIEW_LOADING) start_loading(self);
        },
        [=](const caf::error& e) { fail(self, 0, "subscribing to the log: " + describe(e)); });
    if (st.config.snapshot_interval.count() > 0) {
      // Out of step with the other views (view_actor.h): their snapshots, each held whole and
      // compressed until the snapshot store has written it (up to 65 MB each over a 10M-event
      // log), are then not held all at once.
      const auto kind = projections::parse_view_name(View::kName);
      const auto phase = st.config.snapshot_interval *
                         static_cast<int64_t>(kind ? projections::view_index(*kind) : 0) /
                         static_cast<int64_t>(projections::kViewCount);
      self->delayed_send(self, st.config.snapshot_interval + phase, tick_atom::value);
    }
    // A throw: parked queries go to the fallback, rebuild requests get the error (R9).
    answer_on_failure(
        self, ErrorCode::internal, std::string("the ") + View::kName + " view",
        [self](const caf::error& err) {
          release_parked(self);
          for (auto* waiters : {&self->state.rebuild_waiters, &self->state.saving_waiters}) {
            for (auto& rp : *waiters) rp.deliver(err);
            waiters->clear();
          }
        });
    // Stopped (shutdown, or the supervisor replacing it): nobody waiting is left without an
    // answer. Parked queries go to the fallback; rebuild requests get the reason.
    self->set_exit_handler([=](const caf::exit_msg& msg) {
      if (msg.reason == caf::exit_reason::normal) return;  // as CAF's default handler
      release_parked(self);
      auto& s = self->state;
      for (auto* waiters : {&s.rebuild_waiters, &s.saving_waiters}) {
        for (auto& rp : *waiters) {
          rp.deliver(to_caf_error(make_error(
              ErrorCode::storage_unavailable,
              std::string(View::kName) + " view stopped: " + caf::to_string(msg.reason))));
        }
        waiters->clear();
      }
      self->quit(msg.reason);
    });
    return {
        [=](query_atom, Query& query) -> caf::result<QueryResult> {
          return on_query(self, std::move(query));
        },
        [=](status_atom) -> ViewStatus { return status(self); },
        [=](rebuild_atom) -> caf::result<ViewStatus> {
          auto rp = self->template make_response_promise<ViewStatus>();
          self->state.rebuild_waiters.push_back(rp);
          start_rebuild(self);
          return rp;
        },
        [=](committed_atom, const std::vector<BuildEvent>& events) { on_committed(self, events); },
        [=](snapshot_atom) { write_snapshot(self); },
        [=](tick_atom) {
          auto& s = self->state;
          const auto since = self->clock().now() - s.snapshot_at;
          if (s.state == v1::VIEW_HEALTHY && s.applied_idx > s.snapshot_idx &&
              s.snapshot_cost <= since * s.config.snapshot_time_share) {
            write_snapshot(self);
          }
          self->delayed_send(self, s.config.snapshot_interval, tick_atom::value);
        },
        [=](expire_atom) {
          self->state.expiry_armed = false;
          expire_parked(self);
        },
        [=](restore_atom, RestoreTurn turn) {
          auto& s = self->state;
          s.turn_asked = false;
          // Not loading a snapshot (a rebuild took over, it failed, or it is deferred): the turn
          // ends here, unused. Come before the view is ready to load (queued at its start), it
          // is kept until then.
          if (s.state != v1::VIEW_LOADING || s.deferred || !s.config.load_snapshot || s.turn) {
            return;
          }
          s.turn = std::move(turn);
          if (std::exchange(s.awaiting_turn, false)) load_snapshot(self);
        },
    };
  }

 private:
  static caf::error answer_error(Pointer self, const Error& error) {
    return detail::answer_error(error, View::kName, self->state.applied_idx);
  }

  static ViewStatus status(Pointer self) { return view_status(self->state); }

  // ---- loading, catching up, rebuilding ----

  static void start_loading(Pointer self) {
    auto& s = self->state;
    s.state = v1::VIEW_LOADING;
    if (!s.config.load_snapshot) {
      s.view.emplace();
      catch_up(self);
      return;
    }
    load_answers(self);
  }

  // First the answers stored beside the snapshot, when they are as of the log's last idx: they
  // answer the questions they cover while the snapshot loads, so a restarted coordinator answers
  // its dashboard at once. With restore_on_demand they make the view HEALTHY without loading the
  // snapshot at all, until something needs it (load_deferred).
  static void load_answers(Pointer self) {
    self->request(self->state.deps.reader, detail::kRequestTimeout, load_atom::value,
                  projections::answers_name(View::kName), static_cast<int32_t>(View::kVersion))
        .then(
            [=](const ViewSnapshot& snap) {
              auto& st = self->state;
              if (st.state != v1::VIEW_LOADING) return;  // a rebuild took over
              if (snap.applied_idx() > 0 && snap.applied_idx() >= st.seen_idx) {
                auto stored = parse_stored_answers<View>(snap);
                if (stored.ok() && stored->as_of_idx() == snap.applied_idx()) {
                  st.stored = std::move(*stored);
                  st.stored_idx = snap.applied_idx();
                  if (st.config.restore_on_demand) {
                    st.deferred = true;
                    st.turn = nullptr;  // a turn that came early: not needed until loaded
                    st.applied_idx = st.snapshot_idx = st.seen_idx = snap.applied_idx();
                    caught_up(self);
                    return;
                  }
                  answer_parked_from_stored(self);
                }
                if (!stored.ok()) {
                  detail::view_log()->warn("view={} stored answers ignored: {}", View::kName,
                                           stored.error().to_string());
                }
              }
              load_snapshot(self);
            },
            [=](const caf::error&) {
              if (self->state.state == v1::VIEW_LOADING) load_snapshot(self);
            });
  }

  // The view is needed (an event past the stored answers, or another question): load it now.
  // Other queries wait (parked) until it has caught up again.
  static void load_deferred(Pointer self) {
    auto& s = self->state;
    s.deferred = false;  // the stored answers still answer what they cover while it loads
    s.state = v1::VIEW_LOADING;
    s.applied_idx = 0;
    s.snapshot_idx = 0;
    load_snapshot(self);
  }

  // Loads and restores the snapshot in this view's turn (deps.restore_turns), then catches up.
  static void load_snapshot(Pointer self) {
    auto& s = self->state;
    if (s.deps.restore_turns && !s.turn) {
      s.awaiting_turn = true;
      if (!std::exchange(s.turn_asked, true)) {
        s.deps.restore_turns->wait(caf::actor_cast<caf::actor>(self));
      }
      return;
    }
    s.snapshot_loading = true;
    self->request(s.deps.reader, detail::kRequestTimeout, load_atom::value,
                  std::string(View::kName), static_cast<int32_t>(View::kVersion))
        .then(
            [=](ViewSnapshot& snap) {
              auto& st = self->state;
              st.snapshot_loading = false;
              // The next view's turn starts once this one's snapshot bytes are freed, below.
              RestoreTurn turn = std::exchange(st.turn, nullptr);
              // A rebuild asked for meanwhile already started from an empty view.
              if (st.state != v1::VIEW_LOADING) return;
              st.view.emplace();
              if (snap.applied_idx() > 0) {
                int64_t plain_size = 0;
                // The blob is handed over: its pages are given back as the restore reads them.
                auto restored = restore_view<View>(std::move(*snap.mutable_data()),
                                                   snap.data_encoded(), &plain_size);
                if (restored.ok()) {
                  st.view.emplace(std::move(*restored));
                  st.applied_idx = snap.applied_idx();
                  st.snapshot_idx = snap.applied_idx();
                  st.snapshot_bytes = plain_size;
                  st.seen_idx = std::max(st.seen_idx, st.applied_idx);
                } else {
                  // Logged, and `views status` says it until a snapshot is saved.
                  st.last_error =
                      "snapshot at idx " + std::to_string(snap.applied_idx()) +
                      " not restored, folded from idx 1: " + restored.error().to_string();
                  detail::view_log()->warn("view={} {}", View::kName, st.last_error);
                }
              }
              if (turn) {
                detail::return_free_memory();  // what the restore and the bytes left free
                turn = nullptr;
              }
              catch_up(self);
            },
            [=](const caf::error& e) {
              self->state.snapshot_loading = false;
              self->state.turn = nullptr;
              if (self->state.state != v1::VIEW_LOADING) return;  // a rebuild took over
              fail(self, 0, "loading the snapshot: " + describe(e));
            });
  }

  static void start_rebuild(Pointer self) {
    auto& s = self->state;
    detail::view_log()->info("view={} rebuild from idx 1 (was {} at idx {})", View::kName,
                             ViewState_Name(s.state), s.applied_idx);
    s.state = v1::VIEW_REBUILDING;
    s.deferred = false;
    // No snapshot to restore. A load in flight keeps the turn until it answers, so that the
    // next view's snapshot is not read while this one's bytes are still on their way.
    if (!s.snapshot_loading) s.turn = nullptr;
    s.stored = {};
    s.stored_idx = 0;
    ++s.snapshot_epoch;  // a write under way was of the old state
    s.view.emplace();
    s.applied_idx = 0;
    s.snapshot_idx = 0;  // the old snapshot is replaced once the rebuild is done
    s.failed_idx = 0;
    s.last_error.clear();
    release_parked(self);  // to the fallback: a rebuilding view does not answer
    catch_up(self);
  }

  // Reads the next page after applied_idx from the reader until the view has everything this
  // actor has heard of. At most one scan is in flight.
  static void catch_up(Pointer self) {
    auto& s = self->state;
    if (s.catching_up) return;
    s.catching_up = true;
    const ViewState started_in = s.state;
    const int64_t started_at = s.applied_idx;
    self->request(s.deps.reader, detail::kRequestTimeout, scan_atom::value, s.applied_idx,
                  static_cast<int32_t>(s.config.catch_up_page))
        .then(
            [=](const SharedPage& shared) {
              const EventPage& page = *shared;
              auto& st = self->state;
              st.catching_up = false;
              // A rebuild started meanwhile: this page belongs to the abandoned fold.
              if (st.state != started_in || st.applied_idx != started_at) {
                if (st.state != v1::VIEW_FAILED) catch_up(self);
                return;
              }
              if (!page.events().empty()) {
                st.seen_idx = std::max(st.seen_idx, page.events().rbegin()->idx());
              }
              for (const auto& e : page.events()) {
                if (!apply_one(self, e)) return;
              }
              if (page.has_more() || st.applied_idx < st.seen_idx) {
                catch_up(self);
              } else {
                caught_up(self);
              }
            },
            [=](const caf::error& e) {
              self->state.catching_up = false;
              fail(self, self->state.applied_idx + 1, "catching up from the log: " + describe(e));
            });
  }

  static void caught_up(Pointer self) {
    auto& s = self->state;
    if (s.state == v1::VIEW_LOADING || s.state == v1::VIEW_REBUILDING) {
      const bool rebuilt = s.state == v1::VIEW_REBUILDING;
      detail::view_log()->info("view={} healthy applied_idx={}", View::kName, s.applied_idx);
      s.state = v1::VIEW_HEALTHY;
      if (!s.deferred) {
        s.stored = {};
        s.stored_idx = 0;
      }
      // A rebuild replaces the snapshot (and its stored answers) at once, so that the next start
      // does not restore the old one, and answers once they are saved: a coordinator stopped
      // right after a rebuild keeps them. An older write still in flight goes first.
      if (rebuilt) {
        for (auto& rp : s.rebuild_waiters) s.saving_waiters.push_back(rp);
        s.rebuild_waiters.clear();
        if (s.snapshot_in_flight) {
          s.snapshot_again = true;
        } else if (!write_view_snapshot<View>(self)) {
          view_snapshot_saved<View>(self);
        }
      } else {
        const auto out = status(self);
        for (auto& rp : s.rebuild_waiters) rp.deliver(out);
        s.rebuild_waiters.clear();
      }
    }
    answer_parked(self);
    maybe_snapshot(self);
  }

  // ---- the live stream ----

  static void on_committed(Pointer self, const std::vector<BuildEvent>& events) {
    apply_committed(self, events);
    auto& s = self->state;
    if (s.config.delivery_credit <= 0) return;
    // Every half credit (in events): the storage actor's thread is woken once per many commits
    // rather than once per commit per view, and it never runs out of credit for a view that keeps
    // up.
    s.unacked += static_cast<int32_t>(events.size());
    if (s.unacked < (s.config.delivery_credit + 1) / 2) return;
    acknowledge(self, std::exchange(s.unacked, 0));
  }

  // Returns the storage actor's credit for `count` events. Its answer names commits it withheld
  // meanwhile: they are read from the log (the answer follows every committed message sent before
  // it). No timeout: the storage actor answers every acknowledgement, and one that is gone fails
  // the request at once (the supervisor then restarts us); a timeout per acknowledgement would
  // cost a wake-up of CAF's clock thread per commit.
  static void acknowledge(Pointer self, int32_t count) {
    self->request(self->state.deps.storage, caf::infinite, delivered_atom::value,
                  caf::actor_cast<CommitSubscriber>(self), count)
        .then(
            [=](int64_t withheld_to) {
              auto& s = self->state;
              if (withheld_to <= s.seen_idx) return;
              s.seen_idx = withheld_to;
              if (s.deferred) return load_deferred(self);
              if (s.view && s.state != v1::VIEW_FAILED) catch_up(self);
            },
            [=](const caf::error&) {});  // the storage actor is gone: the supervisor restarts us
  }

  static void apply_committed(Pointer self, const std::vector<BuildEvent>& events) {
    auto& s = self->state;
    if (events.empty()) return;
    s.seen_idx = std::max(s.seen_idx, events.back().idx());
    if (s.deferred && s.seen_idx > s.applied_idx) return load_deferred(self);
    // While loading, rebuilding or filling a gap the scan reads these from the log. Until the
    // snapshot has loaded there is no view to apply to at all (and the snapshot may be past them).
    if (!s.view || s.catching_up || s.state == v1::VIEW_FAILED) return;
    for (const auto& e : events) {
      if (e.idx() <= s.applied_idx) continue;  // already applied
      if (e.idx() != s.applied_idx + 1) {
        detail::view_log()->info("view={} gap: applied_idx={} next={}, reading the log",
                                 View::kName, s.applied_idx, e.idx());
        catch_up(self);
        return;
      }
      if (!apply_one(self, e)) return;
    }
    if (s.state == v1::VIEW_HEALTHY) {
      answer_parked(self);
      maybe_snapshot(self);
    }
  }

  // Applies one event; false when the view failed on it.
  static bool apply_one(Pointer self, const BuildEvent& event) {
    auto& s = self->state;
    try {
      s.view->apply(event);
    } catch (const std::exception& ex) {
      fail(self, event.idx(), ex.what());
      return false;
    } catch (...) {
      fail(self, event.idx(), "unknown exception");
      return false;
    }
    s.applied_idx = event.idx();
    ++s.applies;
    return true;
  }

  static void fail(Pointer self, int64_t idx, const std::string& what) {
    auto& s = self->state;
    s.state = v1::VIEW_FAILED;
    if (!s.snapshot_loading) s.turn = nullptr;  // else when the load answers
    s.failed_idx = idx;
    s.last_error = idx > 0 ? "idx " + std::to_string(idx) + ": " + what : what;
    detail::view_log()->error("view={} failed idx={} error=\"{}\"", View::kName, idx, what);
    release_parked(self);
    auto out = status(self);
    for (auto* waiters : {&s.rebuild_waiters, &s.saving_waiters}) {
      for (auto& rp : *waiters) rp.deliver(out);
      waiters->clear();
    }
  }

  // ---- queries ----

  static caf::result<QueryResult> on_query(Pointer self, Query query) {
    auto& s = self->state;
    if (s.state == v1::VIEW_FAILED || s.state == v1::VIEW_REBUILDING) {
      ++s.fallbacks;
      return self->delegate(s.deps.fallback, fallback_atom::value, std::move(query));
    }
    const int64_t min_idx = projections::min_idx_of(query);
    // Another question than the stored ones needs the view itself.
    if (s.deferred && !s.stored.covers(query)) load_deferred(self);
    // A healthy view filling a gap still answers what it already reflects.
    if (s.state == v1::VIEW_HEALTHY && s.applied_idx >= min_idx) return answer_now(self, query);
    // A loading view answers what its stored answers cover.
    if (s.state == v1::VIEW_LOADING && s.stored_idx >= min_idx) {
      if (const QueryResult* stored = s.stored.find(query)) {
        ++s.answered;
        return *stored;
      }
    }
    auto rp = self->template make_response_promise<QueryResult>();
    s.parked.emplace(min_idx, typename State::Parked{std::move(query), rp,
                                                     self->clock().now() + s.config.wait_budget});
    // The storage actor may hold commits back for a moment (publish_interval): not from a query
    // that waits for them. A commit this view has heard of is on its way already.
    if (s.state == v1::VIEW_HEALTHY && s.deps.storage && min_idx > s.seen_idx) {
      self->send(s.deps.storage, publish_atom::value, min_idx);
    }
    if (!s.expiry_armed) {
      s.expiry_armed = true;
      self->delayed_send(self, s.config.wait_budget, expire_atom::value);
    }
    return rp;
  }

  static caf::result<QueryResult> answer_now(Pointer self, const Query& query) {
    auto& s = self->state;
    ++s.answered;
    auto result = answer_from_view(self, query);
    if (!result.ok()) return answer_error(self, result.error());
    return std::move(*result);
  }

  // Answers every parked query the view now reflects.
  static void answer_parked(Pointer self) {
    auto& s = self->state;
    while (!s.parked.empty() && s.parked.begin()->first <= s.applied_idx) {
      if (s.deferred && !s.stored.covers(s.parked.begin()->second.query)) {
        return load_deferred(self);
      }
      auto p = std::move(s.parked.begin()->second);
      s.parked.erase(s.parked.begin());
      ++s.answered;
      auto result = answer_from_view(self, p.query);
      if (result.ok()) {
        p.promise.deliver(std::move(*result));
      } else {
        p.promise.deliver(answer_error(self, result.error()));
      }
    }
  }

  // The view's answer, or the stored one while the view is deferred (the caller checked there is).
  static Result<QueryResult> answer_from_view(Pointer self, const Query& query) {
    auto& s = self->state;
    if (s.deferred) {
      if (const QueryResult* stored = s.stored.find(query)) return *stored;
    }
    return answer(*s.view, query);
  }

  // While loading: answers the parked queries the stored answers cover.
  static void answer_parked_from_stored(Pointer self) {
    auto& s = self->state;
    for (auto it = s.parked.begin(); it != s.parked.end() && it->first <= s.stored_idx;) {
      const QueryResult* stored = s.stored.find(it->second.query);
      if (stored == nullptr) {
        ++it;
        continue;
      }
      ++s.answered;
      it->second.promise.deliver(QueryResult(*stored));
      it = s.parked.erase(it);
    }
  }

  // Hands every parked query to the fallback.
  static void release_parked(Pointer self) {
    auto& s = self->state;
    for (auto& [min_idx, p] : s.parked) {
      ++s.fallbacks;
      p.promise.delegate(s.deps.fallback, fallback_atom::value, std::move(p.query));
    }
    s.parked.clear();
  }

  // Hands parked queries whose wait budget ran out to the fallback; re-arms for the rest.
  static void expire_parked(Pointer self) {
    auto& s = self->state;
    const auto now = self->clock().now();
    auto next = caf::actor_clock::time_point::max();
    for (auto it = s.parked.begin(); it != s.parked.end();) {
      if (it->second.deadline <= now) {
        ++s.fallbacks;
        it->second.promise.delegate(s.deps.fallback, fallback_atom::value,
                                    std::move(it->second.query));
        it = s.parked.erase(it);
      } else {
        next = std::min(next, it->second.deadline);
        ++it;
      }
    }
    if (!s.parked.empty()) {
      s.expiry_armed = true;
      self->delayed_send(self, next - now, expire_atom::value);
    }
  }

  // ---- snapshots (projection_state.h) ----

  static void maybe_snapshot(Pointer self) { maybe_write_view_snapshot<View>(self); }
  static void write_snapshot(Pointer self) { write_view_snapshot<View>(self); }

  static std::string describe(const caf::error& e) { return from_caf_error(e).to_string(); }
};

// Spawns a projection actor around a View of your own (see the requirements above).
template <class View>
ViewActor spawn_projection_actor(caf::actor_system& system, const ViewDeps& deps,
                                 const ViewActorConfig& config = {}) {
  return system.spawn([deps, config](typename ProjectionActor<View>::Pointer self) {
    return ProjectionActor<View>::make(self, deps, config);
  });
}

}  // namespace bel::actors

#endif  // BEL_ACTORS_READ_PROJECTION_ACTOR_H_
