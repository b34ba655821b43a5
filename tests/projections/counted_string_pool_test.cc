#include "projections/counted_string_pool.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace bel::projections {
namespace {

TEST(CountedStringPoolTest, AStringIsKeptUntilItsLastReferenceGoes) {
  CountedStringPool pool;
  const auto a = pool.acquire("jr-1");
  EXPECT_EQ(pool.acquire(std::string("jr-1")), a);
  pool.acquire(a);
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_FALSE(pool.release(a));
  EXPECT_FALSE(pool.release(a));
  EXPECT_EQ(pool.find("jr-1"), a);
  EXPECT_EQ(pool.str(a), "jr-1");
  EXPECT_TRUE(pool.release(a));
  EXPECT_EQ(pool.find("jr-1"), CountedStringPool::kNone);
  EXPECT_EQ(pool.size(), 0u);
}

TEST(CountedStringPoolTest, TheEmptyStringIsKNoneAndHoldsNothing) {
  CountedStringPool pool;
  EXPECT_EQ(pool.acquire(""), CountedStringPool::kNone);
  EXPECT_EQ(pool.find(""), CountedStringPool::kNone);
  EXPECT_EQ(pool.str(CountedStringPool::kNone), "");
  pool.acquire(CountedStringPool::kNone);
  EXPECT_FALSE(pool.release(CountedStringPool::kNone));
  EXPECT_EQ(pool.size(), 0u);
}

TEST(CountedStringPoolTest, AFreedIdIsReusedAndFreedBytesAreReclaimed) {
  CountedStringPool pool;
  const std::string long_text(1000, 'x');
  size_t most_bytes = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string s = long_text + std::to_string(i);
    const auto id = pool.acquire(s);
    EXPECT_EQ(id, 0u);  // the one id, freed every time
    EXPECT_EQ(pool.str(id), s);
    EXPECT_TRUE(pool.release(id));
    most_bytes = std::max(most_bytes, pool.bytes());
  }
  // 2 MB went through; what is held stays a few strings' worth.
  EXPECT_LT(most_bytes, 20u * 1000u);
}

// Random acquires and releases against a map of reference counts: every held string is found
// with its id and text, every released one is gone, ids are below id_limit(). Many strings share
// hash slots' runs, so deletions shift entries back through the probe runs.
TEST(CountedStringPoolTest, RandomAcquiresAndReleasesMatchAMapOfCounts) {
  for (uint32_t seed = 1; seed <= 10; ++seed) {
    std::mt19937 rng(seed);
    CountedStringPool pool;
    std::map<std::string, std::pair<uint32_t, int>> held;  // string -> id, references
    for (int step = 0; step < 5000; ++step) {
      const std::string s = "jr-" + std::to_string(rng() % 300) + std::string(rng() % 40, 'y');
      auto it = held.find(s);
      if (rng() % 2 == 0 || it == held.end()) {
        const auto id = pool.acquire(s);
        if (it == held.end()) {
          held.emplace(s, std::make_pair(id, 1));
        } else {
          ASSERT_EQ(id, it->second.first);
          ++it->second.second;
        }
      } else {
        const bool last = --it->second.second == 0;
        ASSERT_EQ(pool.release(it->second.first), last);
        if (last) held.erase(it);
      }
      if (step % 97 != 0) continue;
      ASSERT_EQ(pool.size(), held.size());
      std::set<uint32_t> ids;
      for (const auto& [text, entry] : held) {
        ASSERT_TRUE(ids.insert(entry.first).second) << "two strings share id " << entry.first;
        ASSERT_LT(entry.first, pool.id_limit());
        ASSERT_EQ(pool.find(text), entry.first) << "seed " << seed << " step " << step;
        ASSERT_EQ(pool.str(entry.first), text);
      }
    }
    for (const auto& [text, entry] : held) {
      for (int i = 1; i < entry.second; ++i) ASSERT_FALSE(pool.release(entry.first));
      ASSERT_TRUE(pool.release(entry.first));
      ASSERT_EQ(pool.find(text), CountedStringPool::kNone);
    }
    ASSERT_EQ(pool.size(), 0u);
  }
}

}  // namespace
}  // namespace bel::projections
