#include "bench/raw_sqlite.h"

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <utility>

#include "messages/json.h"
#include "storage/sqlite_schema.h"
#include "storage/sqlite_support.h"

namespace bel::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Calls `progress` at most every 100 ms, so that drawing never shows in a timed loop.
class Throttled {
 public:
  Throttled(const ProgressFn& progress, int64_t total) : progress_(progress), total_(total) {}
  void operator()(int64_t done) {
    if (!progress_) return;
    const auto now = Clock::now();
    if (now - last_ < std::chrono::milliseconds(100) && done != total_) return;
    last_ = now;
    progress_(done, total_);
  }

 private:
  const ProgressFn& progress_;
  int64_t total_;
  Clock::time_point last_{};
};

// A fresh bel-schema database file with the log's pragmas and two prepared INSERTs.
class RawDb {
 public:
  Status open(const std::string& path, bool durability_full) {
    where_ = path + ": raw sqlite baseline";
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
      return make_error(ErrorCode::invalid_argument, path +
                                                         ": exists already (a baseline "
                                                         "writes a fresh file)");
    }
    sqlite3* db = nullptr;
    const int rc =
        sqlite3_open_v2(path.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(db);  // a handle comes back even when opening fails, and must be closed
    if (rc != SQLITE_OK) return storage::sqlite_error(where_, db, rc, "opening");
    // Exactly what SqliteStorage::open sets on a writer.
    BEL_RETURN_IF_ERROR(storage::exec_sql(db, where_, "PRAGMA journal_mode = WAL", "journal_mode"));
    BEL_RETURN_IF_ERROR(storage::exec_sql(
        db, where_, durability_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
        "synchronous"));
    BEL_RETURN_IF_ERROR(storage::exec_sql(db, where_, "BEGIN IMMEDIATE", "begin"));
    BEL_RETURN_IF_ERROR(storage::migrate(db, "sqlite://" + path, 0));
    BEL_RETURN_IF_ERROR(storage::exec_sql(db, where_, "COMMIT", "creating the schema"));
    BEL_RETURN_IF_ERROR(prepare(&insert_event_,
                                "INSERT INTO events(idx, event_id, timestamp, build_request_id,"
                                " event_type, payload) VALUES(?, ?, ?, ?, ?, ?)"));
    BEL_RETURN_IF_ERROR(prepare(
        &insert_events_, storage::with_repeated("INSERT INTO events(idx, event_id, timestamp,"
                                                " build_request_id, event_type, payload) VALUES",
                                                "(?, ?, ?, ?, ?, ?)", kRowsPerStatement)));
    BEL_RETURN_IF_ERROR(prepare(
        &insert_key_,
        "INSERT INTO key_postings(kind, key, last_idx, first_idx, idxs) VALUES(?, ?, ?, ?, ?)"));
    BEL_RETURN_IF_ERROR(prepare(&begin_, "BEGIN IMMEDIATE"));
    BEL_RETURN_IF_ERROR(prepare(&commit_, "COMMIT"));
    return ok_status();
  }

  Status begin() { return step(begin_.get(), "begin"); }
  Status commit() { return step(commit_.get(), "commit"); }

  // kRowsPerStatement rows of the events table from `idx` on, in one statement (as bel's
  // append_batch writes them while that many are left).
  Status insert_rows(int64_t idx, const RawRow* rows) {
    sqlite3_stmt* s = insert_events_.get();
    for (size_t k = 0; k < kRowsPerStatement; ++k) {
      const RawRow& r = rows[k];
      const int p = static_cast<int>(6 * k);
      sqlite3_bind_int64(s, p + 1, idx + static_cast<int64_t>(k));
      storage::bind_event_id(s, p + 2, r.event_id);
      sqlite3_bind_int64(s, p + 3, r.timestamp);
      sqlite3_bind_text(s, p + 4, r.build_request_id.data(),
                        static_cast<int>(r.build_request_id.size()), SQLITE_STATIC);
      sqlite3_bind_int(s, p + 5, r.event_type);
      sqlite3_bind_blob(s, p + 6, r.payload.data(), static_cast<int>(r.payload.size()),
                        SQLITE_STATIC);
    }
    return step(s, "insert");
  }

