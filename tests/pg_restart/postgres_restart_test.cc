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

}  // namespace
}  // namespace bel::storage
