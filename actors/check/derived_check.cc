#include "actors/check/derived_check.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <google/protobuf/arena.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "messages/event_id.h"
#include "messages/event_keys.h"
#include "messages/types.h"
#include "storage/checks.h"
#include "storage/sqlite_indexer.h"
#include "storage/sqlite_schema.h"
#include "storage/sqlite_support.h"
#include "storage/storage.h"

namespace bel::check {
namespace {

using storage::exec_sql;
using storage::prepare;
using storage::sqlite_error;

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, CloseDb>;

Result<Db> open_db(const std::string& uri, const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  // Each connection is used by the one thread that opened it: without SQLite's mutex, which
  // every sqlite3_column_* call would otherwise take (a fifth of the derived-rows check's time).
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) return sqlite_error(uri, raw, rc, "opening " + path);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

uint64_t mix(uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// An order-independent digest of a multiset of (kind, text, idx) rows: equal rows give equal
// digests whatever order they are read in; a differing row changes them.
struct RowDigest {
  int64_t rows = 0;
  uint64_t sum = 0;
  uint64_t xors = 0;
  // A row whose text is `kind` then `text` (a key row's kind, an id column's storage class):
  // the two sides of a comparison must add their rows the same way.
  void add(uint64_t kind, std::string_view text, int64_t idx) {
    const uint64_t h =
        mix(std::hash<std::string_view>{}(text) ^ mix(kind) ^ mix(mix(static_cast<uint64_t>(idx))));
    ++rows;
    sum += h;
    xors ^= mix(h);
  }
  bool operator==(const RowDigest& o) const {
    return rows == o.rows && sum == o.sum && xors == o.xors;
  }
};

std::string column_bytes(sqlite3_stmt* stmt, int col) {
  const void* data = sqlite3_column_blob(stmt, col);
  if (data == nullptr) return {};
  return std::string(static_cast<const char*>(data),
                     static_cast<size_t>(sqlite3_column_bytes(stmt, col)));
}

// Adds the row (the event_id in column `col`, idx) to `digest`: its storage class and bytes.
void add_id(RowDigest& digest, sqlite3_stmt* stmt, int col, int64_t idx) {
  const uint64_t storage_class = sqlite3_column_type(stmt, col) == SQLITE_BLOB ? 1 : 2;
  const void* data = sqlite3_column_blob(stmt, col);
  const auto size = static_cast<size_t>(sqlite3_column_bytes(stmt, col));
  digest.add(
      storage_class,
      data == nullptr ? std::string_view() : std::string_view(static_cast<const char*>(data), size),
      idx);
}

// Runs `sql` and hands every row to `row`; the error names `what`.
Status each_row(sqlite3* db, const std::string& uri, const std::string& sql, std::string_view what,
                const std::function<Status(sqlite3_stmt*)>& row) {
  auto stmt = prepare(db, uri, sql);
  if (!stmt.ok()) return stmt.error();
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) BEL_RETURN_IF_ERROR(row(stmt->get()));
  if (rc != SQLITE_DONE) return sqlite_error(uri, db, rc, what);
  return ok_status();
}

CheckResult integrity_check(sqlite3* db, const std::string& uri) {
  CheckResult out{"integrity", false, ""};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> problems;
  auto ran = each_row(db, uri, "PRAGMA integrity_check(10)", "integrity_check",
                      [&](sqlite3_stmt* stmt) {
                        problems.push_back(column_bytes(stmt, 0));
                        return ok_status();
                      });
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  if (!ran.ok()) {
    out.detail = fmt::format("{} ({} ms)", ran.error().message, ms);
  } else if (problems.size() == 1 && problems[0] == "ok") {
    out.ok = true;
    out.detail = fmt::format("SQLite integrity_check ok ({} ms)", ms);
  } else {
    out.detail = fmt::format("SQLite integrity_check found damage ({} ms): {}", ms,
                             fmt::join(problems, "; "));
  }
  return out;
}

// The comparison behind "derived rows"; the problems found (empty: all agree) and what was read.
Status compare_derived(sqlite3* db, const std::string& uri, std::vector<std::string>& problems,
                       std::string& summary) {
  auto watermark = storage::read_indexed_idx(db, uri);
  if (!watermark.ok()) return watermark.error();
  RowDigest table_ids, expected_keys, found_keys, index_ids;
  std::vector<storage::KeyRow> key_rows;
  int64_t last = 0, column_mismatches = 0;
  // Each payload is parsed onto an arena, freed every kPerArena events: parsed onto the heap,
  // every string is a malloc and a free (a fifth of this pass's time).
  constexpr int kPerArena = 1024;
  google::protobuf::Arena arena;
  int on_arena = 0;
  std::string payload_id, payload_build;  // the payload's own copies (schema 4 and older)
  BEL_RETURN_IF_ERROR(each_row(
      db, uri,
      std::string("SELECT ") + storage::kEventRowColumns + " FROM events NOT INDEXED ORDER BY idx",
      "reading the events", [&](sqlite3_stmt* stmt) -> Status {
        const int64_t idx = sqlite3_column_int64(stmt, 0);
        last = idx;
        add_id(table_ids, stmt, 1, idx);
        if (++on_arena > kPerArena) {
          arena.Reset();
          on_arena = 1;
        }
        BuildEvent& event = *google::protobuf::Arena::CreateMessage<BuildEvent>(&arena);
        // The payload parsed once: rows of schema 4 and older also carry the column-kept fields
        // in it, and the two must agree. Newer payloads leave them out
        // (storage/sqlite_support.h).
        if (!event.ParseFromArray(sqlite3_column_blob(stmt, 4), sqlite3_column_bytes(stmt, 4))) {
          return make_error(ErrorCode::storage_corrupt,
                            fmt::format("{}: the payload of idx {} does not parse", uri, idx));
        }
        payload_id = event.event_id();
        payload_build = event.build_request_id();
        // The columns, but the event_id only when there is a payload's to compare with (the
        // key rows do not use it, and formatting a UUID column costs).
        storage::set_event_columns(stmt, 0, &event, storage::EventDetail::views);
        const bool id_differs =
            !payload_id.empty() && payload_id != storage::column_event_id(stmt, 1);
        const bool build_differs = !payload_build.empty() && payload_build != event.build_request_id();
        if (id_differs || build_differs) {
          if (column_mismatches++ == 0) {
            problems.push_back(fmt::format(
                "idx {}: the event_id or build_request_id column differs from the payload", idx));
          }
        }
        if (idx <= *watermark) {
          // Exactly the rows the indexer writes for the event (storage/sqlite_indexer.h).
          key_rows.clear();
          storage::add_key_rows(event, idx, key_rows);
          for (const auto& row : key_rows) {
            expected_keys.add(static_cast<uint64_t>(row.kind), row.key, idx);
          }
        }
        return ok_status();
      }));
  if (column_mismatches > 1) {
    problems.back() += fmt::format(" (and {} more events)", column_mismatches - 1);
  }
  if (*watermark > last) {
    problems.push_back(fmt::format("the key index watermark {} is above the last idx {}",
                                   *watermark, last));
  }
  BEL_RETURN_IF_ERROR(each_row(
      db, uri, "SELECT kind, key, idx FROM event_keys", "reading the key index",
      [&](sqlite3_stmt* stmt) {
        const void* key = sqlite3_column_blob(stmt, 1);
        found_keys.add(static_cast<uint64_t>(sqlite3_column_int(stmt, 0)),
                       key == nullptr
                           ? std::string_view()
                           : std::string_view(static_cast<const char*>(key),
                                              static_cast<size_t>(sqlite3_column_bytes(stmt, 1))),
                       sqlite3_column_int64(stmt, 2));
        return ok_status();
      }));
  std::string id_index;
  BEL_RETURN_IF_ERROR(each_row(db, uri,
                               "SELECT name FROM sqlite_master WHERE type = 'index'"
                               " AND tbl_name = 'events' AND sql IS NULL",
                               "finding the event_id index", [&](sqlite3_stmt* stmt) {
                                 id_index = column_bytes(stmt, 0);
                                 return ok_status();
                               }));
  if (id_index.empty()) return make_error(ErrorCode::storage_corrupt, uri + ": no event_id index");
  BEL_RETURN_IF_ERROR(each_row(db, uri, "SELECT event_id, idx FROM events INDEXED BY " + id_index,
                               "reading the event_id index", [&](sqlite3_stmt* stmt) {
                                 add_id(index_ids, stmt, 0, sqlite3_column_int64(stmt, 1));
                                 return ok_status();
                               }));
  auto compare = [&](const char* what, const RowDigest& found, const RowDigest& expected) {
    if (found == expected) return;
    problems.push_back(fmt::format("{}: {} rows disagree with the {} the events give", what,
                                   found.rows, expected.rows));
  };
  compare("key index (event_keys)", found_keys, expected_keys);
  compare("event_id index", index_ids, table_ids);
  summary = fmt::format(
      "{} events, {} key rows up to idx {}; the key and event_id indexes agree with the payloads",
      table_ids.rows, found_keys.rows, *watermark);
  return ok_status();
}

CheckResult derived_rows_check(sqlite3* db, const std::string& uri) {
  CheckResult out{"derived rows", false, ""};
  std::vector<std::string> problems;
  std::string summary;
  // One read transaction: a coordinator appending and indexing meanwhile cannot skew the sides.
  auto compared = exec_sql(db, uri, "BEGIN", "derived rows");
  if (compared.ok()) compared = compare_derived(db, uri, problems, summary);
  (void)exec_sql(db, uri, "COMMIT", "derived rows");
  if (!compared.ok()) {
    out.detail = compared.error().message;
  } else if (!problems.empty()) {
    out.detail = fmt::format("{}; bel check --repair rebuilds them", fmt::join(problems, "; "));
  } else {
    out.ok = true;
    out.detail = summary;
  }
  return out;
}

// Copies the base tables of `old_path` into the fresh database `db` (schema already created).
Status copy_base_tables(sqlite3* db, const std::string& uri, const std::string& old_path,
                        RepairReport& report) {
  auto attach = prepare(db, uri, "ATTACH DATABASE ? AS old");
  if (!attach.ok()) return attach.error();
  sqlite3_bind_text(attach->get(), 1, old_path.c_str(), -1, SQLITE_STATIC);
  if (int rc = sqlite3_step(attach->get()); rc != SQLITE_DONE) {
    return sqlite_error(uri, db, rc, "repair: attaching the log");
  }
  // ORDER BY keeps SQLite from copying b-trees wholesale (its transfer shortcut would copy the
  // damaged indexes too): every row is read from its table and every index entry written anew.
  const char* steps[] = {
      "BEGIN IMMEDIATE",
      "INSERT INTO main.events SELECT * FROM old.events NOT INDEXED ORDER BY idx",
      "INSERT INTO main.snapshots SELECT * FROM old.snapshots NOT INDEXED ORDER BY rowid",
      "INSERT OR REPLACE INTO main.meta SELECT * FROM old.meta NOT INDEXED"
      " WHERE key NOT IN ('schema_version', 'indexed_idx') ORDER BY rowid",
      "COMMIT",
  };
  for (const char* sql : steps) {
    if (auto done = exec_sql(db, uri, sql, "repair: copying the log"); !done.ok()) {
      (void)exec_sql(db, uri, "ROLLBACK", "repair");
      return done;
    }
  }
  BEL_RETURN_IF_ERROR(each_row(db, uri, "SELECT (SELECT count(*) FROM main.events),"
                                        " (SELECT count(*) FROM main.snapshots)",
                               "repair: counting", [&](sqlite3_stmt* stmt) {
                                 report.events = sqlite3_column_int64(stmt, 0);
                                 report.snapshots = sqlite3_column_int64(stmt, 1);
                                 return ok_status();
                               }));
  return exec_sql(db, uri, "DETACH DATABASE old", "repair: detaching the log");
}

Status sync_dir(const std::string& uri, const std::string& path) {
  const auto dir = std::filesystem::path(path).parent_path();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0 || ::fsync(fd) != 0) {
    if (fd >= 0) ::close(fd);
    return make_error(ErrorCode::storage_unavailable,
                      fmt::format("{}: repair: cannot sync the directory of {}", uri, path));
  }
  ::close(fd);
  return ok_status();
}

}  // namespace

