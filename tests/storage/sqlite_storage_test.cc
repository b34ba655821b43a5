// SQLite-specific behaviour of the storage tier: URIs, files that are not bel logs, schema
// versions, reopening, and what is actually written to the file. The behaviour every backend
// shares is in conformance_test.cc.
#include "storage/sqlite_storage.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "messages/filter_match.h"
#include "storage/sqlite_query.h"
#include "storage/sqlite_schema.h"
#include "storage/storage_factory.h"
#include "tests/storage/storage_test_events.h"
#include "tests/support/run_command.h"

namespace bel::storage {
namespace {

using namespace bel::storage::testing;  // NOLINT: test helpers

// A plain sqlite3 connection, to set up and inspect files behind the storage's back.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK) << path;
  }
  ~RawDb() { sqlite3_close(db_); }

  void exec(const std::string& sql) {
    char* message = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message), SQLITE_OK)
        << sql << ": " << (message != nullptr ? message : "");
    sqlite3_free(message);
  }

  // Every row of `sql`, its columns joined with '|'.
  std::vector<std::string> rows(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sql << ": " << sqlite3_errmsg(db_);
    while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
      std::string row;
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        if (c > 0) row += '|';
        const unsigned char* text = sqlite3_column_text(stmt, c);
        row += text != nullptr ? reinterpret_cast<const char*>(text) : "NULL";
      }
      out.push_back(row);
    }
    sqlite3_finalize(stmt);
    return out;
  }

  sqlite3* get() { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    path_ = dir_ + "/bel.db";
    uri_ = "sqlite://" + path_;  // path_ is absolute: sqlite:///tmp/...
  }

  std::unique_ptr<Storage> open_ok(const std::string& uri, StorageOptions options = {}) {
    auto log = open_storage(uri, options);
    EXPECT_TRUE(log.ok()) << log.error().to_string();
    return log.ok() ? std::move(*log) : nullptr;
  }

  Error open_error(const std::string& uri, StorageOptions options = {}) {
    auto log = open_storage(uri, options);
    EXPECT_FALSE(log.ok()) << uri << " opened";
    return log.ok() ? Error{} : log.error();
  }

  static bool starts_with(const std::string& s, const std::string& prefix) {
    return s.rfind(prefix, 0) == 0;
  }

  bel::testing::TempDir tmp_;  // a new one per test, removed with the fixture
  std::string dir_;            // tmp_.path()
  std::string path_;
  std::string uri_;
};

// ---- URIs --------------------------------------------------------------------------------------

TEST_F(SqliteStorageTest, ReopenContinuesIdx) {
  std::vector<BuildEvent> first = {partition_event("br", "a"), partition_event("br", "b"),
                                   partition_event("br", "c")};
  {
    auto log = open_ok(uri_);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append_batch(first).ok());
  }
  auto log = open_ok(uri_);
  ASSERT_TRUE(log);
  EXPECT_EQ(*log->last_idx(), 3);
  auto idxs = log->append_batch({partition_event("br", "d"), partition_event("br", "e")});
  ASSERT_TRUE(idxs.ok()) << idxs.error().to_string();
  EXPECT_EQ(*idxs, (std::vector<int64_t>{4, 5}));
  auto page = log->list_events(0, {}, 100);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events_size(), 5);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(same_apart_from_idx(page->events(i), first[i]));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(page->events(i).idx(), i + 1);
}

TEST_F(SqliteStorageTest, UnknownSchemeIsUnsupportedUriNamingTheUriAndTheSupportedForms) {
  for (const std::string uri : {"mysql://host/db", "sqlite:/one-slash.db", "file:///x.db",
                                "SQLITE:///x.db", "stdout://", "memory:"}) {
    Error e = open_error(uri);
    EXPECT_EQ(e.code, ErrorCode::unsupported_uri) << uri;
    EXPECT_TRUE(starts_with(e.message, uri + ": ")) << e.message;
    for (const char* form :
         {"sqlite:///abs/path.db", "sqlite://rel/path.db", "memory://", "stdout"}) {
      EXPECT_NE(e.message.find(form), std::string::npos) << e.message;
    }
  }
}

TEST_F(SqliteStorageTest, SqliteUriWithoutAPathIsUnsupported) {
  Error e = open_error("sqlite://");
  EXPECT_EQ(e.code, ErrorCode::unsupported_uri);
  EXPECT_TRUE(starts_with(e.message, "sqlite://: ")) << e.message;
}

TEST_F(SqliteStorageTest, PostgresUriWithNoServerBehindItIsUnavailableNamingTheUri) {
  // Port 1 on loopback: nothing listens there, so the connection is refused at once.
  const std::string uri = "postgresql://bel@127.0.0.1:1/bel?connect_timeout=5";
  Error e = open_error(uri);
  EXPECT_EQ(e.code, ErrorCode::storage_unavailable) << e.to_string();
  EXPECT_TRUE(starts_with(e.message, uri + ": ")) << e.message;
  EXPECT_NE(e.message.find("cannot connect to PostgreSQL"), std::string::npos) << e.message;
}

TEST_F(SqliteStorageTest, AbsoluteUriOpensTheAbsolutePath) {
  ASSERT_EQ(path_.front(), '/');
  ASSERT_TRUE(starts_with(uri_, "sqlite:///"));
  auto log = open_ok(uri_);
  ASSERT_TRUE(log);
  EXPECT_TRUE(std::filesystem::exists(path_));
}

TEST_F(SqliteStorageTest, RelativeUriIsRelativeToTheWorkingDirectory) {
  const std::filesystem::path before = std::filesystem::current_path();
  std::filesystem::create_directory(dir_ + "/sub");
  std::filesystem::current_path(dir_);
  {
    auto log = open_ok("sqlite://sub/rel.db");
    if (log) {
      EXPECT_TRUE(log->append_batch({partition_event("br", "a")}).ok());
    }
    auto bare = open_ok("sqlite://bare.db");
    auto plain = open_ok("plain.db");  // a bare path is an SQLite file too
    if (plain) {
      EXPECT_TRUE(plain->append_batch({partition_event("br", "p")}).ok());
    }
  }
  std::filesystem::current_path(before);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/sub/rel.db"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/bare.db"));
  auto plain = open_ok("sqlite://" + dir_ + "/plain.db");  // the same file as "plain.db"
  ASSERT_TRUE(plain);
  EXPECT_EQ(*plain->last_idx(), 1);
  // Reopened through its absolute form, it is the same log.
  auto log = open_ok("sqlite://" + dir_ + "/sub/rel.db");
  ASSERT_TRUE(log);
  EXPECT_EQ(*log->last_idx(), 1);
}

TEST_F(SqliteStorageTest, MissingDirectoryIsStorageUnavailableNamingTheReason) {
  const std::string uri = "sqlite://" + dir_ + "/no/such/dir/bel.db";
  Error e = open_error(uri);
  EXPECT_EQ(e.code, ErrorCode::storage_unavailable);
  EXPECT_TRUE(starts_with(e.message, uri + ": ")) << e.message;
  EXPECT_NE(e.message.find("No such file or directory"), std::string::npos) << e.message;
}

