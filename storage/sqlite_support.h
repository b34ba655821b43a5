// Small helpers for the SQLite backend: ownership of prepared statements and the conversion of
// SQLite result codes into bel errors that name the URI.
//
//   auto stmt = prepare(db, uri, "SELECT value FROM meta WHERE key = ?");
//   if (!stmt.ok()) return stmt.error();
//   StatementReset reset(stmt->get());   // never leave a read transaction open
//
// Thread-safety: none; a statement belongs to its connection's owner.
#ifndef BEL_STORAGE_SQLITE_SUPPORT_H_
#define BEL_STORAGE_SQLITE_SUPPORT_H_

#include <string>
#include <string_view>

#include "messages/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace bel::storage {

// Owns one prepared statement and finalizes it on destruction. Move-only.
class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  sqlite3_stmt* get() const { return stmt_; }
  explicit operator bool() const { return stmt_ != nullptr; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when leaving scope: a statement left mid-step would keep its read
// transaction open and hide later commits from this connection. Bindings are kept.
class StatementReset {
 public:
  explicit StatementReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StatementReset();
  StatementReset(const StatementReset&) = delete;
  StatementReset& operator=(const StatementReset&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// storage_corrupt for SQLITE_CORRUPT and SQLITE_NOTADB, storage_unavailable for everything else.
ErrorCode sqlite_error_code(int rc);

// "<uri>: <what>: <SQLite's message for db, or for rc when db has none>", coded by
// sqlite_error_code. Call before anything else runs on `db` (the message is per connection).
Error sqlite_error(const std::string& uri, sqlite3* db, int rc, std::string_view what);

// Prepares `sql` on `db`; the error names `uri` and quotes SQLite's message.
Result<Statement> prepare(sqlite3* db, const std::string& uri, std::string_view sql);

// Runs `sql` (one or more statements without parameters or results worth keeping).
Status exec_sql(sqlite3* db, const std::string& uri, const char* sql, std::string_view what);

// Binds an event_id as the events table stores it (schema version 2): a canonical lowercase
// UUID as its 16 bytes (a BLOB), any other id as TEXT. SQLite never compares a BLOB equal to a
// TEXT, so the two forms cannot collide and the UNIQUE index keeps idempotency exact. The
// payload keeps the id's text, so upper-case and other ids come back exactly as given.
// REQUIRES: `id` outlives the statement's next step (TEXT is bound without a copy).
void bind_event_id(sqlite3_stmt* stmt, int i, const std::string& id);

// Binds text / a blob without a copy. REQUIRES: `s` outlives the statement's next step.
void bind_text(sqlite3_stmt* stmt, int i, const std::string& s);
void bind_blob(sqlite3_stmt* stmt, int i, const std::string& s);
// Column `col` of the current row as bytes ("" for NULL).
std::string column_string(sqlite3_stmt* stmt, int col);

}  // namespace bel::storage

#endif  // BEL_STORAGE_SQLITE_SUPPORT_H_
