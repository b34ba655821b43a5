// The postgres:// backend beyond the conformance suite: several writers on one log, a server
// restart under load, commit notifications. Skipped without BEL_TEST_PG (scripts/with-postgres).
#include "tests/support/postgres.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "messages/event_id.h"
#include "storage/postgres_lock.h"
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

// The URI of a log in the schema `name` (created by the first writer when missing).
std::optional<std::string> uri_of_schema(const std::string& name) {
  const char* base = std::getenv("BEL_TEST_PG");
  if (base == nullptr || *base == '\0') return std::nullopt;
  std::string uri = base;
  std::string encoded;
  for (const char c : name) {
    if (c == '"')
      encoded += "%22";
    else
      encoded += c;
  }
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
         encoded;
}

BuildEvent with_id(BuildEvent event, const std::string& id) {
  event.set_event_id(id);
  return event;
}

std::string unique_schema(const std::string& stem) {
  static std::atomic<int> counter{0};
  return stem + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1));
}

// A coordinator stopped (or stalled) inside its append transaction holds the log's lock: the
// others' appends fail with storage_unavailable after a bounded wait, and the server ends the
// stalled session, so the log takes appends again without it.
TEST_F(PostgresTest, AWriterStalledInItsTransactionHoldsNoOtherWriterUpForLong) {
  std::promise<void> locked, release;
  auto release_future = release.get_future().share();
  StorageOptions stalling;
  stalling.postgres_stall_limit = std::chrono::milliseconds(1000);
  bool first = true;
  stalling.fault_hook = [&, release_future](FaultPoint point) -> Status {
    if (point == FaultPoint::begin && first) {
      first = false;
      locked.set_value();     // it holds the log's lock now
      release_future.wait();  // stopped, as by SIGSTOP
    }
    return ok_status();
  };
  auto stalled = open_storage(uri_, stalling);
  ASSERT_TRUE(stalled.ok()) << stalled.error().to_string();
  StorageOptions impatient;
  impatient.postgres_lock_wait = std::chrono::milliseconds(200);
  auto other = open_storage(uri_, impatient);
  ASSERT_TRUE(other.ok()) << other.error().to_string();
  StorageOptions patient;
  patient.postgres_lock_wait = std::chrono::minutes(2);
  auto waiting = open_storage(uri_, patient);
  ASSERT_TRUE(waiting.ok()) << waiting.error().to_string();
  Result<std::vector<int64_t>> stalled_append = std::vector<int64_t>{};
  std::thread stopped([&] {
    stalled_append =
        (*stalled)->append_batch({with_id(partition_event("br-a", "data/a"), "stalled-1")});
  });
  locked.get_future().wait();

  auto refused = (*other)->append_batch({with_id(partition_event("br-b", "data/b"), "b-1")});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::storage_unavailable) << refused.error().to_string();
  EXPECT_NE(refused.error().message.find("another writer of this log has held it"),
            std::string::npos)
      << refused.error().message;

  // A writer that waits long enough gets the lock once the server has ended the stalled
  // session (after its stall limit), not when the stalled process wakes.
  auto appended = (*waiting)->append_batch({with_id(partition_event("br-b", "data/b"), "b-1")});
  ASSERT_TRUE(appended.ok()) << appended.error().to_string();
  EXPECT_EQ(appended->front(), 1);

  release.set_value();
  stopped.join();
  // The stalled append's session is gone: it stored nothing, and says so as unavailable.
  ASSERT_FALSE(stalled_append.ok());
  EXPECT_EQ(stalled_append.error().code, ErrorCode::storage_unavailable)
      << stalled_append.error().to_string();
  auto reader = open();
  ASSERT_NE(reader, nullptr);
  const auto events = all_events(*reader);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_id(), "b-1");
}

// A writer of `uri` that waits 0.3 s for the log's lock, and takes a holder whose COPY began over
// 1 s ago and does not move for a stopped one.
std::unique_ptr<Storage> quick_writer_of(const std::string& uri) {
  StorageOptions quick;
  quick.postgres_lock_wait = std::chrono::milliseconds(300);
  quick.postgres_stall_limit = std::chrono::milliseconds(1000);
  auto writer = open_storage(uri, quick);
  EXPECT_TRUE(writer.ok()) << writer.error().to_string();
  return writer.ok() ? std::move(*writer) : nullptr;
}

// Makes `session` another writer in its transaction: the log's lock taken, a COPY into `table`
// begun.
bool in_copy_holding_the_lock(bel::testing::PostgresSession& session, const std::string& table) {
  return session.run("BEGIN") && session.run(pg_take_log_lock_sql()) &&
         session.run("COPY " + table + " FROM STDIN");
}

