#include "actors/check/postgres_check.h"

#include <fmt/format.h>
#include <google/protobuf/arena.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actors/check/row_digest.h"
#include "messages/event_id.h"
#include "messages/event_keys.h"
#include "messages/types.h"
#include "storage/event_detail.h"
#include "storage/postgres_support.h"

namespace bel::check {
namespace {

using storage::pg_cell;
using storage::pg_cell_int;
using storage::pq;

constexpr int kFetchRows = 5000;

bool is_null(const PGresult* r, int row, int col) { return pq().PQgetisnull(r, row, col) != 0; }

// Declares cursor `name` for `sql` and hands each row of it to `row`, kFetchRows at a time.
Status each_row(storage::PgConnection& db, const char* name, const std::string& sql,
                const std::string& what, const std::function<Status(const PGresult*, int)>& row) {
  BEL_RETURN_IF_ERROR(
      db.command(std::string("DECLARE ") + name + " NO SCROLL CURSOR FOR " + sql, what));
  const std::string fetch = "FETCH " + std::to_string(kFetchRows) + " FROM " + name;
  for (;;) {
    auto rows = db.exec(fetch, {}, what);
    if (!rows.ok()) return rows.error();
    const int n = pq().PQntuples(rows->get());
    for (int i = 0; i < n; ++i) BEL_RETURN_IF_ERROR(row(rows->get(), i));
    if (n < kFetchRows) break;
  }
  return db.command(std::string("CLOSE ") + name, what);
}

struct Pass {
  std::string uri;  // as shown
  RowDigest expected_keys, found_keys;
  int64_t events = 0;
  int64_t last_idx = 0;
  int64_t column_mismatches = 0;
  std::string first_mismatch;

  void mismatch(int64_t idx, const char* column) {
    if (column_mismatches++ == 0) {
      first_mismatch = fmt::format("idx {}: the {} column differs from the payload", idx, column);
    }
  }

  Status read_events(storage::PgConnection& db) {
    google::protobuf::Arena arena;
    int on_arena = 0;
    return each_row(
        db, "bel_check_events",
        "SELECT idx, event_uuid, event_text, timestamp, build_request_id, event_type, payload "
        "FROM events ORDER BY idx",
        "derived rows: reading the events", [&](const PGresult* r, int row) -> Status {
          if (++on_arena > 1024) {
            arena.Reset();
            on_arena = 1;
          }
          const int64_t idx = pg_cell_int(r, row, 0);
          ++events;
          last_idx = idx;
          auto payload = storage::pg_bytea_from_text(pg_cell(r, row, 6));
          auto* event = google::protobuf::Arena::CreateMessage<BuildEvent>(&arena);
          if (!payload ||
              !storage::parse_event_payload(*payload, storage::EventDetail::full, event)) {
            return make_error(ErrorCode::storage_corrupt,
                              fmt::format("{}: the payload of idx {} does not parse", uri, idx));
          }
          const bool by_uuid = !is_null(r, row, 1);
          // A canonical UUID is kept in event_uuid, any other id in event_text (the append's
          // rule), so the two UNIQUE constraints together keep ids unique.
          if (by_uuid == !is_null(r, row, 2) ||
              by_uuid != uuid_to_bytes(event->event_id()).has_value() ||
              pg_cell(r, row, by_uuid ? 1 : 2) != event->event_id()) {
            mismatch(idx, "event_uuid or event_text");
          }
          if (pg_cell(r, row, 3) != std::to_string(event->timestamp())) mismatch(idx, "timestamp");
          if (pg_cell(r, row, 4) != event->build_request_id()) mismatch(idx, "build_request_id");
          if (pg_cell(r, row, 5) != std::to_string(event_type_number(*event))) {
            mismatch(idx, "event_type");
          }
          for_each_key(*event, [&](KeyKind kind, std::string_view key) {
            expected_keys.add(static_cast<uint64_t>(kind), key, idx);
          });
          return ok_status();
        });
  }

  Status read_keys(storage::PgConnection& db) {
    return each_row(db, "bel_check_keys", "SELECT kind, key, idx FROM event_keys",
                    "derived rows: reading event_keys", [&](const PGresult* r, int row) {
                      found_keys.add(static_cast<uint64_t>(pg_cell_int(r, row, 0)),
                                     pg_cell(r, row, 1), pg_cell_int(r, row, 2));
                      return ok_status();
                    });
  }
};

}  // namespace

CheckResult check_postgres_derived_rows(const std::string& uri) {
  CheckResult out{"derived rows", false, ""};
  storage::PgConnection db(uri);
  Pass pass;
  pass.uri = db.uri();
  Status done = db.connect();
  if (done.ok()) {
    done = db.command("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "derived rows");
  }
  if (done.ok()) done = pass.read_events(db);
  if (done.ok()) done = pass.read_keys(db);
  if (db.connected()) db.rollback();
  if (!done.ok()) {
    out.detail = done.error().message;
    return out;
  }
  std::vector<std::string> problems;
  if (pass.column_mismatches > 0) {
    problems.push_back(pass.column_mismatches == 1
                           ? pass.first_mismatch
                           : fmt::format("{} (and {} more events)", pass.first_mismatch,
                                         pass.column_mismatches - 1));
  }
  if (!(pass.found_keys == pass.expected_keys)) {
    problems.push_back(
        fmt::format("key index (event_keys): {} rows disagree with the {} the "
                    "events give",
                    pass.found_keys.rows, pass.expected_keys.rows));
  }
  if (!problems.empty()) {
    out.detail = fmt::format("{}: {}", pass.uri, fmt::join(problems, "; "));
    return out;
  }
  out.ok = true;
  out.detail = fmt::format(
      "{} events, {} key rows up to idx {}; the event columns and event_keys agree with the "
      "payloads",
      pass.events, pass.found_keys.rows, pass.last_idx);
  return out;
}

}  // namespace bel::check
