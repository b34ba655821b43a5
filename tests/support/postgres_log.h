// A test fixture on a fresh PostgreSQL log, for the suites that test the postgres:// backend
// (tests/storage, tests/pg_restart): skips without BEL_TEST_PG (scripts/with-postgres).
// Header-only: each suite compiles it.
#ifndef BEL_TESTS_SUPPORT_POSTGRES_LOG_H_
#define BEL_TESTS_SUPPORT_POSTGRES_LOG_H_

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/storage.h"
#include "storage/storage_factory.h"
#include "tests/support/postgres.h"

namespace bel::storage::testing {

// Every event of `log`, ascending, read in pages.
inline std::vector<BuildEvent> read_all_events(Storage& log) {
  std::vector<BuildEvent> out;
  int64_t since = 0;
  for (;;) {
    auto page = log.list_events(since, EventFilter(), kMaxListLimit);
    EXPECT_TRUE(page.ok());
    if (!page.ok()) return out;
    for (const auto& e : page->events()) out.push_back(e);
    since = page->next_idx();
    if (!page->has_more()) return out;
  }
}

class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto uri = bel::testing::fresh_postgres_uri();
    if (!uri) GTEST_SKIP() << "BEL_TEST_PG is not set (run through scripts/with-postgres)";
    uri_ = *uri;
  }

  std::unique_ptr<Storage> open() {
    auto log = open_storage(uri_, {});
    EXPECT_TRUE(log.ok()) << log.error().to_string();
    return log.ok() ? std::move(*log) : nullptr;
  }

  std::vector<BuildEvent> all_events(Storage& log) { return read_all_events(log); }

  std::string uri_;
};

// Acked (idx, event_id) pairs, shared by writer threads.
struct Acked {
  std::mutex mu;
  std::map<int64_t, std::string> by_idx;
  int duplicates = 0;
  std::atomic<size_t> count{0};

  void add(int64_t idx, const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    if (!by_idx.emplace(idx, id).second) ++duplicates;
    ++count;
  }
};

}  // namespace bel::storage::testing

#endif  // BEL_TESTS_SUPPORT_POSTGRES_LOG_H_
