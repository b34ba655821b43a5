// SqliteStorage's small tables: meta (key/value settings) and view snapshots (storage.h).
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <functional>
#include <string_view>

#include "storage/checks.h"
#include "storage/snapshot_codec.h"
#include "storage/sqlite_storage.h"
#include "storage/sqlite_support.h"

namespace bel::storage {

// Runs the cached statement `slot` (`sql`) once, after `bind(stmt)`: the value of `read(stmt)`
// when it yields a row, nothing when it is done (every write), an error naming `what` otherwise.
template <class Row, class Bind, class Read>
Result<std::optional<Row>> SqliteStorage::step_once(Statement& slot, const char* sql,
                                                    const char* what, Bind bind, Read read) {
  auto stmt = cached(slot, sql);
  if (!stmt.ok()) return stmt.error();
  StatementReset reset(*stmt);
  bind(*stmt);
  int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) return std::optional<Row>();
  if (rc != SQLITE_ROW) return error(rc, what);
  return std::optional<Row>(read(*stmt));
}

Status SqliteStorage::write_once(Statement& slot, const char* sql, const char* what,
                                 const std::function<void(sqlite3_stmt*)>& bind) {
  auto done = step_once<bool>(slot, sql, what, bind, [](sqlite3_stmt*) { return true; });
  if (!done.ok()) return done.error();
  return ok_status();
}

Result<std::optional<std::string>> SqliteStorage::get_meta(const std::string& key) {
  return step_once<std::string>(
      get_meta_, "SELECT value FROM meta WHERE key = ?", "get_meta",
      [&](sqlite3_stmt* stmt) { bind_text(stmt, 1, key); },
      [](sqlite3_stmt* stmt) { return column_string(stmt, 0); });
}

Status SqliteStorage::write_meta(const std::string& key, const std::string& value) {
  return write_once(set_meta_,
                    "INSERT INTO meta(key, value) VALUES(?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    "set_meta", [&](sqlite3_stmt* stmt) {
                      bind_text(stmt, 1, key);
                      bind_text(stmt, 2, value);
                    });
}

Status SqliteStorage::save_snapshot(const Snapshot& snapshot) {
  if (options().read_only && !options().snapshots_only) {
    return read_only_error(uri(), "save_snapshot");
  }
  std::string scratch;  // compressed here unless the caller did (snapshot_codec.h)
  auto stored = stored_snapshot_bytes(snapshot.data, snapshot.encoded, &scratch);
  if (!stored.ok()) {
    return stored.error().with_context(
        fmt::format("{}: snapshot {} v{}", uri(), snapshot.view, snapshot.version));
  }
  // The row is inserted with zeros where its data goes, which SQLite writes to the row's pages
  // without holding them, and the data is then written over them a piece at a time (incremental
  // blob I/O). An INSERT binding the data would build the whole row in memory first: a second
  // copy of the blob (61 MB for build_summary over a 10M-event log) while the caller holds its
  // own. One transaction: a reader sees the old snapshot or the whole new one.
  auto no_bind = [](sqlite3_stmt*) {};
  BEL_RETURN_IF_ERROR(write_once(begin_, "BEGIN IMMEDIATE", "save_snapshot: begin", no_bind));
  auto written = [&]() -> Status {
    BEL_RETURN_IF_ERROR(write_once(save_snapshot_,
                                   "INSERT OR REPLACE INTO snapshots(view, version, applied_idx,"
                                   " data) VALUES(?, ?, ?, zeroblob(?))",
                                   "save_snapshot", [&](sqlite3_stmt* stmt) {
                                     bind_text(stmt, 1, snapshot.view);
                                     sqlite3_bind_int(stmt, 2, snapshot.version);
                                     sqlite3_bind_int64(stmt, 3, snapshot.applied_idx);
                                     sqlite3_bind_int64(stmt, 4,
                                                        static_cast<int64_t>(stored->size()));
                                   }));
    if (!stored->empty()) BEL_RETURN_IF_ERROR(write_blob(sqlite3_last_insert_rowid(db_), *stored));
    return write_once(commit_, "COMMIT", "save_snapshot: commit", no_bind);
  }();
  if (!written.ok()) rollback();
  return written;
}

