#include "actors/check/derived_check.h"

#include <fmt/format.h>
#include <google/protobuf/arena.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>

#include "actors/check/row_digest.h"
#include "actors/check/sqlite_db.h"
#include "messages/event_id.h"
#include "messages/event_keys.h"
#include "messages/types.h"
#include "storage/checks.h"
#include "storage/event_detail.h"
#include "storage/sqlite_indexer.h"
#include "storage/sqlite_postings.h"
#include "storage/sqlite_schema.h"
#include "storage/sqlite_support.h"
#include "storage/storage.h"

namespace bel::check {
// Named, not anonymous: DerivedRowsPass::State, a class the header declares, holds these types
// (gcc's -Wsubobject-linkage, when this file is compiled in a batch with others).
namespace derived_rows {

using check::RowDigest;
using storage::exec_sql;
using storage::prepare;
using storage::sqlite_error;

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

}  // namespace derived_rows

using namespace derived_rows;  // NOLINT: this file's own helpers

// The comparison behind "derived rows", over one read transaction: the event rows first (handed
// out as pages, or read here), then the key index and the event_id index.
struct DerivedRowsPass::State {
  // Events parsed here (not into a caller's page) go on an arena freed every kPerArena events:
  // parsed onto the heap, every string is a malloc and a free (a fifth of this pass's time).
  static constexpr int kPerArena = 1024;

  std::string uri;
  Db db;
  bool in_transaction = false;
  int64_t watermark = 0;      // the key index's (meta indexed_idx)
  int64_t last = 0;           // the snapshot's last idx
  storage::Statement events;  // the event rows in idx order, stepped across calls
  bool have_row = false;      // `events` stands on a row not yet taken
  bool events_done = false;
  int64_t read_to = 0;  // the idx of the last event taken
  Status failed = ok_status();
  RowDigest table_ids, expected_keys;
  int64_t column_mismatches = 0, type_mismatches = 0;
  std::string first_column_mismatch, first_type_mismatch;
  std::vector<std::string> problems;
  std::string payload_id, payload_build;  // scratch: the payload's own copies (schema 4, older)
  // Events whose stored text is not UTF-8 (written before appends refused it), read with U+FFFD
  // (storage/payload_text.h): how many, and the first's idx and fields.
  std::string text_fields;  // scratch
  int64_t text_repaired = 0;
  std::string first_text;
  std::thread rest;
  std::optional<CheckResult> out;

  Status begin() {
    BEL_RETURN_IF_ERROR(exec_sql(db.get(), uri, "BEGIN", "derived rows"));
    in_transaction = true;
    auto mark = storage::read_indexed_idx(db.get(), uri);
    if (!mark.ok()) return mark.error();
    watermark = *mark;
    BEL_RETURN_IF_ERROR(each_row(db.get(), uri, "SELECT coalesce(max(idx), 0) FROM events",
                                 "reading the last idx", [&](sqlite3_stmt* stmt) {
                                   last = sqlite3_column_int64(stmt, 0);
                                   return ok_status();
                                 }));
    auto stmt = prepare(db.get(), uri,
                        std::string("SELECT ") + storage::kEventRowColumns +
                            ", event_type FROM events NOT INDEXED WHERE idx <= ? ORDER BY idx");
    if (!stmt.ok()) return stmt.error();
    events = std::move(*stmt);
    sqlite3_bind_int64(events.get(), 1, last);
    return ok_status();
  }

  // Steps to the next row not yet taken; false at the end (or on an error, in `failed`).
  bool next_row() {
    if (have_row) return true;
    if (events_done || !failed.ok()) return false;
    const int rc = sqlite3_step(events.get());
    if (rc == SQLITE_ROW) return have_row = true;
    events_done = true;
    if (rc != SQLITE_DONE) failed = sqlite_error(uri, db.get(), rc, "reading the events");
    return false;
  }

