#include "actors/write/storage_actor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <type_traits>
#include <unordered_map>

#include "actors/component_log.h"

namespace bel::actors {
namespace {

// One waiting append: either a single event or a batch.
struct Waiter {
  bool single = true;
  caf::typed_response_promise<AppendAck> one;
  caf::typed_response_promise<AppendAcks> many;
};

struct StorageState {
  std::unique_ptr<LogWriter> writer;
  StorageActorConfig config;
  std::unordered_map<LogWriter::Ticket, Waiter> waiters;
  std::vector<CommitSubscriber> subscribers;
  bool flush_scheduled = false;
  bool index_scheduled = false;
  int64_t overloaded = 0;
  static inline const char* name = "bel.storage";
};

using StoragePointer = StorageActor::stateful_pointer<StorageState>;

std::shared_ptr<spdlog::logger> storage_log() {
  static const auto logger = component_log("storage");
  return logger;
}

void schedule_index(StoragePointer self);

void commit_staged(StoragePointer self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.writer->staged_tickets() == 0) return;
  auto result = st.writer->commit();
  for (auto& [ticket, acks] : result.tickets) {
    auto it = st.waiters.find(ticket);
    if (it == st.waiters.end()) continue;
    Waiter& w = it->second;
    if (!acks.ok()) {
      auto err = to_caf_error(acks.error());
      if (w.single) {
        w.one.deliver(err);
      } else {
        w.many.deliver(err);
      }
    } else if (w.single) {
      w.one.deliver(std::move((*acks)[0]));
    } else {
      AppendAcks out;
      for (auto& a : *acks) *out.add_acks() = std::move(a);
      w.many.deliver(std::move(out));
    }
    st.waiters.erase(it);
  }
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
  if (st.subscribers.empty()) return;
  // One message shared by every subscriber (CAF messages are copy-on-write).
  auto msg = caf::make_message(committed_atom::value, std::move(result.committed));
  for (const auto& sub : st.subscribers) {
    sub->enqueue(self->ctrl(), caf::make_message_id(), msg, self->context());
  }
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
  auto done = log.catch_up_indexes(st.config.max_index_events);
  if (!done.ok()) {
    // The log is intact and reads stay exact; the next commit tries again.
    storage_log()->warn("indexing failed unindexed={} error=\"{}\"", tail,
                        done.error().to_string());
    return;
  }
  storage_log()->debug("indexed events={} unindexed={}", *done, log.unindexed_events());
  schedule_index(self);
}

// Stages `batch`; returns the ticket or the error to answer with.
Result<LogWriter::Ticket> stage(StoragePointer self, std::vector<BuildEvent> batch) {
  auto& st = self->state;
  const size_t queued = st.writer->staged_events() + self->mailbox().size();
  if (queued >= st.config.max_pending_events) {
    ++st.overloaded;
    return make_error(ErrorCode::overloaded,
                      st.writer->storage().uri() + ": " + std::to_string(queued) +
                          " appends pending (limit " +
                          std::to_string(st.config.max_pending_events) + "); retry later");
  }
  std::vector<std::string> warnings;
  auto ticket = st.writer->stage(std::move(batch), &warnings);
  for (const auto& w : warnings) storage_log()->warn("lenient transition warning: {}", w);
  if (!ticket.ok()) {
    storage_log()->info("rejected append code={} error=\"{}\"", to_string(ticket.error().code),
                        ticket.error().message);
  }
  return ticket;
}

void after_stage(StoragePointer self) {
  auto& st = self->state;
  if (st.writer->staged_events() >= st.config.max_group_events) {
    commit_staged(self);
  } else if (!st.flush_scheduled) {
    // The flush lands behind every append already queued: one commit serves them all.
    st.flush_scheduled = true;
    self->send(self, flush_atom::value);
  }
}

// Stages `batch` and parks the promise that answers it after its COMMIT: an AppendAck for the
// one-event form, AppendAcks for a batch.
template <class Answer>
caf::result<Answer> stage_and_wait(StoragePointer self, std::vector<BuildEvent> batch) {
  auto ticket = stage(self, std::move(batch));
  if (!ticket.ok()) return to_caf_error(ticket.error());
  Waiter w;
  auto rp = self->make_response_promise<Answer>();
  if constexpr (std::is_same_v<Answer, AppendAck>) {
    w.single = true;
    w.one = rp;
  } else {
    w.single = false;
    w.many = rp;
  }
  self->state.waiters.emplace(*ticket, std::move(w));
  after_stage(self);
  return rp;
}

StorageActor::behavior_type storage_actor(StoragePointer self, std::unique_ptr<LogWriter>* writer,
                                          StorageActorConfig config) {
  self->state.writer = std::move(*writer);
  self->state.config = config;
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
                       [&](const CommitSubscriber& a) { return a.address() == down.source; }),
        subs.end());
  });
  return {
      [=](append_atom, BuildEvent& event) -> caf::result<AppendAck> {
        std::vector<BuildEvent> batch;
        batch.push_back(std::move(event));
        return stage_and_wait<AppendAck>(self, std::move(batch));
      },
      [=](append_atom, std::vector<BuildEvent>& batch) -> caf::result<AppendAcks> {
        return stage_and_wait<AppendAcks>(self, std::move(batch));
      },
      [=](subscribe_atom, const CommitSubscriber& subscriber) -> int64_t {
        self->monitor(subscriber);
        self->state.subscribers.push_back(subscriber);
        return self->state.writer->last_idx();
      },
      [=](stats_atom) -> StorageStats {
        StorageStats s = self->state.writer->stats();
        s.set_overloaded(self->state.overloaded);
        return s;
      },
      [=](snapshot_atom, ViewSnapshot& snapshot) -> caf::result<int64_t> {
        // The data may be megabytes: moved, not copied.
        storage::Snapshot s{snapshot.view(), snapshot.version(), snapshot.applied_idx(),
                            std::move(*snapshot.mutable_data())};
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
  };
}

}  // namespace

StorageActor spawn_storage_actor(caf::actor_system& system, std::unique_ptr<LogWriter> writer,
                                 StorageActorConfig config) {
  // The writer moves into the actor's state when its behavior is built, on the actor's thread.
  auto holder = std::make_shared<std::unique_ptr<LogWriter>>(std::move(writer));
  auto init = [holder, config](StoragePointer self) {
    return storage_actor(self, holder.get(), config);
  };
  return config.detached ? system.spawn<caf::detached>(init) : system.spawn(init);
}

}  // namespace bel::actors