// A writer stopped in the middle of its COPY (the server waits on its data, where the stall
// timeout does not apply) is ended by a writer that waited for the lock, once it has been stalled
// past the stall limit: the log takes appends again while the stopped process still sleeps.
TEST_F(PostgresTest, AWriterStoppedInItsCopyIsEndedByTheNextWriter) {
  auto writer = quick_writer_of(uri_);  // makes the log's tables, under the lock
  ASSERT_NE(writer, nullptr);
  // The stopped writer: it holds the log's lock and has begun a COPY it sends nothing of.
  bel::testing::PostgresSession stopped_writer(uri_);
  ASSERT_TRUE(in_copy_holding_the_lock(stopped_writer, "event_keys(kind, key, idx)"));
  PGconn* stopped = stopped_writer.get();
  bool said_ended = false;
  Result<std::vector<int64_t>> appended = std::vector<int64_t>{};
  for (int attempt = 0; attempt < 100; ++attempt) {  // each waits 0.3 s for the lock
    appended = writer->append_batch({with_id(partition_event("br-a", "data/a"), "a-1")});
    if (appended.ok()) break;
    ASSERT_EQ(appended.error().code, ErrorCode::storage_unavailable)
        << appended.error().to_string();
    said_ended = said_ended || appended.error().message.find(
                                   "was stalled in a COPY and is now ended") != std::string::npos;
  }
  ASSERT_TRUE(appended.ok()) << appended.error().to_string();
  EXPECT_EQ(appended->front(), 1);
  EXPECT_TRUE(said_ended);
  // The stopped writer's session is gone: what it would send now fails.
  const bool sent =
      PQputCopyData(stopped, "1\tp\t1\n", 6) == 1 && PQputCopyEnd(stopped, nullptr) == 1;
  PGresult* r = sent ? PQgetResult(stopped) : nullptr;
  EXPECT_TRUE(!sent || PQresultStatus(r) != PGRES_COMMAND_OK) << PQerrorMessage(stopped);
  PQclear(r);
  const auto events = all_events(*writer);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_id(), "a-1");
}

// A writer whose COPY is slow but moving (a row every 0.1 s, for several times the stall limit)
// is left alone by the writers waiting for the lock: its transaction commits.
TEST_F(PostgresTest, AWriterSlowInItsCopyIsLeftAlone) {
  auto writer = quick_writer_of(uri_);
  ASSERT_NE(writer, nullptr);
  bel::testing::PostgresSession slow_writer(uri_);
  ASSERT_TRUE(slow_writer.run("CREATE TEMP TABLE slow_rows(x text)") &&
              in_copy_holding_the_lock(slow_writer, "slow_rows(x)"));
  PGconn* slow = slow_writer.get();
  // The waiting writer fails each attempt after 0.3 s and looks at the holder each time; once
  // the holder's COPY is past the stall limit (1 s), an attempt also takes its second look.
  constexpr int kAttempts = 6;  // the last three or so past the stall limit
  std::mutex mu;
  std::condition_variable attempted;
  int attempts = 0;
  std::atomic<bool> sending{true};
  std::thread waiting([&] {
    while (sending) {
      auto refused = writer->append_batch({partition_event("br-w", "data/w")});
      EXPECT_FALSE(refused.ok());
      if (!refused.ok()) {
        EXPECT_EQ(refused.error().message.find("is now ended"), std::string::npos)
            << refused.error().message;
      }
      std::lock_guard<std::mutex> lock(mu);
      ++attempts;
      attempted.notify_all();
    }
  });
  // A slow client: a row at least every 0.1 s, until the waiting writer has tried kAttempts
  // times (the wait for the next attempt paces the rows).
  bool fed = true;
  for (bool done = false; !done && fed;) {
    fed = PQputCopyData(slow, "r\n", 2) == 1 && PQflush(slow) == 0;
    std::unique_lock<std::mutex> lock(mu);
    done = attempted.wait_for(lock, std::chrono::milliseconds(100),
                              [&] { return attempts >= kAttempts; });
  }
  EXPECT_TRUE(fed) << PQerrorMessage(slow);
  EXPECT_EQ(PQputCopyEnd(slow, nullptr), 1) << PQerrorMessage(slow);
  PGresult* copied = PQgetResult(slow);
  EXPECT_EQ(PQresultStatus(copied), PGRES_COMMAND_OK) << PQerrorMessage(slow);
  PQclear(copied);
  while (PGresult* more = PQgetResult(slow)) PQclear(more);
  sending = false;
  waiting.join();  // its last attempt still finds the lock held
  EXPECT_TRUE(slow_writer.run("COMMIT"));
  auto appended = writer->append_batch({partition_event("br-w", "data/w")});
  EXPECT_TRUE(appended.ok()) << appended.error().to_string();
}

