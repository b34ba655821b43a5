#include "storage/sqlite_storage.h"

#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "messages/event_keys.h"
#include "messages/filter_match.h"
#include "storage/checks.h"
#include "storage/event_detail.h"
#include "storage/sqlite_checkpointer.h"
#include "storage/sqlite_indexer.h"
#include "storage/sqlite_postings.h"
#include "storage/sqlite_query.h"
#include "storage/sqlite_schema.h"
#include "storage/sqlite_wal_names.h"
#include "storage/uri.h"
#include "storage/writer_lock.h"

namespace bel::storage {
namespace {

// list_events statements kept per connection; past this the cache is
// dropped and refilled (filters of many shapes are rare: the console, the query actor).
constexpr size_t kMaxCachedStatements = 64;

}  // namespace

SqliteStorage::SqliteStorage(std::string uri, std::string path, StorageOptions options, sqlite3* db)
    : StorageBackend(std::move(uri), std::move(options)), path_(std::move(path)), db_(db) {}

SqliteStorage::~SqliteStorage() {
  checkpointer_.reset();  // its connection closes first
  // The last copy of the WAL into the file (PASSIVE: it never waits on a reader). SQLite folds
  // the WAL back only when the last connection closes, and that is often a reader's here, which
  // does not; after an orderly exit the file alone then holds every commit (docs/operators.md,
  // "Copying an SQLite log").
  if (!options().read_only) {
    sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
  // close_v2 waits for the member statements, finalized after this body, before closing.
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<SqliteStorage>> SqliteStorage::open(const std::string& uri,
                                                           const std::string& path,
                                                           const StorageOptions& options) {
  // One writer per log file (SPEC R7): taken before SQLite opens the file, which it creates 0600
  // when missing (storage/writer_lock.h).
  std::unique_ptr<WriterLock> lock;
  StorageOptions own = options;  // a snapshots-only connection refuses every other write
  own.read_only = options.read_only || options.snapshots_only;
  if (!own.read_only) {
    auto taken = WriterLock::acquire_file(uri, path, options.writer_lock_wait);
    if (!taken.ok()) return taken.error();
    lock = std::move(*taken);
  } else {
    BEL_RETURN_IF_ERROR(WriterLock::check_reader_path(uri, path));
  }
  BEL_RETURN_IF_ERROR(check_side_files(uri, path));
  // Before this name's connection reads the file: the commits a killed writer left beside
  // another name of it are folded in, under the writer lock, by a process that has not opened
  // the file yet (storage/sqlite_wal_names.h).
  if (auto other = other_name_with_commits(path, options.sqlite_vfs)) {
    if (open_in_this_process(path) > 0) {
      return cannot_fold(uri, *other, "this process has the log open already");
    }
    std::unique_ptr<WriterLock> for_fold;
    if (!lock) {
      auto taken = WriterLock::acquire_file(uri, path, std::chrono::seconds(1));
      if (!taken.ok()) return cannot_fold(uri, *other, taken.error().message);
      for_fold = std::move(*taken);
      other = other_name_with_commits(path, options.sqlite_vfs);  // a writer may have folded
    }
    if (other) BEL_RETURN_IF_ERROR(fold_in_wal_of(uri, path, *other, options.sqlite_vfs));
  }
  const int flags =
      (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags,
                           options.sqlite_vfs.empty() ? nullptr : options.sqlite_vfs.c_str());
  if (rc != SQLITE_OK) {
    std::string message = fmt::format("{}: cannot open {}: {}", uri, path,
                                      db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    int os_error = db != nullptr ? sqlite3_system_errno(db) : 0;
    if (os_error != 0) message += fmt::format(" ({})", std::strerror(os_error));
    sqlite3_close(db);
    return make_error(ErrorCode::storage_unavailable, std::move(message));
  }
  std::unique_ptr<SqliteStorage> storage(new SqliteStorage(uri, path, own, db));
  storage->lock_ = std::move(lock);
  storage->counted_ = std::make_unique<CountedOpen>(path);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kSqliteBusyTimeoutMs);

  // The first statement reads the file header, so a file that is not a database fails here.
  auto not_a_database = [&](int code) -> Error {
    Error e = sqlite_error(uri, db, code, "opening");
    if (e.code == ErrorCode::storage_corrupt && (code & 0xff) == SQLITE_CORRUPT) {
      // A database whose pages do not hold together (a file cut short, overwritten in part).
      e.message = fmt::format("{}: the database file is damaged ({}): restore the log from a "
                              "copy; the sqlite3 shell's .recover saves what it can of it",
                              uri, sqlite3_errmsg(db));
    } else if (e.code == ErrorCode::storage_corrupt) {
      e.message = fmt::format("{}: not a bel log: {}", uri, sqlite3_errmsg(db));
    }
    return e;
  };
  if (own.read_only) {
    rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
    std::error_code ec;
    if (((rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_CANTOPEN) &&
        !std::filesystem::exists(path + "-shm", ec)) {
      // A reader of a WAL log needs its -shm file, which SQLite creates when it is missing:
      // here it may not, which its own message ("attempt to write a readonly database") hides.
      return make_error(ErrorCode::storage_unavailable,
                        fmt::format("{}: cannot read {}: a reader needs {}-shm beside it, which "
                                    "is missing and cannot be made here ({}); read it as a user "
                                    "who may write its directory, or while a coordinator or "
                                    "another reader of it runs",
                                    uri, path, path, sqlite3_errmsg(db)));
    }
    if (rc != SQLITE_OK) return not_a_database(rc);
    return storage;
  }
  {
    auto wal = prepare(db, uri, "PRAGMA journal_mode = WAL");
    const std::string dir = std::filesystem::path(path).parent_path().string();
    if (!wal.ok() && (sqlite3_errcode(db) & 0xff) == SQLITE_READONLY &&
        ::access(dir.empty() ? "." : dir.c_str(), W_OK) != 0) {
      // The file may be written but not its directory, where SQLite makes its WAL files.
      return make_error(
          ErrorCode::storage_unavailable,
          fmt::format("{}: cannot write {}: a writer needs {}-wal and {}-shm beside "
                      "it, which this user cannot make in {} ({}); write it as a "
                      "user who may write that directory",
                      uri, path, path, path, dir.empty() ? "." : dir, sqlite3_errmsg(db)));
    }
    if (!wal.ok()) {
      return wal.error().code == ErrorCode::storage_corrupt ? not_a_database(sqlite3_errcode(db))
                                                            : wal.error();
    }
    StatementReset reset(wal->get());
    rc = sqlite3_step(wal->get());
    if (rc != SQLITE_ROW) return not_a_database(rc);
    const char* mode = reinterpret_cast<const char*>(sqlite3_column_text(wal->get(), 0));
    if (mode == nullptr || std::strcmp(mode, "wal") != 0) {
      return make_error(ErrorCode::storage_unavailable,
                        fmt::format("{}: cannot switch {} to WAL (journal_mode is {})", uri, path,
                                    mode != nullptr ? mode : "unknown"));
    }
  }
  BEL_RETURN_IF_ERROR(exec_sql(
      db, uri,
      options.durability_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
      "setting durability"));
  storage->checkpointer_ = WalCheckpointer::attach(db, path, options.sqlite_vfs);
  return storage;
}

Error SqliteStorage::error(int rc, std::string_view what) const {
  return sqlite_error(uri(), db_, rc, what);
}

Result<sqlite3_stmt*> SqliteStorage::cached(Statement& slot, const char* sql) {
  if (!slot) {
    auto stmt = prepare(db_, uri(), sql);
    if (!stmt.ok()) return stmt.error();
    slot = std::move(*stmt);
  }
  return slot.get();
}

Result<sqlite3_stmt*> SqliteStorage::cached_list(const std::string& sql) {
  auto it = list_statements_.find(sql);
  if (it != list_statements_.end()) return it->second.get();
  if (list_statements_.size() >= kMaxCachedStatements) list_statements_.clear();
  auto stmt = prepare(db_, uri(), sql);
  if (!stmt.ok()) return stmt.error();
  sqlite3_stmt* raw = stmt->get();
  list_statements_.emplace(sql, std::move(*stmt));
  return raw;
}

void SqliteStorage::rollback() {
  if (sqlite3_get_autocommit(db_) != 0) return;  // SQLite already rolled back (or never began)
  auto stmt = cached(rollback_, "ROLLBACK");
  if (stmt.ok()) {
    StatementReset reset(*stmt);
    if (sqlite3_step(*stmt) == SQLITE_DONE) return;
  }
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Status SqliteStorage::initialize() {
  if (options().read_only) {
    // A reader writes nothing: it only checks that the log is one it can read.
    auto version = read_schema_version(db_, uri());
    if (!version.ok()) return version.error();
    if (*version == 0) {
      // A database with no tables is what a creation that did not finish leaves (a full disk
      // before its first commit): no log yet, as an empty file is; the next writer makes it.
      return make_error(ErrorCode::storage_unavailable,
                        fmt::format("{}: no log at {} yet: a database with no tables, {} "
                                    "(create one with bel append or bel run)",
                                    uri(), path_, kUnfinishedLog));
    }
    BEL_RETURN_IF_ERROR(check_not_too_new(uri(), *version));
    if (*version < kMinReadableSchemaVersion) {
      return make_error(ErrorCode::storage_unavailable,
                        fmt::format("{}: log schema version {} is older than this bel reads "
                                    "without migrating ({}); open it once for writing to migrate it",
                                    uri(), *version, kMinReadableSchemaVersion));
    }
    return ok_status();
  }

  auto begin = cached(begin_, "BEGIN IMMEDIATE");
  if (!begin.ok()) return begin.error();
  {
    StatementReset reset(*begin);
    int rc = sqlite3_step(*begin);
    if (rc != SQLITE_DONE) return error(rc, "initialize: begin");
  }
  bool renamed = false;  // this open recorded a new writer's name
  auto migrated = [&]() -> Status {
    auto version = read_schema_version(db_, uri());
    if (!version.ok()) return version.error();
    BEL_RETURN_IF_ERROR(check_not_too_new(uri(), *version));
    if (*version != 0 && *version < kSchemaVersion && options().on_migrate) {
      options().on_migrate(*version, kSchemaVersion);
    }
    BEL_RETURN_IF_ERROR(migrate(db_, uri(), *version));
    auto named = record_writer_path(db_, uri(), path_);
    if (!named.ok()) return named.error();
    renamed = *named;
    auto commit = cached(commit_, "COMMIT");
    if (!commit.ok()) return commit.error();
    StatementReset reset(*commit);
    int rc = sqlite3_step(*commit);
    if (rc != SQLITE_DONE) return error(rc, "initialize: commit");
    return ok_status();
  }();
  if (!migrated.ok()) {
    rollback();
    return migrated;
  }
  if (lock_) lock_->keep_record();  // a bel log now: its holder record stays beside it
  if (renamed) {
    // The name goes into the file itself, where an open by any other name reads it. FULL waits
    // (the busy timeout) for this name's readers; if they outlast it the record stays in the WAL
    // until the next checkpoint, and only a crash before then leaves it unread elsewhere.
    sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_FULL, nullptr, nullptr);
  }
  auto last = last_idx();
  if (!last.ok()) return last.error();
  committed_idx_ = *last;
  max_stored_id_known_ = false;  // read again on the first lookup
  auto indexed = read_indexed_idx(db_, uri());
  if (!indexed.ok()) return indexed.error();
  indexed_idx_ = *indexed;
  kept_rows_.forget();
  // A writer that stopped (or crashed) with an unindexed tail left it for the next one: index it
  // now, in bounded transactions, so the tail readers scan stays short.
  while (unindexed_events() > 0) {
    auto done = catch_up_indexes(kIndexBatchEvents);
    if (!done.ok()) return done.error();
    if (*done == 0) break;
  }
  if (unindexed_events() == 0) kept_rows_.restart(committed_idx_);
  return ok_status();
}

Result<sqlite3_stmt*> SqliteStorage::bound(const SqlQuery& query) {
  const int max_params = sqlite3_limit(db_, SQLITE_LIMIT_VARIABLE_NUMBER, -1);
  if (static_cast<int64_t>(query.params.size()) > max_params) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("{}: list_events: filter has too many values ({}; at most {})",
                                  uri(), query.params.size(), max_params));
  }
  auto stmt = cached_list(query.sql);
  if (!stmt.ok()) return stmt.error();
  bind_params(*stmt, query);
  return *stmt;
}

void SqliteStorage::bind_params(sqlite3_stmt* stmt, const SqlQuery& query) {
  for (size_t i = 0; i < query.params.size(); ++i) {
    const int pos = static_cast<int>(i) + 1;
    if (const auto* n = std::get_if<int64_t>(&query.params[i])) {
      sqlite3_bind_int64(stmt, pos, *n);
    } else {
      bind_text(stmt, pos, std::get<std::string>(query.params[i]));
    }
  }
}

Result<bool> SqliteStorage::is_selective(KeyKind kind, IdxRange range, const EventFilter& filter,
                                         int limit) {
  const int64_t cap = selective_key_rows(range, limit, kSelectiveKeyRows, kMaxSelectiveKeyRows);
  const SqlQuery query = key_count_query(kind, range, filter, cap);
  auto stmt = bound(query);
  if (!stmt.ok()) return stmt.error();
  StatementReset reset(*stmt);
  int rc = sqlite3_step(*stmt);
  if (rc != SQLITE_ROW) return error(rc, "list_events");
  return sqlite3_column_int64(*stmt, 0) < cap;
}

namespace {

bool has_key_criterion(const EventFilter& f) {
  return !f.partition_refs().empty() || !f.partition_patterns().empty() ||
         !f.job_labels().empty() || !f.job_run_ids().empty() || !f.build_request_ids().empty();
}

}  // namespace

Status SqliteStorage::scan(ScanOrder order, int64_t bound_idx, const EventFilter& filter, int limit,
                           EventPage* page, EventDetail detail) {
  if (order == ScanOrder::ascending) {
    return scan_range("list_events", IdxRange{bound_idx}, bound_idx, filter, limit, order, *page,
                      detail);
  }
  const IdxRange range{0, bound_idx == 0 ? INT64_MAX : bound_idx - 1};
  return scan_range("list_events_backward", range, bound_idx, filter, limit, order, *page, detail);
}

Status SqliteStorage::scan_range(const char* call, IdxRange range, int64_t start_idx,
                                 const EventFilter& filter, int limit, ScanOrder order,
                                 EventPage& page, EventDetail detail) {
  const int max_pattern = sqlite3_limit(db_, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, -1);
  for (const auto& pattern : filter.partition_patterns()) {
    if (static_cast<int64_t>(pattern.size()) > max_pattern) {
      return make_error(ErrorCode::invalid_argument,
                        fmt::format("{}: {}: filter pattern of {} bytes is longer than {}", uri(),
                                    call, pattern.size(), max_pattern));
    }
  }
  page.set_next_idx(start_idx);
  const bool uses_keys = has_key_criterion(filter);
  // event_keys covers idx <= indexed (sqlite_indexer.h): read up to there through it, and the
  // unindexed tail above it by decoding each event. The watermark only moves up and the index is
  // exact below it, so a watermark read before an indexer commit still gives the right answer.
  int64_t indexed = indexed_idx_;
  if (uses_keys && options().read_only) {
    auto stored = read_indexed_idx(db_, uri());
    if (!stored.ok()) return stored.error();
    indexed = *stored;
  }
  for (const auto& segment : scan_segments(range, indexed, uses_keys, order)) {
    BEL_RETURN_IF_ERROR(
        read_page(segment.range, filter, limit, segment.through_keys, page, order, detail));
    if (page.has_more()) break;
  }
  return ok_status();
}

Status SqliteStorage::read_page(IdxRange range, const EventFilter& filter, int limit,
                                bool through_keys, EventPage& page, ScanOrder order,
                                EventDetail detail) {
  // A selective key criterion drives the query through event_keys. One that selects many index
  // rows (a pattern like "data/*", a busy job label) would make SQLite collect every matching
  // idx before returning the first page; such a criterion is instead checked here, on events
  // read in idx order, and the read stops as soon as the page is full. Without the index (the
  // unindexed tail) every key criterion is checked here.
  EventFilter in_sql = filter;
  bool check_here = false;
  auto* events = page.mutable_events();
  const int64_t row_limit = static_cast<int64_t>(limit) + 1 - events->size();
  // One exact key: read through its postings whatever their number (sqlite_query.h).
  if (through_keys) {
    if (auto single = single_key_of(filter)) {
      return read_single_key(*single, range, filter, limit, page, order, detail);
    }
  }
  auto plan = [&](KeyKind kind, bool present, void (*drop)(EventFilter&)) -> Status {
    if (!present) return ok_status();
    bool selective = false;
    if (through_keys) {
      auto counted = is_selective(kind, range, filter, limit);
      if (!counted.ok()) return counted.error();
      selective = *counted;
    }
    if (!selective) {
      drop(in_sql);
      check_here = true;
    }
    return ok_status();
  };
  BEL_RETURN_IF_ERROR(plan(KeyKind::partition,
                           !filter.partition_refs().empty() || !filter.partition_patterns().empty(),
                           [](EventFilter& f) {
                             f.clear_partition_refs();
                             f.clear_partition_patterns();
                           }));
  BEL_RETURN_IF_ERROR(plan(KeyKind::job_label, !filter.job_labels().empty(),
                           [](EventFilter& f) { f.clear_job_labels(); }));
  BEL_RETURN_IF_ERROR(plan(KeyKind::job_run_id, !filter.job_run_ids().empty(),
                           [](EventFilter& f) { f.clear_job_run_ids(); }));
  BEL_RETURN_IF_ERROR(plan(KeyKind::build_request, !filter.build_request_ids().empty(),
                           [](EventFilter& f) { f.clear_build_request_ids(); }));

  // Without checks here, one row past the limit tells whether a further call would return
  // anything; with them, rows are read until a match past the limit or the end. `page` may
  // already hold events from a lower range.
  const SqlQuery query = list_events_query(range, in_sql, check_here ? 0 : row_limit, order);
  auto stmt = bound(query);
  if (!stmt.ok()) return stmt.error();
  StatementReset reset(*stmt);
  // Events checked here are parsed with what their check needs, then cut to `detail`.
  const EventDetail parsed = check_here ? parse_detail(detail, filter) : detail;
  for (;;) {
    int rc = sqlite3_step(*stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return error(rc, "list_events");
    if (!check_here && events->size() == limit) {
      page.set_has_more(true);
      break;
    }
    const int64_t idx = sqlite3_column_int64(*stmt, 0);
    BuildEvent* event = events->Add();
    BEL_RETURN_IF_ERROR(read_event_row(*stmt, 0, uri(), "list_events", event, parsed));
    if (check_here && !event_matches(filter, *event)) {
      events->RemoveLast();
      continue;
    }
    if (parsed != detail) drop_detail(detail, event);
    if (events->size() > limit) {
      events->RemoveLast();
      page.set_has_more(true);
      break;
    }
    page.set_next_idx(idx);
  }
  return ok_status();
}

Status SqliteStorage::read_single_key(const SingleKey& key, IdxRange range,
                                      const EventFilter& filter, int limit, EventPage& page,
                                      ScanOrder order, EventDetail detail) {
  // Bound once; each postings row's text is bound to its first parameter in turn.
  const SqlQuery row_query = events_of_postings_query(range, filter, order);
  auto of_row = bound(row_query);
  if (!of_row.ok()) return of_row.error();
  // Its own statement, not one of bound()'s, which may drop every statement it caches.
  const SqlQuery query = postings_query(key, range, order);  // bound as text, unowned
  auto postings = cached(postings_[order == ScanOrder::ascending ? 0 : 1], query.sql.c_str());
  if (!postings.ok()) return postings.error();
  bind_params(*postings, query);
  StatementReset reset_postings(*postings);
  auto* events = page.mutable_events();
  std::vector<int64_t> idxs;
  for (;;) {
    int rc = sqlite3_step(*postings);
    if (rc == SQLITE_DONE) return ok_status();
    if (rc != SQLITE_ROW) return error(rc, "list_events: reading the key index");
    // Checked here as well as expanded by json_each below: json_each takes any JSON value, so a
    // damaged row could read as fewer events without an error; this makes it storage_corrupt.
    // (Its cost is within noise: `partitions show` of the 1M log's hottest key, 29-31 ms either
    // way.)
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(*postings, 0));
    const std::string_view row(text != nullptr ? text : "",
                               static_cast<size_t>(sqlite3_column_bytes(*postings, 0)));
    idxs.clear();
    BEL_RETURN_IF_ERROR(parse_postings(row, idxs, uri()));
    StatementReset reset_events(*of_row);
    sqlite3_bind_text(*of_row, 1, row.data(), static_cast<int>(row.size()), SQLITE_STATIC);
    while ((rc = sqlite3_step(*of_row)) == SQLITE_ROW) {
      const int64_t idx = sqlite3_column_int64(*of_row, 0);
      BuildEvent* event = events->Add();
      BEL_RETURN_IF_ERROR(read_event_row(*of_row, 0, uri(), "list_events", event, detail));
      if (events->size() > limit) {
        events->RemoveLast();
        page.set_has_more(true);
        return ok_status();
      }
      page.set_next_idx(idx);
    }
    if (rc != SQLITE_DONE) return error(rc, "list_events");
  }
}

Result<int64_t> SqliteStorage::catch_up_indexes(int64_t max_events) {
  if (options().read_only) return read_only_error(uri(), "catch_up_indexes");
  if (max_events <= 0 || unindexed_events() == 0) return int64_t{0};
  Result<IndexProgress> done = IndexProgress{};
  if (kept_rows_.tracked()) {
    const int64_t until = std::min(committed_idx_, indexed_idx_ + max_events);
    done = index_rows(db_, uri(), kept_rows_.take(until), indexed_idx_, until,
                      options().durability_full);
    // The rows taken are gone: after a failure the events are read back.
    if (!done.ok() || done->indexed_idx != until) kept_rows_.forget();
  } else {
    done = index_events(db_, uri(), max_events, options().durability_full);
  }
  if (!done.ok()) return done.error();
  indexed_idx_ = done->indexed_idx;
  if (indexed_idx_ == committed_idx_ && !kept_rows_.tracked()) kept_rows_.restart(committed_idx_);
  return done->events;
}

int64_t SqliteStorage::unindexed_events() const {
  return options().read_only ? 0 : std::max<int64_t>(0, committed_idx_ - indexed_idx_);
}

Result<int64_t> SqliteStorage::last_idx() {
  auto stmt = cached(last_idx_, "SELECT coalesce(max(idx), 0) FROM events");
  if (!stmt.ok()) return stmt.error();
  StatementReset reset(*stmt);
  int rc = sqlite3_step(*stmt);
  if (rc != SQLITE_ROW) return error(rc, "last_idx");
  return static_cast<int64_t>(sqlite3_column_int64(*stmt, 0));
}

Result<std::unique_ptr<Storage>> SqliteStorage::open_reader() {
  StorageOptions reader_options;
  reader_options.read_only = true;
  reader_options.durability_full = options().durability_full;
  auto reader = open(uri(), path_, reader_options);
  if (!reader.ok()) return reader.error();
  return std::unique_ptr<Storage>(std::move(*reader));
}

}  // namespace bel::storage
