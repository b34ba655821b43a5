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

#include <cstddef>
#include <string>
#include <string_view>

#include "messages/error.h"
#include "messages/types.h"
#include "storage/storage.h"

struct sqlite3;
struct sqlite3_stmt;

namespace bel::storage {

// How long a connection waits for another connection's lock before failing with
// storage_unavailable ("database is locked").
inline constexpr int kSqliteBusyTimeoutMs = 5000;

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

// `sql` followed by `item` `n` times, comma-separated: "INSERT ... VALUES(?, ?), (?, ?)", a
// statement that writes n rows at once, or "... IN (" and "?", n parameters of a list.
std::string with_repeated(std::string_view sql, std::string_view item, size_t n);

// Binds an event_id as the events table stores it (schema version 2): a canonical lowercase
// UUID as its 16 bytes (a BLOB), any other id as TEXT. SQLite never compares a BLOB equal to a
// TEXT, so the two forms cannot collide and the UNIQUE index keeps idempotency exact. Only the
// canonical form is compacted, so every id reads back exactly as given.
// REQUIRES: `id` outlives the statement's next step (TEXT is bound without a copy).
void bind_event_id(sqlite3_stmt* stmt, int i, const std::string& id);

// Binds text / a blob without a copy. REQUIRES: `s` outlives the statement's next step.
void bind_text(sqlite3_stmt* stmt, int i, const std::string& s);
void bind_blob(sqlite3_stmt* stmt, int i, std::string_view s);
// Column `col` of the current row as bytes ("" for NULL).
std::string column_string(sqlite3_stmt* stmt, int col);

// An events row (schema version 5) keeps event_id, timestamp and build_request_id in columns and
// idx as its key; the payload is the event's protobuf bytes without those four fields (rows of
// older schemas still carry them in the payload too, with the same values). A read selects
// kEventRowColumns, in this order, and rebuilds the event with read_event_row.
inline constexpr const char* kEventRowColumns =
    "idx, event_id, timestamp, build_request_id, payload";

// The payload stored for `event` (append #position + 1, counted from 0): its bytes without the
// fields its row keeps in columns (event_detail.h, serialize_event_body). internal naming the
// append when it does not serialize.
Status stored_payload(const std::string& uri, size_t position, const BuildEvent& event,
                      std::string& payload);

// The event of the current row of `stmt`, whose columns from `first` on are kEventRowColumns:
// the payload parsed with `detail` (event_detail.h), then idx and the column-kept fields set from
// their columns. storage_corrupt "<uri>: <what>: the payload of idx N does not parse".
Status read_event_row(sqlite3_stmt* stmt, int first, const std::string& uri, std::string_view what,
                      BuildEvent* event, EventDetail detail = EventDetail::full);

// The second half of read_event_row: sets idx and the column-kept fields of `event` (whose
// payload is already parsed) from the current row's kEventRowColumns from `first` on; event_id
// only with EventDetail::full.
void set_event_columns(sqlite3_stmt* stmt, int first, BuildEvent* event,
                       EventDetail detail = EventDetail::full);

// An event_id column (BLOB of 16 bytes or TEXT) as the id's text.
std::string column_event_id(sqlite3_stmt* stmt, int col);

}  // namespace bel::storage

#endif  // BEL_STORAGE_SQLITE_SUPPORT_H_
