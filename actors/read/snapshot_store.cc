#include "actors/read/snapshot_store.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "actors/component_log.h"
#include "storage/thread_name.h"

namespace bel::actors {

Result<int64_t> save_view_snapshot(storage::Storage& storage, ViewSnapshot& snapshot) {
  static const ComponentLog snapshot_log("snapshot");
  const auto log = snapshot_log.get();
  // The data may be megabytes: moved, not copied.
  storage::Snapshot s{snapshot.view(), snapshot.version(), snapshot.applied_idx(),
                      std::move(*snapshot.mutable_data()), snapshot.data_encoded()};
  if (auto ok = storage.save_snapshot(s); !ok.ok()) {
    log->warn("snapshot not saved view={} error=\"{}\"", s.view, ok.error().to_string());
    return ok.error();
  }
  log->debug("snapshot saved view={} applied_idx={} bytes={}", s.view, s.applied_idx,
             s.data.size());
  // The versions an older bel saved are superseded: dropped, so that they do not stay in the log
  // for good. Left (and said) if that fails: they cost only their bytes.
  if (auto dropped = storage.drop_older_snapshots(s.view, s.version); !dropped.ok()) {
    log->warn("older snapshots not dropped view={} error=\"{}\"", s.view,
              dropped.error().to_string());
  }
  return s.applied_idx;
}

namespace {

struct SnapshotStoreState {
  std::unique_ptr<storage::Storage> storage;
  static inline const char* name = "bel.snapshots";
};

SnapshotStore::behavior_type snapshot_store(
    SnapshotStore::stateful_pointer<SnapshotStoreState> self,
    std::shared_ptr<std::unique_ptr<storage::Storage>> storage) {
  name_this_thread("bel.snapshots");  // detached: built on its own thread
  self->state.storage = std::move(*storage);
  return {
      [=](snapshot_atom, ViewSnapshot& snapshot) -> caf::result<int64_t> {
        auto saved = save_view_snapshot(*self->state.storage, snapshot);
        if (!saved.ok()) return to_caf_error(saved.error());
        return *saved;
      },
  };
}

}  // namespace

SnapshotStore spawn_snapshot_store(caf::actor_system& system,
                                   std::unique_ptr<storage::Storage> storage) {
  auto holder = std::make_shared<std::unique_ptr<storage::Storage>>(std::move(storage));
  return system.spawn<caf::detached>(snapshot_store, holder);
}

}  // namespace bel::actors
