// The commits a killed writer left beside another name of the log file (sqlite_wal_names.h).
#include "storage/sqlite_wal_names.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "storage/sqlite_support.h"
#include "storage/writer_lock.h"

namespace bel::storage {

namespace {

// `path` with symlinks resolved, as SQLite names its WAL after it.
std::string name_sqlite_uses(const std::string& path) { return resolved_path(path); }

bool has_frames(const std::string& wal) {
  struct stat st {};
  return ::stat(wal.c_str(), &st) == 0 && st.st_size > 0;
}

// meta.writer_path as `db` reads it; empty when there is none (or no meta table yet).
std::string recorded_writer_path(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &stmt, nullptr) ==
      SQLITE_OK) {
    sqlite3_bind_text(stmt, 1, kWriterPathKey, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_ROW) out = column_string(stmt, 0);
  }
  sqlite3_finalize(stmt);
  return out;
}

// `recorded` when it is another name of `path`'s file and the WAL beside it holds frames.
std::optional<std::string> other_name_with_frames(const std::string& recorded,
                                                  const std::string& path) {
  if (recorded.empty() || recorded == name_sqlite_uses(path)) return std::nullopt;
  struct stat mine {};
  struct stat other {};
  if (::stat(path.c_str(), &mine) != 0 || ::stat(recorded.c_str(), &other) != 0) {
    return std::nullopt;  // that name is gone: whatever was beside it is not this file's
  }
  if (mine.st_dev != other.st_dev || mine.st_ino != other.st_ino) return std::nullopt;
  if (!has_frames(recorded + "-wal")) return std::nullopt;
  // The same WAL file by another path (one directory reached two ways): this name's own.
  struct stat own_wal {};
  struct stat other_wal {};
  if (::stat((name_sqlite_uses(path) + "-wal").c_str(), &own_wal) == 0 &&
      ::stat((recorded + "-wal").c_str(), &other_wal) == 0 && own_wal.st_dev == other_wal.st_dev &&
      own_wal.st_ino == other_wal.st_ino) {
    return std::nullopt;
  }
  return recorded;
}

std::string last_writer(const std::string& name) {
  return fmt::format("the log's last writer wrote it by another name, {}, and stopped without "
                     "closing: its last commits are in {}-wal",
                     name, name);
}

}  // namespace

Status check_side_files(const std::string& uri, const std::string& path) {
  struct stat log {};
  const bool exists = ::stat(path.c_str(), &log) == 0;
  const uid_t owner = exists ? log.st_uid : ::geteuid();
  const std::string name = name_sqlite_uses(path);
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string file = name + suffix;
    struct stat st {};
    if (::lstat(file.c_str(), &st) != 0) continue;
    // The log's owner, this user, or (a log its group may read) a member of the log's group: each
    // may read the log already. A killed writer of a group-shared log leaves files of its own.
    const bool group_reads = exists && (log.st_mode & S_IRGRP) != 0 && st.st_gid == log.st_gid;
    if (!S_ISLNK(st.st_mode) && (st.st_uid == owner || st.st_uid == ::geteuid() || group_reads)) {
      continue;
    }
    return make_error(
        ErrorCode::storage_unavailable,
        fmt::format("{}: {} {}, not a file of the log's owner (uid {}) or of this user; SQLite "
                    "would write the log's pages into it. {}",
                    uri, file,
                    S_ISLNK(st.st_mode) ? std::string("is a symlink")
                                        : fmt::format("belongs to uid {}", st.st_uid),
                    owner,
                    st.st_size == 0 || std::string(suffix) == "-shm"
                        ? "Remove it if no process has the log open"
                        : "It may hold commits: open the log as its owner, or give the file to "
                          "the log's owner (chown), rather than removing it"));
  }
  return ok_status();
}

std::optional<std::string> other_name_with_commits(const std::string& path,
                                                   const std::string& vfs) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || st.st_size == 0) return std::nullopt;  // a new log
  std::string recorded;
  sqlite3* db = nullptr;
  // Read-only: closing it never copies this name's own WAL into the file.
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                      vfs.empty() ? nullptr : vfs.c_str()) == SQLITE_OK) {
    sqlite3_busy_timeout(db, kSqliteBusyTimeoutMs);
    recorded = recorded_writer_path(db);
  }
  sqlite3_close_v2(db);
  return other_name_with_frames(recorded, path);
}

Status fold_in_wal_of(const std::string& uri, const std::string& path, const std::string& other,
                      const std::string& vfs) {
  if (has_frames(name_sqlite_uses(path) + "-wal")) {
    return make_error(ErrorCode::storage_unavailable,
                      fmt::format("{}: {}, and {}-wal holds commits too: two writers wrote the "
                                  "file by two names, and folding either WAL in would lose the "
                                  "other's; copy both names' files aside and restore one",
                                  uri, last_writer(other), name_sqlite_uses(path)));
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(other.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                           vfs.empty() ? nullptr : vfs.c_str());
  int frames = -1;
  int copied = -1;
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, kSqliteBusyTimeoutMs);
    rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &frames, &copied);
  }
  const std::string why = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  sqlite3_close_v2(db);  // the last connection of that name removes its WAL
  if (rc != SQLITE_OK || frames != copied) {
    return make_error(ErrorCode::storage_unavailable,
                      fmt::format("{}: {}, which could not be folded into the file ({}); open "
                                  "the log by that name, or stop what reads it by that name and "
                                  "try again",
                                  uri, last_writer(other), why));
  }
  return ok_status();
}

Error cannot_fold(const std::string& uri, const std::string& other, const std::string& why) {
  return make_error(ErrorCode::storage_unavailable,
                    fmt::format("{}: {}, which this open cannot fold into the file ({}); read it "
                                "by that name, or open it again from a process that has not "
                                "opened it yet",
                                uri, last_writer(other), why));
}

namespace {

std::mutex open_files_mu;
std::map<std::pair<unsigned long long, unsigned long long>, int>& open_files() {
  static auto* files = new std::map<std::pair<unsigned long long, unsigned long long>, int>();
  return *files;
}

}  // namespace

int open_in_this_process(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  std::lock_guard<std::mutex> lock(open_files_mu);
  auto it = open_files().find({st.st_dev, st.st_ino});
  return it == open_files().end() ? 0 : it->second;
}

CountedOpen::CountedOpen(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return;
  counted_ = true;
  device_ = st.st_dev;
  inode_ = st.st_ino;
  std::lock_guard<std::mutex> lock(open_files_mu);
  ++open_files()[{device_, inode_}];
}

CountedOpen::~CountedOpen() {
  if (!counted_) return;
  std::lock_guard<std::mutex> lock(open_files_mu);
  auto it = open_files().find({device_, inode_});
  if (it != open_files().end() && --it->second <= 0) open_files().erase(it);
}

Result<bool> record_writer_path(sqlite3* db, const std::string& uri, const std::string& path) {
  const std::string mine = name_sqlite_uses(path);
  if (recorded_writer_path(db) == mine) return false;
  auto stmt = prepare(db, uri,
                      "INSERT INTO meta(key, value) VALUES(?, ?)"
                      " ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  if (!stmt.ok()) return stmt.error();
  StatementReset reset(stmt->get());
  sqlite3_bind_text(stmt->get(), 1, kWriterPathKey, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt->get(), 2, mine.c_str(), -1, SQLITE_TRANSIENT);
  const int rc = sqlite3_step(stmt->get());
  if (rc != SQLITE_DONE) return sqlite_error(uri, db, rc, "recording the writer's name");
  return true;
}

}  // namespace bel::storage