TEST_F(SqliteStorageTest, ReadOnlyOpenOfAMissingFileIsStorageUnavailableAndCreatesNothing) {
  StorageOptions options;
  options.read_only = true;
  Error e = open_error(uri_, options);
  EXPECT_EQ(e.code, ErrorCode::storage_unavailable);
  EXPECT_TRUE(starts_with(e.message, uri_ + ": ")) << e.message;
  EXPECT_FALSE(std::filesystem::exists(path_));
}

// ---- files that are not bel logs, schema versions ----------------------------------------------

TEST_F(SqliteStorageTest, TextFileIsStorageCorrupt) {
  {
    std::ofstream out(path_);
    for (int i = 0; i < 100; ++i) out << "this is a text file, not a database\n";
  }
  const auto size = std::filesystem::file_size(path_);
  Error e = open_error(uri_);
  EXPECT_EQ(e.code, ErrorCode::storage_corrupt);
  EXPECT_TRUE(starts_with(e.message, uri_ + ": not a bel log: ")) << e.message;
  EXPECT_EQ(std::filesystem::file_size(path_), size) << "the file was changed";

  StorageOptions read_only;
  read_only.read_only = true;
  EXPECT_EQ(open_error(uri_, read_only).code, ErrorCode::storage_corrupt);
}

// A bel log cut short is a damaged log, not someone else's file: the message says so, and what
// to do, for a writer and a reader alike.
TEST_F(SqliteStorageTest, ALogCutShortIsADamagedFileNotAForeignOne) {
  {
    auto log = open_storage(uri_, {});
    ASSERT_TRUE(log.ok()) << log.error().to_string();
    std::vector<BuildEvent> events;
    for (int i = 0; i < 500; ++i) events.push_back(partition_event("br", "p" + std::to_string(i)));
    ASSERT_TRUE((*log)->append_batch(events).ok());
  }
  ASSERT_FALSE(std::filesystem::exists(path_ + "-wal"));  // every commit is in the file
  ASSERT_GT(std::filesystem::file_size(path_), 16384u);
  std::filesystem::resize_file(path_, 8192);
  StorageOptions read_only;
  read_only.read_only = true;
  for (const auto& options : {StorageOptions{}, read_only}) {
    Error e = open_error(uri_, options);
    EXPECT_EQ(e.code, ErrorCode::storage_corrupt) << e.to_string();
    EXPECT_TRUE(starts_with(e.message, uri_ + ": the database file is damaged (")) << e.message;
    EXPECT_NE(e.message.find("restore the log from a copy"), std::string::npos) << e.message;
  }
}

TEST_F(SqliteStorageTest, DatabaseWithAForeignTableIsStorageCorruptAndLeftAlone) {
  {
    RawDb raw(path_);
    raw.exec("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT)");
  }
  Error e = open_error(uri_);
  EXPECT_EQ(e.code, ErrorCode::storage_corrupt);
  EXPECT_TRUE(starts_with(e.message, uri_ + ": not a bel log: ")) << e.message;
  EXPECT_NE(e.message.find("users"), std::string::npos) << e.message;
  RawDb raw(path_);
  EXPECT_EQ(raw.rows("SELECT name FROM sqlite_master WHERE type = 'table'"),
            std::vector<std::string>{"users"});
}

TEST_F(SqliteStorageTest, ForeignMetaTableIsStorageCorrupt) {
  {
    RawDb raw(path_);
    raw.exec("CREATE TABLE meta(name TEXT, setting TEXT)");
  }
  Error e = open_error(uri_);
  EXPECT_EQ(e.code, ErrorCode::storage_corrupt);
  EXPECT_TRUE(starts_with(e.message, uri_ + ": not a bel log: ")) << e.message;
}

TEST_F(SqliteStorageTest, MetaWithoutSchemaVersionIsStorageCorrupt) {
  {
    RawDb raw(path_);
    raw.exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  }
  Error e = open_error(uri_);
  EXPECT_EQ(e.code, ErrorCode::storage_corrupt);
  EXPECT_NE(e.message.find("schema_version"), std::string::npos) << e.message;
}

TEST_F(SqliteStorageTest, NewerSchemaVersionIsSchemaTooNew) {
  ASSERT_TRUE(open_ok(uri_));
  {
    RawDb raw(path_);
    raw.exec("UPDATE meta SET value = '7' WHERE key = 'schema_version'");
  }
  Error e = open_error(uri_);
  EXPECT_EQ(e.code, ErrorCode::schema_too_new);
  EXPECT_EQ(e.message, uri_ + ": log schema version 7 is newer than this bel supports (" +
                           std::to_string(kSchemaVersion) + "); upgrade bel");

  StorageOptions read_only;
  read_only.read_only = true;
  EXPECT_EQ(open_error(uri_, read_only).code, ErrorCode::schema_too_new);
  RawDb raw(path_);
  EXPECT_EQ(raw.rows("SELECT value FROM meta WHERE key = 'schema_version'"),
            std::vector<std::string>{"7"});
}

TEST_F(SqliteStorageTest, NewFileGetsTheCurrentSchemaVersionAndEveryTable) {
  ASSERT_TRUE(open_ok(uri_));
  RawDb raw(path_);
  EXPECT_EQ(raw.rows("SELECT value FROM meta WHERE key = 'schema_version'"),
            std::vector<std::string>{std::to_string(kSchemaVersion)});
  EXPECT_EQ(raw.rows("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"),
            (std::vector<std::string>{"events", "key_postings", "meta", "snapshots"}));
  // The key index's (kind, key, idx) rows stay readable by SQL, as a view of its postings.
  EXPECT_EQ(raw.rows("SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name"),
            std::vector<std::string>{"event_keys"});
  // The commit writes no index but event_id's (idempotency); the per-build index is derived.
  EXPECT_EQ(raw.rows("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'"
                     " ORDER BY name"),
            std::vector<std::string>{"sqlite_autoindex_events_1"});
}

TEST_F(SqliteStorageTest, ReopeningAndInitializingAgainKeepsTheLog) {
  {
    auto log = open_ok(uri_);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append_batch({partition_event("br", "a")}).ok());
    ASSERT_TRUE(log->set_meta("validation_mode", "lenient").ok());
    ASSERT_TRUE(log->initialize().ok());
    ASSERT_TRUE(log->initialize().ok());
  }
  auto log = open_ok(uri_);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->initialize().ok());
  EXPECT_EQ(*log->last_idx(), 1);
  EXPECT_EQ(log->get_meta("validation_mode")->value_or(""), "lenient");
  EXPECT_EQ(log->get_meta("schema_version")->value_or(""), std::to_string(kSchemaVersion));
}

// A log made before logs had ids (its meta has no log_id) is given one by its first writable open,
// which later opens keep; a read-only open writes none.
TEST_F(SqliteStorageTest, ALogWithoutAnIdGetsOneAtItsFirstWritableOpen) {
  { ASSERT_TRUE(open_ok(uri_)); }
  RawDb(path_).exec("DELETE FROM meta WHERE key = 'log_id'");
  StorageOptions read_only;
  read_only.read_only = true;
  {
    auto reader = open_ok(uri_, read_only);
    ASSERT_TRUE(reader);
    EXPECT_FALSE(reader->get_meta("log_id")->has_value());
  }
  { ASSERT_TRUE(open_ok(uri_)); }
  const auto ids = RawDb(path_).rows("SELECT value FROM meta WHERE key = 'log_id'");
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0].size(), 36u) << ids[0];
  { ASSERT_TRUE(open_ok(uri_)); }
  EXPECT_EQ(RawDb(path_).rows("SELECT value FROM meta WHERE key = 'log_id'"), ids);
}

