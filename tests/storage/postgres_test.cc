// The postgres:// backend beyond the conformance suite: several writers on one log, a server
// restart under load, commit notifications. Skipped without BEL_TEST_PG (scripts/with-postgres).
#include "tests/support/postgres.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "messages/event_id.h"
#include "storage/postgres_storage.h"
#include "storage/postgres_support.h"
#include "storage/storage_factory.h"
#include "storage/uri.h"
#include "tests/storage/storage_test_events.h"
#include "tests/support/postgres_log.h"

namespace bel::storage {
namespace {

using namespace bel::storage::testing;  // NOLINT: test helpers

TEST_F(PostgresTest, ThreeWritersKeepIdxContiguousAndEveryAckedEventOnce) {
  constexpr int kWriters = 3;
  constexpr int kBatches = 40;
  Acked acked;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto log = open();
      ASSERT_NE(log, nullptr);
      for (int b = 0; b < kBatches; ++b) {
        std::vector<BuildEvent> batch;
        for (int i = 0; i <= b % 5; ++i) {
          batch.push_back(partition_event("br-" + std::to_string(w),
                                          "data/w" + std::to_string(w) + "/" + std::to_string(b)));
        }
        auto idxs = log->append_batch(batch);
        ASSERT_TRUE(idxs.ok()) << idxs.error().to_string();
        for (size_t i = 0; i < batch.size(); ++i) acked.add((*idxs)[i], batch[i].event_id());
      }
    });
  }
  for (auto& t : writers) t.join();

  auto log = open();
  ASSERT_NE(log, nullptr);
  const auto events = all_events(*log);
  EXPECT_EQ(acked.duplicates, 0);
  ASSERT_EQ(events.size(), acked.by_idx.size());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].idx(), static_cast<int64_t>(i) + 1);
    EXPECT_EQ(events[i].event_id(), acked.by_idx[events[i].idx()]) << "idx " << events[i].idx();
  }
}

TEST_F(PostgresTest, TwoWritersRacingOneEventIdCommitItOnce) {
  auto a = open();
  auto b = open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  BuildEvent event = partition_event("br", "data/x");
  ASSERT_TRUE(a->append_batch({event}).ok());
  auto again = b->append_batch({partition_event("br", "data/y"), event});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::duplicate_event_id);
  EXPECT_NE(again.error().message.find("append #2"), std::string::npos) << again.error().message;
  EXPECT_EQ(*b->last_idx(), 1);
}

TEST_F(PostgresTest, ACommitByAnotherWriterWakesAWaitingReader) {
  auto writer = open();
  ASSERT_NE(writer, nullptr);
  auto opened = PostgresStorage::open(uri_, {});
  ASSERT_TRUE(opened.ok());
  auto& reader = **opened;
  ASSERT_TRUE(reader.initialize().ok());
  // Nothing committed yet: the wait times out.
  auto quiet = reader.wait_for_commit(std::chrono::milliseconds(1));
  ASSERT_TRUE(quiet.ok());
  EXPECT_FALSE(*quiet);
  ASSERT_TRUE(writer->append_batch({partition_event("br", "data/a")}).ok());
  // The notification is delivered once the writer's COMMIT is done; waiting up to a minute only
  // bounds a broken server, the wait returns as soon as it arrives.
  auto woke = reader.wait_for_commit(std::chrono::minutes(1));
  ASSERT_TRUE(woke.ok());
  EXPECT_TRUE(*woke);
  EXPECT_EQ(*reader.last_idx(), 1);
}

TEST_F(PostgresTest, ASchemaVersionThatIsNotANumberIsRefusedAsNotABelLog) {
  ASSERT_NE(open(), nullptr);  // makes the tables
  bel::testing::run_postgres_sql(uri_,
                                 "UPDATE meta SET value = 'abc' WHERE key = 'schema_version'");
  for (const bool read_only : {true, false}) {
    StorageOptions options;
    options.read_only = read_only;
    auto log = open_storage(uri_, options);
    ASSERT_FALSE(log.ok()) << "read_only " << read_only;
    EXPECT_EQ(log.error().code, ErrorCode::storage_corrupt) << log.error().to_string();
    EXPECT_NE(log.error().message.find(uri_), std::string::npos) << log.error().message;
    EXPECT_NE(log.error().message.find("schema_version \"abc\""), std::string::npos)
        << log.error().message;
  }
}

// A console command on a database no coordinator has used yet: no log, not a corrupt one.
TEST_F(PostgresTest, AReadOnlyOpenOfAnEmptySchemaSaysThereIsNoLogYet) {
  StorageOptions options;
  options.read_only = true;
  auto log = open_storage(uri_, options);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code, ErrorCode::storage_unavailable) << log.error().to_string();
  EXPECT_NE(log.error().message.find("no bel log in schema"), std::string::npos)
      << log.error().message;
  EXPECT_EQ(log.error().message.find("SELECT"), std::string::npos) << log.error().message;
  // Nothing was made by looking: a writer then makes the log.
  EXPECT_FALSE(open_storage(uri_, options).ok());
  EXPECT_NE(open(), nullptr);
  EXPECT_TRUE(open_storage(uri_, options).ok());
}

