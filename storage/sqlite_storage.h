// SqliteStorage: the embedded default backend (sqlite:// URIs, SPEC 3.3). One connection per
// instance: the writer (WAL, synchronous FULL or NORMAL, BEGIN IMMEDIATE per write) or a
// read-only reader from open_reader(), which WAL lets run beside the writer.
//
//   auto log = bel::storage::SqliteStorage::open("sqlite://bel.db", "./bel.db", options);
//   if (!log.ok()) return log.error();
//   BEL_RETURN_IF_ERROR((*log)->initialize());   // creates or migrates the schema
//
// Schema and migrations: storage/sqlite_schema.h; filter -> SQL: storage/sqlite_query.h; the
// append path and the event_id lookup: sqlite_append.cc; meta and snapshots: sqlite_meta.cc.
// append_batch writes the event rows only; the key index (event_keys) is derived and trails the
// log: catch_up_indexes() extends it in batches (the storage actor calls it) from the key rows
// append_batch kept of the events it committed (or, after a restart or a failure, by reading
// the events back), initialize()
// indexes whatever tail a previous writer left, and list_events reads through the index up to
// its watermark and decodes the unindexed tail above it (storage/sqlite_indexer.h).
// Every error names the URI. SQLite failures are storage_unavailable, or storage_corrupt for
// SQLITE_CORRUPT / SQLITE_NOTADB; a write that fails is rolled back whole.
//
// Thread-safety: none, as Storage; the connection is opened without SQLite's own mutex.
#ifndef BEL_STORAGE_SQLITE_STORAGE_H_
#define BEL_STORAGE_SQLITE_STORAGE_H_

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "messages/event_keys.h"
#include "storage/sqlite_indexer.h"
#include "storage/sqlite_query.h"
#include "storage/sqlite_support.h"
#include "storage/storage_backend.h"

struct sqlite3;

namespace bel::storage {

class WalCheckpointer;
class WriterLock;
class CountedOpen;

class SqliteStorage final : public StorageBackend {
 public:
  // list_events: a partition / job label / job run criterion that selects fewer index rows than
  // selective_key_rows(range, limit, kSelectiveKeyRows, kMaxSelectiveKeyRows) (sqlite_query.h)
  // drives the query through event_keys; a broader one is checked on events read in order.
  static constexpr int64_t kSelectiveKeyRows = 2000;
  static constexpr int64_t kMaxSelectiveKeyRows = 100000;
  // Events indexed per catch_up_indexes transaction when opening a writer on an unindexed tail.
  static constexpr int64_t kIndexBatchEvents = 65536;
  // find_by_event_ids looks up at most 2^this (512) ids per statement, and keeps one prepared
  // statement per power of two up to it.
  static constexpr size_t kLookupStatements = 9;
  // Event rows per INSERT statement in append_batch (while that many are left): one statement
  // per row cost ~1.4 us more per row, on a 2-core VM, than 16 rows per statement (cursors on
  // the table and the event_id index opened once per statement).
  static constexpr size_t kRowsPerInsert = 16;

  // Opens the database file `path` for `uri` (which messages name). A writer first takes the
  // file's writer lock (storage/writer_lock.h: one writer per file, whatever path names it;
  // waiting up to options.writer_lock_wait), creates the file 0600 when missing and switches it
  // to WAL; a read-only handle requires an existing file and locks nothing.
  // storage_unavailable when the file cannot be opened, storage_corrupt when it is not an SQLite
  // database. Does not create the schema: call initialize() (open_storage does).
  static Result<std::unique_ptr<SqliteStorage>> open(const std::string& uri,
                                                     const std::string& path,
                                                     const StorageOptions& options);
  ~SqliteStorage() override;

  // Writer: creates or migrates the schema in one transaction. Read-only handle: writes nothing
  // and checks the log instead (storage_corrupt for a database that is not a bel log,
  // schema_too_new, or storage_unavailable for an older log that needs a writer to migrate it).
  Status initialize() override;
  Result<std::vector<StoredEvent>> find_by_event_ids(
      const std::vector<std::string>& event_ids) override;
  Result<int64_t> last_idx() override;
  Result<int64_t> catch_up_indexes(int64_t max_events) override;
  int64_t unindexed_events() const override;
  Result<std::unique_ptr<Storage>> open_reader() override;

  // The meta and snapshots tables (storage/sqlite_meta.cc).
  Result<std::optional<std::string>> get_meta(const std::string& key) override;
  Status save_snapshot(const Snapshot& snapshot) override;
  Status drop_older_snapshots(const std::string& view, int version) override;
  Result<std::optional<Snapshot>> load_snapshot(const std::string& view, int version) override;
  Result<std::optional<Snapshot>> load_stored_snapshot(const std::string& view,
                                                       int version) override;
  Result<std::optional<SnapshotInfo>> snapshot_info(const std::string& view, int version) override;

 private:
  SqliteStorage(std::string uri, std::string path, StorageOptions options, sqlite3* db);

  // BEGIN IMMEDIATE, insert_batch, COMMIT; rolled back whole on error.
  Result<int64_t> commit_batch(const std::vector<BuildEvent>& events,
                               const AppendCondition* condition) override;
  // scan_range over the idx range of list_events or list_events_backward.
  Status scan(ScanOrder order, int64_t bound_idx, const EventFilter& filter, int limit,
              EventPage* page, EventDetail detail) override;
  Status write_meta(const std::string& key, const std::string& value) override;