// ---- durability and modes ----------------------------------------------------------------------

TEST_F(SqliteStorageTest, LogIsInWalMode) {
  auto log = open_ok(uri_);
  ASSERT_TRUE(log);
  RawDb raw(path_);
  EXPECT_EQ(raw.rows("PRAGMA journal_mode"), std::vector<std::string>{"wal"});
}

TEST_F(SqliteStorageTest, DurabilityNormalOpensAndAppends) {
  StorageOptions options;
  options.durability_full = false;
  auto log = open_ok(uri_, options);
  ASSERT_TRUE(log);
  auto idxs = log->append_batch({partition_event("br", "a"), partition_event("br", "b")});
  ASSERT_TRUE(idxs.ok()) << idxs.error().to_string();
  EXPECT_EQ(*idxs, (std::vector<int64_t>{1, 2}));
}

TEST_F(SqliteStorageTest, ReadOnlyOpenReadsAnExistingLogAndRefusesWrites) {
  {
    auto log = open_ok(uri_);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append_batch({partition_event("br", "a")}).ok());
  }
  StorageOptions options;
  options.read_only = true;
  auto reader = open_ok(uri_, options);
  ASSERT_TRUE(reader);
  auto page = reader->list_events(0, {}, 10);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_EQ(page->events_size(), 1);
  auto appended = reader->append_batch({partition_event("br", "b")});
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(appended.error().message, uri_ + ": append_batch: opened read-only");
}

// ---- what is written ---------------------------------------------------------------------------

TEST_F(SqliteStorageTest, PayloadIsTheEventWithoutTheFieldsItsColumnsHold) {
  auto log = open_ok(uri_);
  ASSERT_TRUE(log);
  BuildEvent job = job_event("br-7", "run-1", "//jobs:a", {"data/a", "data/b"});
  ASSERT_TRUE(log->append_batch({partition_event("br-7", "data/a"), job}).ok());

  RawDb raw(path_);
  EXPECT_EQ(raw.rows("SELECT idx, event_id, timestamp, build_request_id, event_type FROM events"
                     " WHERE idx = 2"),
            std::vector<std::string>{"2|" + job.event_id() + "|" + std::to_string(job.timestamp()) +
                                     "|br-7|12"});
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(raw.get(), "SELECT payload FROM events WHERE idx = 2", -1, &stmt, nullptr),
      SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  BuildEvent stored;
  EXPECT_TRUE(stored.ParseFromArray(sqlite3_column_blob(stmt, 0), sqlite3_column_bytes(stmt, 0)));
  sqlite3_finalize(stmt);
  // Schema 5: idx, event_id, timestamp and build_request_id live in their columns only.
  EXPECT_EQ(stored.idx(), 0);
  EXPECT_EQ(stored.event_id(), "");
  EXPECT_EQ(stored.timestamp(), 0);
  EXPECT_EQ(stored.build_request_id(), "");
  stored.set_event_id(job.event_id());
  stored.set_timestamp(job.timestamp());
  stored.set_build_request_id(job.build_request_id());
  EXPECT_TRUE(same_apart_from_idx(stored, job));
  // ...and reads put them back.
  auto found = log->find_by_event_ids({job.event_id()});
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_TRUE(same_apart_from_idx((*found)[0].event, job));
  EXPECT_EQ((*found)[0].event.idx(), 2);

  // The key index is derived: written by the indexer behind the log, not by the append.
  EXPECT_EQ(raw.rows("SELECT count(*) FROM event_keys"), std::vector<std::string>{"0"});
  EXPECT_EQ(log->unindexed_events(), 2);
  ASSERT_EQ(*log->catch_up_indexes(1000), 2);
  EXPECT_EQ(log->unindexed_events(), 0);
  EXPECT_EQ(raw.rows("SELECT value FROM meta WHERE key = 'indexed_idx'"),
            std::vector<std::string>{"2"});
  EXPECT_EQ(log->set_meta("indexed_idx", "0").error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(raw.rows("SELECT kind, key, idx FROM event_keys ORDER BY idx, kind, key"),
            (std::vector<std::string>{"1|data/a|1", "4|br-7|1", "1|data/a|2", "1|data/b|2",
                                      "2|//jobs:a|2", "3|run-1|2", "4|br-7|2"}));
}

// The indexer takes the key rows of recent commits from what append_batch kept, and reads the
// events back when it has not kept them (a new writer on an unindexed tail): both write the
// same rows.
TEST_F(SqliteStorageTest, KeyRowsKeptAtCommitEqualKeyRowsReadBack) {
  std::vector<BuildEvent> events;
  for (int i = 0; i < 60; ++i) {
    const std::string br = "br-" + std::to_string(i % 7);
    events.push_back(i % 3 == 0 ? job_event(br, "run-" + std::to_string(i % 5), "//jobs:a",
                                            {"data/" + std::to_string(i % 11)})
                                : partition_event(br, "data/" + std::to_string(i % 13)));
  }
  auto keys_after = [&](const std::string& path, bool reopen_before_indexing) {
    const std::string uri = "sqlite://" + path;
    {
      auto log = open_ok(uri);
      EXPECT_TRUE(log);
      for (size_t i = 0; i < events.size(); i += 10) {
        std::vector<BuildEvent> batch(events.begin() + static_cast<std::ptrdiff_t>(i),
                                      events.begin() + static_cast<std::ptrdiff_t>(i + 10));
        EXPECT_TRUE(log->append_batch(batch).ok());
        if (!reopen_before_indexing && i == 20) {
          EXPECT_EQ(*log->catch_up_indexes(25), 25);
        }
      }
      if (!reopen_before_indexing) {
        while (log->unindexed_events() > 0) EXPECT_GT(*log->catch_up_indexes(7), 0);
      }
    }
    auto reopened = open_ok(uri);  // indexes any tail by reading the events back
    EXPECT_EQ(reopened->unindexed_events(), 0);
    RawDb raw(path);
    return raw.rows("SELECT kind, key, idx FROM event_keys ORDER BY kind, key, idx");
  };
  const auto kept = keys_after(dir_ + "/kept.db", false);
  const auto read_back = keys_after(dir_ + "/read.db", true);
  EXPECT_EQ(kept.size(), 60u + 60u + 20u + 20u);  // a build and a ref each, a label and a run
  EXPECT_EQ(kept, read_back);
}

TEST_F(SqliteStorageTest, AppendGivenAnIdxStoresItsOwnIdxInstead) {
  auto log = open_ok(uri_);
  ASSERT_TRUE(log);
  BuildEvent event = partition_event("br", "a");
  event.set_idx(42);
  auto idxs = log->append_batch({event});
  ASSERT_TRUE(idxs.ok());
  EXPECT_EQ(*idxs, std::vector<int64_t>{1});
  auto page = log->list_events(0, {}, 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->events(0).idx(), 1);
}

TEST_F(SqliteStorageTest, FilterValuesAreBoundNotSpliced) {
  auto log = open_ok(uri_);
  ASSERT_TRUE(log);
  const std::string nasty = "x') OR 1=1; DROP TABLE events; --";
  ASSERT_TRUE(log->append_batch({partition_event("br", nasty), partition_event("br", "b")}).ok());
  EventFilter f;
  f.add_partition_refs(nasty);
  f.add_build_request_ids("br' OR '1'='1");
  auto page = log->list_events(0, f, 10);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_EQ(page->events_size(), 0);
  EventFilter g;
  g.add_partition_patterns(nasty + "*");
  page = log->list_events(0, g, 10);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  ASSERT_EQ(page->events_size(), 1);
  EXPECT_EQ(page->events(0).idx(), 1);
  EXPECT_EQ(*log->last_idx(), 2);
}

// ---- SQLite failures ---------------------------------------------------------------------------

TEST_F(SqliteStorageTest, SqliteFailureDuringAppendIsStorageUnavailableAndRollsBack) {
  auto log = open_ok(uri_);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->append_batch({partition_event("br", "before")}).ok());
  {
    RawDb raw(path_);
    // The append writes event rows only (the key index is derived): fail the second one.
    raw.exec(
        "CREATE TRIGGER fail_boom BEFORE INSERT ON events WHEN NEW.idx = 3"
        " BEGIN SELECT RAISE(ABORT, 'disk on fire'); END");
  }
  auto result = log->append_batch({partition_event("br", "fine"), partition_event("br", "boom"),
                                   partition_event("br", "late")});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::storage_unavailable);
  EXPECT_TRUE(starts_with(result.error().message, uri_ + ": append #2")) << result.error().message;
  EXPECT_NE(result.error().message.find("disk on fire"), std::string::npos);
  EXPECT_EQ(log->counters().failed_commits, 1);
  EXPECT_EQ(*log->last_idx(), 1);
  RawDb raw(path_);
  EXPECT_EQ(raw.rows("SELECT count(*) FROM events"), std::vector<std::string>{"1"});

  auto next = log->append_batch({partition_event("br", "after")});
  ASSERT_TRUE(next.ok()) << next.error().to_string();
  EXPECT_EQ(*next, std::vector<int64_t>{2});
}

