#include "actors/coordinator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

#include "actors/coordinator_options.h"
#include "storage/storage_factory.h"
#include "storage/uri.h"

namespace bel::actors {

namespace {

// Sets `key` unless the program set it before: an embedder's own choice stands.
template <class T>
void set_unless_given(caf::actor_system_config& config, caf::string_view key, T value) {
  if (!caf::get_if<T>(&config, key)) config.set(key, value);
}

}  // namespace

caf::actor_system_config& configure_actor_system(caf::actor_system_config& config) {
  set_unless_given<size_t>(config, "scheduler.max-threads", 2);
  // Idle workers otherwise sleep 50 us between polls, which dominates one-at-a-time round trips.
  set_unless_given<size_t>(config, "work-stealing.moderate-poll-attempts", 0);
  add_bel_types(config);
  return config;
}

Result<BelApi> start_coordinator(caf::actor_system& system, const std::string& uri) {
  return start_coordinator(system, uri, CoordinatorOptions{});
}

std::function<void(int, int)> migration_notice(const std::string& uri) {
  return [shown = storage::shown_uri(uri)](int from, int to) {
    spdlog::warn(
        "{}: migrating the log from schema {} to {} before it opens (one transaction, which "
        "takes a while on a large log)",
        shown, from, to);
  };
}

Result<BelApi> start_coordinator(caf::actor_system& system, const std::string& uri,
                                 CoordinatorOptions options) {
  auto parsed = storage::parse_storage_uri(uri);
  if (!parsed.ok()) return parsed.error();
  // A writable SQLite open takes the log file's writer lock (storage/writer_lock.h): a second
  // writer of the same file, in this process or another, whatever path names it, is refused here.
  options.storage.read_only = options.storage.read_only || options.read_only;
  if (!options.storage.on_migrate) options.storage.on_migrate = migration_notice(uri);
  auto log = storage::open_storage(uri, options.storage);
  if (!log.ok()) return log.error();
  // Readers are made from a read-only handle of our own: for the in-process backends it shares
  // the writer's log, for SQLite each is a new connection.
  auto root = (*log)->open_reader();
  if (!root.ok()) return root.error();
  std::shared_ptr<storage::Storage> reader_root(std::move(*root));
  LogWriterOptions writer_options;
  writer_options.read_only = options.storage.read_only;
  auto writer = LogWriter::open(std::move(*log), writer_options);
  if (!writer.ok()) return writer.error();

  SupervisorConfig config = std::move(options.supervisor);
  if (options.storage.read_only) {
    // Nowhere to write snapshots.
    config.views.snapshot_every_events = 0;
    config.views.snapshot_interval = std::chrono::milliseconds(0);
  }
  config.log_uri = uri;
  config.open_reader = [reader_root] { return reader_root->open_reader(); };
  const bool in_process = storage::lives_in_process(parsed->scheme);
  storage::StorageOptions storage_options = options.storage;
  // The failed storage actor's connection may still be closing when the log is reopened (on a
  // helper thread, not the supervisor's): wait a moment for its writer lock.
  storage_options.writer_lock_wait = std::max<std::chrono::milliseconds>(
      storage_options.writer_lock_wait, std::chrono::seconds(10));
  if (!in_process && !storage_options.read_only) {
    // A second connection of our own, so that snapshots are written off the storage actor; the
    // writer's lock covers it.
    config.open_snapshot_store = [uri, storage_options] {
      storage::StorageOptions snapshots = storage_options;
      snapshots.snapshots_only = true;
      return storage::open_storage(uri, snapshots);
    };
  }
  config.open_writer = [uri, in_process, storage_options]() -> Result<std::unique_ptr<LogWriter>> {
    if (in_process || storage_options.read_only) {
      // The log lives in the process: the readers still hold it, but a new writer cannot be
      // attached to it, and reopening the URI would give an empty log.
      return make_error(ErrorCode::storage_unavailable,
                        uri +
                            ": the storage actor stopped and this log cannot be reopened "
                            "(in-process or read-only)");
    }
    auto reopened = storage::open_storage(uri, storage_options);
    if (!reopened.ok()) return reopened.error();
    return LogWriter::open(std::move(*reopened), {});
  };
  return spawn_supervisor(system, std::move(*writer), std::move(config));
}

void stop_coordinator(const BelApi& api) {
  caf::anon_send_exit(api, caf::exit_reason::user_shutdown);
}

bool stop_coordinator_and_wait(caf::actor_system& system, const BelApi& api,
                               std::chrono::milliseconds timeout) {
  // No coordinator (a handle start_coordinator never filled): nothing to stop or wait for.
  if (!api) return true;
  caf::scoped_actor self{system};
  self->monitor(api);  // a DOWN at once if it is gone already
  stop_coordinator(api);
  bool down = false;
  // The supervisor goes down last, after the storage actor, whose end closes the log.
  self->receive([&](const caf::down_msg&) { down = true; }, caf::after(timeout) >> [] {});
  return down;
}

}  // namespace bel::actors
