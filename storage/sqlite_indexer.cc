#include "storage/sqlite_indexer.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "messages/event_keys.h"
#include "messages/types.h"
#include "storage/sqlite_postings.h"
#include "storage/sqlite_support.h"

namespace bel::storage {
namespace {

// Reads the events above `after` (at most `max_events`) and returns their key rows, in idx
// order; `last` is the highest idx read (after when none).
Result<std::vector<KeyRow>> key_rows(sqlite3* db, const std::string& uri, int64_t after,
                                     int64_t max_events, int64_t* last) {
  auto stmt = prepare(
      db, uri,
      std::string("SELECT ") + kEventRowColumns + " FROM events WHERE idx > ? ORDER BY idx LIMIT ?");
  if (!stmt.ok()) return stmt.error();
  sqlite3_bind_int64(stmt->get(), 1, after);
  sqlite3_bind_int64(stmt->get(), 2, max_events);
  std::vector<KeyRow> rows;
  rows.reserve(static_cast<size_t>(std::min<int64_t>(max_events, 1 << 16)) * 4);
  BuildEvent event;
  *last = after;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    const int64_t idx = sqlite3_column_int64(stmt->get(), 0);
    BEL_RETURN_IF_ERROR(read_event_row(stmt->get(), 0, uri, "indexing", &event));
    add_key_rows(event, idx, rows);
    *last = idx;
  }
  if (rc != SQLITE_DONE) return sqlite_error(uri, db, rc, "indexing: reading events");
  return rows;
}

// One key's idx in a batch.
struct Posting {
  int kind;
  std::string_view key;
  std::vector<int64_t> idxs;
};

struct PostingKeyHash {
  size_t operator()(const std::pair<int, std::string_view>& k) const {
    return std::hash<std::string_view>{}(k.second) * 31 + static_cast<size_t>(k.first);
  }
};

// `rows` grouped by key, each key's idx ascending, the keys in the key index's order (kind, key).
// Grouped through a hash map rather than by sorting the rows: a batch has ~10 rows per distinct
// key, and rows arrive in idx order, so only the distinct keys are sorted.
std::vector<Posting> postings_of(const std::vector<KeyRow>& rows) {
  std::unordered_map<std::pair<int, std::string_view>, size_t, PostingKeyHash> slot;
  slot.reserve(rows.size() / 4 + 16);
  std::vector<Posting> out;
  for (const KeyRow& row : rows) {
    auto [it, added] = slot.try_emplace({row.kind, row.key}, out.size());
    if (added) out.push_back(Posting{row.kind, row.key, {}});
    out[it->second].idxs.push_back(row.idx);
  }
  for (auto& p : out) {
    if (!std::is_sorted(p.idxs.begin(), p.idxs.end())) std::sort(p.idxs.begin(), p.idxs.end());
  }
  std::sort(out.begin(), out.end(), [](const Posting& a, const Posting& b) {
    return std::tie(a.kind, a.key) < std::tie(b.kind, b.key);
  });
  return out;
}

Status write_rows(sqlite3* db, const std::string& uri, const std::vector<KeyRow>& rows,
                  int64_t indexed_idx) {
  // One postings row per key (or a few, of at most kPostingsPerRow idx), written in key order so
  // that the inserts walk the B-tree left to right.
  auto insert = prepare(db, uri,
                        "INSERT INTO key_postings(kind, key, last_idx, first_idx, idxs)"
                        " VALUES(?, ?, ?, ?, ?)");
  if (!insert.ok()) return insert.error();
  std::string text;
  for (const Posting& p : postings_of(rows)) {
    for (size_t at = 0; at < p.idxs.size(); at += kPostingsPerRow) {
      const size_t end = std::min(p.idxs.size(), at + kPostingsPerRow);
      text.clear();
      append_postings(text, p.idxs.begin() + static_cast<std::ptrdiff_t>(at),
                      p.idxs.begin() + static_cast<std::ptrdiff_t>(end),
                      [](int64_t idx) { return idx; });
      sqlite3_stmt* stmt = insert->get();
      StatementReset reset(stmt);
      sqlite3_bind_int(stmt, 1, p.kind);
      sqlite3_bind_text(stmt, 2, p.key.data(), static_cast<int>(p.key.size()), SQLITE_STATIC);
      sqlite3_bind_int64(stmt, 3, p.idxs[end - 1]);
      sqlite3_bind_int64(stmt, 4, p.idxs[at]);
      sqlite3_bind_text(stmt, 5, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
      int rc = sqlite3_step(stmt);
      if (rc != SQLITE_DONE) return sqlite_error(uri, db, rc, "indexing: writing postings");
    }
  }
  auto mark = prepare(db, uri,
                      "INSERT INTO meta(key, value) VALUES(?, ?)"
                      " ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  if (!mark.ok()) return mark.error();
  const std::string value = std::to_string(indexed_idx);
  sqlite3_bind_text(mark->get(), 1, kIndexedIdxKey, -1, SQLITE_STATIC);
  sqlite3_bind_text(mark->get(), 2, value.c_str(), -1, SQLITE_STATIC);
  int rc = sqlite3_step(mark->get());
  if (rc != SQLITE_DONE) return sqlite_error(uri, db, rc, "indexing: moving the watermark");
  return ok_status();
}

}  // namespace

Result<int64_t> read_indexed_idx(sqlite3* db, const std::string& uri) {
  auto stmt = prepare(db, uri, "SELECT value FROM meta WHERE key = ?");
  if (!stmt.ok()) return stmt.error();
  sqlite3_bind_text(stmt->get(), 1, kIndexedIdxKey, -1, SQLITE_STATIC);
  int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_DONE) return int64_t{0};
  if (rc != SQLITE_ROW) return sqlite_error(uri, db, rc, "reading the indexed watermark");
  const char* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt->get(), 0));
  std::string_view value = text != nullptr ? text : "";
  int64_t idx = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), idx);
  if (ec != std::errc() || end != value.data() + value.size() || idx < 0) {
    return make_error(ErrorCode::storage_corrupt,
                      fmt::format("{}: meta {} \"{}\" is not an idx", uri, kIndexedIdxKey, value));
  }
  return idx;
}