// append_batch writes kRowsPerInsert rows per statement: a row that fails inside such a statement
// is still named by its own position, and nothing of the batch stays.
TEST_F(SqliteStorageTest, RowThatFailsAmongManyPerStatementIsNamedAndTheBatchLeavesNothing) {
  auto log = open_ok(uri_);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->append_batch({partition_event("br", "before")}).ok());
  const size_t n = 3 * SqliteStorage::kRowsPerInsert + 5;
  auto batch_of = [&](const std::string& prefix) {
    std::vector<BuildEvent> batch;
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(partition_event("br", prefix + std::to_string(i)));
      batch.back().set_event_id(prefix + "-id-" + std::to_string(i));
    }
    return batch;
  };
  // A repeated id in the second statement's rows, and an id already in the log in the third's.
  std::vector<BuildEvent> repeated = batch_of("r");
  repeated[SqliteStorage::kRowsPerInsert + 6].set_event_id("r-id-3");
  auto failed = log->append_batch(repeated);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::duplicate_event_id);
  EXPECT_TRUE(starts_with(
      failed.error().message,
      fmt::format("{}: append #{}: event_id \"r-id-3\"", uri_, SqliteStorage::kRowsPerInsert + 7)))
      << failed.error().message;
  std::vector<BuildEvent> known = batch_of("k");
  const std::string first_id = log->list_events(0, {}, 1)->events(0).event_id();
  known[2 * SqliteStorage::kRowsPerInsert + 1].set_event_id(first_id);
  failed = log->append_batch(known);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::duplicate_event_id);
  EXPECT_TRUE(
      starts_with(failed.error().message,
                  fmt::format("{}: append #{}:", uri_, 2 * SqliteStorage::kRowsPerInsert + 2)))
      << failed.error().message;
  // Any other failure of a row among many, here a trigger on one idx.
  {
    RawDb raw(path_);
    raw.exec(
        fmt::format("CREATE TRIGGER fail_one BEFORE INSERT ON events WHEN NEW.idx = {}"
                    " BEGIN SELECT RAISE(ABORT, 'disk on fire'); END",
                    SqliteStorage::kRowsPerInsert + 4));
  }
  failed = log->append_batch(batch_of("t"));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::storage_unavailable);
  EXPECT_TRUE(starts_with(failed.error().message,
                          fmt::format("{}: append #{}", uri_, SqliteStorage::kRowsPerInsert + 3)))
      << failed.error().message;
  EXPECT_EQ(*log->last_idx(), 1);
  EXPECT_EQ(RawDb(path_).rows("SELECT count(*) FROM events"), std::vector<std::string>{"1"});
  RawDb(path_).exec("DROP TRIGGER fail_one");
  // The same batches, mended, append whole and read back in order.
  auto appended = log->append_batch(batch_of("ok"));
  ASSERT_TRUE(appended.ok()) << appended.error().to_string();
  ASSERT_EQ(appended->size(), n);
  EXPECT_EQ(appended->front(), 2);
  EXPECT_EQ(appended->back(), static_cast<int64_t>(n) + 1);
  auto page = log->list_events(1, {}, 1000);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events_size(), static_cast<int>(n));
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(page->events(static_cast<int>(i)).event_id(), "ok-id-" + std::to_string(i));
    EXPECT_EQ(page->events(static_cast<int>(i)).idx(), static_cast<int64_t>(i) + 2);
  }
}

TEST_F(SqliteStorageTest, UnparseablePayloadIsStorageCorruptNamingTheIdx) {
  auto log = open_ok(uri_);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->append_batch({partition_event("br", "a"), partition_event("br", "b")}).ok());
  {
    RawDb raw(path_);
    raw.exec("UPDATE events SET payload = x'ffffffff' WHERE idx = 2");
  }
  auto page = log->list_events(0, {}, 10);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error().code, ErrorCode::storage_corrupt);
  EXPECT_TRUE(starts_with(page.error().message, uri_ + ": ")) << page.error().message;
  EXPECT_NE(page.error().message.find("idx 2"), std::string::npos) << page.error().message;
}

// ---- broad criteria ----------------------------------------------------------------------------

TEST(SelectiveKeyRowsTest, GrowsWithThePageAndTheRangeWithinFloorAndCeiling) {
  constexpr int64_t kFloor = SqliteStorage::kSelectiveKeyRows;
  constexpr int64_t kCeiling = SqliteStorage::kMaxSelectiveKeyRows;
  // A page of 10 over 1M events: a key with 10k events is read through the index.
  const int64_t page_of_ten = selective_key_rows(IdxRange{0, 1000000}, 10, kFloor, kCeiling);
  EXPECT_GT(page_of_ten, 10000);
  EXPECT_LT(page_of_ten, 20000);
  EXPECT_GT(selective_key_rows(IdxRange{0, 1000000}, 1000, kFloor, kCeiling), page_of_ten);
  EXPECT_EQ(selective_key_rows(IdxRange{0, 1000000}, 10000, kFloor, kCeiling), kCeiling);
  EXPECT_EQ(selective_key_rows(IdxRange{0, 5000}, 10, kFloor, kCeiling), kFloor);
  EXPECT_EQ(selective_key_rows(IdxRange{900, 900}, 10, kFloor, kCeiling), kFloor);
  EXPECT_GT(selective_key_rows(IdxRange{1000000, 2000000}, 10, kFloor, kCeiling), kFloor)
      << "the range's length counts, not where it starts";
}