  // Takes the current row into `event` (allocated where its caller wants it), parsed with every
  // field when `full` (event_id formatted from its column), else with event_id left out.
  Status take_row(BuildEvent* event, bool full) {
    sqlite3_stmt* stmt = events.get();
    have_row = false;
    const int64_t idx = sqlite3_column_int64(stmt, 0);
    read_to = idx;
    add_id(table_ids, stmt, 1, idx);
    // The payload parsed once: rows of schema 4 and older also carry the column-kept fields in
    // it, and the two must agree. Newer payloads leave them out (storage/sqlite_support.h).
    const void* payload = sqlite3_column_blob(stmt, 4);
    const std::string_view bytes(static_cast<const char*>(payload),
                                 payload == nullptr ? 0 : sqlite3_column_bytes(stmt, 4));
    // Every field, as the storage parses a page of EventDetail::full (the pages must equal its).
    if (!storage::parse_event_payload(bytes, storage::EventDetail::full, event, &text_fields)) {
      failed = make_error(ErrorCode::storage_corrupt,
                          fmt::format("{}: the payload of idx {} does not parse", uri, idx));
      events_done = true;
      return failed;
    }
    if (!text_fields.empty() && text_repaired++ == 0) {
      first_text = fmt::format("idx {} ({})", idx, text_fields);
    }
    payload_id = event->event_id();
    payload_build = event->build_request_id();
    // The event_id only when asked for or when there is a payload's to compare with (the key
    // rows do not use it, and formatting a UUID column costs).
    storage::set_event_columns(stmt, 0, event,
                               full ? storage::EventDetail::full : storage::EventDetail::views);
    const bool id_differs =
        !payload_id.empty() &&
        payload_id != (full ? event->event_id() : storage::column_event_id(stmt, 1));
    const bool build_differs = !payload_build.empty() && payload_build != event->build_request_id();
    if ((id_differs || build_differs) && column_mismatches++ == 0) {
      first_column_mismatch = fmt::format(
          "idx {}: the event_id or build_request_id column differs from the payload", idx);
    }
    // The type filters of the reads (storage/sqlite_query.h) select on this column.
    const int type_column = sqlite3_column_int(stmt, 5);
    if (type_column != event_type_number(*event) && type_mismatches++ == 0) {
      first_type_mismatch =
          fmt::format("idx {}: the event_type column holds {} where the payload is a {} ({})", idx,
                      type_column, event_type_name(*event), event_type_number(*event));
    }
    if (idx <= watermark) {
      // Exactly the rows the indexer writes for the event (storage/sqlite_indexer.h).
      storage::for_each_key_row(*event, [&](int kind, std::string_view key) {
        expected_keys.add(static_cast<uint64_t>(kind), key, idx);
      });
    }
    return ok_status();
  }

  // The events no page took, then the key index and the event_id index: the CheckResult.
  CheckResult finish() {
    google::protobuf::Arena arena;
    int on_arena = 0;
    while (next_row()) {
      if (++on_arena > kPerArena) {
        arena.Reset();
        on_arena = 1;
      }
      (void)take_row(google::protobuf::Arena::CreateMessage<BuildEvent>(&arena), false);
    }
    Status compared = failed;
    std::string summary;
    if (compared.ok()) compared = compare_indexes(summary);
    events = storage::Statement();
    if (in_transaction) (void)exec_sql(db.get(), uri, "COMMIT", "derived rows");
    in_transaction = false;
    CheckResult result{"derived rows", false, ""};
    if (!compared.ok()) {
      result.detail = compared.error().message;
    } else if (!problems.empty()) {
      result.detail =
          fmt::format("{}; bel check --repair rebuilds them", fmt::join(problems, "; "));
    } else {
      result.ok = true;
      result.detail = summary;
    }
    if (text_repaired > 0) {
      // Not a failure: every read gives these events alike, and the log stays as written.
      result.detail += fmt::format(
          "; {} {} text that is not UTF-8 (stored before appends refused it), read with U+FFFD "
          "for each byte that is not: first {}",
          text_repaired, text_repaired == 1 ? "event holds" : "events hold", first_text);
    }
    return result;
  }

