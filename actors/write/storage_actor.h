// The storage actor (SPEC section 5, DESIGN "Write path"): serialises appends, commits every
// append already in its mailbox in one transaction (group commit), acknowledges each append only
// after its COMMIT, then publishes the committed events, idx-ordered, to its subscribers.
//
// Grouping: an append is only collected when it arrives (after the pending-limit check); a flush
// message the actor sends itself lands behind every append already queued, and then the whole
// group is validated at once (LogWriter::stage_group: one idempotency lookup for all its
// event_ids, each append judged as if alone and in arrival order), committed, and answered.
//
//   auto writer = LogWriter::open(std::move(storage), {});
//   StorageActor log = spawn_storage_actor(system, std::move(*writer), {});
//   self->request(log, kTimeout, append_atom::value, event).then(
//       [](const bel::AppendAck& ack) { ... }, [](const caf::error& e) { ... });
//   // or, from an actor with many appends in flight (the supervisor):
//   self->send(log, append_atom::value, checked_atom::value, flight, event);
//   // ... which receives (answered_atom, std::vector<FlightAnswer>) after each commit
//   self->request(log, kTimeout, subscribe_atom::value, CommitSubscriber{view})
//       .then([](int64_t last_committed_idx) { ... });
//   // view receives (committed_atom, std::vector<BuildEvent>) after every commit
//
// It runs detached (its own thread): SQLite blocks.
//
// Derived indexes: the acknowledged commit writes only the event rows. The actor indexes the
// unindexed tail (Storage::catch_up_indexes) after the acks are delivered: at once when the tail
// has reached index_batch_events, else after index_idle_delay when the mailbox is empty. So under
// load the index work is done in large batches, a quiet log is fully indexed within moments, and
// readers never scan more than about index_batch_events unindexed events.
#ifndef BEL_ACTORS_WRITE_STORAGE_ACTOR_H_
#define BEL_ACTORS_WRITE_STORAGE_ACTOR_H_

#include <caf/all.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "actors/caf_support.h"
#include "actors/write/log_writer.h"