  // The statement in `slot`, prepared on first use.
  Result<sqlite3_stmt*> cached(Statement& slot, const char* sql);
  // The meta and snapshot statements (sqlite_meta.cc): `slot` run once after `bind`; step_once
  // reads the row it yields, if any, with `read`.
  template <class Row, class Bind, class Read>
  Result<std::optional<Row>> step_once(Statement& slot, const char* sql, const char* what,
                                       Bind bind, Read read);
  Status write_once(Statement& slot, const char* sql, const char* what,
                    const std::function<void(sqlite3_stmt*)>& bind);
  // Writes `data` over the zeros of snapshot row `rowid`'s data, inside the caller's transaction.
  Status write_blob(int64_t rowid, std::string_view data);
  // The list_events statement for `sql`, prepared on first use (the text depends only on the
  // filter's shape, so a handful of entries serve a whole run).
  Result<sqlite3_stmt*> cached_list(const std::string& sql);
  // The find_by_event_ids statement for the smallest slot of at least `n` ids (n <= 2^9).
  Result<sqlite3_stmt*> lookup_statement(size_t n);
  // The cached statement for `query` with its parameters bound; invalid_argument when the
  // filter has more values than SQLite accepts.
  Result<sqlite3_stmt*> bound(const SqlQuery& query);
  // Binds query.params to `stmt` in order (text unowned: `query` must outlive the statement's
  // use).
  void bind_params(sqlite3_stmt* stmt, const SqlQuery& query);
  // Whether the filter's criterion of `kind` selects few enough index rows in `range` to read a
  // page of `limit` through them (selective_key_rows).
  Result<bool> is_selective(KeyKind kind, IdxRange range, const EventFilter& filter, int limit);
  // Adds to `page` the events in `range` that match `filter`, until it holds `limit` and
  // has_more is known. through_keys: query event_keys (only below the indexed watermark);
  // otherwise key criteria are checked on each decoded event. Each event with `detail`.
  Status read_page(IdxRange range, const EventFilter& filter, int limit, bool through_keys,
                   EventPage& page, ScanOrder order, EventDetail detail);
  // read_page for a filter with one exact key (single_key_of): the key's postings rows in
  // `order`, each row's events read through its idx, until the page holds `limit` and has_more
  // is known.
  Status read_single_key(const SingleKey& key, IdxRange range, const EventFilter& filter, int limit,
                         EventPage& page, ScanOrder order, EventDetail detail);
  // The pages of list_events (ascending) and list_events_backward (descending) over `range`:
  // through event_keys up to its watermark and the unindexed tail above it (scan_segments).
  Status scan_range(const char* call, IdxRange range, int64_t start_idx, const EventFilter& filter,
                    int limit, ScanOrder order, EventPage& page, EventDetail detail);
  // Appends inside the open transaction; returns the first idx. Keeps the largest UUID id it
  // binds in pending_max_id_.
  Result<int64_t> insert_batch(const std::vector<BuildEvent>& events);
  // Binds `event`, the batch's row `position`, as row `idx` to the parameters after `first` of
  // an insert into events, its stored payload written to `payload` (which must outlive the step).
  Status bind_event_row(sqlite3_stmt* stmt, int first, const BuildEvent& event, size_t position,
                        int64_t idx, std::string& payload);
  // Writer: whether max_stored_id_ is known, reading it from the event_id index if need be.
  // False for a read-only handle, or when it cannot be read: every id is then looked up.
  bool know_max_stored_id();
  // Rolls back the open transaction, if SQLite has not already done so.
  void rollback();
  Error error(int rc, std::string_view what) const;

  // Writer: the log file's writer lock, released after the connection closes (declared first so
  // that it is destroyed last).
  std::unique_ptr<WriterLock> lock_;
  std::unique_ptr<CountedOpen> counted_;  // this handle, in sqlite_wal_names.h's count
  std::string path_;
  sqlite3* db_;
  // Writer: copies the WAL into the file on a thread of its own (sqlite_checkpointer.h); null
  // when it could not start, and SQLite then checkpoints inside the commits.
  std::unique_ptr<WalCheckpointer> checkpointer_;
  int64_t committed_idx_ = 0;  // writer: the last committed idx, kept by initialize/append_batch
  int64_t indexed_idx_ = 0;    // writer: event_keys' watermark (sqlite_indexer.h)
  KeptKeyRows kept_rows_;      // writer: the unindexed tail's key rows, for catch_up_indexes
  std::array<std::string, kRowsPerInsert> payloads_;  // a statement's stored payloads, reused
  // Writer: the largest BLOB in the event_id column (canonical UUIDs stored as 16 bytes; nullopt
  // when there is none), so that find_by_event_ids need not probe the index for an id above it:
  // the time-ordered ids bel and its client library assign nearly always are. One writer per
  // file (R7) keeps it exact; a failed commit makes it unknown until read again.
  std::optional<std::string> max_stored_id_;
  bool max_stored_id_known_ = false;
  std::optional<std::string> pending_max_id_;  // of the open transaction's rows

  Statement begin_;
  Statement commit_;
  Statement rollback_;
  Statement last_idx_;
  Statement max_event_id_;
  Statement insert_event_;   // one row
  Statement insert_events_;  // kRowsPerInsert rows
  Statement postings_[2];  // postings_query: ascending, descending
  Statement get_meta_;
  Statement set_meta_;
  Statement save_snapshot_;
  Statement find_older_snapshots_;
  Statement drop_snapshots_;
  Statement load_snapshot_;
  Statement snapshot_info_;
  std::unordered_map<std::string, Statement> list_statements_;
  Statement lookup_statements_[kLookupStatements + 1];
};

}  // namespace bel::storage

#endif  // BEL_STORAGE_SQLITE_STORAGE_H_