// list_events drives a query through event_keys only for criteria selecting fewer than
// kSelectiveKeyRows index rows, and checks broader ones on events read in order. Both ways must
// answer exactly as the memory backend does, page by page.
TEST_F(SqliteStorageTest, BroadAndNarrowCriteriaAnswerLikeTheMemoryBackend) {
  auto sqlite = open_ok(uri_);
  auto memory = open_ok("memory://");
  ASSERT_TRUE(sqlite && memory);
  std::vector<BuildEvent> events;
  for (int i = 0; i < 7500; ++i) {
    const std::string br = "br-" + std::to_string(i % 5);
    const std::string run = "run-" + std::to_string(i % 7);
    const std::string wide = "wide/" + std::to_string(i);
    const std::string narrow = "narrow/" + std::to_string(i % 50);
    switch (i % 3) {
      case 0:
        events.push_back(partition_event(br, wide, v1::PARTITION_BUILDING, run));
        break;
      case 1:
        events.push_back(
            job_event(br, run, i % 11 == 1 ? "//jobs:rare" : "//jobs:busy", {wide, narrow}));
        break;
      default:
        events.push_back(build_request_event(br, {narrow}));
    }
  }
  ASSERT_GE(2500 * 10 / 11, SqliteStorage::kSelectiveKeyRows) << "//jobs:busy must be broad";
  for (size_t start = 0; start < events.size(); start += 1000) {
    std::vector<BuildEvent> batch(events.begin() + start,
                                  events.begin() + std::min(events.size(), start + 1000));
    ASSERT_TRUE(sqlite->append_batch(batch).ok());
    ASSERT_TRUE(memory->append_batch(batch).ok());
  }

  std::vector<EventFilter> filters(9);
  filters[0].add_partition_patterns("wide/*");  // 5000 index rows: broad
  filters[1].add_partition_patterns("wide/*");
  filters[1].add_build_request_ids("br-1");
  filters[2].add_partition_patterns("wide/*");
  filters[2].add_job_labels("//jobs:rare");  // narrow label, broad pattern
  filters[3].add_partition_patterns("*");    // no literal prefix: broad
  filters[3].add_job_labels("//jobs:busy");  // broad label
  filters[3].add_job_run_ids("run-2");       // narrow run
  filters[4].add_partition_patterns("wide/1*");
  filters[4].add_partition_refs("narrow/7");
  filters[5].add_partition_patterns("narrow/*");
  filters[5].add_event_types("job_event");
  filters[6].add_job_labels("//jobs:busy");
  filters[6].add_event_types("partition_event");  // matches nothing
  filters[7].add_job_run_ids("run-3");
  filters[7].add_job_run_ids("run-4");
  filters[8].add_partition_patterns("*7");
  filters[8].add_build_request_ids("br-2");
  filters[8].add_build_request_ids("br-3");

  for (const auto& filter : filters) {
    for (int limit : {7, 250, kMaxListLimit}) {
      SCOPED_TRACE(filter.ShortDebugString() + " limit " + std::to_string(limit));
      int64_t since = 0;
      for (int pages = 0; pages < 2000; ++pages) {
        auto want = memory->list_events(since, filter, limit);
        auto got = sqlite->list_events(since, filter, limit);
        ASSERT_TRUE(want.ok() && got.ok()) << (got.ok() ? "" : got.error().to_string());
        ASSERT_EQ(got->events_size(), want->events_size()) << "since " << since;
        for (int i = 0; i < got->events_size(); ++i) {
          ASSERT_EQ(got->events(i).idx(), want->events(i).idx());
        }
        ASSERT_EQ(got->next_idx(), want->next_idx());
        ASSERT_EQ(got->has_more(), want->has_more()) << "since " << since;
        if (!got->has_more()) break;
        since = got->next_idx();
      }
    }
  }
}

// ---- query plans (SPEC 8, P6: one partition in a large log) ------------------------------------

class QueryPlanTest : public SqliteStorageTest {
 protected:
  // SQLite's plan for list_events(0, filter, 100), one line per step.
  std::string plan(const EventFilter& filter) {
    return plan_of(list_events_query(IdxRange{0}, filter, 101));
  }

  std::string plan_of(const SqlQuery& q) {
    if (!open_ok(uri_)) return "";
    RawDb raw(path_);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(
        sqlite3_prepare_v2(raw.get(), ("EXPLAIN QUERY PLAN " + q.sql).c_str(), -1, &stmt, nullptr),
        SQLITE_OK)
        << q.sql;
    std::string out;
    while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
      out += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
      out += '\n';
    }
    sqlite3_finalize(stmt);
    return out;
  }

  // `plan` seeks the key index's postings by their primary key from `key_seek` ("kind=? AND
  // key=?" ...), expands the rows found (json_each), then seeks each event by its idx, and scans
  // no table.
  static void expect_key_seeks(const std::string& plan, const std::string& key_seek) {
    EXPECT_NE(plan.find("SEARCH p USING PRIMARY KEY (" + key_seek), std::string::npos) << plan;
    EXPECT_NE(plan.find("SEARCH events USING INTEGER PRIMARY KEY (rowid=?)"), std::string::npos)
        << plan;
    expect_no_table_scan(plan);
  }

  // Every SCAN in `plan` is json_each expanding a postings row found by a seek.
  static void expect_no_table_scan(const std::string& plan) {
    for (size_t at = plan.find("SCAN"); at != std::string::npos; at = plan.find("SCAN", at + 1)) {
      EXPECT_EQ(plan.compare(at, 26, "SCAN j VIRTUAL TABLE INDEX"), 0) << plan;
    }
  }
};

TEST_F(QueryPlanTest, PartitionRefFilterSeeksTheKeyIndexAndEventsByIdx) {
  EventFilter f;
  f.add_partition_refs("data/a");
  expect_key_seeks(plan(f), "kind=? AND key=?");
}

TEST_F(QueryPlanTest, PatternWithALiteralPrefixSeeksARangeOfTheKeyIndex) {
  EventFilter f;
  f.add_partition_refs("other/x");
  f.add_partition_patterns("data/sales/*");
  std::string p = plan(f);
  EXPECT_NE(p.find("key>? AND key<?"), std::string::npos) << p;
  expect_no_table_scan(p);
}

TEST_F(QueryPlanTest, BuildRequestFilterSeeksTheKeyIndexAndEventsByIdx) {
  EventFilter f;
  f.add_build_request_ids("br-1");
  expect_key_seeks(plan(f), "kind=? AND key=?");
}

