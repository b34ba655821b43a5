// `bel check --repair` on an SQLite log (derived_check.h): the derived data rebuilt from the event
// rows and written back over the log's own file.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <string>
#include <system_error>
#include <utility>

#include "actors/check/derived_check.h"
#include "actors/check/sqlite_db.h"
#include "actors/write/transition_checkpoint.h"
#include "messages/types.h"
#include "storage/event_detail.h"
#include "storage/sqlite_indexer.h"
#include "storage/sqlite_schema.h"
#include "storage/sqlite_support.h"
#include "storage/sqlite_wal_names.h"

namespace bel::check {
namespace {

using derived_rows::each_row;
using derived_rows::open_db;
using storage::exec_sql;
using storage::prepare;
using storage::sqlite_error;

// bel_event_type(idx, payload): the event_type column of the event whose stored payload is
// `payload`, as appends write it (event_type_number); an error naming idx when it does not parse.
void event_type_of_payload(sqlite3_context* ctx, int, sqlite3_value** args) {
  const void* blob = sqlite3_value_blob(args[1]);
  const std::string_view bytes(static_cast<const char*>(blob),
                               blob == nullptr ? 0 : sqlite3_value_bytes(args[1]));
  BuildEvent event;
  if (!storage::parse_event_payload(bytes, storage::EventDetail::full, &event)) {
    const std::string message =
        fmt::format("the payload of idx {} does not parse", sqlite3_value_int64(args[0]));
    sqlite3_result_error(ctx, message.c_str(), -1);
    sqlite3_result_error_code(ctx, SQLITE_CORRUPT);
    return;
  }
  sqlite3_result_int(ctx, event_type_number(event));
}

// Copies the base tables of `old_path` into the fresh database `db` (schema already created);
// each event's event_type column is derived from its payload again.
Status copy_base_tables(sqlite3* db, const std::string& uri, const std::string& old_path,
                        RepairReport& report) {
  if (int rc =
          sqlite3_create_function_v2(db, "bel_event_type", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                     nullptr, event_type_of_payload, nullptr, nullptr, nullptr);
      rc != SQLITE_OK) {
    return sqlite_error(uri, db, rc, "repair: registering functions");
  }
  auto attach = prepare(db, uri, "ATTACH DATABASE ? AS old");
  if (!attach.ok()) return attach.error();
  sqlite3_bind_text(attach->get(), 1, old_path.c_str(), -1, SQLITE_STATIC);
  if (int rc = sqlite3_step(attach->get()); rc != SQLITE_DONE) {
    return sqlite_error(uri, db, rc, "repair: attaching the log");
  }
  // ORDER BY keeps SQLite from copying b-trees wholesale (its transfer shortcut would copy the
  // damaged indexes too): every row is read from its table and every index entry written anew.
  // The write-side checkpoint, derived and compared by no check, is left out: the next writer
  // replays the log in full and writes it again.
  const std::string snapshots = fmt::format(
      "INSERT INTO main.snapshots SELECT * FROM old.snapshots NOT INDEXED"
      " WHERE view <> '{}' ORDER BY rowid",
      write::TransitionCheckpoint::kName);
  // Each table in a step of its own, named in its error. The snapshots are derived data too: when
  // their table cannot be read (SQLite finds its pages damaged), they are left out, and the views
  // fold from idx 1 at the next start or `bel views rebuild`, rather than the repair failing.
  struct Step {
    const char* what;
    std::string sql;
    bool may_be_dropped = false;
  };
  const Step steps[] = {
      {"the events",
       "INSERT INTO main.events(idx, event_id, timestamp, build_request_id, event_type, payload)"
       " SELECT idx, event_id, timestamp, build_request_id, bel_event_type(idx, payload), payload"
       " FROM old.events NOT INDEXED ORDER BY idx"},
      {"the meta rows",
       "INSERT OR REPLACE INTO main.meta SELECT * FROM old.meta NOT INDEXED"
       " WHERE key NOT IN ('schema_version', 'indexed_idx') ORDER BY rowid"},
      {"the snapshots", snapshots, true},
  };
  // One transaction each: the snapshots' last, since SQLite fails the transaction that found a
  // damaged page, commit included.
  for (const Step& step : steps) {
    const std::string doing = std::string("repair: copying ") + step.what;
    BEL_RETURN_IF_ERROR(exec_sql(db, uri, "BEGIN IMMEDIATE", doing));
    auto done = exec_sql(db, uri, step.sql.c_str(), doing);
    if (done.ok()) done = exec_sql(db, uri, "COMMIT", doing);
    if (done.ok()) continue;
    (void)exec_sql(db, uri, "ROLLBACK", "repair");
    if (!step.may_be_dropped || done.error().code != ErrorCode::storage_corrupt) return done;
    report.snapshots_dropped = done.error().message;
  }
  BEL_RETURN_IF_ERROR(each_row(db, uri,
                               "SELECT (SELECT count(*) FROM main.events),"
                               " (SELECT count(*) FROM main.snapshots)",
                               "repair: counting", [&](sqlite3_stmt* stmt) {
                                 report.events = sqlite3_column_int64(stmt, 0);
                                 report.snapshots = sqlite3_column_int64(stmt, 1);
                                 return ok_status();
                               }));
  return exec_sql(db, uri, "DETACH DATABASE old", "repair: detaching the log");
}

// A directory of mode 0700 beside the log, for the repair's fresh copy: every file SQLite makes
// in it (the copy, its journal) is private whatever the umask, and no other user can have made
// one of them first. Removed with everything in it when the repair ends, done or failed (a killed
// repair leaves it, and the next repair removes it: remove_killed_repairs).
class PrivateDir {
 public:
  static Result<PrivateDir> make(const std::string& uri, const std::string& path) {
    std::string name = path + ".repair-XXXXXX";
    if (::mkdtemp(name.data()) == nullptr) {
      return make_error(ErrorCode::storage_unavailable,
                        fmt::format("{}: repair: cannot make a directory beside {}: {}", uri, path,
                                    std::strerror(errno)));
    }
    return PrivateDir(std::move(name));
  }
  PrivateDir(PrivateDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ~PrivateDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  explicit PrivateDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// What a repair makes in its directory: the copy, then SQLite's files beside it.
constexpr const char* kCopyFiles[] = {"log.db", "log.db-journal", "log.db-wal", "log.db-shm"};

// Whether the directory `dir` holds nothing but what a repair makes in it: regular files named
// log.db and SQLite's files beside it (a directory an operator named so, holding anything else,
// is theirs).
bool holds_only_a_repair_copy(const std::filesystem::path& dir) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; it != end; it.increment(ec)) {
    if (ec) return false;
    const std::string name = it->path().filename().string();
    const bool repair_file = std::find(std::begin(kCopyFiles), std::end(kCopyFiles), name) !=
                             std::end(kCopyFiles);
    if (!repair_file || !std::filesystem::is_regular_file(it->symlink_status())) return false;
  }
  return !ec;
}

// Removes what killed repairs of `path` left, saying so for each: directories named
// `<path>.repair-XXXXXX` (six ASCII letters or digits, as mkdtemp makes them) of mode 0700 that
// this user owns, holding only a repair's copy; its files are unlinked one by one, then the
// directory. Any other entry of that shape (a symlink, a file, another user's directory, one of
// another mode or holding anything else) is left alone. Safe only under the writer lock, which
// every repair by this name holds while its directory exists.
void remove_killed_repairs(const std::string& uri, const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path log(path);
  const std::string prefix = log.filename().string() + ".repair-";
  const fs::path parent = log.has_parent_path() ? log.parent_path() : fs::path(".");
  auto ascii_alnum = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  std::error_code ec;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() != prefix.size() + 6 || name.compare(0, prefix.size(), prefix) != 0) continue;
    if (!std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(),
                     ascii_alnum)) {
      continue;
    }
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
        (st.st_mode & 07777) != 0700 || st.st_uid != ::geteuid() ||
        !holds_only_a_repair_copy(it->path())) {
      continue;
    }
    bool removed = true;
    for (const char* file : kCopyFiles) {
      const std::string name_in = (it->path() / file).string();
      if (::unlink(name_in.c_str()) != 0 && errno != ENOENT) removed = false;
    }
    if (removed && ::rmdir(it->path().c_str()) == 0) {
      spdlog::warn("{}: repair: removed {}, which a killed repair left", uri, it->path().string());
    }
  }
}

