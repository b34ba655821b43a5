// bel::storage::Storage: an append-only log of BuildEvents, indexed 1, 2, 3, ... in commit order,
// with filtered scans (SPEC section 3). Backends: sqlite, memory, stdout (see storage_factory.h).
//
//   auto log = bel::storage::open_storage("sqlite://bel.db", {});
//   if (!log.ok()) die(log.error());
//   auto page = (*log)->list_events(0, filter, 100);
//
// A Storage stores what it is given. Validation, transition rules and idempotency live above it,
// in the log writer that the storage actor owns: by the time append_batch is called every event
// is complete (event_id, timestamp and status names set, idx 0) and allowed.
//
// Thread-safety: none. One owner per instance; the storage actor owns the writer, and every
// reader gets its own instance from open_reader().
#ifndef BEL_STORAGE_STORAGE_H_
#define BEL_STORAGE_STORAGE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "messages/error.h"
#include "messages/types.h"

namespace bel::storage {

// list_events limits (SPEC 3.1).
inline constexpr int kDefaultListLimit = 1000;
inline constexpr int kMaxListLimit = 10000;

// The schema version this build writes. Older logs are migrated; newer ones are refused.
inline constexpr int kSchemaVersion = 6;
// The oldest schema a read-only handle reads without migrating it: version 5 only stopped
// repeating fields in new rows, and readers read both kinds of row.
inline constexpr int kMinReadableSchemaVersion = 4;

// How much of each event a scan returns.
enum class EventDetail {
  full,  // every field
  // What the views (projections/) fold, for the scans that feed them: without event_id,
  // JobEvent.config and .manifests, and JobGraphEvent.job_graph, which no view reads. A backend
  // that parses payloads skips those in the parse (a third of a rebuild's CPU went to parsing
  // and freeing them); they are simply empty in the events it returns.
  views,
};

// Where a fault hook is consulted; see StorageOptions::fault_hook.
enum class FaultPoint { begin, insert, commit };

// Counters worth exporting; monotonic over the instance's life.
struct StorageCounters {
  int64_t commits = 0;          // transactions committed by append_batch
  int64_t events_appended = 0;  // events in those transactions
  int64_t failed_commits = 0;   // append_batch calls that stored nothing because of an error
};

// Clears from `*event`, read in full, what `detail` leaves out.
void drop_detail(EventDetail detail, BuildEvent* event);

// A committed event found by its event_id.
struct StoredEvent {
  int64_t idx = 0;
  BuildEvent event;  // with idx set
};

// A saved view snapshot (DESIGN: projections).
struct Snapshot {
  std::string view;
  int version = 0;
  int64_t applied_idx = 0;
  std::string data;
  // Saving: `data` is already encode_snapshot_data's output (snapshot_codec.h), compressed by the
  // caller on its own thread; the backends that compress store it as it is, the others decode it.
  // Loading: load_snapshot's data is always plain (this is false); load_stored_snapshot's is as
  // stored, encoded when this is set (read it with SnapshotDataStream, snapshot_stream.h).
  bool encoded = false;
};

// A saved snapshot without its data: what a caller deciding whether to read it needs.
struct SnapshotInfo {
  int64_t applied_idx = 0;
  int64_t plain_size = 0;  // of its data once decompressed
};

// What a conditional append (Storage::append_batch_if) expects of a log with other writers,
// checked once the log's write lock is taken: the log still ends at `last_idx`, and, when
// `meta_key` is not empty, its meta value for that key ("" when absent) is still `meta_value`.
// A LogWriter keeps its validation mode this way, so that a mode another writer set is seen
// before its next append commits.
struct AppendCondition {
  int64_t last_idx = 0;
  std::string meta_key;
  std::string meta_value;
};

class Storage {
 public:
  virtual ~Storage() = default;

  // The URI this storage was opened with, for messages.
  virtual const std::string& uri() const = 0;

  // Creates the schema or migrates an older one, in one transaction. Idempotent.
  // schema_too_new when the log was written by a newer bel; storage_corrupt when the file is not
  // a bel log.
  virtual Status initialize() = 0;