namespace {

// Runs `work` in one indexing transaction (synchronous=NORMAL, see index_events), rolled back
// when it fails; `work` gets the watermark read inside the transaction.
template <typename Work>
Result<IndexProgress> in_index_transaction(sqlite3* db, const std::string& uri,
                                           bool durability_full, const Work& work) {
  BEL_RETURN_IF_ERROR(exec_sql(db, uri, "PRAGMA synchronous = NORMAL", "indexing"));
  BEL_RETURN_IF_ERROR(exec_sql(db, uri, "BEGIN IMMEDIATE", "indexing: begin"));
  auto done = [&]() -> Result<IndexProgress> {
    auto from = read_indexed_idx(db, uri);
    if (!from.ok()) return from.error();
    return work(*from);
  }();
  if (done.ok()) {
    if (auto committed = exec_sql(db, uri, "COMMIT", "indexing: commit"); !committed.ok()) {
      done = committed.error();
    }
  }
  if (!done.ok() && !sqlite3_get_autocommit(db)) {
    (void)exec_sql(db, uri, "ROLLBACK", "indexing: rollback");
  }
  auto restored = exec_sql(
      db, uri, durability_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
      "indexing: restoring durability");
  if (!restored.ok() && done.ok()) return restored.error();
  return done;
}

}  // namespace

void add_key_rows(const BuildEvent& event, int64_t idx, std::vector<KeyRow>& rows) {
  for_each_key_row(event, [&](int kind, std::string_view key) {
    rows.push_back(KeyRow{kind, std::string(key), idx});
  });
}

void KeptKeyRows::on_commit(const std::vector<BuildEvent>& events, int64_t first_idx,
                            int64_t indexed_idx, int64_t max_tail) {
  const auto n = static_cast<int64_t>(events.size());
  if (!tracked_ || until_ != first_idx - 1 || until_ - indexed_idx + n > max_tail) {
    forget();
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    add_key_rows(events[static_cast<size_t>(i)], first_idx + i, rows_);
  until_ = first_idx + n - 1;
}

std::vector<KeyRow> KeptKeyRows::take(int64_t until) {
  auto end =
      std::find_if(rows_.begin(), rows_.end(), [&](const KeyRow& row) { return row.idx > until; });
  std::vector<KeyRow> taken(std::make_move_iterator(rows_.begin()), std::make_move_iterator(end));
  rows_.erase(rows_.begin(), end);
  return taken;
}

void KeptKeyRows::restart(int64_t committed_idx) {
  tracked_ = true;
  until_ = committed_idx;
  rows_.clear();
}

void KeptKeyRows::forget() {
  tracked_ = false;
  rows_.clear();
}

Result<IndexProgress> index_events(sqlite3* db, const std::string& uri, int64_t max_events,
                                   bool durability_full) {
  return in_index_transaction(db, uri, durability_full, [&](int64_t from) -> Result<IndexProgress> {
    int64_t last = from;
    auto rows = key_rows(db, uri, from, max_events, &last);
    if (!rows.ok()) return rows.error();
    if (last == from) return IndexProgress{0, last};
    BEL_RETURN_IF_ERROR(write_rows(db, uri, *rows, last));
    return IndexProgress{last - from, last};
  });
}

Result<IndexProgress> index_rows(sqlite3* db, const std::string& uri, std::vector<KeyRow> rows,
                                 int64_t from, int64_t until, bool durability_full) {
  return in_index_transaction(db, uri, durability_full,
                              [&](int64_t watermark) -> Result<IndexProgress> {
                                if (watermark != from || until <= from) {
                                  return IndexProgress{0, watermark};
                                }
                                BEL_RETURN_IF_ERROR(write_rows(db, uri, rows, until));
                                return IndexProgress{until - from, until};
                              });
}

}  // namespace bel::storage