Status SqliteStorage::write_blob(int64_t rowid, std::string_view data) {
  sqlite3_blob* blob = nullptr;
  int rc = sqlite3_blob_open(db_, "main", "snapshots", "data", rowid, /*write=*/1, &blob);
  // A piece at a time: SQLite copies each into the row's pages as it goes.
  constexpr size_t kPiece = size_t{1} << 20;
  for (size_t at = 0; rc == SQLITE_OK && at < data.size(); at += kPiece) {
    const size_t n = std::min(kPiece, data.size() - at);
    rc = sqlite3_blob_write(blob, data.data() + at, static_cast<int>(n), static_cast<int>(at));
  }
  const int closed = sqlite3_blob_close(blob);  // a no-op on nullptr
  if (rc == SQLITE_OK && closed == SQLITE_OK) return ok_status();
  return error(rc != SQLITE_OK ? rc : closed, "save_snapshot: write");
}

Status SqliteStorage::drop_older_snapshots(const std::string& view, int version) {
  if (options().read_only && !options().snapshots_only) {
    return read_only_error(uri(), "drop_older_snapshots");
  }
  auto bind = [&](sqlite3_stmt* stmt) {
    bind_text(stmt, 1, view);
    sqlite3_bind_int(stmt, 2, version);
  };
  // Looked for first: a view calls this after every save, and nearly always there is nothing to
  // drop, so it takes no write lock from the log's writer then.
  auto older = step_once<bool>(find_older_snapshots_,
                               "SELECT 1 FROM snapshots WHERE view = ? AND version < ? LIMIT 1",
                               "drop_older_snapshots", bind, [](sqlite3_stmt*) { return true; });
  if (!older.ok()) return older.error();
  if (!older->has_value()) return ok_status();
  return write_once(drop_snapshots_, "DELETE FROM snapshots WHERE view = ? AND version < ?",
                    "drop_older_snapshots", bind);
}

Result<std::optional<Snapshot>> SqliteStorage::load_stored_snapshot(const std::string& view,
                                                                    int version) {
  return step_once<Snapshot>(
      load_snapshot_, "SELECT applied_idx, data FROM snapshots WHERE view = ? AND version = ?",
      "load_snapshot",
      [&](sqlite3_stmt* stmt) {
        bind_text(stmt, 1, view);
        sqlite3_bind_int(stmt, 2, version);
      },
      [&](sqlite3_stmt* stmt) {
        Snapshot snapshot;
        snapshot.view = view;
        snapshot.version = version;
        snapshot.applied_idx = sqlite3_column_int64(stmt, 0);
        snapshot.data = column_string(stmt, 1);
        snapshot.encoded = true;  // as stored: decode_snapshot_data reads plain blobs too
        return snapshot;
      });
}

Result<std::optional<SnapshotInfo>> SqliteStorage::snapshot_info(const std::string& view,
                                                                 int version) {
  // The blob's header through SQLite's incremental blob I/O: its first page only, not the whole
  // blob (tens of MB at 10M events) that load_stored_snapshot reads.
  struct Row {
    int64_t applied_idx;
    int64_t rowid;
    int64_t bytes;
  };
  auto row = step_once<Row>(
      snapshot_info_,
      "SELECT applied_idx, rowid, length(data) FROM snapshots WHERE view = ? AND version = ?",
      "snapshot_info",
      [&](sqlite3_stmt* stmt) {
        bind_text(stmt, 1, view);
        sqlite3_bind_int(stmt, 2, version);
      },
      [&](sqlite3_stmt* stmt) {
        return Row{sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1),
                   sqlite3_column_int64(stmt, 2)};
      });
  if (!row.ok()) return row.error();
  if (!row->has_value()) return std::optional<SnapshotInfo>();
  SnapshotInfo info{(*row)->applied_idx, (*row)->bytes};
  char head[kSnapshotHeaderBytes];
  const int n = static_cast<int>(std::min<int64_t>((*row)->bytes, sizeof(head)));
  sqlite3_blob* blob = nullptr;
  int rc = sqlite3_blob_open(db_, "main", "snapshots", "data", (*row)->rowid, 0, &blob);
  if (rc == SQLITE_OK) rc = sqlite3_blob_read(blob, head, n, 0);
  sqlite3_blob_close(blob);  // null: a no-op
  // The row replaced meanwhile (a save gives it another rowid): read it the long way.
  if (rc != SQLITE_OK) return Storage::snapshot_info(view, version);
  if (auto plain = header_plain_size(std::string_view(head, n))) {
    info.plain_size = static_cast<int64_t>(*plain);
  }
  return std::optional<SnapshotInfo>(info);
}

Result<std::optional<Snapshot>> SqliteStorage::load_snapshot(const std::string& view, int version) {
  return load_decoded_snapshot(view, version);
}

}  // namespace bel::storage