// Writes every page of `from` over the log `to`, through `to`'s own connection (SQLite's backup
// API): the log keeps its file, so every name of it (symlinks, hard links) and every reader that
// has it open see the repaired log, and the copy is one transaction of the log's WAL.
Status copy_over(sqlite3* to, sqlite3* from, const std::string& uri) {
  sqlite3_backup* backup = sqlite3_backup_init(to, "main", from, "main");
  if (backup == nullptr) return sqlite_error(uri, to, sqlite3_errcode(to), "repair: copying back");
  const int stepped = sqlite3_backup_step(backup, -1);
  const int finished = sqlite3_backup_finish(backup);
  if (stepped != SQLITE_DONE) return sqlite_error(uri, to, stepped, "repair: copying back");
  if (finished != SQLITE_OK) return sqlite_error(uri, to, finished, "repair: copying back");
  return ok_status();
}

}  // namespace

Result<RepairReport> repair_sqlite_file(const std::string& uri, const std::string& path) {
  RepairReport report;
  // The WAL this repair writes every page into: not a file another user planted.
  BEL_RETURN_IF_ERROR(storage::check_side_files(uri, path));
  // Commits a killed writer left beside another name of the file (a hard link) are folded in
  // first, as every open does (storage/sqlite_wal_names.h): the copy must not miss them.
  if (auto other = storage::other_name_with_commits(path, "")) {
    if (storage::open_in_this_process(path) > 0) {
      return storage::cannot_fold(uri, *other, "this process has the log open already");
    }
    BEL_RETURN_IF_ERROR(storage::fold_in_wal_of(uri, path, *other, ""));
  }
  // Everything committed moves into the file itself (a page copy that reads no b-tree), so the
  // fresh copy reads it all from the file.
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
  const char* const kCheckpoint = "PRAGMA wal_checkpoint(TRUNCATE)";
  BEL_RETURN_IF_ERROR(exec_sql(old->get(), uri, kCheckpoint, "repair: checkpointing the WAL"));
  int64_t page_size = 0;
  BEL_RETURN_IF_ERROR(
      each_row(old->get(), uri, "PRAGMA page_size", "repair: page size", [&](sqlite3_stmt* stmt) {
        page_size = sqlite3_column_int64(stmt, 0);
        return ok_status();
      }));
  remove_killed_repairs(uri, path);
  auto dir = PrivateDir::make(uri, path);
  if (!dir.ok()) return dir.error();
  auto db = open_db(uri, dir->path() + "/" + kCopyFiles[0], SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!db.ok()) return db.error();
  // A log in WAL mode takes pages of its own size only.
  const std::string set_page_size = fmt::format("PRAGMA page_size = {}", page_size);
  BEL_RETURN_IF_ERROR(exec_sql(db->get(), uri, set_page_size.c_str(), "repair: page size"));
  BEL_RETURN_IF_ERROR(exec_sql(db->get(), uri, "BEGIN IMMEDIATE", "repair: schema"));
  BEL_RETURN_IF_ERROR(storage::migrate(db->get(), uri, 0));
  BEL_RETURN_IF_ERROR(exec_sql(db->get(), uri, "COMMIT", "repair: schema"));
  BEL_RETURN_IF_ERROR(copy_base_tables(db->get(), uri, path, report));
  // The repaired pages are committed to the WAL beside this name: a writer by another name (a
  // hard link) must fold them in before it writes, so this name is the one recorded.
  BEL_RETURN_IF_ERROR(exec_sql(db->get(), uri, "BEGIN IMMEDIATE", "repair: writer's name"));
  if (auto recorded = storage::record_writer_path(db->get(), uri, path); !recorded.ok()) {
    return recorded.error();
  }
  BEL_RETURN_IF_ERROR(exec_sql(db->get(), uri, "COMMIT", "repair: writer's name"));
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
  BEL_RETURN_IF_ERROR(copy_over(old->get(), db->get(), uri));
  // A reader by this name may hold the WAL: then the repaired pages stay in it, where every open
  // reads them (or folds them, by another name), until a later checkpoint copies them.
  int frames = 0, copied = 0;
  const int rc =
      sqlite3_wal_checkpoint_v2(old->get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, &frames, &copied);
  if (rc != SQLITE_OK || copied < frames) {
    spdlog::warn("{}: repair: the repaired log stays in its WAL for now ({})", uri,
                 rc != SQLITE_OK ? sqlite3_errstr(rc) : "a reader holds it");
  }
  return report;
}

}  // namespace bel::check