// Schema names that make "bel_log_<schema>" an identifier PostgreSQL would refuse or misread: a
// quote, and a name of 60 bytes (63 is the longest identifier). Appends commit and a reader
// waiting for commits wakes.
TEST(PostgresChannelTest, OddSchemaNamesStillTakeAppendsAndWakeReaders) {
  if (!uri_of_schema("x")) GTEST_SKIP() << "BEL_TEST_PG is not set (scripts/with-postgres)";
  const std::string quoted = unique_schema("q\"") + "\"y";
  const std::string long_name = unique_schema("l_") + std::string(60, 'a');
  for (const std::string& name : {quoted, long_name.substr(0, 60)}) {
    SCOPED_TRACE(name);
    const std::string uri = *uri_of_schema(name);
    auto writer = open_storage(uri, {});
    ASSERT_TRUE(writer.ok()) << writer.error().to_string();
    StorageOptions read_only;
    read_only.read_only = true;
    auto opened = PostgresStorage::open(uri, read_only);
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    auto& reader = **opened;
    auto quiet = reader.wait_for_commit(std::chrono::milliseconds(1));
    ASSERT_TRUE(quiet.ok()) << quiet.error().to_string();
    auto appended = (*writer)->append_batch({partition_event("br", "data/a")});
    ASSERT_TRUE(appended.ok()) << appended.error().to_string();
    auto woke = reader.wait_for_commit(std::chrono::minutes(1));
    ASSERT_TRUE(woke.ok()) << woke.error().to_string();
    EXPECT_TRUE(*woke);
    EXPECT_EQ(*reader.last_idx(), 1);
  }
  EXPECT_LE(commit_channel(long_name).size(), 63u);
  EXPECT_NE(commit_channel(long_name), commit_channel(long_name + "b"));
  EXPECT_EQ(commit_channel("team_a"), "bel_log_team_a");
}

// The schema search_path names is found as PostgreSQL reads the setting: an unquoted name in
// capitals is the lower-case schema (one log whichever case names it), a quoted one keeps its
// capitals (a log apart from the lower-case one). The first writer creates either.
TEST(PostgresSchemaTest, ASchemaNamedInCapitalsIsTheOnePostgresFoldsItTo) {
  if (!uri_of_schema("x")) GTEST_SKIP() << "BEL_TEST_PG is not set (scripts/with-postgres)";
  auto last_idx_in = [](const std::string& uri) -> int64_t {
    auto log = open_storage(uri, {});
    EXPECT_TRUE(log.ok()) << uri << ": " << log.error().to_string();
    if (!log.ok()) return -1;
    auto last = (*log)->last_idx();
    EXPECT_TRUE(last.ok()) << last.error().to_string();
    return last.ok() ? *last : -1;
  };
  const std::string lower = unique_schema("mixed_");
  std::string upper = lower;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  {
    auto writer = open_storage(*uri_of_schema(upper), {});
    ASSERT_TRUE(writer.ok()) << writer.error().to_string();
    ASSERT_TRUE((*writer)->append_batch({partition_event("br", "data/a")}).ok());
  }
  EXPECT_EQ(last_idx_in(*uri_of_schema(lower)), 1);

  const std::string quoted = "\"" + upper + "_Q\"";
  {
    auto writer = open_storage(*uri_of_schema(quoted), {});
    ASSERT_TRUE(writer.ok()) << writer.error().to_string();
    ASSERT_TRUE((*writer)->append_batch({partition_event("br", "data/a")}).ok());
    ASSERT_TRUE((*writer)->append_batch({partition_event("br", "data/b")}).ok());
  }
  EXPECT_EQ(last_idx_in(*uri_of_schema(quoted)), 2);
  EXPECT_EQ(last_idx_in(*uri_of_schema(lower + "_q")), 0);  // another log, created empty
}