  Status compare_indexes(std::string& summary) {
    const auto first_of = [&](const std::string& first, int64_t count) {
      if (count == 0) return;
      problems.insert(
          problems.begin(),
          count == 1 ? first : fmt::format("{} (and {} more events)", first, count - 1));
    };
    first_of(first_type_mismatch, type_mismatches);
    first_of(first_column_mismatch, column_mismatches);
    if (watermark > read_to) {
      problems.push_back(
          fmt::format("the key index watermark {} is above the last idx {}", watermark, read_to));
    }
    // The key index's rows as the reads use them: each postings row's idx parsed as
    // storage/sqlite_postings.h does (the event_keys view expands the same rows through SQLite's
    // json_each, at several times the cost), and its first_idx and last_idx, which the reads
    // skip rows by, checked against them.
    RowDigest found_keys, index_ids;
    std::vector<int64_t> idxs;
    int64_t bounds_wrong = 0;
    BEL_RETURN_IF_ERROR(each_row(
        db.get(), uri, "SELECT kind, key, last_idx, first_idx, idxs FROM key_postings",
        "reading the key index", [&](sqlite3_stmt* stmt) -> Status {
          const uint64_t kind = static_cast<uint64_t>(sqlite3_column_int(stmt, 0));
          const void* key = sqlite3_column_blob(stmt, 1);
          const std::string_view key_text(
              static_cast<const char*>(key),
              key == nullptr ? 0 : static_cast<size_t>(sqlite3_column_bytes(stmt, 1)));
          const void* text = sqlite3_column_blob(stmt, 4);
          idxs.clear();
          BEL_RETURN_IF_ERROR(storage::parse_postings(
              std::string_view(
                  static_cast<const char*>(text),
                  text == nullptr ? 0 : static_cast<size_t>(sqlite3_column_bytes(stmt, 4))),
              idxs, uri + ": the key index"));
          for (int64_t idx : idxs) found_keys.add(kind, key_text, idx);
          const auto [lo, hi] = std::minmax_element(idxs.begin(), idxs.end());
          if (idxs.empty() || *hi != sqlite3_column_int64(stmt, 2) ||
              *lo != sqlite3_column_int64(stmt, 3)) {
            ++bounds_wrong;
          }
          return ok_status();
        }));
    if (bounds_wrong > 0) {
      problems.push_back(fmt::format(
          "key index (key_postings): {} rows whose first_idx or last_idx is not their lowest or "
          "highest idx",
          bounds_wrong));
    }
    std::string id_index;
    BEL_RETURN_IF_ERROR(each_row(db.get(), uri,
                                 "SELECT name FROM sqlite_master WHERE type = 'index'"
                                 " AND tbl_name = 'events' AND sql IS NULL",
                                 "finding the event_id index", [&](sqlite3_stmt* stmt) {
                                   id_index = column_bytes(stmt, 0);
                                   return ok_status();
                                 }));
    if (id_index.empty()) {
      return make_error(ErrorCode::storage_corrupt, uri + ": no event_id index");
    }
    BEL_RETURN_IF_ERROR(each_row(db.get(), uri,
                                 "SELECT event_id, idx FROM events INDEXED BY " + id_index,
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
        table_ids.rows, found_keys.rows, watermark);
    return ok_status();
  }
};

DerivedRowsPass::DerivedRowsPass(std::unique_ptr<State> state) : state_(std::move(state)) {}

DerivedRowsPass::~DerivedRowsPass() {
  if (state_->rest.joinable()) state_->rest.join();
  state_->events = storage::Statement();
  if (state_->in_transaction) {
    (void)exec_sql(state_->db.get(), state_->uri, "COMMIT", "derived rows");
  }
}

Result<std::unique_ptr<DerivedRowsPass>> DerivedRowsPass::open(const std::string& uri,
                                                               const std::string& path) {
  auto db = open_db(uri, path, SQLITE_OPEN_READONLY);
  if (!db.ok()) return db.error();
  auto state = std::make_unique<State>();
  state->uri = uri;
  state->db = std::move(*db);
  BEL_RETURN_IF_ERROR(state->begin());
  return std::unique_ptr<DerivedRowsPass>(new DerivedRowsPass(std::move(state)));
}

int64_t DerivedRowsPass::last_idx() const { return state_->last; }

Status DerivedRowsPass::read_page(int64_t since, int limit, EventPage* page) {
  State& st = *state_;
  // The thread first: once it runs, it alone touches the rest of the state.
  if (st.rest.joinable() || st.out) {
    return make_error(ErrorCode::internal,
                      st.uri + ": derived rows: a page was asked after the pass had finished");
  }
  if (since != st.read_to) {
    return make_error(ErrorCode::internal,
                      fmt::format("{}: derived rows: the page after idx {} was asked of a pass "
                                  "that has read to idx {}",
                                  st.uri, since, st.read_to));
  }
  auto* events = page->mutable_events();
  while (st.next_row()) {
    if (events->size() >= limit) {
      page->set_has_more(true);
      return ok_status();
    }
    BEL_RETURN_IF_ERROR(st.take_row(events->Add(), true));
    page->set_next_idx(st.read_to);
  }
  BEL_RETURN_IF_ERROR(st.failed);
  // Every event read: the rest of the check runs beside whatever the caller does next.
  not_read();
  return ok_status();
}

void DerivedRowsPass::not_read() {
  State& st = *state_;
  if (st.out || st.rest.joinable()) return;
  try {
    st.rest = std::thread([&st] { st.out = st.finish(); });
  } catch (const std::system_error&) {
    // No thread: result() does it.
  }
}

CheckResult DerivedRowsPass::result() {
  if (state_->rest.joinable()) state_->rest.join();
  if (!state_->out) state_->out = state_->finish();
  return *state_->out;
}

CheckResult check_sqlite_integrity(const std::string& uri, const std::string& path) {
  auto db = open_db(uri, path, SQLITE_OPEN_READONLY);
  if (!db.ok()) return CheckResult{"integrity", false, db.error().message};
  return integrity_check(db->get(), uri);
}

std::vector<CheckResult> check_sqlite_file(const std::string& uri, const std::string& path,
                                           bool integrity) {
  std::vector<CheckResult> out;
  if (integrity) out.push_back(check_sqlite_integrity(uri, path));
  auto pass = DerivedRowsPass::open(uri, path);
  out.push_back(pass.ok() ? (*pass)->result()
                          : CheckResult{"derived rows", false, pass.error().message});
  return out;
}

}  // namespace bel::check
