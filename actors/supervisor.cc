#include "actors/supervisor.h"

#include <spdlog/spdlog.h>

#include <array>
#include <optional>
#include <set>
#include <type_traits>
#include <vector>

#include "actors/component_log.h"
#include "actors/fail_answers.h"
#include "actors/read/query_actor.h"
#include "actors/restart_history.h"
#include "actors/write/append_admission.h"
#include "actors/write/log_writer.h"
#include "projections/queries.h"

namespace bel::actors {
namespace {

using projections::kViewCount;
using projections::ViewKind;
constexpr auto kStatusTimeout = std::chrono::seconds(10);
constexpr auto kStatsTimeout = std::chrono::seconds(2);
// A rebuild folds the whole log; a view that stops meanwhile answers at once (its exit handler).
constexpr auto kRebuildTimeout = std::chrono::seconds(3600);
// Reopening the log after the storage actor failed may replay a long tail: minutes at worst.
constexpr auto kReopenTimeout = std::chrono::seconds(3600);

using reopen_atom = caf::atom_constant<caf::atom("reopen")>;
// Opens the log again and spawns its new storage actor, on its own thread.
using StorageOpener = caf::typed_actor<caf::replies_to<reopen_atom>::with<StorageActor>>;
// An admitted append goes to the storage actor as a flight, with no timeout of the supervisor's
// own: the storage actor answers it (after its COMMIT, or with its error; R9) in one message per
// commit, and one that stops is met by fail_in_flight. A hung one is bounded by the producer's
// timeout; CAF 0.17's per-request timeouts would cost a tenth of P1's CPU (clock thread
// wake-ups, docs/performance.md).

std::shared_ptr<spdlog::logger> supervisor_log() {
  static const ComponentLog logger("supervisor");
  return logger.get();
}

struct SupervisorState {
  SupervisorConfig config;
  StorageActor storage;
  QueryActor query;
  std::array<ViewActor, kViewCount> views;
  SnapshotStore snapshots;  // empty: the views write snapshots through the storage actor
  // The pages the views' readers share (reader_actor.h, scan_atom); their restores, one at a time.
  std::shared_ptr<SharedScans> view_scans = std::make_shared<SharedScans>(kSharedPagesKept);
  std::shared_ptr<RestoreTurns> restore_turns = std::make_shared<RestoreTurns>();
  RestartHistory storage_restarts;
  RestartHistory query_restarts;
  std::array<RestartHistory, kViewCount> view_restarts;
  bool stopping = false;
  caf::error stop_reason;  // of the shutdown, once stopping
  // Every child ever spawned (exit messages from them are not shutdown requests).
  std::set<caf::actor_addr> children;
  // A new storage actor is being started (reopen_storage).
  bool reopening = false;
  // The appends admitted to the storage actor and not answered yet (SPEC R5, R9), with the
  // counters and latencies of every append answered (/metrics).
  AppendAdmission appends;
  // Single-event appends admitted and not yet sent (OutgoingAppends). An atomic batch is sent on
  // its own, after them: the storage actor sees appends in the order they arrived here.
  OutgoingAppends outgoing;
  static inline const char* name = "bel.supervisor";
};

// The supervisor's own type: the API, and the storage actor's answers to its flights.
// The flush is sent to itself only (SupervisorState::outgoing).
using SupervisorActor = BelApi::extend<caf::reacts_to<answered_atom, std::vector<FlightAnswer>>,
                                       caf::reacts_to<flush_atom>>;
using SupervisorPointer = SupervisorActor::stateful_pointer<SupervisorState>;

Error unavailable(const char* what, bool reopening = false) {
  return make_error(ErrorCode::storage_unavailable,
                    std::string("the coordinator's ") + what +
                        (reopening ? " is restarting (reopening the log after a failure); retry "
                                     "shortly"
                                   : " is not running (restart limit reached; see the "
                                     "coordinator's log)"));
}

// True when another restart is allowed now; records it.
bool allow_restart(SupervisorPointer self, RestartHistory& history, const std::string& who) {
  const auto& cfg = self->state.config;
  if (history.allow(self->clock().now(), cfg.restart_window, cfg.max_restarts)) return true;
  supervisor_log()->error("giving up on {}: {} restarts within {} s", who, history.times.size(),
                          cfg.restart_window.count());
  return false;
}

// Monitors `child` (to restart it) and makes it stop when the supervisor ends for any reason,
// even killed: a one-way link (a real link would take the supervisor down with a killed child,
// since `kill` cannot be trapped). The child stops as on a shutdown, so the storage actor still
// commits and answers what is pending.
template <class Handle>
void adopt(SupervisorPointer self, const Handle& child) {
  self->state.children.insert(child.address());
  self->monitor(child);
  caf::actor_addr weak = child.address();
  self->attach_functor([weak](const caf::error&) {
    caf::anon_send_exit(weak, caf::exit_reason::user_shutdown);
  });
}

Result<ReaderActor> new_reader(SupervisorPointer self, ReaderOptions options) {
  auto storage = self->state.config.open_reader();
  if (!storage.ok()) return storage.error();
  return spawn_reader_actor(self->home_system(), std::move(*storage), std::move(options));
}

void start_view(SupervisorPointer self, size_t k) {
  auto& st = self->state;
  const auto kind = static_cast<ViewKind>(k);
  ReaderOptions reader_options = st.config.reader;
  reader_options.shared_scans = st.view_scans;
  auto reader = new_reader(self, std::move(reader_options));
  if (!reader.ok()) {
    supervisor_log()->error("view={} not started: {}", projections::view_name(kind),
                            reader.error().to_string());
    st.views[k] = ViewActor{};
    return;
  }
  ViewDeps deps{st.storage,   *reader,          caf::actor_cast<FallbackActor>(self),
                st.snapshots, st.restore_turns, /*restore_turn_queued=*/true};
  ViewActorConfig config = st.config.views;
  config.restarts = st.view_restarts[k].total;
  auto view = spawn_view_actor(self->home_system(), kind, deps, config);
  st.restore_turns->wait(caf::actor_cast<caf::actor>(view));  // in the order the views start
  adopt(self, view);
  st.views[k] = view;
  if (st.config.on_view_started) st.config.on_view_started(kind, view);
  if (st.query) {
    self->send(st.query, set_atom::value, static_cast<int32_t>(k), view);
  }
}

// Starts the views the config runs, in kRestoreOrder: they restore in the order they start.
void start_views(SupervisorPointer self) {
  for (ViewKind kind : kRestoreOrder) {
    const auto k = static_cast<size_t>(kind);
    if (self->state.config.start_views && self->state.config.run_views[k]) start_view(self, k);
  }
}

// The snapshot store on its own writable handle, when the log can be opened twice. Not
// supervised apart: it only wraps a connection; should it stop, its views' snapshot requests fail
// (not fatal to them) and a restarted view gets the storage actor instead.
void start_snapshot_store(SupervisorPointer self) {
  auto& st = self->state;
  if (!st.config.open_snapshot_store) return;
  auto handle = st.config.open_snapshot_store();
  if (!handle.ok()) {
    supervisor_log()->warn("snapshots go through the storage actor: {}",
                           handle.error().to_string());
    return;
  }
  st.snapshots = spawn_snapshot_store(self->home_system(), std::move(*handle));
  adopt(self, st.snapshots);
}

void start_query(SupervisorPointer self) {
  auto& st = self->state;
  std::vector<ReaderActor> readers;
  for (int i = 0; i < std::max(1, st.config.query_readers); ++i) {
    auto reader = new_reader(self, st.config.reader);
    if (!reader.ok()) {
      supervisor_log()->error("query actor not started: {}", reader.error().to_string());
      for (auto& r : readers) self->send_exit(r, caf::exit_reason::user_shutdown);
      st.query = QueryActor{};
      return;
    }
    readers.push_back(*reader);
  }
  st.query = spawn_query_actor(self->home_system(), std::move(readers), st.config.query);
  adopt(self, st.query);
  for (size_t k = 0; k < kViewCount; ++k) {
    if (st.views[k]) self->send(st.query, set_atom::value, static_cast<int32_t>(k), st.views[k]);
  }
}

void stop_view(SupervisorPointer self, size_t k) {
  auto& view = self->state.views[k];
  if (!view) return;
  self->demonitor(view.address());
  self->send_exit(view, caf::exit_reason::user_shutdown);
  view = ViewActor{};
}

// Answers every admitted append not answered yet with `err` (R9).
void fail_in_flight(SupervisorPointer self, const caf::error& err) {
  auto& st = self->state;
  st.appends.fail_all(err);
  st.outgoing.clear();  // answered just now: never sent to a storage actor, this one or the next
}

// Sends the single-event appends admitted since the last flush to the storage actor, together.
void send_outgoing(SupervisorPointer self) {
  auto& st = self->state;
  if (st.outgoing.empty()) return;
  auto [flights, events] = st.outgoing.take();
  // Without a storage actor they were answered already (fail_in_flight).
  if (st.storage) {
    self->send(st.storage, append_atom::value, checked_atom::value, std::move(flights),
               std::move(events));
  }
}

// Reopens the log for a new storage actor. Opening replays the log, which takes as long as the log
// is big: it runs on a detached helper's own thread, never on the supervisor's (a scheduler
// thread), so the supervisor keeps answering meanwhile (appends: storage_unavailable, "the log is
// being reopened"; queries as usual).
void reopen_storage(SupervisorPointer self) {
  auto& st = self->state;
  st.reopening = true;
  auto open_writer = st.config.open_writer;
  auto storage_config = st.config.storage;
  caf::actor_addr supervisor_addr = self->address();
  auto opener = self->home_system().spawn<caf::detached>(
      [open_writer, storage_config, supervisor_addr](StorageOpener::pointer helper)
          -> StorageOpener::behavior_type {
        return {
            [=](reopen_atom) -> caf::result<StorageActor> {
              helper->quit();  // one answer, then done
              auto writer = open_writer ? open_writer()
                                        : Result<std::unique_ptr<LogWriter>>(make_error(
                                              ErrorCode::storage_unavailable, "no reopen"));
              if (!writer.ok()) return to_caf_error(writer.error());
              auto storage = spawn_storage_actor(helper->home_system(), std::move(*writer),
                                                 storage_config);
              // It stops with the supervisor, even one that ended while the log was reopened
              // (attaching to an ended actor runs the functor at once).
              caf::actor_addr weak = storage.address();
              auto supervisor = caf::actor_cast<caf::strong_actor_ptr>(supervisor_addr);
              if (!supervisor) {
                caf::anon_send_exit(weak, caf::exit_reason::user_shutdown);
              } else {
                supervisor->get()->attach_functor([weak](const caf::error&) {
                  caf::anon_send_exit(weak, caf::exit_reason::user_shutdown);
                });
              }
              return storage;
            },
        };
      });
  self->request(opener, kReopenTimeout, reopen_atom::value)
      .then(
          [self](StorageActor& storage) {
            auto& s = self->state;
            s.reopening = false;
            if (s.stopping) {
              self->send_exit(storage, caf::exit_reason::user_shutdown);
              return;
            }
            s.storage = std::move(storage);
            adopt(self, s.storage);
            // The views are subscribed to the dead actor: start them again on the new one.
            for (size_t k = 0; k < kViewCount; ++k) stop_view(self, k);
            start_views(self);
          },
          [self](caf::error& e) {
            self->state.reopening = false;
            supervisor_log()->error("storage actor not restarted: {}",
                                    from_caf_error(e).to_string());
          });
}

void on_down(SupervisorPointer self, const caf::down_msg& down) {
  auto& st = self->state;
  if (st.stopping) {
    // Shutting down: once the storage actor has answered what it held, answer the rest and go.
    if (st.storage && st.storage.address() == down.source) {
      fail_in_flight(self, to_caf_error(make_error(ErrorCode::storage_unavailable,
                                                   "the coordinator stopped before answering; the "
                                                   "append may or may not be stored: retry it "
                                                   "with the same event_id")));
      self->quit(st.stop_reason);
    }
    return;
  }
  const std::string reason = caf::to_string(down.reason);
  if (st.storage && st.storage.address() == down.source) {
    supervisor_log()->error("storage actor down reason={}", reason);
    st.storage = StorageActor{};
    // Answers it sent before it stopped arrived before this message; the rest never will.
    fail_in_flight(self, to_caf_error(make_error(
                             ErrorCode::storage_unavailable,
                             "the storage actor stopped (" + reason +
                                 ") before answering; the append may or may not be stored: "
                                 "retry it with the same event_id (a stored one is answered as "
                                 "a duplicate)")));
    if (!allow_restart(self, st.storage_restarts, "the storage actor")) return;
    reopen_storage(self);
    return;
  }
  if (st.query && st.query.address() == down.source) {
    supervisor_log()->error("query actor down reason={}", reason);
    st.query = QueryActor{};
    if (allow_restart(self, st.query_restarts, "the query actor")) start_query(self);
    return;
  }
  if (st.snapshots && st.snapshots.address() == down.source) {
    supervisor_log()->error("snapshot store down reason={}", reason);
    st.snapshots = SnapshotStore{};
    return;
  }
  for (size_t k = 0; k < kViewCount; ++k) {
    if (st.views[k] && st.views[k].address() == down.source) {
      const char* name = projections::view_name(static_cast<ViewKind>(k));
      supervisor_log()->error("view={} actor down reason={}", name, reason);
      st.views[k] = ViewActor{};
      if (allow_restart(self, st.view_restarts[k], std::string("the ") + name + " view")) {
        start_view(self, k);
      }
      return;
    }
  }
}

// Queues an admitted single-event append: sent at once when the queue is full, else on the flush
// this actor sends itself.
void push_outgoing(SupervisorPointer self, uint64_t flight, BuildEvent event) {
  const auto next = self->state.outgoing.push(flight, std::move(event));
  if (next == OutgoingAppends::Next::send_now) send_outgoing(self);
  if (next == OutgoingAppends::Next::flush_later) self->send(self, flush_atom::value);
}

// Why the supervisor takes no append now, if it does not.
std::optional<Error> refusing_appends(SupervisorPointer self) {
  auto& st = self->state;
  if (st.stopping) {
    return make_error(ErrorCode::storage_unavailable,
                      st.config.log_uri + ": the coordinator is stopping");
  }
  if (!st.storage) return unavailable("storage actor", st.reopening);
  return std::nullopt;
}

// Independent appends in one message (BelApi): each admitted and queued as if it came alone.
caf::result<AppendOutcomes> admit_each(SupervisorPointer self, std::vector<BuildEvent> events) {
  auto& st = self->state;
  if (auto refusal = refusing_appends(self)) {
    for (size_t i = 0; i < events.size(); ++i) st.appends.refused(refusal->code);
    return to_caf_error(*refusal);
  }
  auto rp = self->make_response_promise<AppendOutcomes>();
  st.appends.admit_each(events, self->clock().now(), rp,
                        [self](uint64_t flight, BuildEvent& event) {
                          push_outgoing(self, flight, std::move(event));
                        });
  return rp;
}

// Admits an append to the storage actor when the pending limit allows it and its events pass
// the checks that need no state (AppendAdmission::admit), and answers it with the storage
// actor's answer to its flight.
template <class Answer, class Payload>
caf::result<Answer> admit_append(SupervisorPointer self, Payload payload) {
  auto& st = self->state;
  if (auto refusal = refusing_appends(self)) {
    st.appends.refused(refusal->code);
    return to_caf_error(*refusal);
  }
  auto load = st.appends.admit(payload);
  if (!load.ok()) return to_caf_error(load.error());
  auto rp = self->make_response_promise<Answer>();
  const uint64_t flight = st.appends.hold(*load, self->clock().now(), rp);
  if constexpr (std::is_same_v<Payload, BuildEvent>) {
    push_outgoing(self, flight, std::move(payload));
  } else {
    send_outgoing(self);  // what arrived before it goes first
    self->send(st.storage, append_atom::value, checked_atom::value, flight, std::move(payload));
  }
  return rp;
}

// Collects every view's status, the log's last idx and the fallback count into one answer.
void collect_views_status(SupervisorPointer self, caf::typed_response_promise<ViewsStatus> rp) {
  struct Pending {
    ViewsStatus out;
    int waiting = 0;
    caf::typed_response_promise<ViewsStatus> rp;
    void done() {
      if (--waiting > 0) return;
      for (auto& v : *out.mutable_views()) {
        v.set_lag(std::max<int64_t>(0, out.last_idx() - v.applied_idx()));
      }
      rp.deliver(std::move(out));
    }
  };
  auto& st = self->state;
  auto pending = std::make_shared<Pending>();
  pending->rp = rp;
  pending->waiting = 1;  // released at the end, so nothing is delivered before every ask is out
  for (size_t k = 0; k < kViewCount; ++k) {
    ViewStatus* slot = pending->out.add_views();
    slot->set_view(projections::view_name(static_cast<ViewKind>(k)));
    slot->set_restarts(st.view_restarts[k].total);
    if (!st.views[k]) {
      slot->set_state(v1::VIEW_FAILED);
      slot->set_last_error(!st.config.run_views[k]        ? "not started in this process"
                           : st.view_restarts[k].given_up ? "not running: restart limit reached"
                                                          : "not running");
      continue;
    }
    ++pending->waiting;
    self->request(st.views[k], kStatusTimeout, status_atom::value)
        .then([pending, k](const ViewStatus& s) {
                *pending->out.mutable_views(static_cast<int>(k)) = s;
                pending->done();
              },
              [pending, k](const caf::error& e) {
                auto* v = pending->out.mutable_views(static_cast<int>(k));
                v->set_state(v1::VIEW_STATE_UNSPECIFIED);
                v->set_last_error(from_caf_error(e).to_string());
                pending->done();
              });
  }
  if (st.storage) {
    ++pending->waiting;
    self->request(st.storage, kStatusTimeout, stats_atom::value)
        .then(
            [pending](const StorageStats& s) {
              pending->out.set_last_idx(s.last_idx());
              pending->done();
            },
            [pending](const caf::error&) { pending->done(); });
  }
  if (st.query) {
    ++pending->waiting;
    self->request(st.query, kStatusTimeout, fallbacks_atom::value)
        .then(
            [pending](int64_t fallbacks) {
              pending->out.set_fallback_queries(fallbacks);
              pending->done();
            },
            [pending](const caf::error&) { pending->done(); });
  }
  pending->done();
}

SupervisorActor::behavior_type supervisor(SupervisorPointer self,
                                          std::shared_ptr<std::unique_ptr<LogWriter>> writer,
                                          SupervisorConfig config) {
  auto& st = self->state;
  st.config = std::move(config);
  st.appends = AppendAdmission(st.config.storage, st.config.log_uri);
  st.storage = spawn_storage_actor(self->home_system(), std::move(*writer), st.config.storage);
  adopt(self, st.storage);
  start_snapshot_store(self);
  start_query(self);
  start_views(self);

  self->set_down_handler([=](const caf::down_msg& down) { on_down(self, down); });
  // A throw answers every append it admitted (R9); its children stop with it (adopt).
  answer_on_failure(self, ErrorCode::internal, "the coordinator's supervisor",
                    [self](const caf::error& err) { fail_in_flight(self, err); });
  // Shutdown: views and queries first, the storage actor last (it commits what is staged and
  // answers every waiting append before it stops).
  self->set_exit_handler([=](const caf::exit_msg& msg) {
    auto& s = self->state;
    // Not a shutdown request: a child's end is the down handler's business.
    if (s.children.count(msg.source) > 0) return;
    if (s.stopping) return;
    s.stopping = true;
    s.stop_reason = msg.reason;
    for (size_t k = 0; k < kViewCount; ++k) stop_view(self, k);
    if (s.query) self->send_exit(s.query, msg.reason);
    if (!s.storage) {
      fail_in_flight(self, to_caf_error(unavailable("storage actor", false)));
      self->quit(msg.reason);
      return;
    }
    // The storage actor commits what is staged and answers each append; its answers reach the
    // clients through this actor, which therefore stops only after it (on_down).
    send_outgoing(self);
    self->send_exit(s.storage, msg.reason);
  });

  return {
      [=](append_atom, BuildEvent& event) -> caf::result<AppendAck> {
        return admit_append<AppendAck>(self, std::move(event));
      },
      [=](append_atom, std::vector<BuildEvent>& batch) -> caf::result<AppendAcks> {
        return admit_append<AppendAcks>(self, std::move(batch));
      },
      [=](append_atom, each_atom, std::vector<BuildEvent>& events) -> caf::result<AppendOutcomes> {
        return admit_each(self, std::move(events));
      },
      [=](query_atom, Query& query) -> caf::result<QueryResult> {
        if (!self->state.query) return to_caf_error(unavailable("query actor"));
        return self->delegate(self->state.query, query_atom::value, std::move(query));
      },
      [=](query_atom, each_atom, std::vector<Query>& queries) -> caf::result<QueryOutcomes> {
        if (!self->state.query) return to_caf_error(unavailable("query actor"));
        return self->delegate(self->state.query, query_atom::value, each_atom::value,
                              std::move(queries));
      },
      [=](fallback_atom, Query& query) -> caf::result<QueryResult> {
        if (!self->state.query) return to_caf_error(unavailable("query actor"));
        return self->delegate(self->state.query, fallback_atom::value, std::move(query));
      },
      [=](list_atom, ListEventsRequest& request) -> caf::result<EventPage> {
        if (!self->state.query) return to_caf_error(unavailable("query actor"));
        return self->delegate(self->state.query, list_atom::value, std::move(request));
      },
      [=](views_atom) -> caf::result<ViewsStatus> {
        auto rp = self->make_response_promise<ViewsStatus>();
        collect_views_status(self, rp);
        return rp;
      },
      [=](rebuild_atom, const std::string& name) -> caf::result<ViewsStatus> {
        std::vector<size_t> which;
        if (name.empty()) {
          for (size_t k = 0; k < kViewCount; ++k) which.push_back(k);
        } else if (auto kind = projections::parse_view_name(name)) {
          which.push_back(static_cast<size_t>(*kind));
        } else {
          return to_caf_error(projections::unknown_view_error(name));
        }
        auto rp = self->make_response_promise<ViewsStatus>();
        auto waiting = std::make_shared<size_t>(1);
        auto done = [=]() mutable {
          if (--*waiting == 0) collect_views_status(self, rp);
        };
        for (size_t k : which) {
          if (!self->state.views[k]) {
            // Not running (restart limit reached, or its reader could not open): start it
            // afresh, then rebuild it like the others.
            self->state.view_restarts[k] = RestartHistory{};
            start_view(self, k);
            if (!self->state.views[k]) continue;  // still cannot start: the status says why
          }
          ++*waiting;
          self->request(self->state.views[k], kRebuildTimeout, rebuild_atom::value)
              .then([=](const ViewStatus&) mutable { done(); },
                    [=](const caf::error&) mutable { done(); });
        }
        done();
        return rp;
      },
      [=](stats_atom) -> caf::result<StorageStats> {
        if (!self->state.storage) return to_caf_error(unavailable("storage actor"));
        auto rp = self->make_response_promise<StorageStats>();
        // A console's read point: a storage thread held up (a lock another process holds, a
        // frozen disk) must not hold up the queries the views answer (R3): its last stats then.
        self->request(self->state.storage, kStatsTimeout, stats_atom::value)
            .then(
                [self, rp](StorageStats& s) mutable {
                  self->state.appends.remember(s);
                  self->state.appends.add_to(&s);
                  rp.deliver(std::move(s));
                },
                [self, rp](caf::error& e) mutable {
                  auto s = self->state.appends.remembered();
                  if (s) {
                    self->state.appends.add_to(&*s);
                    rp.deliver(std::move(*s));
                  } else {
                    rp.deliver(std::move(e));
                  }
                });
        return rp;
      },
      [=](meta_atom, std::string& key, std::string& value) -> caf::result<std::string> {
        if (!self->state.storage) return to_caf_error(unavailable("storage actor"));
        return self->delegate(self->state.storage, meta_atom::value, std::move(key),
                              std::move(value));
      },
      [=](answered_atom, std::vector<FlightAnswer>& answers) {
        // From the storage actor running now; an earlier one's flights were failed when it
        // stopped.
        if (self->current_sender() != self->state.storage.address()) return;
        const auto now = self->clock().now();
        for (auto& answer : answers) self->state.appends.answer(answer, now);
      },
      [=](flush_atom) {
        self->state.outgoing.flush_arrived();
        send_outgoing(self);
      },
  };
}

}  // namespace

BelApi spawn_supervisor(caf::actor_system& system, std::unique_ptr<LogWriter> writer,
                        SupervisorConfig config) {
  auto holder = std::make_shared<std::unique_ptr<LogWriter>>(std::move(writer));
  return system.spawn(supervisor, holder, std::move(config));
}

}  // namespace bel::actors