// One exact key reads its postings rows in idx order, either way, and stops at the limit: no
// temporary table of every idx the key has, no sort.
TEST_F(QueryPlanTest, OneExactKeyWalksItsIndexRowsInIdxOrder) {
  for (ScanOrder order : {ScanOrder::ascending, ScanOrder::descending}) {
    for (int kind = 0; kind < 4; ++kind) {
      EventFilter f;
      if (kind == 0) f.add_partition_refs("data/a");
      if (kind == 1) f.add_job_labels("//jobs:a");
      if (kind == 2) f.add_job_run_ids("run-1");
      if (kind == 3) f.add_build_request_ids("br-1");
      if (kind == 0) f.add_event_types("partition_event");
      auto key = single_key_of(f);
      ASSERT_TRUE(key.has_value()) << describe_filter(f);
      std::string p = plan_of(postings_query(*key, IdxRange{0}, order));
      EXPECT_NE(p.find("SEARCH key_postings USING PRIMARY KEY (kind=? AND key=? AND last_idx>?)"),
                std::string::npos)
          << p;
      EXPECT_EQ(p.find("SCAN"), std::string::npos) << p;
      EXPECT_EQ(p.find("TEMP"), std::string::npos) << p;
    }
  }
}

TEST(SingleKeyQueryTest, OnlyOneExactValueOfOneKindQualifies) {
  EventFilter two_refs;
  two_refs.add_partition_refs("data/a");
  two_refs.add_partition_refs("data/b");
  EventFilter pattern;
  pattern.add_partition_refs("data/a");
  pattern.add_partition_patterns("data/*");
  EventFilter two_kinds;
  two_kinds.add_partition_refs("data/a");
  two_kinds.add_build_request_ids("br-1");
  EventFilter types_only;
  types_only.add_event_types("partition_event");
  for (const EventFilter& f : {two_refs, pattern, two_kinds, types_only, EventFilter()}) {
    EXPECT_FALSE(single_key_of(f).has_value()) << describe_filter(f);
  }
}

}  // namespace
}  // namespace bel::storage

// ---- compact event ids and the version 1 -> 2 migration ----------------------------------------

namespace bel::storage {
namespace {

// The whole log reads back as `events`, in order, idx 1, 2, ...
void expect_log_is(Storage& log, const std::vector<BuildEvent>& events) {
  auto page = log.list_events(0, {}, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events_size(), static_cast<int>(events.size()));
  for (int i = 0; i < page->events_size(); ++i) {
    EXPECT_TRUE(same_apart_from_idx(page->events(i), events[static_cast<size_t>(i)]))
        << page->events(i).DebugString();
    EXPECT_EQ(page->events(i).idx(), i + 1);
  }
}

// A version 4 log (payloads that repeat event_id, timestamp and build_request_id) is read by a
// read-only handle as it is: version 5 changed only how new rows are written.
TEST_F(SqliteStorageTest, AVersionFourLogIsReadWithoutMigrating) {
  std::vector<BuildEvent> batch = {partition_event("br-1", "data/a"),
                                   job_event("br-1", "run-1", "//jobs:a", {"data/a"})};
  {
    auto log = open_ok(uri_);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append_batch(batch).ok());
  }
  {
    RawDb raw(path_);
    for (size_t i = 0; i < batch.size(); ++i) {
      std::string full;  // the version 4 payload: the whole event without idx
      ASSERT_TRUE(batch[i].SerializeToString(&full));
      sqlite3_stmt* stmt = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(raw.get(), "UPDATE events SET payload = ? WHERE idx = ?", -1,
                                   &stmt, nullptr),
                SQLITE_OK);
      sqlite3_bind_blob(stmt, 1, full.data(), static_cast<int>(full.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(stmt, 2, static_cast<int64_t>(i) + 1);
      EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE);
      sqlite3_finalize(stmt);
    }
    raw.exec("UPDATE meta SET value = '4' WHERE key = 'schema_version'");
  }
  StorageOptions read_only;
  read_only.read_only = true;
  auto reader = open_storage(uri_, read_only);
  ASSERT_TRUE(reader.ok()) << reader.error().to_string();
  expect_log_is(**reader, batch);
  RawDb raw(path_);
  EXPECT_EQ(raw.rows("SELECT value FROM meta WHERE key = 'schema_version'"),
            std::vector<std::string>{"4"});
}

TEST_F(SqliteStorageTest, LowercaseUuidIdsAreStoredAsSixteenBytesAndOtherIdsAsGivenText) {
  const std::string lower = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";
  const std::string upper = "0190A1B2-C3D4-7E5F-8A6B-7C8D9E0F1A2B";
  const std::string other = "producer-7/ev-0001";
  const std::string sixteen = "abcdefghijklmnop";  // 16 characters: must not read as a UUID
  std::vector<BuildEvent> batch;
  for (const auto& id : {lower, upper, other, sixteen}) {
    BuildEvent e = partition_event("br", "data/" + id);
    e.set_event_id(id);
    batch.push_back(e);
  }
  auto log = open_ok(uri_);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->append_batch(batch).ok());

  RawDb raw(path_);
  EXPECT_EQ(raw.rows("SELECT typeof(event_id), length(event_id) FROM events ORDER BY idx"),
            (std::vector<std::string>{"blob|16", "text|36", "text|18", "text|16"}));

  expect_log_is(*log, batch);
  for (const auto& id : {lower, upper, other, sixteen}) {
    auto found = log->find_by_event_ids({id});
    ASSERT_TRUE(found.ok());
    ASSERT_EQ(found->size(), 1u) << id;
    EXPECT_EQ((*found)[0].event.event_id(), id);
  }
  // The same UUID in either case is two different ids, as the text says.
  EXPECT_EQ(log->find_by_event_ids({"0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2c"})->size(), 0u);
  BuildEvent again = batch[0];
  EXPECT_EQ(log->append_batch({again}).error().code, ErrorCode::duplicate_event_id);
}

