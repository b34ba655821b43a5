#include "projections/string_pool.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace bel::projections {
namespace {

TEST(StringPoolTest, InterningTheSameStringGivesTheSameIdAndOneCopy) {
  StringPool pool;
  EXPECT_EQ(pool.find("data/a"), StringPool::kNone);
  const auto a = pool.intern("data/a");
  const auto b = pool.intern("data/b");
  EXPECT_EQ(a, 0u);
  EXPECT_EQ(b, 1u);
  EXPECT_EQ(pool.intern(std::string("data/a")), a);
  EXPECT_EQ(pool.find("data/b"), b);
  EXPECT_EQ(pool.str(a), "data/a");
  EXPECT_EQ(pool.str(b), "data/b");
  EXPECT_EQ(pool.size(), 2u);
}

TEST(StringPoolTest, EmptyLongAndEmbeddedNulStringsAreKeptExactly) {
  StringPool pool;
  const std::string nul("a\0b", 3);
  const std::string long_text(100000, 'x');  // longer than a block
  const auto e = pool.intern("");
  const auto n = pool.intern(nul);
  const auto l = pool.intern(long_text);
  EXPECT_NE(pool.intern(std::string("a")), n);
  EXPECT_EQ(pool.str(e), "");
  EXPECT_EQ(pool.str(n), nul);
  EXPECT_EQ(pool.str(l), long_text);
  EXPECT_EQ(pool.find(""), e);
  EXPECT_EQ(pool.find(long_text), l);
}

// Many strings of random lengths, some repeated, against a std::unordered_map: the same ids, and
// views taken early stay valid while the pool grows (blocks never move).
TEST(StringPoolTest, AgreesWithAHashMapOverManyStringsAndKeepsViewsValid) {
  std::mt19937 rng(7);
  StringPool pool;
  std::unordered_map<std::string, StringPool::Id> reference;
  std::vector<std::string> strings;
  std::vector<std::string_view> early;
  for (int i = 0; i < 200000; ++i) {
    std::string s;
    if (!strings.empty() && rng() % 3 == 0) {
      s = strings[rng() % strings.size()];
    } else {
      s.resize(rng() % 70);
      for (char& c : s) c = static_cast<char>('a' + rng() % 26);
      if (rng() % 50 == 0) s.assign(20000 + rng() % 5000, 'q');
      s += std::to_string(i % 50000);
    }
    const auto id = pool.intern(s);
    auto [it, added] = reference.emplace(s, static_cast<StringPool::Id>(reference.size()));
    ASSERT_EQ(id, it->second) << s;
    if (added) {
      strings.push_back(s);
      if (early.size() < 1000) early.push_back(pool.str(id));
    }
  }
  EXPECT_EQ(pool.size(), reference.size());
  for (const auto& [s, id] : reference) {
    ASSERT_EQ(pool.find(s), id);
    ASSERT_EQ(pool.str(id), s);
  }
  for (size_t i = 0; i < early.size(); ++i) EXPECT_EQ(early[i], strings[i]);
  EXPECT_EQ(pool.find("never interned"), StringPool::kNone);
  EXPECT_GT(pool.bytes(), 0u);
}

// Each slot keeps bits of its string's hash beside the id; how many depends on the table's size.
// Growing the table by reserve() between interns must find every string again, each once.
TEST(StringPoolTest, ReservingBetweenInternsFindsEveryStringOnce) {
  StringPool pool;
  std::vector<std::string> strings;
  auto add = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      strings.push_back("sales/daily/r" + std::to_string(i % 97) + "/" + std::to_string(i));
      ASSERT_EQ(pool.intern(strings.back()), static_cast<StringPool::Id>(i));
    }
  };
  add(0, 3000);
  pool.reserve(1 << 20);
  add(3000, 6000);
  pool.reserve(100);  // smaller than the table: nothing changes
  for (size_t i = 0; i < strings.size(); ++i) {
    ASSERT_EQ(pool.find(strings[i]), static_cast<StringPool::Id>(i)) << strings[i];
    ASSERT_EQ(pool.intern(strings[i]), static_cast<StringPool::Id>(i)) << strings[i];
  }
  EXPECT_EQ(pool.size(), strings.size());
  EXPECT_EQ(pool.find("sales/daily/r1/6001"), StringPool::kNone);
}

TEST(StringPoolTest, AMovedPoolKeepsItsStringsAndViews) {
  StringPool pool;
  pool.reserve(1000);
  const auto id = pool.intern("build-1");
  const std::string_view view = pool.str(id);
  StringPool moved(std::move(pool));
  EXPECT_EQ(moved.find("build-1"), id);
  EXPECT_EQ(view, "build-1");  // the characters did not move
  EXPECT_EQ(moved.intern("build-2"), id + 1);
}

}  // namespace
}  // namespace bel::projections
