#include "storage/postgres_support.h"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <cstdlib>

#include "messages/escape.h"

namespace bel::storage {
namespace {

constexpr char kHex[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// SQLSTATE classes that mean the server or the connection went away, not that the statement
// was wrong: 08 connection exception, 57P01..57P03 admin shutdown / crash shutdown / cannot
// connect now, 53 insufficient resources, 58 system error.
bool unavailable_state(const std::string& state) {
  return state.empty() || state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0 ||
         state.rfind("53", 0) == 0 || state.rfind("58", 0) == 0;
}

std::string trimmed(const char* message) {
  return pg_message_text(message == nullptr ? "" : message);
}

// libpq's complaint about a URI it cannot parse quotes the part it stumbled on, which may be the
// password (`invalid percent-encoded token: "S3cret%zz"`) or the whole URI: what it quotes is
// left out, what kind of mistake it is stays.
std::string without_quoted(std::string text) {
  constexpr std::string_view kLeftOut = "…";
  size_t open = text.find('"');
  while (open != std::string::npos) {
    const size_t close = text.find('"', open + 1);
    text.replace(open + 1, close == std::string::npos ? std::string::npos : close - open - 1,
                 kLeftOut);
    if (close == std::string::npos) return text + '"';
    open = text.find('"', open + 1 + kLeftOut.size() + 1);
  }
  return text;
}

}  // namespace

std::string pg_message_text(std::string_view message) {
  std::string out;
  while (!message.empty()) {
    const size_t end = std::min(message.find('\n'), message.size());
    const std::string_view line = trim_blanks(message.substr(0, end));
    message.remove_prefix(std::min(end + 1, message.size()));
    if (line.empty() || line.find_first_not_of(" ^") == std::string_view::npos) continue;
    if (!out.empty()) out += "; ";
    out += line;
  }
  return out;
}

std::string pg_bytea_hex(std::string_view bytes) {
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

std::optional<std::string> pg_bytea_from_text(std::string_view text) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0) {
    return std::nullopt;
  }
  std::string out;
  out.reserve((text.size() - 2) / 2);
  for (size_t i = 2; i < text.size(); i += 2) {
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::string pg_cell(const PGresult* result, int row, int col) {
  const LibPq& api = pq();
  if (row >= api.PQntuples(result) || col >= api.PQnfields(result) ||
      api.PQgetisnull(result, row, col)) {
    return {};
  }
  return std::string(api.PQgetvalue(result, row, col), api.PQgetlength(result, row, col));
}

int64_t pg_cell_int(const PGresult* result, int row, int col) {
  const std::string text = pg_cell(result, row, col);
  return text.empty() ? 0 : std::strtoll(text.c_str(), nullptr, 10);
}

void pg_copy_append(std::string& row, std::string_view value) {
  append_escaped(row, value, {{'\\', "\\\\"}, {'\t', "\\t"}, {'\n', "\\n"}, {'\r', "\\r"}});
}

Status pg_check_not_foreign(PgConnection& db, const std::string& schema) {
  // Only tables of bel's own names: a schema shared with other tables (public with PostGIS's
  // spatial_ref_sys, say) holds a bel log beside them as it always did.
  auto r = db.exec(
      "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 AND "
      "table_name IN ('meta', 'events', 'event_keys', 'snapshots') "
      "ORDER BY table_name = 'meta' DESC, table_name",
      {schema}, "initialize: the schema's tables");
  if (!r.ok()) return r.error();
  const int rows = pq().PQntuples(r->get());
  if (rows == 0 || pg_cell(r->get(), 0, 0) == "meta") return ok_status();
  std::vector<std::string> tables;
  for (int i = 0; i < rows; ++i) tables.push_back(pg_cell(r->get(), i, 0));
  return make_error(ErrorCode::storage_corrupt,
                    fmt::format("{}: not a bel log: schema {} has tables ({}) but no bel meta "
                                "table; give bel a schema of its own (options=-csearch_path%3D"
                                "NAME in the URI) or a database of its own",
                                db.uri(), schema, fmt::join(tables, ", ")));
}

PgConnection::~PgConnection() {
  if (conn_ != nullptr) pq().PQfinish(conn_);
}

Status PgConnection::connect() {
  if (conn_ != nullptr) {
    pq().PQfinish(conn_);
    conn_ = nullptr;
  }
  prepared_.clear();
  const auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_) {
    // No attempt is made now: the last one's reason, and when this log tries again.
    return make_error(
        ErrorCode::storage_unavailable,
        fmt::format(
            "{}: cannot connect to PostgreSQL: {} (the next attempt in {} ms)", shown_,
            last_refusal_,
            std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now).count()));
  }
  BEL_RETURN_IF_ERROR(load_libpq(shown_));  // loaded with the first PostgreSQL log
  char* parse_error = nullptr;
  PQconninfoOption* parsed = pq().PQconninfoParse(uri_.c_str(), &parse_error);
  if (parsed == nullptr) {
    std::string why = without_quoted(trimmed(parse_error));
    pq().PQfreemem(parse_error);
    return make_error(ErrorCode::unsupported_uri,
                      fmt::format("{}: not a PostgreSQL connection URI: {} (the quoted text is "
                                  "left out: it may hold the password)",
                                  shown_, why));
  }
  std::string password;
  for (const PQconninfoOption* option = parsed; option->keyword != nullptr; ++option) {
    if (std::string_view(option->keyword) == "password" && option->val != nullptr) {
      password = option->val;
    }
  }
  pq().PQconninfoFree(parsed);
  conn_ = pq().PQconnectdb(uri_.c_str());
  if (pq().PQstatus(conn_) != CONNECTION_OK) {
    std::string why = trimmed(pq().PQerrorMessage(conn_));
    // libpq quotes an option value it cannot use (`invalid integer value "Sec" for connection
    // option "port"`): a part of a password written unencoded, misread. And the password itself,
    // should a message ever quote it, is hidden.
    if (why.find("invalid ") != std::string::npos) why = without_quoted(why);
    for (size_t at = password.empty() ? std::string::npos : why.find(password);
         at != std::string::npos; at = why.find(password, at + 3)) {
      why.replace(at, password.size(), "***");
    }
    pq().PQfinish(conn_);
    conn_ = nullptr;
    backoff_ = std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(2000),
        backoff_.count() == 0 ? std::chrono::milliseconds(50) : backoff_ * 2);
    next_attempt_ = std::chrono::steady_clock::now() + backoff_;
    last_refusal_ = why;
    return make_error(ErrorCode::storage_unavailable,
                      fmt::format("{}: cannot connect to PostgreSQL: {}", shown_, why));
  }
  backoff_ = std::chrono::milliseconds(0);
  ++generation_;
  // Quiet NOTICEs ("relation already exists, skipping") instead of printing them on stderr.
  pq().PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  return ok_status();
}

