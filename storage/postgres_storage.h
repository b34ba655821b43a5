// bel::storage::PostgresStorage: the scale-out backend (SPEC 3.3, DESIGN: PostgreSQL) on a real
// PostgreSQL server through libpq. Several processes (coordinators on several hosts) may append
// to one log; idx stays gap-free and equal to commit order.
//
//   auto log = bel::storage::open_storage("postgresql://bel@db.example/bel", {});
//
// The URI is a libpq connection URI, passed to libpq as it is (host, port, user, sslmode,
// options=-csearch_path%3Dteam_a to keep several logs in one database, ...). The log's tables
// live in the connection's current schema: events, event_keys, meta, snapshots.
//
// How appends stay ordered with several writers: each append_batch runs in one transaction that
// first takes the transaction-scoped advisory lock of the log (pg_advisory_xact_lock, keyed by
// the schema), then reads max(idx) and inserts at max + 1...; the lock is released by COMMIT or
// ROLLBACK, so idx order is commit order and no reader ever sees a gap that later fills. The
// event rows and their key rows (the filter index) go in with COPY in the same transaction: the
// server's B-trees absorb scattered keys well enough that PostgreSQL needs no derived index
// behind the log (catch_up_indexes does nothing). Every commit NOTIFYs the channel
// commit_channel(schema) with its last idx, so other processes' readers can wake (wait_for_commit).
// The lock's wait is bounded, and so is how long a transaction holding it waits on its process
// (StorageOptions::postgres_lock_wait, postgres_stall_limit): a stopped coordinator's session is
// ended by the server and its lock released; the others' appends meanwhile fail with
// storage_unavailable rather than wait without end.
//
// Idempotency across writers: event ids are UNIQUE in the table, so two writers racing the same
// id cannot both commit it; the loser's batch fails with duplicate_event_id and stores nothing.
//
// Connection loss: every call reconnects once; if the server is still away the call fails with
// storage_unavailable and stores nothing (a COMMIT whose answer was lost is reported as
// storage_unavailable too: the caller retries with the same event ids, which idempotency makes
// safe).
//
// Thread-safety: none; one owner per instance, as every Storage. open_reader() gives a new
// connection.
#ifndef BEL_STORAGE_POSTGRES_STORAGE_H_
#define BEL_STORAGE_POSTGRES_STORAGE_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "storage/postgres_support.h"
#include "storage/storage_backend.h"

namespace bel::storage {

// The channel a log in `schema` NOTIFYs on each commit: "bel_log_<schema>", or, when that would
// pass PostgreSQL's 63 bytes, "bel_log_" and a 64-bit hash of the schema name.
std::string commit_channel(const std::string& schema);

class PostgresStorage : public StorageBackend {
 public:
  // Connects. storage_unavailable when the server cannot be reached, unsupported_uri when the
  // URI does not parse.
  static Result<std::unique_ptr<PostgresStorage>> open(const std::string& uri,
                                                       StorageOptions options);

  Status initialize() override;
  bool has_other_writers() const override { return true; }
  Result<std::optional<std::vector<int64_t>>> append_batch_if(
      const AppendCondition& condition, const std::vector<BuildEvent>& events) override;
  Result<std::vector<StoredEvent>> find_by_event_ids(
      const std::vector<std::string>& event_ids) override;
  Result<int64_t> last_idx() override;
  Result<std::unique_ptr<Storage>> open_reader() override;

  // The meta and snapshots tables.
  Result<std::optional<std::string>> get_meta(const std::string& key) override;
  Status save_snapshot(const Snapshot& snapshot) override;
  Status drop_older_snapshots(const std::string& view, int version) override;
  Result<std::optional<Snapshot>> load_snapshot(const std::string& view, int version) override;
  Result<std::optional<Snapshot>> load_stored_snapshot(const std::string& view,
                                                       int version) override;

  // Waits up to `timeout` for a commit by any process that NOTIFYs this log; true when one
  // arrived (or the connection broke and the caller should simply read again). Cheap to call in
  // a loop: the LISTEN is issued once per connection.
  Result<bool> wait_for_commit(std::chrono::milliseconds timeout) override;

 private:
  PostgresStorage(std::string uri, StorageOptions options);

  // BEGIN, insert_locked, COMMIT; rolled back when it fails or the log moved on.
  Result<int64_t> commit_batch(const std::vector<BuildEvent>& events,
                               const AppendCondition* condition) override;
  Status scan(ScanOrder order, int64_t bound_idx, const EventFilter& filter, int limit,
              EventPage* page, EventDetail detail) override;
  // Under the log's lock, as appends are: an append that commits after it was judged by it
  // (AppendCondition).
  Status write_meta(const std::string& key, const std::string& value) override;
  // Inserts under the log's lock at max(idx) + 1; 0 (nothing inserted) when `condition` is
  // given and no longer holds.
  Result<int64_t> insert_locked(const std::vector<BuildEvent>& events,
                                const AppendCondition* condition);
  Error duplicate_error(const std::vector<BuildEvent>& events);
  Result<std::string> schema_name();
  // Takes the log's lock in the open transaction (bounded: StorageOptions::postgres_lock_wait).
  Status lock_log(std::string_view what);

  PgConnection db_;
  std::string schema_;  // the connection's current schema, once known
  bool listening_ = false;
  uint64_t listen_generation_ = 0;  // the connection's generation LISTEN ran on
};

}  // namespace bel::storage

#endif  // BEL_STORAGE_POSTGRES_STORAGE_H_
