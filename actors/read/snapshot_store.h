// The snapshot store: a detached actor with its own writable handle onto the log that saves view
// snapshots, so that writing a snapshot (megabytes at a large log) never runs on the storage
// actor's thread between appends (docs/query-tier.md, "Snapshots").
//
//   auto handle = open_storage(uri, {});                 // a second writable connection
//   SnapshotStore store = spawn_snapshot_store(system, std::move(*handle));
//   self->request(store, timeout, snapshot_atom::value, snap).then(
//       [](int64_t applied_idx) { ... }, [](const caf::error& e) { ... });
//
// The storage actor answers the same message, so a view given the storage actor instead (logs
// that cannot be opened twice: memory://, stdout) works unchanged. SQLite serialises writers: a
// snapshot's transaction holds the write lock while its blob is written, and the storage actor's
// commits wait for it (busy timeout), which the snapshot policy bounds (projection_actor.h).
//
// Errors: the storage's (storage_unavailable, ...), answered to the one who asked; the actor
// stays up. Thread-safety: an actor; the storage handle is used from its thread only.
#ifndef BEL_ACTORS_READ_SNAPSHOT_STORE_H_
#define BEL_ACTORS_READ_SNAPSHOT_STORE_H_

#include <memory>

#include <caf/all.hpp>

#include "actors/caf_support.h"
#include "storage/storage.h"

namespace bel::actors {

using SnapshotStore = caf::typed_actor<
    // Saves a view snapshot, replacing that view and version's previous one; answers its
    // applied_idx once stored.
    caf::replies_to<snapshot_atom, ViewSnapshot>::with<int64_t>>;

// Spawns a detached snapshot store owning `storage` (a writable handle).
SnapshotStore spawn_snapshot_store(caf::actor_system& system,
                                   std::unique_ptr<storage::Storage> storage);

// What both the store and the storage actor do with a snapshot message: save it, then drop the
// view's snapshots of older versions (what an older bel saved; a failure there is only logged).
Result<int64_t> save_view_snapshot(storage::Storage& storage, ViewSnapshot& snapshot);

}  // namespace bel::actors

#endif  // BEL_ACTORS_READ_SNAPSHOT_STORE_H_