bool PgConnection::connected() const {
  return conn_ != nullptr && pq().PQstatus(conn_) == CONNECTION_OK;
}

Status PgConnection::ready() {
  // A server that restarted closed this connection while it was idle; libpq notices only when
  // it reads. Reading now (never blocking) marks it bad, and it is replaced before use. Inside a
  // transaction a loss must fail the statement instead, so only an idle connection is checked.
  // The goodbye and the close may take a read each.
  if (connected() && pq().PQtransactionStatus(conn_) == PQTRANS_IDLE) {
    pollfd fd{pq().PQsocket(conn_), POLLIN, 0};
    for (int reads = 0; reads < 4 && connected() && ::poll(&fd, 1, 0) > 0; ++reads) {
      pq().PQconsumeInput(conn_);
    }
  }
  if (!connected()) return connect();
  return ok_status();
}

Error PgConnection::error_of(const PGresult* result, std::string_view what) {
  const char* state =
      result == nullptr ? nullptr : pq().PQresultErrorField(result, PG_DIAG_SQLSTATE);
  last_sqlstate_ = state == nullptr ? "" : state;
  std::string message = trimmed(result != nullptr ? pq().PQresultErrorMessage(result) : "");
  if (message.empty()) message = trimmed(conn_ != nullptr ? pq().PQerrorMessage(conn_) : "");
  const bool lost = conn_ == nullptr || pq().PQstatus(conn_) != CONNECTION_OK;
  ErrorCode code = ErrorCode::internal;
  if (lost || unavailable_state(last_sqlstate_)) {
    code = ErrorCode::storage_unavailable;
  } else if (last_sqlstate_ == "22021" || last_sqlstate_ == "22P05") {
    code = ErrorCode::invalid_argument;  // bytes the database encoding cannot hold
  } else if (last_sqlstate_ == "42501") {
    code = ErrorCode::storage_unavailable;  // the log is fine: this user may not use it
  } else if (last_sqlstate_.rfind("42", 0) == 0) {
    code = ErrorCode::storage_corrupt;  // a missing table or column: not a bel log
  }
  return make_error(
      code, fmt::format("{}: {}: {}{}", shown_, what, message,
                        last_sqlstate_.empty() ? "" : " (SQLSTATE " + last_sqlstate_ + ")"));
}

