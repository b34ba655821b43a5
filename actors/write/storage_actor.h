// The storage actor (SPEC section 5, DESIGN "Write path"): serialises appends, commits every
// append already in its mailbox in one transaction (group commit), acknowledges each append only
// after its COMMIT, then publishes the committed events, idx-ordered, to its subscribers.
//
//   auto writer = LogWriter::open(std::move(storage), {});
//   StorageActor log = spawn_storage_actor(system, std::move(*writer), {});
//   self->request(log, kTimeout, append_atom::value, event).then(
//       [](const bel::AppendAck& ack) { ... }, [](const caf::error& e) { ... });
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

#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "actors/caf_support.h"
#include "actors/write/log_writer.h"

namespace bel::actors {

// What subscribes to the storage actor (a view, or a test): it receives the events of each
// commit, ascending idx. Any typed actor that handles this message converts to it.
using CommitSubscriber = caf::typed_actor<caf::reacts_to<committed_atom, std::vector<BuildEvent>>>;

using StorageActor = caf::typed_actor<
    // One event; the answer comes after its COMMIT.
    caf::replies_to<append_atom, BuildEvent>::with<AppendAck>,
    // An atomic batch: all stored or none; one ack per event, in order.
    caf::replies_to<append_atom, std::vector<BuildEvent>>::with<AppendAcks>,
    // Adds a subscriber: it receives (committed_atom, std::vector<BuildEvent>) after each
    // commit, in idx order, until it terminates. Answers the last committed idx: every later
    // event reaches the subscriber, every earlier one is in the log for it to read.
    caf::replies_to<subscribe_atom, CommitSubscriber>::with<int64_t>,
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
    caf::reacts_to<index_atom>>;

struct StorageActorConfig {
  // Above this many staged events (plus queued messages) appends are answered `overloaded`.
  size_t max_pending_events = 100000;
  // A group never grows beyond this many events; the actor commits as soon as it is reached
  // (LevelDB caps its group for the same reason: a small write must not wait for a huge one).
  size_t max_group_events = 8192;
  // Index as soon as this many committed events are unindexed, behind the appends already
  // queued; a shorter tail waits index_idle_delay and is indexed once the mailbox is empty.
  int64_t index_batch_events = 2048;
  std::chrono::milliseconds index_idle_delay{20};
  // Most events indexed in one transaction (bounds how long appends wait behind the indexer).
  int64_t max_index_events = 16384;
  // Test seam: false runs the actor on the scheduler instead of its own thread, so CAF's test
  // coordinator can drive it. Never set in production.
  bool detached = true;
};

StorageActor spawn_storage_actor(caf::actor_system& system, std::unique_ptr<LogWriter> writer,
                                 StorageActorConfig config = {});

}  // namespace bel::actors

#endif  // BEL_ACTORS_WRITE_STORAGE_ACTOR_H_