  Status insert(int64_t idx, const std::string& event_id, int64_t timestamp,
                const std::string& build_request_id, int event_type, const std::string& payload,
                bool payload_is_text, const EventKeys* keys) {
    sqlite3_stmt* s = insert_event_.get();
    sqlite3_bind_int64(s, 1, idx);
    storage::bind_event_id(s, 2, event_id);
    sqlite3_bind_int64(s, 3, timestamp);
    sqlite3_bind_text(s, 4, build_request_id.data(), static_cast<int>(build_request_id.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int(s, 5, event_type);
    if (payload_is_text) {
      sqlite3_bind_text(s, 6, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
    } else {
      sqlite3_bind_blob(s, 6, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
    }
    BEL_RETURN_IF_ERROR(step(s, "insert"));
    if (keys == nullptr) return ok_status();
    sqlite3_stmt* k = insert_key_.get();
    const std::string idxs = "[" + std::to_string(idx) + "]";  // postings of one event
    auto keys_of_kind = [&](KeyKind kind, const std::vector<std::string>& values) -> Status {
      for (const auto& v : values) {
        sqlite3_bind_int(k, 1, static_cast<int>(kind));
        sqlite3_bind_text(k, 2, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        sqlite3_bind_int64(k, 3, idx);
        sqlite3_bind_int64(k, 4, idx);
        sqlite3_bind_text(k, 5, idxs.data(), static_cast<int>(idxs.size()), SQLITE_STATIC);
        BEL_RETURN_IF_ERROR(step(k, "insert index row"));
      }
      return ok_status();
    };
    BEL_RETURN_IF_ERROR(keys_of_kind(KeyKind::partition, keys->partitions));
    BEL_RETURN_IF_ERROR(keys_of_kind(KeyKind::job_label, keys->job_labels));
    BEL_RETURN_IF_ERROR(keys_of_kind(KeyKind::job_run_id, keys->job_run_ids));
    return keys_of_kind(KeyKind::build_request, {build_request_id});
  }

  // The pure-append ceiling's table: one row per event keyed by integer, nothing else.
  Status create_pure() {
    BEL_RETURN_IF_ERROR(storage::exec_sql(
        db_.get(), where_, "CREATE TABLE pure(idx INTEGER PRIMARY KEY, payload BLOB NOT NULL)",
        "creating the pure-append table"));
    BEL_RETURN_IF_ERROR(prepare(&insert_pure_, "INSERT INTO pure(idx, payload) VALUES(?, ?)"));
    return prepare(&insert_pures_, storage::with_repeated("INSERT INTO pure(idx, payload) VALUES",
                                                          "(?, ?)", kRowsPerStatement));
  }

  // kRowsPerStatement pure-append rows from `idx` on, in one statement.
  Status insert_pure_rows(int64_t idx, const RawRow* rows) {
    sqlite3_stmt* s = insert_pures_.get();
    for (size_t k = 0; k < kRowsPerStatement; ++k) {
      const int p = static_cast<int>(2 * k);
      sqlite3_bind_int64(s, p + 1, idx + static_cast<int64_t>(k));
      sqlite3_bind_blob(s, p + 2, rows[k].payload.data(), static_cast<int>(rows[k].payload.size()),
                        SQLITE_STATIC);
    }
    return step(s, "insert");
  }

  Status insert_pure(int64_t idx, const std::string& payload) {
    sqlite3_stmt* s = insert_pure_.get();
    sqlite3_bind_int64(s, 1, idx);
    sqlite3_bind_blob(s, 2, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
    return step(s, "insert");
  }

 private:
  struct Close {
    void operator()(sqlite3* db) const { sqlite3_close(db); }
  };

  Status prepare(storage::Statement* out, const std::string& sql) {
    auto stmt = storage::prepare(db_.get(), where_, sql);
    if (!stmt.ok()) return stmt.error();
    *out = std::move(*stmt);
    return ok_status();
  }

  // Runs `s` to completion and resets it (also when it fails).
  Status step(sqlite3_stmt* s, const char* what) {
    storage::StatementReset reset(s);
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return storage::sqlite_error(where_, db_.get(), rc, what);
    return ok_status();
  }

  std::string where_;  // "<path>: raw sqlite baseline", the start of every SQLite error
  // Declared before the statements, so that it is closed after they are finalized.
  std::unique_ptr<sqlite3, Close> db_;
  storage::Statement insert_event_;
  storage::Statement insert_events_;  // kRowsPerStatement rows
  storage::Statement insert_key_;
  storage::Statement insert_pure_;
  storage::Statement insert_pures_;  // kRowsPerStatement rows
  storage::Statement begin_;
  storage::Statement commit_;
};

RawRate rate_of(int64_t rows, int64_t transactions, Clock::duration elapsed) {
  RawRate r;
  r.rows = rows;
  r.transactions = transactions;
  r.seconds = std::chrono::duration<double>(elapsed).count();
  r.per_second = r.seconds > 0 ? static_cast<double>(rows) / r.seconds : 0;
  return r;
}

}  // namespace

std::vector<RawRow> raw_rows(const std::vector<BuildEvent>& events) {
  std::vector<RawRow> rows;
  rows.reserve(events.size());
  for (const auto& e : events) {
    RawRow r;
    r.event_id = e.event_id();
    r.timestamp = e.timestamp();
    r.build_request_id = e.build_request_id();
    r.event_type = event_type_number(e);
    if (e.idx() != 0) {
      BuildEvent copy = e;
      copy.clear_idx();
      copy.SerializeToString(&r.payload);
    } else {
      e.SerializeToString(&r.payload);
    }
    r.keys = keys_of(e);
    rows.push_back(std::move(r));
  }
  return rows;
}

namespace {

// `rows` in transactions of `batch_size` rows on a fresh `path`; `setup` runs once before the
// clock starts. Within a transaction, `insert_many(db, idx, &row)` writes kRowsPerStatement rows
// while that many are left, `insert(db, idx, row)` each row after them, as bel's append_batch.
template <typename Setup, typename Insert, typename InsertMany>
Result<RawRate> batched(const std::string& path, const std::vector<RawRow>& rows,
                        int64_t batch_size, bool durability_full, const ProgressFn& progress,
                        const Setup& setup, const Insert& insert, const InsertMany& insert_many) {
  if (batch_size < 1) batch_size = 1;
  RawDb db;
  BEL_RETURN_IF_ERROR(db.open(path, durability_full));
  BEL_RETURN_IF_ERROR(setup(db));
  const auto total = static_cast<int64_t>(rows.size());
  Throttled report(progress, total);
  int64_t transactions = 0;
  const auto start = Clock::now();
  for (int64_t first = 0; first < total; first += batch_size) {
    const int64_t end = std::min(total, first + batch_size);
    BEL_RETURN_IF_ERROR(db.begin());
    constexpr auto kMany = static_cast<int64_t>(kRowsPerStatement);
    int64_t i = first;
    for (; end - i >= kMany; i += kMany) {
      BEL_RETURN_IF_ERROR(insert_many(db, i + 1, &rows[static_cast<size_t>(i)]));
    }
    for (; i < end; ++i) BEL_RETURN_IF_ERROR(insert(db, i + 1, rows[static_cast<size_t>(i)]));
    BEL_RETURN_IF_ERROR(db.commit());
    ++transactions;
    report(end);
  }
  return rate_of(total, transactions, Clock::now() - start);
}

}  // namespace

Result<RawRate> raw_batch_inserts(const std::string& path, const std::vector<RawRow>& rows,
                                  int64_t batch_size, bool durability_full,
                                  const ProgressFn& progress) {
  return batched(
      path, rows, batch_size, durability_full, progress, [](RawDb&) { return ok_status(); },
      [](RawDb& db, int64_t idx, const RawRow& r) {
        return db.insert(idx, r.event_id, r.timestamp, r.build_request_id, r.event_type, r.payload,
                         false, nullptr);
      },
      [](RawDb& db, int64_t idx, const RawRow* r) { return db.insert_rows(idx, r); });
}

Result<RawRate> pure_append_ceiling(const std::string& path, const std::vector<RawRow>& rows,
                                    int64_t batch_size, bool durability_full,
                                    const ProgressFn& progress) {
  return batched(
      path, rows, batch_size, durability_full, progress, [](RawDb& db) { return db.create_pure(); },
      [](RawDb& db, int64_t idx, const RawRow& r) { return db.insert_pure(idx, r.payload); },
      [](RawDb& db, int64_t idx, const RawRow* r) { return db.insert_pure_rows(idx, r); });
}

Result<RawRate> raw_commit_per_row(const std::string& path, const std::vector<RawRow>& rows,
                                   bool durability_full, const ProgressFn& progress) {
  return raw_batch_inserts(path, rows, 1, durability_full, progress);
}

Result<RawRate> naive_json_per_event(const std::string& path, const std::vector<BuildEvent>& events,
                                     bool durability_full, const ProgressFn& progress) {
  RawDb db;
  BEL_RETURN_IF_ERROR(db.open(path, durability_full));
  const auto total = static_cast<int64_t>(events.size());
  Throttled report(progress, total);
  const auto start = Clock::now();
  for (int64_t i = 0; i < total; ++i) {
    const BuildEvent& e = events[static_cast<size_t>(i)];
    const std::string json = to_json(e);
    const EventKeys keys = keys_of(e);
    BEL_RETURN_IF_ERROR(db.begin());
    BEL_RETURN_IF_ERROR(db.insert(i + 1, e.event_id(), e.timestamp(), e.build_request_id(),
                                  event_type_number(e), json, true, &keys));
    BEL_RETURN_IF_ERROR(db.commit());
    report(i + 1);
  }
  return rate_of(total, total, Clock::now() - start);
}

}  // namespace bel::bench
