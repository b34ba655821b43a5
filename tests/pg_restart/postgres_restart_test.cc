// The postgres:// backend while its server restarts under load. It takes the shared test server
// away, so ctest runs this binary alone (RUN_SERIAL). Skipped without BEL_TEST_PG and
// BEL_TEST_PG_CTL (scripts/with-postgres).
#include <gtest/gtest.h>

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
#include "storage/storage_factory.h"
#include "tests/storage/storage_test_events.h"
#include "tests/support/postgres.h"
#include "tests/support/postgres_log.h"

namespace bel::storage {
namespace {

using namespace bel::storage::testing;  // NOLINT: test helpers

TEST_F(PostgresTest, ARestartUnderLoadFailsAppendsAsUnavailableAndLosesNothingAcked) {
  if (std::getenv("BEL_TEST_PG_CTL") == nullptr) GTEST_SKIP() << "BEL_TEST_PG_CTL is not set";
  auto log = open();
  ASSERT_NE(log, nullptr);
  Acked acked;
  std::atomic<bool> stop{false};
  std::atomic<int> unavailable{0};
  std::atomic<int> other_errors{0};
  std::atomic<int> acked_after_restart{0};
  std::atomic<bool> restarted{false};
  std::thread writer([&] {
    while (!stop) {
      BuildEvent event = partition_event("br", "data/load");
      auto idxs = log->append_batch({event});
      if (idxs.ok()) {
        acked.add((*idxs)[0], event.event_id());
        if (restarted) ++acked_after_restart;
      } else if (idxs.error().code == ErrorCode::storage_unavailable) {
        ++unavailable;
        std::this_thread::yield();
      } else {
        ++other_errors;
        ADD_FAILURE() << idxs.error().to_string();
      }
    }
  });
  // Let some appends land, take the server away and back, then wait for appends to resume.
  while (acked.count < 20) std::this_thread::yield();
  ASSERT_TRUE(bel::testing::postgres_ctl("restart -m immediate"));
  restarted = true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (acked_after_restart < 20 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  stop = true;
  writer.join();
  EXPECT_GE(acked_after_restart.load(), 20) << "appends did not resume after the restart";
  EXPECT_GT(unavailable.load(), 0) << "the restart went unnoticed";
  EXPECT_EQ(other_errors.load(), 0);

  // Every acked event is there once, at its idx; idx is contiguous. (An append whose COMMIT
  // answer was lost may be there without an ack: that is what retrying with its id is for.)
  auto reader = open();
  ASSERT_NE(reader, nullptr);
  const auto events = all_events(*reader);
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i].idx(), static_cast<int64_t>(i) + 1);
  }
  for (const auto& [idx, id] : acked.by_idx) {
    ASSERT_LE(idx, static_cast<int64_t>(events.size()));
    EXPECT_EQ(events[idx - 1].event_id(), id) << "idx " << idx;
  }
  EXPECT_EQ(acked.duplicates, 0);
}

TEST_F(PostgresTest, AConnectionIdleThroughARestartAnswersTheFirstReadAfterIt) {
  if (std::getenv("BEL_TEST_PG_CTL") == nullptr) GTEST_SKIP() << "BEL_TEST_PG_CTL is not set";
  auto log = open();
  ASSERT_NE(log, nullptr);
  BuildEvent event = partition_event("br", "data/idle");
  ASSERT_TRUE(log->append_batch({event}).ok());
  // pg_ctl waits for the server to be back: the reader's connection is the old server's.
  ASSERT_TRUE(bel::testing::postgres_ctl("restart -m fast"));
  const auto events = all_events(*log);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_id(), event.event_id());
  auto last = log->last_idx();
  ASSERT_TRUE(last.ok()) << last.error().to_string();
  EXPECT_EQ(*last, 1);
}

