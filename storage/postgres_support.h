// libpq helpers for the postgres:// backend (storage/postgres_storage.h): one connection with its
// errors mapped to SPEC section 7 codes, text parameters, and COPY rows.
//
//   PgConnection db(uri);
//   BEL_RETURN_IF_ERROR(db.connect());
//   auto r = db.exec("SELECT value FROM meta WHERE key = $1", {key}, "get_meta");
//   if (!r.ok()) return r.error();
//   if (pq().PQntuples(r->get()) == 1) value = pq().PQgetvalue(r->get(), 0, 0);
//
// Not thread-safe: one owner per connection, like the Storage that holds it.
#ifndef BEL_STORAGE_POSTGRES_SUPPORT_H_
#define BEL_STORAGE_POSTGRES_SUPPORT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "messages/error.h"
#include "storage/libpq_api.h"
#include "storage/uri.h"

namespace bel::storage {

struct PgResultDeleter {
  void operator()(PGresult* r) const { pq().PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// A text parameter; nothing is SQL NULL. Binary values (bytea) go as hex text: "\x0a1b".
using PgParam = std::optional<std::string>;

// "\x" followed by the bytes in hex: bytea's text input form.
std::string pg_bytea_hex(std::string_view bytes);

// Decodes the text form of a bytea column ("\x0a1b"). Nothing when it is not that form.
std::optional<std::string> pg_bytea_from_text(std::string_view text);

// A libpq or server message on one line, as bel's messages are: its lines trimmed and joined
// with "; ", the line that only points a caret at a position in the SQL left out.
//   "...failed: No such file or directory\n\tIs the server running...?\n"
//     -> "...failed: No such file or directory; Is the server running...?"
std::string pg_message_text(std::string_view message);

// A result's cell as bytes (text format); "" for NULL or a cell the result does not have (a
// result cut short by a lost connection must not crash the reader).
std::string pg_cell(const PGresult* result, int row, int col);
// The cell as a decimal number; 0 for an empty cell.
int64_t pg_cell_int(const PGresult* result, int row, int col);

// Appends `value` to a COPY ... FROM STDIN text-format row, escaping backslash, tab, newline and
// carriage return (the row's separators).
void pg_copy_append(std::string& row, std::string_view value);

class PgConnection;

// OK unless schema `schema` holds tables of bel's names (events, event_keys, snapshots) but no
// bel meta table: another program's, which bel neither reads as a log nor adds its tables to.
// storage_corrupt naming them then. Tables of other names are no concern of bel's.
Status pg_check_not_foreign(PgConnection& db, const std::string& schema);

class PgConnection {
 public:
  explicit PgConnection(std::string uri) : uri_(std::move(uri)), shown_(shown_uri(uri_)) {}
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Connects (again, after a loss). storage_unavailable with libpq's message when the server
  // cannot be reached or refuses the login; unsupported_uri when the URI does not parse.
  // After a failed attempt the next ones wait out a backoff (50 ms doubling to 2 s): a call
  // within it fails at once with storage_unavailable instead of knocking again.
  Status connect();
  // True after a successful connect() while libpq still believes the connection is up.
  bool connected() const;
  // Counts successful connects: session state (LISTEN, prepared statements) made on an earlier
  // count is gone.
  uint64_t generation() const { return generation_; }

  // Runs `sql` with `params` ($1, $2, ...; text format) and returns its result. A lost connection
  // is storage_unavailable (and the next call reconnects once before giving up); a statement
  // error keeps PostgreSQL's SQLSTATE in the message. `what` names the operation for messages.
  Result<PgResult> exec(const std::string& sql, const std::vector<PgParam>& params,
                        std::string_view what);
  // The same for a statement prepared once per connection under `name`.
  Result<PgResult> exec_prepared(const char* name, const char* sql,
                                 const std::vector<PgParam>& params, std::string_view what);
  // Runs a statement without parameters or results worth keeping (BEGIN, COMMIT, DDL).
  Status command(const std::string& sql, std::string_view what);
  // Streams `rows` (COPY text format, each ending in '\n') into `copy_sql` (COPY t(...) FROM
  // STDIN), in messages of at most 64 KiB: the server counts a COPY's bytes as each message
  // arrives, so that a writer sending a large group slowly shows progress
  // (storage/postgres_lock.h: a holder whose COPY moves is never taken for a stopped one).
  Status copy_in(const std::string& copy_sql, const std::string& rows, std::string_view what);
  // ROLLBACK, ignoring errors (the transaction may already be gone with the connection).
  void rollback();

  // The SQLSTATE of the last failed statement ("23505" for a unique violation), or "".
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  // The URI as messages show it (no password: shown_uri()), and as it connects.
  const std::string& uri() const { return shown_; }
  const std::string& conninfo() const { return uri_; }
  PGconn* raw() { return conn_; }

 private:
  // Before a statement outside a transaction: reads what the server sent while the connection
  // was idle (a restarted server's goodbye), so a connection it closed is replaced before the
  // statement rather than failing it; connects when not connected.
  Status ready();
  Error error_of(const PGresult* result, std::string_view what);
  Result<PgResult> checked(PGresult* result, std::string_view what);

  std::string uri_;
  std::string shown_;
  PGconn* conn_ = nullptr;
  std::vector<std::string> prepared_;  // statement names prepared on this connection
  std::string last_sqlstate_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
  std::string last_refusal_;  // why the last attempt to connect failed, while backing off
  uint64_t generation_ = 0;
};

}  // namespace bel::storage

#endif  // BEL_STORAGE_POSTGRES_SUPPORT_H_