// A writer does not look up a UUID id above every stored one (none can be in the log), so
// that largest id must stay exact: after every commit, a failed one and a reopen, each stored id
// is found whatever order the ids came in, and ids not stored are not.
TEST_F(SqliteStorageTest, EveryStoredIdIsFoundWhateverOrderItsUuidsWereAppendedIn) {
  // Canonical UUIDs whose order is their first byte (which sorts first in the 16 stored bytes).
  auto uuid = [](int n) { return fmt::format("{:02x}90a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b", n); };
  std::vector<int> order(60);
  for (int i = 0; i < 60; ++i) order[static_cast<size_t>(i)] = 2 * i + 10;  // even: appended
  std::mt19937 rng(7);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::string> stored;
  auto expect_found_exactly_the_stored = [&](Storage& log) {
    for (const auto& id : stored) {
      auto found = log.find_by_event_ids({id});
      ASSERT_TRUE(found.ok()) << found.error().to_string();
      EXPECT_EQ(found->size(), 1u) << id;
    }
    // Odd ones were never appended: below, between and above the stored ids.
    std::vector<std::string> absent = {uuid(1),   uuid(11),  uuid(51),
                                       uuid(131), uuid(255), "not-a-uuid"};
    EXPECT_EQ(log.find_by_event_ids(absent)->size(), 0u);
    auto all = log.find_by_event_ids(stored);
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->size(), stored.size());
  };
  auto append = [&](Storage& log, size_t from, size_t to) {
    std::vector<BuildEvent> batch;
    for (size_t i = from; i < to; ++i) {
      BuildEvent e = partition_event("br", "data/" + std::to_string(i));
      e.set_event_id(uuid(order[i]));
      batch.push_back(e);
    }
    ASSERT_TRUE(log.append_batch(batch).ok());
    for (const auto& e : batch) stored.push_back(e.event_id());
  };
  {
    auto log = open_ok(uri_);
    ASSERT_TRUE(log);
    expect_found_exactly_the_stored(*log);  // the empty log
    for (size_t from = 0; from < 30; from += 5) {
      append(*log, from, from + 5);
      expect_found_exactly_the_stored(*log);
    }
    // A commit that fails after writing a larger id than any stored leaves nothing behind.
    {
      RawDb raw(path_);
      raw.exec(
          "CREATE TRIGGER fail_second BEFORE INSERT ON events WHEN NEW.idx = 32"
          " BEGIN SELECT RAISE(ABORT, 'disk on fire'); END");
    }
    BuildEvent highest = partition_event("br", "data/highest");
    highest.set_event_id(uuid(250));
    ASSERT_FALSE(log->append_batch({highest, partition_event("br", "data/boom")}).ok());
    EXPECT_EQ(log->find_by_event_ids({uuid(250)})->size(), 0u);
    RawDb(path_).exec("DROP TRIGGER fail_second");
    append(*log, 30, 45);
    expect_found_exactly_the_stored(*log);
    // A text id and a retried UUID are still told apart from new ones.
    BuildEvent text = partition_event("br", "data/text");
    text.set_event_id("retry-key-1");
    ASSERT_TRUE(log->append_batch({text}).ok());
    stored.push_back("retry-key-1");
    BuildEvent again = partition_event("br", "data/again");
    again.set_event_id(stored.front());
    EXPECT_EQ(log->append_batch({again}).error().code, ErrorCode::duplicate_event_id);
  }
  auto log = open_ok(uri_);
  ASSERT_TRUE(log);
  expect_found_exactly_the_stored(*log);
  append(*log, 45, 60);
  expect_found_exactly_the_stored(*log);
}

TEST_F(SqliteStorageTest, VersionOneLogIsMigratedAndReadsBackUnchanged) {
  // A log exactly as schema version 1 wrote it: ids as TEXT, each payload with its event_id.
  std::vector<BuildEvent> events = {
      build_request_event("br1", {"data/a", "data/b"}),
      partition_event("br1", "data/a"),
      job_event("br1", "run-1", "//jobs:a", {"data/a"}),
      partition_event("br1", "data/b"),
  };
  const std::vector<std::string> ids = {"0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b",
                                        "0190A1B2-C3D4-7E5F-8A6B-7C8D9E0F1A2B", "retry-key-1",
                                        "4d3c2b1a-0f9e-4d8c-b7a6-a5b4c3d2e1f0"};
  {
    RawDb raw(path_);
    raw.exec(
        "CREATE TABLE events(idx INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE,"
        " timestamp INTEGER NOT NULL, build_request_id TEXT NOT NULL,"
        " event_type INTEGER NOT NULL, payload BLOB NOT NULL);"
        "CREATE TABLE event_keys(kind INTEGER NOT NULL, key TEXT NOT NULL,"
        " idx INTEGER NOT NULL, PRIMARY KEY(kind, key, idx)) WITHOUT ROWID;"
        "CREATE INDEX events_by_build_request ON events(build_request_id, idx);"
        "CREATE TABLE snapshots(view TEXT NOT NULL, version INTEGER NOT NULL,"
        " applied_idx INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(view, version));"
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES('schema_version', '1');");
    for (size_t i = 0; i < events.size(); ++i) {
      events[i].set_event_id(ids[i]);
      events[i].set_timestamp(1000 + static_cast<int64_t>(i));
      std::string payload;
      ASSERT_TRUE(events[i].SerializeToString(&payload));
      sqlite3_stmt* stmt = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(raw.get(), "INSERT INTO events VALUES(?, ?, ?, ?, ?, ?)", -1,
                                   &stmt, nullptr),
                SQLITE_OK);
      sqlite3_bind_int64(stmt, 1, static_cast<int64_t>(i) + 1);
      sqlite3_bind_text(stmt, 2, ids[i].c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(stmt, 3, events[i].timestamp());
      sqlite3_bind_text(stmt, 4, events[i].build_request_id().c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int(stmt, 5, event_type_number(events[i]));
      sqlite3_bind_blob(stmt, 6, payload.data(), static_cast<int>(payload.size()),
                        SQLITE_TRANSIENT);
      EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE);
      sqlite3_finalize(stmt);
      const EventKeys keys = keys_of(events[i]);
      for (const auto& ref : keys.partitions) {
        raw.exec("INSERT INTO event_keys VALUES(1, '" + ref + "', " + std::to_string(i + 1) + ")");
      }
    }
  }
  auto log = open_ok(uri_);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->get_meta("schema_version")->value_or(""), std::to_string(kSchemaVersion));
  expect_log_is(*log, events);
  for (size_t i = 0; i < ids.size(); ++i) {
    auto found = log->find_by_event_ids({ids[i]});
    ASSERT_TRUE(found.ok());
    ASSERT_EQ(found->size(), 1u) << ids[i];
    EXPECT_EQ((*found)[0].idx, static_cast<int64_t>(i) + 1);
  }
  {
    RawDb raw(path_);
    EXPECT_EQ(raw.rows("SELECT typeof(event_id) FROM events ORDER BY idx"),
              (std::vector<std::string>{"blob", "text", "text", "blob"}));
  }
  // Appends after the migration use the new form beside the migrated rows.
  BuildEvent next = partition_event("br1", "data/b");
  next.set_event_id("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2c");
  auto idx = log->append_batch({next});
  ASSERT_TRUE(idx.ok()) << idx.error().to_string();
  EXPECT_EQ((*idx)[0], 5);
  EventFilter by_ref;
  by_ref.add_partition_refs("data/a");
  auto filtered = log->list_events(0, by_ref, 10);
  ASSERT_TRUE(filtered.ok());
  EXPECT_EQ(filtered->events_size(), 3);  // the request, the partition event, the job
  EventFilter by_build;
  by_build.add_build_request_ids("br1");
  auto built = log->list_events(0, by_build, 10);
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(built->events_size(), 5);
}