  // Appends `events` in one transaction, in order; returns the idx of each (consecutive, starting
  // at last_idx() + 1). On error nothing is stored and counters().failed_commits grows.
  // REQUIRES: every event has idx 0 and a non-empty event_id not already in the log.
  virtual Result<std::vector<int64_t>> append_batch(const std::vector<BuildEvent>& events) = 0;

  // Events matching `filter` with idx > `since_idx`, ascending, at most `limit` (1..10000).
  // next_idx is the idx of the last event returned (or since_idx when none); has_more is true
  // exactly when a further call would return at least one event.
  // invalid_argument for a bad limit, a negative since_idx or a bad filter.
  virtual Result<EventPage> list_events(int64_t since_idx, const EventFilter& filter,
                                        int limit) = 0;

  // list_events into `*page`, which it clears first, each event with `detail` (the filter
  // applies to the full events). `page` may live on a protobuf arena (see
  // event_page_arena.h): the events are then allocated on it and freed with it, which is what a
  // scan of the whole log wants. On error `*page` holds no meaningful content.
  virtual Status list_events_into(int64_t since_idx, const EventFilter& filter, int limit,
                                  EventPage* page, EventDetail detail = EventDetail::full) {
    auto read = list_events(since_idx, filter, limit);
    if (!read.ok()) return read.error();
    page->Clear();
    page->Swap(&*read);  // a copy when `page` is on an arena
    for (auto& event : *page->mutable_events()) drop_detail(detail, &event);
    return ok_status();
  }

  // Events matching `filter` with idx < `before_idx` (0: from the newest event), descending, at
  // most `limit` (1..10000): the newest-first scan (`partitions show`'s recent events, SPEC 8 P6).
  // next_idx is the idx of the last (smallest) event returned, or before_idx when none; has_more
  // is true exactly when a further call with before_idx = next_idx would return at least one
  // event. Errors as list_events; a negative before_idx is invalid_argument.
  virtual Result<EventPage> list_events_backward(int64_t before_idx, const EventFilter& filter,
                                                 int limit) = 0;

  // The committed events whose event_id is in `event_ids`, in any order; ids not in the log are
  // simply absent.
  virtual Result<std::vector<StoredEvent>> find_by_event_ids(
      const std::vector<std::string>& event_ids) = 0;

  // The highest committed idx, 0 for an empty log.
  virtual Result<int64_t> last_idx() = 0;

  // Small key/value settings kept in the log (schema_version, validation_mode, endpoint...).
  virtual Result<std::optional<std::string>> get_meta(const std::string& key) = 0;
  virtual Status set_meta(const std::string& key, const std::string& value) = 0;

  // View snapshots: one per (view, version); saving replaces the previous one.
  virtual Status save_snapshot(const Snapshot& snapshot) = 0;
  // Removes view `view`'s snapshots of every version below `version`: what a newer bel's views
  // superseded (a view saves them after each snapshot of its own version). None is fine.
  // Backends without stored snapshots need not override this.
  virtual Status drop_older_snapshots(const std::string& view, int version) {
    (void)view;
    (void)version;
    return ok_status();
  }
  virtual Result<std::optional<Snapshot>> load_snapshot(const std::string& view, int version) = 0;
  // The same snapshot as stored, not inflated: a reader that inflates it as it goes
  // (SnapshotDataStream) never holds its plain bytes whole. Backends that store snapshots plain
  // need not override this (load_snapshot's data, encoded false).
  virtual Result<std::optional<Snapshot>> load_stored_snapshot(const std::string& view,
                                                               int version) {
    return load_snapshot(view, version);
  }
  // The idx and plain size of snapshot (view, version), nothing when there is none. SQLite reads
  // the blob's header only; the default (storage_backend.cc) loads the snapshot as stored.
  virtual Result<std::optional<SnapshotInfo>> snapshot_info(const std::string& view, int version);

  virtual StorageCounters counters() const = 0;