TEST_F(PostgresTest, WaitingForCommitsWhileTheServerIsAwayFailsAsUnavailableThenListensAgain) {
  if (std::getenv("BEL_TEST_PG_CTL") == nullptr) GTEST_SKIP() << "BEL_TEST_PG_CTL is not set";
  auto watcher = open();
  auto writer = open();
  ASSERT_NE(watcher, nullptr);
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(watcher->wait_for_commit(std::chrono::milliseconds(1)).ok());  // listens
  ASSERT_TRUE(bel::testing::postgres_ctl("stop -m fast"));
  // A wait on a connection the server closed is an error, not "something may have committed":
  // a watcher told the latter would ask again at once, as fast as it can, for the whole outage.
  auto waited = watcher->wait_for_commit(std::chrono::milliseconds(1000));
  // Asked again while the server is still away, it tries to connect and fails: a watcher left
  // with no connection at all after that has to make one again.
  auto still_away = watcher->wait_for_commit(std::chrono::milliseconds(1));
  ASSERT_TRUE(bel::testing::postgres_ctl("start"));
  ASSERT_FALSE(waited.ok());
  EXPECT_EQ(waited.error().code, ErrorCode::storage_unavailable) << waited.error().to_string();
  ASSERT_FALSE(still_away.ok());
  EXPECT_EQ(still_away.error().code, ErrorCode::storage_unavailable)
      << still_away.error().to_string();
  // Back: the watcher listens on its new connection and hears the other writer's commit.
  Result<bool> again = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  do {
    again = watcher->wait_for_commit(std::chrono::milliseconds(1));
  } while (!again.ok() && std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  ASSERT_TRUE(writer->append_batch({partition_event("br", "data/after")}).ok());
  bool heard = false;
  while (!heard && std::chrono::steady_clock::now() < deadline) {
    auto woke = watcher->wait_for_commit(std::chrono::milliseconds(1000));
    ASSERT_TRUE(woke.ok()) << woke.error().to_string();
    heard = *woke;
  }
  EXPECT_TRUE(heard) << "no notification after the server came back";
}

// An append that finds no server fails before any statement could take effect: it says nothing
// was written (a console then does not send its user to look for the batch), and gives the
// server's own reason, also while the log waits before its next attempt to connect.
TEST_F(PostgresTest, AnAppendWithNoServerToReachSaysNothingWasWrittenAndWhy) {
  if (std::getenv("BEL_TEST_PG_CTL") == nullptr) GTEST_SKIP() << "BEL_TEST_PG_CTL is not set";
  auto log = open();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->append_batch({partition_event("br", "data/before")}).ok());
  ASSERT_TRUE(bel::testing::postgres_ctl("stop -m fast"));
  // Until one append comes while the log waits to try again (each attempt doubles the wait, from
  // 50 ms: one soon does, however slow the machine).
  std::vector<Error> failures;
  while (failures.size() < 12 &&
         (failures.empty() ||
          failures.back().message.find("(the next attempt in ") == std::string::npos)) {
    auto away = log->append_batch({partition_event("br", "data/away")});
    if (away.ok()) break;
    failures.push_back(away.error());
  }
  ASSERT_TRUE(bel::testing::postgres_ctl("start"));
  ASSERT_GE(failures.size(), 2u);
  for (const Error& e : failures) {
    EXPECT_EQ(e.code, ErrorCode::storage_unavailable) << e.to_string();
    EXPECT_NE(e.message.find("cannot connect to PostgreSQL: "), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("nothing was written (no commit was sent), a retry is safe"),
              std::string::npos)
        << e.message;
  }
  // The reason the attempt before got, given again by the append that waits for the next one.
  const std::string& attempted = failures[failures.size() - 2].message;
  const size_t from = attempted.find("PostgreSQL: ") + 12;
  const std::string why = attempted.substr(from, attempted.find("; nothing") - from);
  EXPECT_FALSE(why.empty());
  EXPECT_NE(failures.back().message.find(why + " (the next attempt in "), std::string::npos)
      << failures.back().message;
  auto events = all_events(*log);  // once the server is back
  ASSERT_EQ(events.size(), 1u);
}

}  // namespace
}  // namespace bel::storage
