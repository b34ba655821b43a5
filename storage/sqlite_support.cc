#include "storage/sqlite_support.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <sys/resource.h>

#include <cstring>

#include "messages/event_id.h"
#include "storage/event_detail.h"

namespace bel::storage {

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

StatementReset::~StatementReset() { sqlite3_reset(stmt_); }

ErrorCode sqlite_error_code(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorCode::storage_corrupt;
    default:
      return ErrorCode::storage_unavailable;
  }
}

Error sqlite_error(const std::string& uri, sqlite3* db, int rc, std::string_view what) {
  // sqlite3_errmsg describes the most recent failure on the connection; fall back to the generic
  // text of rc when there is no connection or its last call succeeded.
  const char* message =
      db != nullptr && sqlite3_errcode(db) != SQLITE_OK ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string text = fmt::format("{}: {}: {}", uri, what, message);
  // The operating system's reason, where SQLite's text is only "disk I/O error": a full disk,
  // a file-size limit, a permission.
  const int primary = rc & 0xff;
  if (db != nullptr &&
      (primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN)) {
    if (const int os = sqlite3_system_errno(db); os != 0) {
      text += fmt::format(" ({})", std::strerror(os));
    }
    // SQLite's errno is often gone by the time the statement fails; a file-size limit is the
    // one cause that says nothing of itself (the write fails with EFBIG, SIGXFSZ being ignored).
    struct rlimit limit {};
    const bool writing = rc == SQLITE_IOERR || rc == SQLITE_IOERR_WRITE ||
                         rc == SQLITE_IOERR_TRUNCATE || primary == SQLITE_FULL;
    if (writing && ::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
      text += fmt::format(" (File too large? this process may write files of at most {} bytes: "
                          "its file-size limit, ulimit -f)",
                          static_cast<unsigned long long>(limit.rlim_cur));
    }
  }
  return make_error(sqlite_error_code(rc), std::move(text));
}

Result<Statement> prepare(sqlite3* db, const std::string& uri, std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return sqlite_error(uri, db, rc, "preparing a statement");
  }
  return Statement(stmt);
}

Status exec_sql(sqlite3* db, const std::string& uri, const char* sql, std::string_view what) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(uri, db, rc, what);
  return ok_status();
}

std::string with_repeated(std::string_view sql, std::string_view item, size_t n) {
  std::string out(sql);
  for (size_t k = 0; k < n; ++k) {
    if (k > 0) out += ", ";
    out += item;
  }
  return out;
}

void bind_event_id(sqlite3_stmt* stmt, int i, const std::string& id) {
  if (auto bytes = uuid_to_bytes(id)) {
    sqlite3_bind_blob(stmt, i, bytes->data(), static_cast<int>(bytes->size()), SQLITE_TRANSIENT);
  } else {
    sqlite3_bind_text(stmt, i, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
  }
}

void bind_text(sqlite3_stmt* stmt, int i, const std::string& s) {
  // SQLITE_STATIC: the caller keeps `s` alive until the statement has run.
  sqlite3_bind_text(stmt, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
}

void bind_blob(sqlite3_stmt* stmt, int i, std::string_view s) {
  sqlite3_bind_blob(stmt, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
}

std::string column_string(sqlite3_stmt* stmt, int col) {
  const void* data = sqlite3_column_blob(stmt, col);
  int size = sqlite3_column_bytes(stmt, col);
  if (data == nullptr) return {};
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

std::string column_event_id(sqlite3_stmt* stmt, int col) {
  const bool blob = sqlite3_column_type(stmt, col) == SQLITE_BLOB;
  const void* data = sqlite3_column_blob(stmt, col);
  const std::string_view stored(static_cast<const char*>(data),
                                data == nullptr ? 0 : sqlite3_column_bytes(stmt, col));
  if (blob && stored.size() == 16) {
    return uuid_from_bytes(stored);
  }
  return std::string(stored);
}

Status stored_payload(const std::string& uri, size_t position, const BuildEvent& event,
                      std::string& payload) {
  // Every top-level field but event_id (1), timestamp (2), build_request_id (3), idx (4).
  if (!serialize_event_body(event, payload)) {
    return make_error(ErrorCode::internal,
                      fmt::format("{}: append #{}: event does not serialize", uri, position + 1));
  }
  return ok_status();
}

Status read_event_row(sqlite3_stmt* stmt, int first, const std::string& uri, std::string_view what,
                      BuildEvent* event, EventDetail detail) {
  const int64_t idx = sqlite3_column_int64(stmt, first);
  const void* payload = sqlite3_column_blob(stmt, first + 4);
  const std::string_view bytes(static_cast<const char*>(payload),
                               payload == nullptr ? 0 : sqlite3_column_bytes(stmt, first + 4));
  if (!parse_event_payload(bytes, detail, event)) {
    return make_error(ErrorCode::storage_corrupt,
                      fmt::format("{}: {}: the payload of idx {} does not parse", uri, what, idx));
  }
  set_event_columns(stmt, first, event, detail);
  return ok_status();
}

void set_event_columns(sqlite3_stmt* stmt, int first, BuildEvent* event, EventDetail detail) {
  event->set_idx(sqlite3_column_int64(stmt, first));
  if (detail == EventDetail::full) event->set_event_id(column_event_id(stmt, first + 1));
  event->set_timestamp(sqlite3_column_int64(stmt, first + 2));
  event->set_build_request_id(column_string(stmt, first + 3));
}

}  // namespace bel::storage