  // Derived indexes (SQLite's key index) are built behind the log, not in the acknowledged
  // commit. This indexes up to `max_events` more committed events in one transaction and returns
  // how many; reads are exact at any lag (they scan the unindexed tail), so calling it only
  // keeps that tail short. Backends without derived indexes return 0.
  virtual Result<int64_t> catch_up_indexes(int64_t /*max_events*/) { return int64_t{0}; }
  // Committed events not yet in the derived indexes; 0 for backends without any.
  virtual int64_t unindexed_events() const { return 0; }

  // ---- Logs with several writers (PostgreSQL, SPEC 3.3) ------------------------------------
  // True when other processes may append to this log while this instance writes; the writer
  // then follows what they commit (LogWriter::follow). False for SQLite (one writer per file,
  // SPEC R7), memory and stdout.
  virtual bool has_other_writers() const { return false; }

  // append_batch, but only if `condition` (AppendCondition) still holds once the
  // log's write lock is taken; otherwise nothing is stored and the answer is empty (someone else
  // committed first, or changed the meta value: read their events and the value, judge these
  // again, retry). Backends with one writer append unconditionally.
  virtual Result<std::optional<std::vector<int64_t>>> append_batch_if(
      const AppendCondition& /*condition*/, const std::vector<BuildEvent>& events) {
    auto idxs = append_batch(events);
    if (!idxs.ok()) return idxs.error();
    return std::optional<std::vector<int64_t>>(std::move(*idxs));
  }

  // Waits at most `timeout` for another process to commit to this log; true when one may have
  // (the caller reads idx > what it has). Backends with one writer return false at once. A lost
  // connection is storage_unavailable (at once: the caller waits before asking again).
  virtual Result<bool> wait_for_commit(std::chrono::milliseconds /*timeout*/) { return false; }

  // A read-only handle onto the same log for use on another thread (a reader actor): its own
  // connection for SQLite, the shared in-process log for memory:// and stdout. The reader sees
  // every event committed before each of its calls.
  virtual Result<std::unique_ptr<Storage>> open_reader() = 0;
};

// Options for open_storage.
struct StorageOptions {
  // Open without writing: no schema creation, no migration (the log must already exist,
  // except for memory:// and stdout which are always fresh).
  bool read_only = false;
  // SQLite writer: how long to wait for another writer of the same file to finish before failing
  // with storage_unavailable naming it (storage/writer_lock.h).
  std::chrono::milliseconds writer_lock_wait{0};
  // SQLite: a second connection of the writer's own process that only saves view snapshots (off
  // the storage actor's thread). It takes no writer lock (its writer holds it) and refuses every
  // other write, as a read-only handle does.
  bool snapshots_only = false;
  // SQLite: synchronous=FULL when true (the default, power-loss safe), NORMAL when false.
  bool durability_full = true;
  // A test seam below the storage actor (SPEC section 9, R3): when set, append_batch calls it at
  // each FaultPoint and, when it returns an error, rolls the transaction back and returns that
  // error. Never set in production.
  std::function<Status(FaultPoint)> fault_hook;
  // SQLite: the registered sqlite3_vfs the writer connection opens the file through; empty for
  // SQLite's default. A test seam for injecting disk faults below SQLite itself (SPEC section 9,
  // R3; tests/support/fault_vfs.h). Never set in production.
  std::string sqlite_vfs;
  // PostgreSQL: how long an append (or set_meta, or a first open) waits for the transaction of
  // another writer of the log that holds its lock before failing with storage_unavailable; and
  // how long this process's own transaction that holds the lock may wait on this process before
  // the server ends its session (a stopped or stalled process never holds every other
  // coordinator of the log up).
  std::chrono::milliseconds postgres_lock_wait{5000};
  std::chrono::milliseconds postgres_stall_limit{10000};
  // SQLite writer: called before it migrates a log of an older schema (`from_version`) to this
  // bel's (`to_version`), one transaction that takes a while on a large log: a notice for the
  // operator waiting on it. Not called for a new log.
  std::function<void(int from_version, int to_version)> on_migrate;
  // stdout backend: where committed events are printed (one JSON line each); standard output
  // when null.
  std::FILE* stdout_sink = nullptr;
};

}  // namespace bel::storage

#endif  // BEL_STORAGE_STORAGE_H_
