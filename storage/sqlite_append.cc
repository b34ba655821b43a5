// SqliteStorage's write side: the event rows of an acknowledged commit, and the idempotency
// lookup of event_ids (storage.h, sqlite_storage.h). The reads are in sqlite_storage.cc, the
// meta and snapshot tables in sqlite_meta.cc, the derived key index in sqlite_indexer.cc.
#include <fmt/format.h>
#include <sqlite3.h>

#include <array>
#include <string_view>
#include <unordered_set>

#include "messages/event_id.h"
#include "messages/event_keys.h"
#include "storage/checks.h"
#include "storage/sqlite_storage.h"
#include "storage/sqlite_support.h"

namespace bel::storage {
namespace {

// event_ids looked up per statement by find_by_event_ids: the statements take 1, 2, 4, ... up to
// this many (padded with NULLs, which match nothing), so a handful serve every group size and
// none is prepared twice.
constexpr size_t kEventIdsPerLookup = size_t{1} << SqliteStorage::kLookupStatements;

}  // namespace

Status SqliteStorage::bind_event_row(sqlite3_stmt* stmt, int first, const BuildEvent& event,
                                     size_t position, int64_t idx, std::string& payload) {
  BEL_RETURN_IF_ERROR(stored_payload(uri(), position, event, payload));
  sqlite3_bind_int64(stmt, first + 1, idx);
  const std::string& id = event.event_id();
  std::array<char, 16> bytes;
  if (uuid_to_bytes(id, bytes)) {
    sqlite3_bind_blob(stmt, first + 2, bytes.data(), static_cast<int>(bytes.size()),
                      SQLITE_TRANSIENT);
    // Compared as std::string compares (unsigned bytes); assigned into the kept string's room.
    const std::string_view compact(bytes.data(), bytes.size());
    if (!pending_max_id_) {
      pending_max_id_.emplace(compact);
    } else if (compact > *pending_max_id_) {
      pending_max_id_->assign(compact);
    }
  } else {
    bind_text(stmt, first + 2, id);
  }
  sqlite3_bind_int64(stmt, first + 3, event.timestamp());
  bind_text(stmt, first + 4, event.build_request_id());
  sqlite3_bind_int(stmt, first + 5, event_type_number(event));
  bind_blob(stmt, first + 6, payload);
  return ok_status();
}

Result<int64_t> SqliteStorage::insert_batch(const std::vector<BuildEvent>& events) {
  int64_t first_idx = 0;
  {
    auto last = last_idx();
    if (!last.ok()) return last.error();
    first_idx = *last + 1;
  }
  static constexpr std::string_view kInsert =
      "INSERT INTO events(idx, event_id, timestamp, build_request_id, event_type, payload) VALUES";
  static constexpr std::string_view kRow = "(?, ?, ?, ?, ?, ?)";
  static const std::string kOneRow = with_repeated(kInsert, kRow, 1);
  static const std::string kRows = with_repeated(kInsert, kRow, kRowsPerInsert);
  auto insert_one = cached(insert_event_, kOneRow.c_str());
  if (!insert_one.ok()) return insert_one.error();
  auto insert_many = cached(insert_events_, kRows.c_str());
  if (!insert_many.ok()) return insert_many.error();

  // kRowsPerInsert rows per statement while that many are left, one at a time after that and
  // for the rows of a statement that failed (singles_until), so an error names its row.
  size_t singles_until = 0;
  for (size_t i = 0; i < events.size();) {
    const size_t n = i >= singles_until && events.size() - i >= kRowsPerInsert ? kRowsPerInsert : 1;
    sqlite3_stmt* stmt = n == 1 ? *insert_one : *insert_many;
    StatementReset reset(stmt);
    for (size_t k = 0; k < n; ++k) {
      BEL_RETURN_IF_ERROR(consult_fault_hook(FaultPoint::insert));
      BEL_RETURN_IF_ERROR(bind_event_row(stmt, static_cast<int>(6 * k), events[i + k], i + k,
                                         first_idx + static_cast<int64_t>(i + k), payloads_[k]));
    }
    const int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
      if (n == 1 && rc == SQLITE_CONSTRAINT_UNIQUE) {
        return duplicate_event_id_error(uri(), i, events[i].event_id());
      }
      // SQLite undid the failed statement's rows and, unless it ended the transaction (an I/O
      // error may), kept the rows before it: those rows again one at a time.
      if (n == 1 || sqlite3_get_autocommit(db_) != 0) {
        return error(rc, n == 1 ? fmt::format("append #{}", i + 1)
                                : fmt::format("append #{}..#{}", i + 1, i + n));
      }
      singles_until = i + n;
      continue;
    }
    i += n;
  }
  return first_idx;
}