std::vector<CheckResult> check_sqlite_file(const std::string& uri, const std::string& path,
                                           bool integrity) {
  std::vector<CheckResult> out;
  auto db = open_db(uri, path, SQLITE_OPEN_READONLY);
  if (!db.ok()) {
    if (integrity) out.push_back(CheckResult{"integrity", false, db.error().message});
    out.push_back(CheckResult{"derived rows", false, db.error().message});
    return out;
  }
  if (integrity) out.push_back(integrity_check(db->get(), uri));
  out.push_back(derived_rows_check(db->get(), uri));
  return out;
}

Result<RepairReport> repair_sqlite_file(const std::string& uri, const std::string& path) {
  RepairReport report;
  {
    // Everything committed moves into the file itself (a page copy that reads no b-tree), so
    // the WAL holds nothing the fresh file could miss.
    auto old = open_db(uri, path, SQLITE_OPEN_READWRITE);
    if (!old.ok()) return old.error();
    auto version = storage::read_schema_version(old->get(), uri);
    if (!version.ok()) return version.error();
    BEL_RETURN_IF_ERROR(storage::check_not_too_new(uri, *version));
    if (*version != storage::kSchemaVersion) {
      return make_error(ErrorCode::storage_unavailable,
                        fmt::format("{}: log schema version {} is older than this bel's ({}); "
                                    "open it once for writing to migrate it, then repair",
                                    uri, *version, storage::kSchemaVersion));
    }
    BEL_RETURN_IF_ERROR(exec_sql(old->get(), uri, "PRAGMA wal_checkpoint(TRUNCATE)",
                                          "repair: checkpointing the WAL"));
  }
  const std::string fresh = path + ".repair";
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) ::unlink((fresh + suffix).c_str());
  {
    auto db = open_db(uri, fresh, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (!db.ok()) return db.error();
    BEL_RETURN_IF_ERROR(exec_sql(db->get(), uri, "BEGIN IMMEDIATE", "repair: schema"));
    BEL_RETURN_IF_ERROR(storage::migrate(db->get(), uri, 0));
    BEL_RETURN_IF_ERROR(exec_sql(db->get(), uri, "COMMIT", "repair: schema"));
    BEL_RETURN_IF_ERROR(copy_base_tables(db->get(), uri, path, report));
    for (;;) {
      auto done = storage::index_events(db->get(), uri, 65536, /*durability_full=*/true);
      if (!done.ok()) return done.error();
      if (done->events == 0) break;
    }
    BEL_RETURN_IF_ERROR(each_row(db->get(), uri, "SELECT count(*) FROM event_keys",
                                 "repair: counting", [&](sqlite3_stmt* stmt) {
                                   report.key_rows = sqlite3_column_int64(stmt, 0);
                                   return ok_status();
                                 }));
    BEL_RETURN_IF_ERROR(exec_sql(db->get(), uri, "PRAGMA journal_mode = WAL",
                                          "repair: switching to WAL"));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) ::chmod(fresh.c_str(), st.st_mode & 07777);
  // The old file's WAL is empty (checkpointed above, and its last connection is closed): drop
  // it so that nothing of it is ever read against the new file.
  ::unlink((path + "-wal").c_str());
  ::unlink((path + "-shm").c_str());
  if (std::rename(fresh.c_str(), path.c_str()) != 0) {
    return make_error(ErrorCode::storage_unavailable,
                      fmt::format("{}: repair: cannot rename {} over {}", uri, fresh, path));
  }
  BEL_RETURN_IF_ERROR(sync_dir(uri, path));
  return report;
}

}  // namespace bel::check
