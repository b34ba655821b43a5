#include "actors/write/storage_actor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "actors/component_log.h"
#include "actors/fail_answers.h"
#include "actors/write/storage_answers.h"
#include "messages/escape.h"
#include "storage/thread_name.h"

namespace bel::actors {
namespace {

using storage_answers::deliver;
using storage_answers::fail;
using storage_answers::Outbox;
using storage_answers::Waiter;

struct StorageState {
  std::unique_ptr<LogWriter> writer;
  StorageActorConfig config;
  // Appends received and not yet staged (the group being collected): their events back to
  // back, each append's event count, and who waits for each.
  std::vector<BuildEvent> pending_events;
  std::vector<size_t> pending_sizes;
  std::vector<char> pending_checked;  // per append: its events passed check_event already
  std::vector<Waiter> pending_waiters;
  // Staged and not yet committed, in staging order (as LogWriter::commit answers them).
  std::vector<std::pair<LogWriter::Ticket, Waiter>> staged_waiters;
  // A subscriber and its credit (commit_staged, `delivered`).
  struct Subscriber {
    CommitSubscriber handle;
    int32_t credit = 0;     // events; 0: unbounded
    int32_t in_flight = 0;  // events sent and not yet acknowledged
    int64_t withheld_to = 0;
  };
  std::vector<Subscriber> subscribers;
  // Committed events held back from the subscribers (publish_interval), and when they were last
  // sent any.
  std::vector<BuildEvent> unpublished;
  std::optional<caf::actor_clock::time_point> last_publish;  // none before the first
  bool publish_scheduled = false;
  // The highest idx a subscriber asked for (publish_atom, idx) before it was committed: the
  // commit that reaches it goes at once (0: none waited for).
  int64_t wanted_idx = 0;
  Outbox outbox;
  bool flush_scheduled = false;
  bool index_scheduled = false;
  int64_t overloaded = 0;
  // Wall seconds in commit_staged and in index batches, and the batches (StorageStats).
  double commit_seconds = 0;
  double index_seconds = 0;
  int64_t index_batches = 0;
  static inline const char* name = "bel.storage";
};

// Adds the wall time of its scope to `total`.
class ScopeSeconds {
 public:
  explicit ScopeSeconds(double& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~ScopeSeconds() {
    total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  ScopeSeconds(const ScopeSeconds&) = delete;
  ScopeSeconds& operator=(const ScopeSeconds&) = delete;

 private:
  double& total_;
  std::chrono::steady_clock::time_point start_;
};

using StoragePointer = StorageActor::stateful_pointer<StorageState>;

std::shared_ptr<spdlog::logger> storage_log() {
  static const ComponentLog logger("storage");
  return logger.get();
}

void schedule_index(StoragePointer self);

void publish(StoragePointer self, std::vector<BuildEvent> committed);
void publish_paced(StoragePointer self, std::vector<BuildEvent> committed);
void publish_held(StoragePointer self);
void follow(StoragePointer self);

// Stages the collected group (one idempotency lookup for all of it, LogWriter::stage_group),
// answers the appends it rejects at once and parks the others until the commit. On a log with
// other writers a refused batch is judged once more after following them: the state it failed
// on may be older than what its sender saw committed elsewhere (docs/scale-out.md).
void stage_pending(StoragePointer self) {
  auto& st = self->state;
  if (st.pending_sizes.empty()) return;
  const bool shared = st.writer->storage().has_other_writers();
  const std::vector<BuildEvent> given = shared ? st.pending_events : std::vector<BuildEvent>{};
  std::vector<std::string> warnings;
  auto tickets =
      st.writer->stage_group(st.pending_events, st.pending_sizes, &warnings, &st.pending_checked);
  std::vector<BuildEvent> again;
  std::vector<size_t> again_sizes;
  std::vector<Waiter> again_waiters;
  for (size_t k = 0, begin = 0; k < tickets.size(); begin += st.pending_sizes[k++]) {
    Waiter& waiter = st.pending_waiters[k];
    if (tickets[k].ok()) {
      st.staged_waiters.emplace_back(*tickets[k], std::move(waiter));
      continue;
    }
    if (shared && tickets[k].error().code == ErrorCode::invalid_transition) {
      again.insert(again.end(), given.begin() + static_cast<std::ptrdiff_t>(begin),
                   given.begin() + static_cast<std::ptrdiff_t>(begin + st.pending_sizes[k]));
      again_sizes.push_back(st.pending_sizes[k]);
      again_waiters.push_back(std::move(waiter));
      continue;
    }
    const Error& e = tickets[k].error();
    storage_log()->info("rejected append code={} error=\"{}\"", to_string(e.code),
                        ascii_escaped(e.message));
    fail(st.outbox, waiter, e);
  }
  st.pending_events.clear();
  st.pending_sizes.clear();
  st.pending_checked.clear();
  st.pending_waiters.clear();
  if (!again_sizes.empty()) {
    follow(self);
    auto retried = st.writer->stage_group(again, again_sizes, &warnings);
    for (size_t k = 0; k < retried.size(); ++k) {
      if (retried[k].ok()) {
        st.staged_waiters.emplace_back(*retried[k], std::move(again_waiters[k]));
        continue;
      }
      const Error& e = retried[k].error();
      storage_log()->info("rejected append code={} error=\"{}\"", to_string(e.code),
                          ascii_escaped(e.message));
      fail(st.outbox, again_waiters[k], e);
    }
  }
  // A warning quotes ids and text from producers: escaped, so that it stays one plain line.
  for (const auto& w : warnings) {
    storage_log()->warn("lenient transition warning: {}", ascii_escaped(w));
  }
}

// Stages what was collected and commits it in one transaction; answers every append after it
// (the supervisor's flights in one message).
void commit_staged(StoragePointer self) {
  auto& st = self->state;
  const ScopeSeconds timed(st.commit_seconds);
  st.flush_scheduled = false;
  stage_pending(self);
  if (st.writer->staged_tickets() == 0) {
    st.outbox.send(self);
    return;
  }
  auto result = st.writer->commit();
  // commit() answers the staged tickets in staging order, as staged_waiters holds them. Every
  // waiter gets an answer, even one the commit should have answered and did not.
  size_t next = 0;
  for (auto& [ticket, waiter] : st.staged_waiters) {
    while (next < result.tickets.size() && result.tickets[next].first != ticket) ++next;
    if (next == result.tickets.size()) {
      fail(st.outbox, waiter,
           Error{ErrorCode::internal, "append: the commit gave no answer for it"});
      continue;
    }
    deliver(st.outbox, waiter, result.tickets[next++].second);
  }
  st.staged_waiters.clear();
  st.outbox.send(self);
  if (result.committed.empty()) {
    if (!result.tickets.empty() && !result.tickets.front().second.ok()) {
      storage_log()->error("commit failed batches={} error=\"{}\"", result.tickets.size(),
                           result.tickets.front().second.error().to_string());
    }
    return;
  }
  storage_log()->debug("committed events={} idx={}..{}", result.committed.size(),
                       result.committed.front().idx(), result.committed.back().idx());
  schedule_index(self);
  publish_paced(self, std::move(result.committed));
}

// Sends `committed` to the subscribers now, or holds it back with the commits before it until
// publish_interval has passed since they last got a message (StorageActorConfig). It goes at once,
// with whatever is held, when the interval is already up (the timer's message may be behind it in
// the mailbox) or when it reaches an idx a subscriber asked for before it was committed.
void publish_paced(StoragePointer self, std::vector<BuildEvent> committed) {
  auto& st = self->state;
  if (st.subscribers.empty() || committed.empty()) return;
  const auto now = self->clock().now();
  const int64_t last = committed.back().idx();
  const bool wanted = st.wanted_idx > 0 && last >= st.wanted_idx;
  if (wanted) st.wanted_idx = 0;
  const bool due =
      wanted || !st.last_publish || now - *st.last_publish >= st.config.publish_interval;
  if (st.unpublished.empty() && (due || committed.size() >= st.config.publish_at_once_events)) {
    st.last_publish = now;
    publish(self, std::move(committed));
    return;
  }
  if (st.unpublished.empty()) {
    st.unpublished = std::move(committed);
  } else {
    st.unpublished.insert(st.unpublished.end(), std::make_move_iterator(committed.begin()),
                          std::make_move_iterator(committed.end()));
  }
  if (due || st.unpublished.size() >= st.config.publish_at_once_events) {
    publish_held(self);
    return;
  }
  if (!st.publish_scheduled) {
    st.publish_scheduled = true;
    // Held only after a message: last_publish is set.
    self->delayed_send(self, *st.last_publish + st.config.publish_interval - now,
                       publish_atom::value);
  }
}

// Sends the commits publish_paced held back (when their interval is up, and before a subscriber
// is added: it reads from the log every event up to the idx its subscription answers).
void publish_held(StoragePointer self) {
  auto& st = self->state;
  if (st.unpublished.empty()) return;
  st.last_publish = self->clock().now();
  publish(self, std::move(st.unpublished));
  st.unpublished.clear();
}

// Sends committed events to every subscriber, within its credit (a view out of credit learns
// what it missed from `delivered` and reads it from the log).
void publish(StoragePointer self, std::vector<BuildEvent> committed) {
  auto& st = self->state;
  if (st.subscribers.empty() || committed.empty()) return;
  const int64_t last = committed.back().idx();
  const auto events = static_cast<int32_t>(committed.size());
  // One message shared by every subscriber (CAF messages are copy-on-write).
  auto msg = caf::make_message(committed_atom::value, std::move(committed));
  for (auto& sub : st.subscribers) {
    if (sub.credit > 0 && sub.in_flight >= sub.credit) {
      sub.withheld_to = last;
      continue;
    }
    sub.in_flight += events;
    sub.handle->enqueue(self->ctrl(), caf::make_message_id(), msg, self->context());
  }
}

// Logs with other writers: fold and publish what they committed (staged batches are judged again
// on top of it by the writer; the next commit answers them).
void follow(StoragePointer self) {
  auto followed = self->state.writer->follow();
  if (!followed.ok()) {
    storage_log()->warn("following other writers failed error=\"{}\"",
                        followed.error().to_string());
    return;
  }
  if (followed->empty()) return;
  storage_log()->debug("followed events={} idx={}..{}", followed->size(),
                       followed->front().idx(), followed->back().idx());
  publish_paced(self, std::move(*followed));
}

// After a commit: schedule the indexer. A long tail is indexed right after the messages already
// queued (so waiting appends are committed first); a short one only after index_idle_delay, so
// an append-at-a-time producer does not pay for an index transaction after every commit.
void schedule_index(StoragePointer self) {
  auto& st = self->state;
  if (st.index_scheduled) return;
  const int64_t tail = st.writer->storage().unindexed_events();
  if (tail == 0) return;
  st.index_scheduled = true;
  if (tail >= st.config.index_batch_events) {
    self->send(self, index_atom::value);
  } else {
    self->delayed_send(self, st.config.index_idle_delay, index_atom::value);
  }
}

void index_tail(StoragePointer self) {
  auto& st = self->state;
  st.index_scheduled = false;
  auto& log = st.writer->storage();
  const int64_t tail = log.unindexed_events();
  if (tail == 0) return;
  if (tail < st.config.index_batch_events && !self->mailbox().empty()) {
    schedule_index(self);  // appends arrived meanwhile: they go first
    return;
  }
  Result<int64_t> done = int64_t{0};
  {
    const ScopeSeconds timed(st.index_seconds);
    done = log.catch_up_indexes(st.config.max_index_events);
  }
  if (!done.ok()) {
    // The log is intact and reads stay exact; the next commit tries again.
    storage_log()->warn("indexing failed unindexed={} error=\"{}\"", tail,
                        done.error().to_string());
    return;
  }
  if (*done > 0) ++st.index_batches;
  storage_log()->debug("indexed events={} unindexed={}", *done, log.unindexed_events());
  schedule_index(self);
}

// The pending limit (SPEC R5): overloaded when the events waiting (collected, staged, and the
// messages still queued, at least one event each) plus `incoming` would pass max_pending_events,
// or when `incoming` alone does. Bytes are counted where appends are admitted (the supervisor),
// once per append.
Status check_pending_limit(StoragePointer self, size_t incoming) {
  auto& st = self->state;
  const PendingLoad pending{
      st.pending_events.size() + st.writer->staged_events() + self->mailbox().size(), 0};
  if (auto ok = check_pending(st.config, pending, PendingLoad{incoming, 0},
                              st.writer->storage().uri());
      !ok.ok()) {
    ++st.overloaded;
    return ok.error();
  }
  return ok_status();
}

size_t count_of(const BuildEvent&) { return 1; }
size_t count_of(const std::vector<BuildEvent>& batch) { return batch.size(); }

// Collects an append (one event, or an atomic batch) that passed the pending limit into the
// group, with `w` waiting for its answer after the COMMIT. The group is staged and committed by
// the flush that lands behind every append already queued (one lookup and one commit serve them
// all), or at once when it reaches max_group_events.
template <class Events>
void collect(StoragePointer self, Events& events, bool checked, Waiter w) {
  auto& st = self->state;
  if constexpr (std::is_same_v<Events, BuildEvent>) {
    st.pending_events.push_back(std::move(events));
  } else {
    st.pending_events.insert(st.pending_events.end(), std::make_move_iterator(events.begin()),
                             std::make_move_iterator(events.end()));
  }
  st.pending_sizes.push_back(count_of(events));
  st.pending_checked.push_back(checked ? 1 : 0);
  st.pending_waiters.push_back(std::move(w));
  if (st.pending_events.size() >= st.config.max_group_events) {
    commit_staged(self);
  } else if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->send(self, flush_atom::value);
  }
}

// A request to append: answered with an AppendAck for one event, AppendAcks for a batch.
template <class Answer, class Events>
caf::result<Answer> take_request(StoragePointer self, Events& events) {
  if (auto ok = check_pending_limit(self, count_of(events)); !ok.ok()) {
    return to_caf_error(ok.error());
  }
  Waiter w;
  auto rp = self->make_response_promise<Answer>();
  if constexpr (std::is_same_v<Answer, AppendAck>) {
    w.kind = Waiter::Kind::one;
    w.one = rp;
  } else {
    w.kind = Waiter::Kind::many;
    w.many = rp;
  }
  collect(self, events, /*checked=*/false, std::move(w));
  return rp;
}

// One of the supervisor's flights: answered in its sender's next (answered_atom, ...) message.
// A refusal waits in the outbox: the caller sends it when it has taken the message's flights.
template <class Events>
void take_flight(StoragePointer self, uint64_t flight, Events& events) {
  Waiter w;
  w.kind = Waiter::Kind::flight;
  w.sender = self->current_sender();
  w.flight = flight;
  if (auto ok = check_pending_limit(self, count_of(events)); !ok.ok()) {
    fail(self->state.outbox, w, ok.error());
    return;
  }
  collect(self, events, /*checked=*/true, std::move(w));
}

// The supervisor's single-event flights sent together (see StorageActor).
void take_flights(StoragePointer self, std::vector<uint64_t>& flights,
                  std::vector<BuildEvent>& events) {
  auto& st = self->state;
  if (flights.size() != events.size()) {
    // A sender's bug: answer every flight named rather than guess which event is whose.
    const Error error{ErrorCode::internal, "append: " + std::to_string(flights.size()) +
                                               " flights for " + std::to_string(events.size()) +
                                               " events in one message"};
    Waiter w;
    w.kind = Waiter::Kind::flight;
    w.sender = self->current_sender();
    for (const uint64_t flight : flights) {
      w.flight = flight;
      fail(st.outbox, w, error);
    }
  } else {
    for (size_t k = 0; k < flights.size(); ++k) take_flight(self, flights[k], events[k]);
  }
  st.outbox.send(self);
}

StorageActor::behavior_type storage_actor(StoragePointer self, std::unique_ptr<LogWriter>* writer,
                                          StorageActorConfig config) {
  // Built on the actor's own thread when detached (spawn_storage_actor).
  if (config.detached) name_this_thread(kStorageThreadName);
  self->state.writer = std::move(*writer);
  self->state.config = config;
  // A throw (a bug, bad_alloc) answers every waiting append before the actor stops (R9).
  answer_on_failure(self, ErrorCode::storage_unavailable, "the storage actor",
                    [self](const caf::error& err) {
                      const Error error = from_caf_error(err);
                      auto& st = self->state;
                      for (auto& w : st.pending_waiters) fail(st.outbox, w, error);
                      for (auto& [ticket, w] : st.staged_waiters) fail(st.outbox, w, error);
                      st.pending_waiters.clear();
                      st.staged_waiters.clear();
                      st.outbox.send(self);
                    });
  // A shutdown must not drop appends silently: commit what is staged (each waiter gets its ack or
  // the commit's error), then stop.
  self->set_exit_handler([=](const caf::exit_msg& msg) {
    commit_staged(self);
    self->quit(msg.reason);
  });
  self->set_down_handler([=](const caf::down_msg& down) {
    auto& subs = self->state.subscribers;
    subs.erase(
        std::remove_if(subs.begin(), subs.end(),
                       [&](const auto& a) { return a.handle.address() == down.source; }),
        subs.end());
  });
  return {
      [=](append_atom, BuildEvent& event) -> caf::result<AppendAck> {
        return take_request<AppendAck>(self, event);
      },
      [=](append_atom, std::vector<BuildEvent>& batch) -> caf::result<AppendAcks> {
        return take_request<AppendAcks>(self, batch);
      },
      [=](append_atom, checked_atom, uint64_t flight, BuildEvent& event) {
        take_flight(self, flight, event);
        self->state.outbox.send(self);
      },
      [=](append_atom, checked_atom, uint64_t flight, std::vector<BuildEvent>& batch) {
        take_flight(self, flight, batch);
        self->state.outbox.send(self);
      },
      [=](append_atom, checked_atom, std::vector<uint64_t>& flights,
          std::vector<BuildEvent>& events) { take_flights(self, flights, events); },
      [=](subscribe_atom, const CommitSubscriber& subscriber) -> int64_t {
        publish_held(self);  // the newcomer reads everything up to the idx answered
        self->monitor(subscriber);
        self->state.subscribers.push_back({subscriber});
        return self->state.writer->last_idx();
      },
      [=](subscribe_atom, const CommitSubscriber& subscriber, int32_t credit) -> int64_t {
        publish_held(self);
        self->monitor(subscriber);
        self->state.subscribers.push_back({subscriber, std::max(credit, 0)});
        return self->state.writer->last_idx();
      },
      [=](delivered_atom, const CommitSubscriber& subscriber, int32_t count) -> int64_t {
        for (auto& sub : self->state.subscribers) {
          if (sub.handle != subscriber) continue;
          sub.in_flight = std::max(0, sub.in_flight - std::max(count, 0));
          return std::exchange(sub.withheld_to, 0);
        }
        return 0;
      },
      [=](stats_atom) -> StorageStats {
        StorageStats s = self->state.writer->stats();
        s.set_pending(s.pending() + static_cast<int64_t>(self->state.pending_events.size()));
        s.set_overloaded(self->state.overloaded);
        s.set_commit_seconds(self->state.commit_seconds);
        s.set_index_seconds(self->state.index_seconds);
        s.set_index_batches(self->state.index_batches);
        s.set_unindexed_events(self->state.writer->storage().unindexed_events());
        return s;
      },
      [=](snapshot_atom, ViewSnapshot& snapshot) -> caf::result<int64_t> {
        // The data may be megabytes: moved, not copied.
        storage::Snapshot s{snapshot.view(), snapshot.version(), snapshot.applied_idx(),
                            std::move(*snapshot.mutable_data()), snapshot.data_encoded()};
        // Between messages no transaction is open (a group commits within one flush), so the
        // snapshot is its own small transaction.
        if (auto ok = self->state.writer->storage().save_snapshot(s); !ok.ok()) {
          storage_log()->warn("snapshot not saved view={} error=\"{}\"", snapshot.view(),
                              ok.error().to_string());
          return to_caf_error(ok.error());
        }
        storage_log()->debug("snapshot saved view={} applied_idx={} bytes={}", s.view,
                             s.applied_idx, s.data.size());
        return snapshot.applied_idx();
      },
      [=](meta_atom, const std::string& key, const std::string& value) -> caf::result<std::string> {
        // Appends already staged were judged under the current settings: commit them first.
        commit_staged(self);
        if (auto ok = self->state.writer->set_meta(key, value); !ok.ok()) {
          return to_caf_error(ok.error());
        }
        return value;
      },
      [=](flush_atom) { commit_staged(self); },
      [=](index_atom) { index_tail(self); },
      [=](follow_atom) { follow(self); },
      [=](publish_atom) {
        self->state.publish_scheduled = false;
        publish_held(self);
      },
      [=](publish_atom, int64_t idx) {
        // What is held goes now; an idx not yet committed (a staged append, or on a log with
        // other writers one not yet followed) goes at once when its commit comes.
        auto& st = self->state;
        if (idx > st.writer->last_idx()) st.wanted_idx = std::max(st.wanted_idx, idx);
        publish_held(self);
      },
  };
}

// Logs with other writers: a detached actor that blocks on the log's commit notifications (its
// own connection) and tells the storage actor to follow; it stops with the storage actor.
void spawn_commit_watcher(caf::actor_system& system, StorageActor log,
                          std::shared_ptr<storage::Storage> reader,
                          std::chrono::milliseconds interval) {
  system.spawn<caf::detached>([=](caf::event_based_actor* self) -> caf::behavior {
    name_this_thread("bel.follow");
    self->monitor(log);
    self->set_down_handler([=](const caf::down_msg&) { self->quit(); });
    self->send(self, tick_atom::value);
    // While the server is away a wait fails at once: the watcher asks again after `interval`,
    // says so once per outage, and has the storage actor follow when the server is back.
    auto failing = std::make_shared<bool>(false);
    // It waits in slices of at most 100 ms, reading its mailbox between them, so a stop ends it
    // within one (a whole interval's wait held every command's exit: `bel append` took 1 s);
    // without a notification the storage actor looks anyway once an interval.
    const auto slice = std::min(interval, std::chrono::milliseconds(100));
    auto looked = std::make_shared<std::chrono::steady_clock::time_point>(
        std::chrono::steady_clock::now() - interval);  // the first wait is followed by a look
    return {[=](tick_atom) {
      auto woke = reader->wait_for_commit(slice);
      if (!woke.ok()) {
        if (!*failing) {
          storage_log()->warn("commit watcher: {}; asking again every {} ms until it answers",
                              woke.error().to_string(), interval.count());
        }
        *failing = true;
        // A server that answers but will not let this connection listen: look once an interval
        // (the fallback for a lost notification) rather than never. An absent one: nothing to read.
        if (woke.error().code != ErrorCode::storage_unavailable) {
          self->send(log, follow_atom::value);
        }
        self->delayed_send(self, interval, tick_atom::value);
        return;
      }
      const bool was_failing = std::exchange(*failing, false);
      if (was_failing) storage_log()->info("commit watcher: the log answers again");
      const auto now = std::chrono::steady_clock::now();
      if (*woke || was_failing || now - *looked >= interval) {
        *looked = now;
        self->send(log, follow_atom::value);
      }
      self->send(self, tick_atom::value);
    }};
  });
}

}  // namespace

StorageActor spawn_storage_actor(caf::actor_system& system, std::unique_ptr<LogWriter> writer,
                                 StorageActorConfig config) {
  std::shared_ptr<storage::Storage> watched;
  if (writer->storage().has_other_writers()) {
    auto reader = writer->storage().open_reader();
    if (reader.ok()) {
      watched = std::move(*reader);
    } else {
      storage_log()->warn("no commit watcher (other writers' events arrive with the next commit): "
                          "{}",
                          reader.error().to_string());
    }
  }
  // The writer moves into the actor's state when its behavior is built, on the actor's thread.
  auto holder = std::make_shared<std::unique_ptr<LogWriter>>(std::move(writer));
  auto init = [holder, config](StoragePointer self) {
    return storage_actor(self, holder.get(), config);
  };
  auto log = config.detached ? system.spawn<caf::detached>(init) : system.spawn(init);
  if (watched) spawn_commit_watcher(system, log, std::move(watched), config.follow_interval);
  return log;
}

}  // namespace bel::actors