Result<PgResult> PgConnection::checked(PGresult* raw, std::string_view what) {
  PgResult result(raw);
  const ExecStatusType status = result ? pq().PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_IN) {
    last_sqlstate_.clear();
    return result;
  }
  return error_of(result.get(), what);
}

namespace {

struct ParamArrays {
  std::vector<const char*> values;
  explicit ParamArrays(const std::vector<PgParam>& params) {
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  }
};

}  // namespace

Result<PgResult> PgConnection::exec(const std::string& sql, const std::vector<PgParam>& params,
                                    std::string_view what) {
  BEL_RETURN_IF_ERROR(ready());
  ParamArrays arrays(params);
  return checked(pq().PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                   arrays.values.data(), nullptr, nullptr, 0),
                 what);
}

Result<PgResult> PgConnection::exec_prepared(const char* name, const char* sql,
                                             const std::vector<PgParam>& params,
                                             std::string_view what) {
  BEL_RETURN_IF_ERROR(ready());
  if (std::find(prepared_.begin(), prepared_.end(), name) == prepared_.end()) {
    auto prepared =
        checked(pq().PQprepare(conn_, name, sql, static_cast<int>(params.size()), nullptr), what);
    if (!prepared.ok()) return prepared.error();
    prepared_.emplace_back(name);
  }
  ParamArrays arrays(params);
  return checked(pq().PQexecPrepared(conn_, name, static_cast<int>(params.size()),
                                     arrays.values.data(), nullptr, nullptr, 0),
                 what);
}

Status PgConnection::command(const std::string& sql, std::string_view what) {
  BEL_RETURN_IF_ERROR(ready());
  auto result = checked(pq().PQexec(conn_, sql.c_str()), what);
  if (!result.ok()) return result.error();
  return ok_status();
}

Status PgConnection::copy_in(const std::string& copy_sql, const std::string& rows,
                             std::string_view what) {
  auto started = checked(pq().PQexec(conn_, copy_sql.c_str()), what);
  if (!started.ok()) return started.error();
  constexpr size_t kCopyMessageBytes = 64u << 10;
  for (size_t at = 0; at < rows.size(); at += kCopyMessageBytes) {
    const size_t n = std::min(kCopyMessageBytes, rows.size() - at);
    if (pq().PQputCopyData(conn_, rows.data() + at, static_cast<int>(n)) != 1) {
      return error_of(nullptr, what);
    }
  }
  if (pq().PQputCopyEnd(conn_, nullptr) != 1) return error_of(nullptr, what);
  // The COPY's own result, then nothing.
  Status status = ok_status();
  while (PGresult* raw = pq().PQgetResult(conn_)) {
    auto done = checked(raw, what);
    if (!done.ok() && status.ok()) status = done.error();
  }
  return status;
}

void PgConnection::rollback() {
  if (conn_ == nullptr) return;
  PGresult* r = pq().PQexec(conn_, "ROLLBACK");
  if (r != nullptr) pq().PQclear(r);
}

}  // namespace bel::storage
