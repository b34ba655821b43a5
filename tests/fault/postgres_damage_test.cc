// Damage to the rows a PostgreSQL log derives from its event payloads (docs/reliability.md, R8):
// the "derived rows" check of `bel check` passes on an intact log and fails,
// saying what differs, when an event_keys row is missing or extra, or when an event's columns
// disagree with its payload. Skipped without BEL_TEST_PG (scripts/with-postgres).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "actors/check/postgres_check.h"
#include "messages/event_id.h"
#include "storage/storage_factory.h"
#include "tests/support/postgres.h"
#include "tests/support/postgres_log.h"
#include "tests/support/random_stream.h"

namespace bel {
namespace {

using storage::testing::PostgresTest;

class PostgresDamageTest : public PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    if (IsSkipped()) return;
    auto events = testing::random_stream(23, testing::stream_options(600, 6, 40));
    for (size_t i = 0; i < events.size(); ++i) {
      events[i].clear_idx();
      // Both kinds of id: canonical UUIDs (the uuid column) and others (the text column).
      if (i % 3 != 0) events[i].set_event_id(new_event_id());
    }
    auto log = open();
    ASSERT_TRUE(log);
    for (size_t at = 0; at < events.size(); at += 200) {
      std::vector<BuildEvent> batch(events.begin() + at,
                                    events.begin() + std::min(events.size(), at + 200));
      auto appended = log->append_batch(batch);
      ASSERT_TRUE(appended.ok()) << appended.error().to_string();
    }
  }

  // Runs `sql` on the log's schema; the number of rows it changed.
  int run_sql(const std::string& sql) { return testing::run_postgres_sql(uri_, sql); }

  check::CheckResult check() {
    check::CheckResult result = check::check_postgres_derived_rows(uri_);
    EXPECT_EQ(result.name, "derived rows");
    return result;
  }
};

TEST_F(PostgresDamageTest, AnIntactLogPasses) {
  const auto result = check();
  EXPECT_TRUE(result.ok) << result.detail;
  EXPECT_NE(result.detail.find("600 events"), std::string::npos) << result.detail;
  EXPECT_NE(result.detail.find("up to idx 600"), std::string::npos) << result.detail;
}

TEST_F(PostgresDamageTest, AMissingOrAnExtraKeyRowFails) {
  ASSERT_EQ(run_sql("DELETE FROM event_keys WHERE ctid = (SELECT ctid FROM event_keys "
                    "WHERE kind = 1 ORDER BY idx DESC LIMIT 1)"),
            1);
  auto result = check();
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.detail.find("key index (event_keys)"), std::string::npos) << result.detail;
  // A key row the events do not give, with the count of rows as it was.
  ASSERT_EQ(run_sql("INSERT INTO event_keys(kind, key, idx) VALUES (1, 'data/nowhere', 3)"), 1);
  result = check();
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.detail.find("key index (event_keys)"), std::string::npos) << result.detail;
}

TEST_F(PostgresDamageTest, AColumnThatDisagreesWithItsPayloadFailsNamingTheEvent) {
  const std::vector<std::pair<std::string, std::string>> damages = {
      {"UPDATE events SET build_request_id = 'br-elsewhere' WHERE idx = 7", "build_request_id"},
      {"UPDATE events SET timestamp = timestamp + 1 WHERE idx = 7", "timestamp"},
      {"UPDATE events SET event_type = event_type % 7 + 1 WHERE idx = 7", "event_type"},
      {"UPDATE events SET event_text = 'not-its-id' WHERE idx = 7", "event_uuid or event_text"},
  };
  for (const auto& [sql, column] : damages) {
    SCOPED_TRACE(sql);
    ASSERT_EQ(run_sql("BEGIN; CREATE TABLE kept AS SELECT * FROM events WHERE idx = 7; " + sql +
                      "; COMMIT"),
              0);
    const auto result = check();
    EXPECT_FALSE(result.ok);
    EXPECT_NE(result.detail.find("idx 7: the " + column + " column differs from the payload"),
              std::string::npos)
        << result.detail;
    run_sql(
        "BEGIN; DELETE FROM events WHERE idx = 7; INSERT INTO events SELECT * FROM kept; "
        "DROP TABLE kept; COMMIT");
    const auto restored = check();
    EXPECT_TRUE(restored.ok) << restored.detail;
  }
}

TEST_F(PostgresDamageTest, AServerThatCannotBeReachedIsAFailedCheckNamingIt) {
  const auto result =
      check::check_postgres_derived_rows("postgresql://bel:secret@127.0.0.1:1/nowhere");
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.detail.find("127.0.0.1:1"), std::string::npos) << result.detail;
  EXPECT_EQ(result.detail.find("secret"), std::string::npos) << result.detail;
}

}  // namespace
}  // namespace bel
