#include "storage/sqlite_schema.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cassert>
#include <charconv>

#include "messages/event_id.h"
#include "storage/checks.h"
#include "storage/sqlite_support.h"
#include "storage/storage.h"

namespace bel::storage {
namespace {

Error not_a_bel_log(const std::string& uri, std::string_view why) {
  return make_error(ErrorCode::storage_corrupt, fmt::format("{}: not a bel log: {}", uri, why));
}

// bel_compact_event_id(id): the id as schema version 2 stores it (16-byte BLOB for a canonical
// lowercase UUID, the TEXT unchanged otherwise; see bind_event_id in sqlite_support.h).
void compact_event_id(sqlite3_context* ctx, int /*argc*/, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_TEXT) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
    const auto size = static_cast<size_t>(sqlite3_value_bytes(argv[0]));
    if (auto bytes = uuid_to_bytes(std::string_view(text, size))) {
      sqlite3_result_blob(ctx, bytes->data(), static_cast<int>(bytes->size()), SQLITE_TRANSIENT);
      return;
    }
  }
  sqlite3_result_value(ctx, argv[0]);
}

}  // namespace

const std::vector<Migration>& sqlite_migrations() {
  static const std::vector<Migration> steps = {
      {1,
       {
           "CREATE TABLE events(idx INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE,"
           " timestamp INTEGER NOT NULL, build_request_id TEXT NOT NULL,"
           " event_type INTEGER NOT NULL, payload BLOB NOT NULL)",
           "CREATE TABLE event_keys(kind INTEGER NOT NULL, key TEXT NOT NULL,"
           " idx INTEGER NOT NULL, PRIMARY KEY(kind, key, idx)) WITHOUT ROWID",
           "CREATE INDEX events_by_build_request ON events(build_request_id, idx)",
           "CREATE TABLE snapshots(view TEXT NOT NULL, version INTEGER NOT NULL,"
           " applied_idx INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(view, version))",
           "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
       }},
      // Compact ids: canonical lowercase UUIDs as 16 bytes; other ids stay TEXT.
      {2,
       {
           "UPDATE events SET event_id = bel_compact_event_id(event_id)"
           " WHERE typeof(event_id) = 'text' AND length(event_id) = 36",
       }},
      // event_keys becomes derived: until now every commit wrote it, so it covers the whole log.
      {3,
       {
           "INSERT INTO meta(key, value) SELECT 'indexed_idx', coalesce(max(idx), 0) FROM events",
       }},
      // The per-build index leaves the acknowledged commit: events are keyed by build request in
      // event_keys (kind 4), behind the log like the other keys. The rows for the part already
      // indexed are written here, in key order, so the index stays exact up to its watermark.
      {4,
       {
           "DROP INDEX IF EXISTS events_by_build_request",
           "INSERT INTO event_keys(kind, key, idx) SELECT 4, build_request_id, idx FROM events"
           " WHERE idx <= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'indexed_idx')"
           " ORDER BY build_request_id, idx",
       }},
      // New rows keep event_id, timestamp and build_request_id in their columns only, not in the
      // payload as well (sqlite_support.h, stored_payload); older rows keep both, which readers
      // accept. Nothing to rewrite: the version tells an older bel not to read the new rows.
      {5, {}},
      // The key index keeps postings: one row per key and index batch (at most kPostingsPerRow
      // idx, a JSON array), instead of one row per key and event. event_keys stays readable as
      // a view of the same (kind, key, idx) relation. The rows of the part already indexed are
      // regrouped here, in steps of 1024 idx.
      {6,
       {
           "CREATE TABLE key_postings(kind INTEGER NOT NULL, key TEXT NOT NULL,"
           " last_idx INTEGER NOT NULL, first_idx INTEGER NOT NULL, idxs TEXT NOT NULL,"
           " PRIMARY KEY(kind, key, last_idx)) WITHOUT ROWID",
           "INSERT INTO key_postings(kind, key, last_idx, first_idx, idxs)"
           " SELECT kind, key, max(idx), min(idx), json_group_array(idx) FROM event_keys"
           " GROUP BY kind, key, idx / 1024",
           "DROP TABLE event_keys",
           "CREATE VIEW event_keys AS SELECT p.kind AS kind, p.key AS key, j.value AS idx"
           " FROM key_postings AS p, json_each(p.idxs) AS j",
       }},
  };
  assert(!steps.empty() && steps.back().to_version == kSchemaVersion);
  return steps;
}

