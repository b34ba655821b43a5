// SqliteStorage's small tables: meta (key/value settings) and view snapshots (storage.h).
#include <fmt/format.h>
#include <sqlite3.h>

#include "storage/checks.h"
#include "storage/sqlite_storage.h"
#include "storage/sqlite_support.h"

namespace bel::storage {

Result<std::optional<std::string>> SqliteStorage::get_meta(const std::string& key) {
  auto stmt = cached(get_meta_, "SELECT value FROM meta WHERE key = ?");
  if (!stmt.ok()) return stmt.error();
  StatementReset reset(*stmt);
  bind_text(*stmt, 1, key);
  int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return error(rc, "get_meta");
  return std::optional<std::string>(column_string(*stmt, 0));
}

Status SqliteStorage::set_meta(const std::string& key, const std::string& value) {
  if (options_.read_only) return read_only_error(uri_, "set_meta");
  BEL_RETURN_IF_ERROR(check_meta_key(uri_, key));
  auto stmt = cached(set_meta_,
                     "INSERT INTO meta(key, value) VALUES(?, ?)"
                     " ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  if (!stmt.ok()) return stmt.error();
  StatementReset reset(*stmt);
  bind_text(*stmt, 1, key);
  bind_text(*stmt, 2, value);
  int rc = sqlite3_step(*stmt);
  if (rc != SQLITE_DONE) return error(rc, "set_meta");
  return ok_status();
}

Status SqliteStorage::save_snapshot(const Snapshot& snapshot) {
  if (options_.read_only && !options_.snapshots_only) {
    return read_only_error(uri_, "save_snapshot");
  }
  auto stmt = cached(save_snapshot_,
                     "INSERT OR REPLACE INTO snapshots(view, version, applied_idx, data)"
                     " VALUES(?, ?, ?, ?)");
  if (!stmt.ok()) return stmt.error();
  StatementReset reset(*stmt);
  bind_text(*stmt, 1, snapshot.view);
  sqlite3_bind_int(*stmt, 2, snapshot.version);
  sqlite3_bind_int64(*stmt, 3, snapshot.applied_idx);
  bind_blob(*stmt, 4, snapshot.data);
  int rc = sqlite3_step(*stmt);
  if (rc != SQLITE_DONE) return error(rc, "save_snapshot");
  return ok_status();
}

Result<std::optional<Snapshot>> SqliteStorage::load_snapshot(const std::string& view, int version) {
  auto stmt = cached(load_snapshot_,
                     "SELECT applied_idx, data FROM snapshots WHERE view = ? AND version = ?");
  if (!stmt.ok()) return stmt.error();
  StatementReset reset(*stmt);
  bind_text(*stmt, 1, view);
  sqlite3_bind_int(*stmt, 2, version);
  int rc = sqlite3_step(*stmt);
  if (rc == SQLITE_DONE) return std::optional<Snapshot>();
  if (rc != SQLITE_ROW) return error(rc, "load_snapshot");
  Snapshot snapshot;
  snapshot.view = view;
  snapshot.version = version;
  snapshot.applied_idx = sqlite3_column_int64(*stmt, 0);
  snapshot.data = column_string(*stmt, 1);
  return std::optional<Snapshot>(std::move(snapshot));
}

}  // namespace bel::storage