// libpq's messages span lines; bel's are one line (a terminal, a log line, a JSON string).
TEST(PgMessageTextTest, LinesAreJoinedAndTheCaretLineLeftOut) {
  EXPECT_EQ(pg_message_text("connection to server on socket \"/x/.s.PGSQL.5432\" failed: No such "
                            "file or directory\n\tIs the server running locally?\n"),
            "connection to server on socket \"/x/.s.PGSQL.5432\" failed: No such file or "
            "directory; Is the server running locally?");
  EXPECT_EQ(pg_message_text("ERROR:  relation \"meta\" does not exist\nLINE 1: SELECT value FROM "
                            "meta\n                          ^\n"),
            "ERROR:  relation \"meta\" does not exist; LINE 1: SELECT value FROM meta");
  EXPECT_EQ(pg_message_text("  one line \n"), "one line");
  EXPECT_EQ(pg_message_text("\n \n"), "");
}

TEST(ShownUriTest, APasswordIsReplacedWhereverTheUriCarriesIt) {
  EXPECT_EQ(shown_uri("postgresql://bel:Top%40Secret@db.example:5432/bel?sslmode=require"),
            "postgresql://bel:***@db.example:5432/bel?sslmode=require");
  EXPECT_EQ(shown_uri("postgres://bel@db/bel?password=Top&sslmode=require&x=password=y"),
            "postgres://bel@db/bel?password=***&sslmode=require&x=password=y");
  EXPECT_EQ(shown_uri("postgresql:///bel?host=/run/pg&user=bel&password=Top"),
            "postgresql:///bel?host=/run/pg&user=bel&password=***");
  // A password holding '?' or '/' as it is, which libpq misreads; a parameter name encoded.
  EXPECT_EQ(shown_uri("postgresql://alice:Sec?ret99@h/db"), "postgresql://alice:***@h/db");
  EXPECT_EQ(shown_uri("postgresql://alice:Sec/ret99@127.0.0.1/db"),
            "postgresql://alice:***@127.0.0.1/db");
  EXPECT_EQ(shown_uri("postgres://bel@db/bel?%70assword=Top&x=1"),
            "postgres://bel@db/bel?%70assword=***&x=1");
  EXPECT_EQ(shown_uri("mysql://alice:Top@x/db"), "mysql://alice:***@x/db");
  // Both at once: the query is found after the password was hidden.
  EXPECT_EQ(shown_uri("postgresql://bel:LongSecret99@db/bel?password=Other77"),
            "postgresql://bel:***@db/bel?password=***");
  for (const std::string same : {"postgresql://bel@db/bel", "postgresql:///bel?host=/run/pg",
                                 "sqlite:///tmp/a:b@c.db", "memory://", "stdout"}) {
    EXPECT_EQ(shown_uri(same), same);
  }
}

TEST_F(PostgresTest, AnErrorNeverShowsThePasswordOfTheUri) {
  const size_t query = uri_.find('?');
  ASSERT_NE(query, std::string::npos) << uri_;
  const std::string uri =
      "postgresql://bel:TopSecret99@/no_such_database" + uri_.substr(query) + "&password=Other77";
  auto log = open_storage(uri, {});
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code, ErrorCode::storage_unavailable) << log.error().to_string();
  EXPECT_EQ(log.error().message.find("TopSecret99"), std::string::npos) << log.error().message;
  EXPECT_EQ(log.error().message.find("Other77"), std::string::npos) << log.error().message;
  EXPECT_NE(log.error().message.find("no_such_database"), std::string::npos) << log.error().message;
}

TEST_F(PostgresTest, AUserWithoutPrivilegesIsRefusedAsUnavailableNotAsACorruptLog) {
  ASSERT_NE(open(), nullptr);  // makes the tables
  const std::string role = "nopriv_" + std::to_string(::getpid());
  const size_t schema = uri_.find("search_path%3D");
  ASSERT_NE(schema, std::string::npos) << uri_;
  const std::string name = uri_.substr(schema + 14, uri_.find('&', schema) - schema - 14);
  // It may see the schema, not read its tables.
  bel::testing::run_postgres_sql(uri_, "DROP ROLE IF EXISTS " + role + "; CREATE ROLE " + role +
                                           " LOGIN; GRANT USAGE ON SCHEMA " + name + " TO " + role);
  const size_t user = uri_.find("user=");
  ASSERT_NE(user, std::string::npos) << uri_;
  const size_t end = uri_.find('&', user);
  const std::string uri =
      uri_.substr(0, user) + "user=" + role + (end == std::string::npos ? "" : uri_.substr(end));
  for (const bool read_only : {true, false}) {
    StorageOptions options;
    options.read_only = read_only;
    auto log = open_storage(uri, options);
    ASSERT_FALSE(log.ok()) << "read_only " << read_only;
    EXPECT_EQ(log.error().code, ErrorCode::storage_unavailable) << log.error().to_string();
    EXPECT_NE(log.error().message.find("permission denied"), std::string::npos)
        << log.error().message;
  }
}

}  // namespace
}  // namespace bel::storage