// The log is the first schema search_path names, also when it is missing and a later one exists
// (PostgreSQL's current schema is then that later one: another log): a writer creates it, a
// reader says it is not there.
TEST(PostgresSchemaTest, TheFirstSchemaSearchPathNamesIsTheLogsWhenALaterOneExists) {
  if (!uri_of_schema("x")) GTEST_SKIP() << "BEL_TEST_PG is not set (scripts/with-postgres)";
  const std::string first = unique_schema("first_");
  StorageOptions read_only;
  read_only.read_only = true;
  auto reader = open_storage(*uri_of_schema(first + ",public"), read_only);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.error().code, ErrorCode::storage_unavailable);
  EXPECT_NE(reader.error().message.find("no bel log in schema " + first + " yet"),
            std::string::npos)
      << reader.error().message;
  {
    auto writer = open_storage(*uri_of_schema(first + ",public"), {});
    ASSERT_TRUE(writer.ok()) << writer.error().to_string();
    ASSERT_TRUE((*writer)->append_batch({partition_event("br", "data/first")}).ok());
  }
  reader = open_storage(*uri_of_schema(first), read_only);
  ASSERT_TRUE(reader.ok()) << reader.error().to_string();
  auto last = (*reader)->last_idx();
  ASSERT_TRUE(last.ok()) << last.error().to_string();
  EXPECT_EQ(*last, 1);

  // A name over 63 bytes is the server's cut of it, not any schema it begins with.
  const std::string prefix = unique_schema("p");
  {
    auto short_log = open_storage(*uri_of_schema(prefix), {});
    ASSERT_TRUE(short_log.ok()) << short_log.error().to_string();
    ASSERT_TRUE((*short_log)->append_batch({partition_event("br", "data/short")}).ok());
  }
  const std::string long_name = prefix + std::string(70, 'z');
  {
    auto writer = open_storage(*uri_of_schema(long_name + "," + prefix), {});
    ASSERT_TRUE(writer.ok()) << writer.error().to_string();
    ASSERT_TRUE((*writer)->append_batch({partition_event("br", "data/long")}).ok());
  }
  reader = open_storage(*uri_of_schema(prefix), read_only);
  ASSERT_TRUE(reader.ok()) << reader.error().to_string();
  last = (*reader)->last_idx();
  ASSERT_TRUE(last.ok()) << last.error().to_string();
  EXPECT_EQ(*last, 1) << "the log of a name over 63 bytes went into " << prefix;
}

// A schema holding another program's tables (an "events" table of its own) and no bel meta table
// is not a bel log: readers and writers both say so, naming the tables, and leave them as they
// were (no bel table is created beside them).
TEST(PostgresSchemaTest, ASchemaOfAnotherProgramsTablesIsNotABelLog) {
  if (!uri_of_schema("x")) GTEST_SKIP() << "BEL_TEST_PG is not set (scripts/with-postgres)";
  const std::string name = unique_schema("other_");
  const std::string uri = *uri_of_schema(name);
  ASSERT_EQ(bel::testing::run_postgres_sql(
                *uri_of_schema("public"),
                "CREATE SCHEMA " + name + "; CREATE TABLE " + name + ".events(x int)"),
            0);
  StorageOptions read_only;
  read_only.read_only = true;
  // The reader after the writer finds the schema as it was: no meta table was created.
  for (const StorageOptions& options : {read_only, StorageOptions{}, read_only}) {
    auto log = open_storage(uri, options);
    ASSERT_FALSE(log.ok()) << "read_only " << options.read_only;
    EXPECT_EQ(log.error().code, ErrorCode::storage_corrupt) << log.error().to_string();
    EXPECT_NE(log.error().message.find("not a bel log: schema " + name +
                                       " has tables (events) but no bel meta table"),
              std::string::npos)
        << log.error().message;
  }
}

// Tables of other names in the schema (PostGIS's spatial_ref_sys in public, say) are no concern
// of bel's: its log is made beside them, as always.
TEST(PostgresSchemaTest, ALogIsMadeBesideTablesOfOtherNames) {
  if (!uri_of_schema("x")) GTEST_SKIP() << "BEL_TEST_PG is not set (scripts/with-postgres)";
  const std::string name = unique_schema("shared_");
  ASSERT_EQ(bel::testing::run_postgres_sql(
                *uri_of_schema("public"),
                "CREATE SCHEMA " + name + "; CREATE TABLE " + name + ".spatial_ref_sys(x int)"),
            0);
  auto log = open_storage(*uri_of_schema(name), {});
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  ASSERT_TRUE((*log)->append_batch({partition_event("br", "data/shared")}).ok());
}

// Coordinators started together on a log whose schema does not exist yet all open it.
TEST(PostgresSchemaTest, WritersOpeningAMissingSchemaTogetherAllOpenIt) {
  if (!uri_of_schema("x")) GTEST_SKIP() << "BEL_TEST_PG is not set (scripts/with-postgres)";
  for (int round = 0; round < 8; ++round) {
    const std::string uri = *uri_of_schema(unique_schema("race_"));
    std::vector<Status> opened(3, ok_status());
    std::atomic<int> ready{0};
    std::vector<std::thread> writers;
    for (size_t i = 0; i < opened.size(); ++i) {
      writers.emplace_back([&, i] {
        ready.fetch_add(1);
        while (ready.load() < static_cast<int>(opened.size())) std::this_thread::yield();
        auto log = open_storage(uri, {});
        if (!log.ok()) opened[i] = log.error();
      });
    }
    for (auto& t : writers) t.join();
    for (const auto& status : opened) {
      EXPECT_TRUE(status.ok()) << "round " << round << ": " << status.error().to_string();
    }
  }
}

}  // namespace
}  // namespace bel::storage