namespace bel::actors {

// A subscriber with credit acknowledging one committed message (see `delivered` below).
using delivered_atom = caf::atom_constant<caf::atom("delivered")>;
// The storage actor's answers to the appends of the (append_atom, checked_atom, flight, ...)
// forms below.
using answered_atom = caf::atom_constant<caf::atom("answered")>;

// The answer to one append of a flight form: its acks in order (one for a single event, one per
// event of a batch), or the error that refused or failed it (acks empty).
struct FlightAnswer {
  uint64_t flight = 0;
  std::vector<AppendAck> acks;
  caf::error error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, FlightAnswer& x) {
  return f(caf::meta::type_name("bel.FlightAnswer"), x.flight, x.acks, x.error);
}

// What subscribes to the storage actor (a view, or a test): it receives the events of each
// commit, ascending idx. Any typed actor that handles this message converts to it.
using CommitSubscriber = caf::typed_actor<caf::reacts_to<committed_atom, std::vector<BuildEvent>>>;

using StorageActor = caf::typed_actor<
    // One event; the answer comes after its COMMIT.
    caf::replies_to<append_atom, BuildEvent>::with<AppendAck>,
    // An atomic batch: all stored or none; one ack per event, in order.
    caf::replies_to<append_atom, std::vector<BuildEvent>>::with<AppendAcks>,
    // The same two from the coordinator's supervisor, each with the supervisor's number for it
    // (its flight). Their events passed LogWriter::check_event on the supervisor's thread, so
    // the storage actor's own thread, which every append waits for, skips those checks. They are
    // not requests: the storage actor answers them to their sender in one
    // (answered_atom, std::vector<FlightAnswer>) message per commit (and per refusal), so the
    // sender keeps no CAF request per append in flight. Anyone else sends the forms above.
    caf::reacts_to<append_atom, checked_atom, uint64_t, BuildEvent>,
    caf::reacts_to<append_atom, checked_atom, uint64_t, std::vector<BuildEvent>>,
    // Several of the supervisor's single-event flights in one message (flights[k] is the number
    // of events[k]; the two have the same size): each is judged and answered as if it came
    // alone, in this order. The supervisor sends the single-event appends that reached it in one
    // turn this way, so the storage actor's thread takes one message for them, not one each.
    caf::reacts_to<append_atom, checked_atom, std::vector<uint64_t>, std::vector<BuildEvent>>,
    // Adds a subscriber: it receives (committed_atom, std::vector<BuildEvent>) after each
    // commit, in idx order, until it terminates; small commits close together share a message
    // (publish_interval). Answers the last committed idx: every later event reaches the
    // subscriber, every earlier one is in the log for it to read.
    caf::replies_to<subscribe_atom, CommitSubscriber>::with<int64_t>,
    // The same with credit (> 0), counted in events: a commit is sent to the subscriber while
    // fewer than `credit` committed events are on their way to it unacknowledged; later commits
    // are withheld from it (never queued for it) until it acknowledges some with `delivered`. So
    // a slow subscriber's mailbox holds less than the credit plus one message (a commit: fewer
    // than max_group_events events and the append that filled the group, which may be a whole
    // atomic batch; on a log with other writers, what one follow read; after it, fewer than
    // publish_at_once_events held back), whatever the append rate, and how often it need
    // acknowledge does not grow with the commit rate.
    caf::replies_to<subscribe_atom, CommitSubscriber, int32_t>::with<int64_t>,
    // From a subscriber with credit: `count` committed events handled (a subscriber may
    // acknowledge many commits at once, so that the storage actor's thread is not woken for each).
    // Answers the highest idx withheld from it since its previous `delivered` (0 when none): it
    // reads those events from the log. The answer follows every committed message sent to it
    // before.
    caf::replies_to<delivered_atom, CommitSubscriber, int32_t>::with<int64_t>,
    caf::replies_to<stats_atom>::with<StorageStats>,
    // Saves a view snapshot (replacing that view and version's previous one); answers its
    // applied_idx once stored.
    caf::replies_to<snapshot_atom, ViewSnapshot>::with<int64_t>,
    // Sets a meta value of the log (validation_mode switches the transition rules too; an empty
    // value means none). Answers the value stored. invalid_argument for a key the storage
    // manages itself or a bad validation mode.
    caf::replies_to<meta_atom, std::string, std::string>::with<std::string>,
    // Sent to itself only: commit what is staged.
    caf::reacts_to<flush_atom>,
    // Sent to itself only: index the log's unindexed tail (Storage::catch_up_indexes).
    caf::reacts_to<index_atom>,
    // Logs with other writers (PostgreSQL): read and publish what they committed
    // (LogWriter::follow). Sent by the actor's commit watcher when the log notifies a commit.
    caf::reacts_to<follow_atom>,
    // Sent to itself only, when publish_interval is up: send the subscribers the commits held
    // back.
    caf::reacts_to<publish_atom>,
    // From a subscriber that has a query waiting for `idx` (min_idx): the commits held back go
    // now, so read-your-writes does not wait for publish_interval; when `idx` is not committed yet,
    // the commit that reaches it goes as soon as it is made.
    caf::reacts_to<publish_atom, int64_t>>;

struct StorageActorConfig {
  // The pending limit (SPEC R5): appends accepted and not yet answered, counted in events (a
  // batch counts all its events) and in encoded bytes. An append that would take the pending
  // load above either is answered `overloaded` at once; a batch above either alone always is.
  size_t max_pending_events = 100000;
  size_t max_pending_bytes = size_t{64} << 20;
  // A group takes no more appends once it holds this many events: the actor commits it then
  // (LevelDB caps its group for the same reason: a small write must not wait for a huge one). An
  // atomic batch is never split, so a group that a batch filled may end larger by that batch.
  size_t max_group_events = 8192;
  // Index as soon as this many committed events are unindexed, behind the appends already
  // queued; a shorter tail waits index_idle_delay and is indexed once the mailbox is empty.
  // Larger batches touch each index page for more rows: 8192 rather than 2048 took P1 from
  // ~89k to ~96k appends/s on a 600k-event log, and 16384 rather than 8192 gave another 2–17%
  // (docs/performance.md). The price, under sustained load only: a filtered read decodes up to
  // ~16k unindexed events (~10 ms) and appends wait behind a longer index transaction (P1's
  // p99 acknowledgement 46 → 58 ms). A quiet log is indexed after index_idle_delay whatever this.
  int64_t index_batch_events = 16384;
  std::chrono::milliseconds index_idle_delay{20};
  // Most events indexed in one transaction (bounds how long appends wait behind the indexer).
  int64_t max_index_events = 16384;
  // Logs with other writers: how long the commit watcher waits for a notification before it
  // asks the actor to look anyway (a lost notification costs at most this much lag).
  std::chrono::milliseconds follow_interval{1000};
  // Small commits reach the subscribers together: a commit of fewer than publish_at_once_events
  // events that comes within publish_interval of their previous message is held back, and goes
  // with the commits after it when the interval is up or when the held events reach
  // publish_at_once_events. A commit after a quiet spell, and a large one, goes at once. One
  // append at a time commits every few hundred microseconds, and waking the four views for each
  // commit cost that rate ~15% (docs/performance.md). A query that waits for an idx (min_idx)
  // does not wait for the interval: its view asks for the held commits. 0: after every commit.
  std::chrono::microseconds publish_interval{5000};
  size_t publish_at_once_events = 256;
  // Test seam: false runs the actor on the scheduler instead of its own thread, so CAF's test
  // coordinator can drive it. Never set in production.
  bool detached = true;
};

// An amount of pending appends.
struct PendingLoad {
  size_t events = 0;
  size_t bytes = 0;
};

// The pending limit check (SPEC R5), the one place it is decided: ok when `incoming` may join
// `pending` under `config`'s limits, otherwise `overloaded` naming `where`, the load and the
// limit. The supervisor admits every append to the storage actor through it (so excess is
// refused at once, while the storage actor is busy); the storage actor checks its own staged
// load too, for senders that reach it directly.
Status check_pending(const StorageActorConfig& config, const PendingLoad& pending,
                     const PendingLoad& incoming, const std::string& where);

StorageActor spawn_storage_actor(caf::actor_system& system, std::unique_ptr<LogWriter> writer,
                                 StorageActorConfig config = {});

}  // namespace bel::actors

#endif  // BEL_ACTORS_WRITE_STORAGE_ACTOR_H_
