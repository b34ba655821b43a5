#include "projections/string_pool.h"

#include <gtest/gtest.h>

#include <cstdio>
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

// A string's length is kept before its characters in one byte below 128, in two up to 16 KiB;
// longer ones get an allocation of their own. Each length at the edges comes back exactly, also
// when strings fill blocks to their last byte.
TEST(StringPoolTest, StringsAtEachLengthEdgeComeBackExactly) {
  StringPool pool;
  std::vector<std::string> strings;
  for (size_t length : {0, 1, 126, 127, 128, 129, 255, 256, 16382, 16383, 16384, 16385, 70000}) {
    strings.push_back(std::string(length, static_cast<char>('a' + length % 26)));
  }
  // Enough 16383-byte strings (two length bytes each) to end blocks at every alignment.
  for (int i = 0; i < 40; ++i)
    strings.push_back(std::string(16383 - i, static_cast<char>('A' + i)));
  for (int i = 0; i < 5000; ++i) strings.push_back("x" + std::to_string(i));
  std::vector<StringPool::Id> ids;
  for (const auto& s : strings) ids.push_back(pool.intern(s));
  for (size_t i = 0; i < strings.size(); ++i) {
    ASSERT_EQ(pool.str(ids[i]), strings[i]) << "length " << strings[i].size();
    ASSERT_EQ(pool.find(strings[i]), ids[i]) << "length " << strings[i].size();
  }
  EXPECT_EQ(pool.size(), strings.size());
}

// What a string costs: its characters, a length byte, a 4-byte place, a 4-byte hash and its hash
// slots (at most three quarters full). 100 000 build-request-like ids of 36 characters, reserved up
// front as a restore does: under 64 bytes each (a 16-byte view per string, as before, made it ~66).
TEST(StringPoolTest, AnIdCostsItsCharactersAndFewBytesMore) {
  constexpr int kCount = 100000;
  StringPool pool;
  pool.reserve(kCount);
  for (int i = 0; i < kCount; ++i) {
    char id[37];
    std::snprintf(id, sizeof(id), "0190a3c2-7b1e-7c3d-8e4f-%012d", i);
    ASSERT_EQ(pool.intern(id), static_cast<StringPool::Id>(i));
  }
  EXPECT_LT(pool.bytes(), size_t{64} * kCount) << pool.bytes() / kCount << " bytes per id";
  EXPECT_GT(pool.bytes(), size_t{36 + 4 + 4} * kCount);  // the characters, place and hash at least
}

// 96 000 strings fit 131 072 slots three quarters full (~5.5 bytes of slots each, ~51 bytes in
// all); kept at most half full they would take twice the slots (~56 bytes in all). Every string is
// found, and strings never interned are not: a miss's probe ends at one of the empty slots left.
TEST(StringPoolTest, AReservedTableIsUpToThreeQuartersFullAndFindsEveryString) {
  constexpr int kCount = 96000;
  StringPool pool;
  pool.reserve(kCount);
  auto id_of = [](int i) {
    char id[37];
    std::snprintf(id, sizeof(id), "0190a3c2-7b1e-7c3d-8e4f-%012d", i);
    return std::string(id);
  };
  for (int i = 0; i < kCount; ++i) {
    ASSERT_EQ(pool.intern(id_of(i)), static_cast<StringPool::Id>(i));
  }
  EXPECT_LT(pool.bytes(), size_t{53} * kCount) << pool.bytes() / kCount << " bytes per id";
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(pool.find(id_of(i)), static_cast<StringPool::Id>(i));
  for (int i = kCount; i < 2 * kCount; ++i) ASSERT_EQ(pool.find(id_of(i)), StringPool::kNone);
  // Three quarters of the table is 98 304 strings; the next one doubles it, and every id stays.
  constexpr int kFull = 98304;
  for (int i = kCount; i < kFull; ++i) {
    ASSERT_EQ(pool.intern(id_of(i)), static_cast<StringPool::Id>(i));
  }
  const size_t full = pool.bytes();
  constexpr int kMore = kFull + 1000;
  for (int i = kFull; i < kMore; ++i) {
    ASSERT_EQ(pool.intern(id_of(i)), static_cast<StringPool::Id>(i));
    if (i == kFull) {
      EXPECT_GE(pool.bytes() - full, size_t{131072} * 4);  // twice the slots
    }
  }
  for (int i = 0; i < kMore; ++i) {
    ASSERT_EQ(pool.find(id_of(i)), static_cast<StringPool::Id>(i));
  }
}

}  // namespace
}  // namespace bel::projections