Result<int64_t> SqliteStorage::commit_batch(const std::vector<BuildEvent>& events,
                                            const AppendCondition* /*condition*/) {
  // BEGIN IMMEDIATE takes the write lock up front, so the idx read below stays the highest
  // until COMMIT even if another process writes to the same file.
  auto written = [&]() -> Result<int64_t> {
    auto begin = cached(begin_, "BEGIN IMMEDIATE");
    if (!begin.ok()) return begin.error();
    {
      StatementReset reset(*begin);
      int rc = sqlite3_step(*begin);
      if (rc != SQLITE_DONE) return error(rc, "append: begin");
    }
    BEL_RETURN_IF_ERROR(consult_fault_hook(FaultPoint::begin));
    pending_max_id_.reset();
    auto first_idx = insert_batch(events);
    if (!first_idx.ok()) return first_idx.error();
    BEL_RETURN_IF_ERROR(consult_fault_hook(FaultPoint::commit));
    auto commit = cached(commit_, "COMMIT");
    if (!commit.ok()) return commit.error();
    StatementReset reset(*commit);
    int rc = sqlite3_step(*commit);
    if (rc != SQLITE_DONE) return error(rc, "append: commit");
    return first_idx;
  }();
  if (!written.ok()) {
    rollback();
    max_stored_id_known_ = false;  // whether COMMIT's rows are there is not known
    return written.error();
  }
  if (pending_max_id_ && (!max_stored_id_ || *pending_max_id_ > *max_stored_id_)) {
    max_stored_id_ = std::move(pending_max_id_);
  }
  kept_rows_.on_commit(events, *written, indexed_idx_, kIndexBatchEvents);
  committed_idx_ = *written + static_cast<int64_t>(events.size()) - 1;
  return written;
}

Result<sqlite3_stmt*> SqliteStorage::lookup_statement(size_t n) {
  size_t slot = 0;
  while ((size_t{1} << slot) < n) ++slot;
  Statement& cached_stmt = lookup_statements_[slot];
  if (!cached_stmt) {
    const std::string sql =
        with_repeated(fmt::format("SELECT {} FROM events WHERE event_id IN (", kEventRowColumns),
                      "?", size_t{1} << slot) +
        ")";
    auto stmt = prepare(db_, uri(), sql);
    if (!stmt.ok()) return stmt.error();
    cached_stmt = std::move(*stmt);
  }
  return cached_stmt.get();
}

bool SqliteStorage::know_max_stored_id() {
  if (options().read_only) return false;  // another connection writes
  if (max_stored_id_known_) return true;
  // SQLite's max() of an indexed column reads the last entry of its index. BLOBs sort after
  // TEXT and compare as memcmp, then shorter first, as std::string's operator< does.
  auto stmt = cached(max_event_id_, "SELECT max(event_id) FROM events");
  if (!stmt.ok()) return false;
  StatementReset reset(*stmt);
  if (sqlite3_step(*stmt) != SQLITE_ROW) return false;
  if (sqlite3_column_type(*stmt, 0) == SQLITE_BLOB) {
    max_stored_id_ = column_string(*stmt, 0);
  } else {
    max_stored_id_.reset();  // no BLOB id at all
  }
  max_stored_id_known_ = true;
  return true;
}

Result<std::vector<StoredEvent>> SqliteStorage::find_by_event_ids(
    const std::vector<std::string>& given) {
  std::vector<StoredEvent> found;
  // Ids above every stored UUID are not looked up: for a writer appending time-ordered ids,
  // that is nearly all of them (max_stored_id_).
  const bool know_max = know_max_stored_id();
  std::vector<const std::string*> event_ids;
  std::array<char, 16> bytes;
  for (const std::string& id : given) {
    if (know_max && uuid_to_bytes(id, bytes) &&
        (!max_stored_id_ || std::string_view(bytes.data(), bytes.size()) > *max_stored_id_)) {
      continue;
    }
    event_ids.push_back(&id);
  }
  std::unordered_set<int64_t> seen;
  for (size_t start = 0; start < event_ids.size(); start += kEventIdsPerLookup) {
    const size_t n = std::min(kEventIdsPerLookup, event_ids.size() - start);
    auto stmt = lookup_statement(n);
    if (!stmt.ok()) return stmt.error();
    StatementReset reset(*stmt);
    const int params = sqlite3_bind_parameter_count(*stmt);
    for (int i = 0; i < params; ++i) {
      if (static_cast<size_t>(i) < n) {
        bind_event_id(*stmt, i + 1, *event_ids[start + static_cast<size_t>(i)]);
      } else {
        sqlite3_bind_null(*stmt, i + 1);
      }
    }
    for (;;) {
      int rc = sqlite3_step(*stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return error(rc, "find_by_event_ids");
      const int64_t idx = sqlite3_column_int64(*stmt, 0);
      if (!seen.insert(idx).second) continue;
      StoredEvent stored;
      stored.idx = idx;
      BEL_RETURN_IF_ERROR(read_event_row(*stmt, 0, uri(), "find_by_event_ids", &stored.event));
      found.push_back(std::move(stored));
    }
  }
  return found;
}

}  // namespace bel::storage