Result<int> read_schema_version(sqlite3* db, const std::string& uri) {
  std::vector<std::string> tables;
  {
    auto stmt = prepare(db, uri,
                        "SELECT name FROM sqlite_master WHERE type = 'table'"
                        " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name");
    if (!stmt.ok()) return stmt.error();
    StatementReset reset(stmt->get());
    int rc;
    while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
      tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt->get(), 0)));
    }
    if (rc != SQLITE_DONE) return sqlite_error(uri, db, rc, "reading the schema");
  }
  if (tables.empty()) return 0;
  if (std::find(tables.begin(), tables.end(), "meta") == tables.end()) {
    return not_a_bel_log(
        uri, fmt::format("it has tables ({}) but no bel meta table", fmt::join(tables, ", ")));
  }

  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &raw, nullptr);
  Statement stmt(raw);
  if (rc != SQLITE_OK) {
    // A foreign "meta" table without our columns.
    if (sqlite_error_code(rc) == ErrorCode::storage_corrupt || rc == SQLITE_ERROR) {
      return not_a_bel_log(uri, sqlite3_errmsg(db));
    }
    return sqlite_error(uri, db, rc, "reading the schema version");
  }
  StatementReset reset(raw);
  sqlite3_bind_text(raw, 1, kSchemaVersionKey, -1, SQLITE_STATIC);
  rc = sqlite3_step(raw);
  if (rc == SQLITE_DONE) return not_a_bel_log(uri, "meta has no schema_version");
  if (rc != SQLITE_ROW) return sqlite_error(uri, db, rc, "reading the schema version");
  const char* text = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
  std::string_view value = text != nullptr ? text : "";
  int version = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), version);
  if (ec != std::errc() || end != value.data() + value.size() || version < 1) {
    return not_a_bel_log(uri, fmt::format("schema_version \"{}\" is not a version number", value));
  }
  return version;
}

Status check_not_too_new(const std::string& uri, int version) {
  if (version > kSchemaVersion) {
    return make_error(ErrorCode::schema_too_new,
                      fmt::format("{}: log schema version {} is newer than this bel supports "
                                  "({}); upgrade bel",
                                  uri, version, kSchemaVersion));
  }
  return ok_status();
}

namespace {

// The log's identity, once: a log made by an older bel gets one at its first writable open.
Status record_log_id(sqlite3* db, const std::string& uri) {
  auto id = prepare(db, uri, "INSERT OR IGNORE INTO meta(key, value) VALUES(?, ?)");
  if (!id.ok()) return id.error();
  StatementReset reset(id->get());
  const std::string log_id = new_event_id();
  sqlite3_bind_text(id->get(), 1, kLogIdKey, -1, SQLITE_STATIC);
  sqlite3_bind_text(id->get(), 2, log_id.c_str(), -1, SQLITE_STATIC);
  const int rc = sqlite3_step(id->get());
  if (rc != SQLITE_DONE) return sqlite_error(uri, db, rc, "recording the log's id");
  return ok_status();
}

}  // namespace

Status migrate(sqlite3* db, const std::string& uri, int from_version) {
  assert(0 <= from_version && from_version <= kSchemaVersion);
  if (from_version == kSchemaVersion) return record_log_id(db, uri);
  int rc =
      sqlite3_create_function_v2(db, "bel_compact_event_id", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                 nullptr, compact_event_id, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(uri, db, rc, "migrating: registering functions");
  for (const auto& step : sqlite_migrations()) {
    if (step.to_version <= from_version) continue;
    for (const char* sql : step.statements) {
      BEL_RETURN_IF_ERROR(
          exec_sql(db, uri, sql, fmt::format("migrating to schema version {}", step.to_version)));
    }
  }
  auto stmt = prepare(db, uri,
                      "INSERT INTO meta(key, value) VALUES(?, ?)"
                      " ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  if (!stmt.ok()) return stmt.error();
  StatementReset reset(stmt->get());
  const std::string version = std::to_string(kSchemaVersion);
  sqlite3_bind_text(stmt->get(), 1, kSchemaVersionKey, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt->get(), 2, version.c_str(), -1, SQLITE_STATIC);
  rc = sqlite3_step(stmt->get());
  if (rc != SQLITE_DONE) return sqlite_error(uri, db, rc, "recording the schema version");
  return record_log_id(db, uri);
}

}  // namespace bel::storage