// Schema 6 keeps the key index as postings: a version 5 log's event_keys rows are regrouped into
// rows of at most 1 024 idx, the same (kind, key, idx) rows read back through the view, and one
// key's pages read the same oldest- and newest-first as before.
TEST_F(SqliteStorageTest, VersionFiveKeyRowsBecomePostingsThatReadTheSame) {
  constexpr int kEvents = 2600;  // one hot partition, in three or more postings rows
  std::vector<BuildEvent> events;
  for (int i = 0; i < kEvents; ++i) {
    events.push_back(partition_event(i % 7 == 0 ? "br-a" : "br-b", i % 3 == 0 ? "cold" : "hot"));
  }
  std::vector<std::string> key_rows;
  {
    auto log = open_ok(uri_);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->append_batch(events).ok());
    ASSERT_TRUE(log->catch_up_indexes(kEvents).ok());
    ASSERT_EQ(log->unindexed_events(), 0);
  }
  {
    // Back to version 5: the same rows in a table of their own.
    RawDb raw(path_);
    key_rows = raw.rows("SELECT kind, key, idx FROM event_keys ORDER BY kind, key, idx");
    ASSERT_GT(key_rows.size(), static_cast<size_t>(kEvents));
    raw.exec(
        "CREATE TABLE old_keys(kind INTEGER NOT NULL, key TEXT NOT NULL, idx INTEGER NOT NULL,"
        " PRIMARY KEY(kind, key, idx)) WITHOUT ROWID;"
        "INSERT INTO old_keys SELECT kind, key, idx FROM event_keys;"
        "DROP VIEW event_keys; DROP TABLE key_postings;"
        "ALTER TABLE old_keys RENAME TO event_keys;"
        "UPDATE meta SET value = '5' WHERE key = 'schema_version'");
  }
  // The writer says before it migrates, once: the operator's notice of a long first open.
  std::vector<std::pair<int, int>> notices;
  StorageOptions noticed;
  noticed.on_migrate = [&notices](int from, int to) { notices.emplace_back(from, to); };
  auto log = open_ok(uri_, noticed);
  ASSERT_TRUE(log);
  EXPECT_EQ(notices, (std::vector<std::pair<int, int>>{{5, kSchemaVersion}}));
  EXPECT_EQ(log->get_meta("schema_version")->value_or(""), std::to_string(kSchemaVersion));
  EXPECT_EQ(log->unindexed_events(), 0);
  {
    RawDb raw(path_);
    EXPECT_EQ(raw.rows("SELECT kind, key, idx FROM event_keys ORDER BY kind, key, idx"), key_rows);
    EXPECT_EQ(raw.rows("SELECT max(json_array_length(idxs)) <= 1024, count(*) >= 3"
                       " FROM key_postings WHERE kind = 1 AND key = 'hot'"),
              std::vector<std::string>{"1|1"});
  }
  EventFilter hot;
  hot.add_partition_refs("hot");
  std::vector<int64_t> want;
  for (int i = 0; i < kEvents; ++i) {
    if (i % 3 != 0) want.push_back(i + 1);
  }
  std::vector<int64_t> got;
  for (int64_t since = 0;;) {
    auto page = log->list_events(since, hot, 100);
    ASSERT_TRUE(page.ok()) << page.error().to_string();
    for (const auto& e : page->events()) got.push_back(e.idx());
    if (!page->has_more()) break;
    since = page->next_idx();
  }
  EXPECT_EQ(got, want);
  {
    auto again = open_ok("sqlite://" + path_ + "-copy", noticed);  // a new log: no notice
    ASSERT_TRUE(again);
  }
  EXPECT_EQ(notices.size(), 1u);
  auto newest = log->list_events_backward(0, hot, 10);
  ASSERT_TRUE(newest.ok()) << newest.error().to_string();
  ASSERT_EQ(newest->events_size(), 10);
  EXPECT_TRUE(newest->has_more());
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(newest->events(i).idx(), want[want.size() - 1 - static_cast<size_t>(i)]);
  }
}

// Schema 4 moved the per-build index into event_keys, behind the log: a version 3 log loses
// events_by_build_request and gains build request keys for exactly its indexed part, so the
// writer that opens it indexes the tail without a clash and build filters stay exact.
TEST_F(SqliteStorageTest, VersionThreeLogGetsBuildRequestKeysUpToItsWatermark) {
  std::vector<BuildEvent> events = {
      build_request_event("br1", {"data/a"}), partition_event("br1", "data/a"),
      build_request_event("br2", {"data/b"}), partition_event("br2", "data/b"),
      partition_event("br1", "data/c"),
  };
  {
    RawDb raw(path_);
    for (const auto& step : sqlite_migrations()) {
      if (step.to_version > 3) break;
      if (step.to_version == 2) continue;  // rewrites ids of existing rows: there are none yet
      for (const char* sql : step.statements) raw.exec(sql);
    }
    raw.exec("INSERT INTO meta VALUES('schema_version', '3')");
    raw.exec("UPDATE meta SET value = '3' WHERE key = 'indexed_idx'");  // idx 4, 5 unindexed
    for (size_t i = 0; i < events.size(); ++i) {
      const std::string idx = std::to_string(i + 1);
      events[i].set_event_id("ev-" + idx);
      events[i].set_timestamp(1000 + static_cast<int64_t>(i));
      std::string payload;
      ASSERT_TRUE(events[i].SerializeToString(&payload));
      sqlite3_stmt* stmt = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(raw.get(), "INSERT INTO events VALUES(?, ?, ?, ?, ?, ?)", -1,
                                   &stmt, nullptr),
                SQLITE_OK);
      sqlite3_bind_int64(stmt, 1, static_cast<int64_t>(i) + 1);
      sqlite3_bind_text(stmt, 2, events[i].event_id().c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(stmt, 3, events[i].timestamp());
      sqlite3_bind_text(stmt, 4, events[i].build_request_id().c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int(stmt, 5, event_type_number(events[i]));
      sqlite3_bind_blob(stmt, 6, payload.data(), static_cast<int>(payload.size()),
                        SQLITE_TRANSIENT);
      EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE);
      sqlite3_finalize(stmt);
      if (i < 3) {
        for (const auto& ref : keys_of(events[i]).partitions) {
          raw.exec("INSERT INTO event_keys VALUES(1, '" + ref + "', " + idx + ")");
        }
      }
    }
    EXPECT_EQ(raw.rows("SELECT count(*) FROM sqlite_master WHERE name = 'events_by_build_request'"),
              std::vector<std::string>{"1"});
  }
  StorageOptions read_only;
  read_only.read_only = true;
  EXPECT_EQ(open_error(uri_, read_only).code, ErrorCode::storage_unavailable);  // needs a writer

  auto log = open_ok(uri_);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->get_meta("schema_version")->value_or(""), std::to_string(kSchemaVersion));
  EXPECT_EQ(log->unindexed_events(), 0);  // the writer indexed the tail after migrating
  {
    RawDb raw(path_);
    EXPECT_EQ(raw.rows("SELECT count(*) FROM sqlite_master WHERE name = 'events_by_build_request'"),
              std::vector<std::string>{"0"});
    EXPECT_EQ(raw.rows("SELECT key, idx FROM event_keys WHERE kind = 4 ORDER BY idx"),
              (std::vector<std::string>{"br1|1", "br1|2", "br2|3", "br2|4", "br1|5"}));
  }
  expect_log_is(*log, events);
  EventFilter by_build;
  by_build.add_build_request_ids("br1");
  auto page = log->list_events(0, by_build, 10);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  ASSERT_EQ(page->events_size(), 3);
  EXPECT_EQ(page->events(0).idx(), 1);
  EXPECT_EQ(page->events(1).idx(), 2);
  EXPECT_EQ(page->events(2).idx(), 5);
}

}  // namespace
}  // namespace bel::storage
