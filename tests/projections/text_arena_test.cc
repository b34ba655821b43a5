#include "projections/text_arena.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

namespace bel::projections {
namespace {

TextArena::Handle add(TextArena& arena, std::string_view first, std::string_view second) {
  const size_t need = TextArena::record_size(first.size(), second.size());
  if (!arena.fits(need)) arena.grow(need);
  return arena.add(first, second);
}

TEST(TextArenaTest, PairsOfAnyLengthReadBackExactly) {
  TextArena arena;
  const std::string nul("a\0b", 3);
  const std::string long_text(100000, 'm');  // a length of three varint bytes
  const std::string edge(128, 'e');          // the first length of two bytes
  const auto a = add(arena, "jr-1", "job run jr-1 scheduled");
  const auto b = add(arena, "", long_text);
  const auto c = add(arena, nul, "");
  const auto d = add(arena, edge, std::string(127, 'f'));
  EXPECT_EQ(arena.first(a), "jr-1");
  EXPECT_EQ(arena.second(a), "job run jr-1 scheduled");
  EXPECT_EQ(arena.first(b), "");
  EXPECT_EQ(arena.second(b), long_text);
  EXPECT_EQ(arena.first(c), nul);
  EXPECT_EQ(arena.second(c), "");
  EXPECT_EQ(arena.first(d), edge);
  EXPECT_EQ(arena.second(d), std::string(127, 'f'));
}

TEST(TextArenaTest, TwoEmptyStringsTakeNoRoom) {
  TextArena arena;
  EXPECT_EQ(TextArena::record_size(0, 0), 0u);
  EXPECT_EQ(arena.add("", ""), TextArena::kNone);
  EXPECT_EQ(arena.first(TextArena::kNone), "");
  EXPECT_EQ(arena.second(TextArena::kNone), "");
  arena.drop(TextArena::kNone);
  EXPECT_EQ(arena.size(), 0u);
  EXPECT_EQ(arena.dead_bytes(), 0u);
}

TEST(TextArenaTest, APairCopiedFromTheArenaItselfReadsBackExactly) {
  TextArena arena;
  const auto a = add(arena, "jr-7", "building");
  const size_t need = TextArena::record_size(4, 8);
  if (!arena.fits(need)) arena.grow(need);
  const auto b = arena.add(arena.first(a), arena.second(a));
  EXPECT_EQ(arena.first(b), "jr-7");
  EXPECT_EQ(arena.second(b), "building");
  EXPECT_EQ(arena.first(a), "jr-7");
}

// Random adds and drops with compaction as the fold does it, `steps` of them, the second strings
// up to `longest` bytes: live pairs always read back, and dead bytes are what the dropped pairs
// took.
void compact_randomly(int steps, size_t longest) {
  std::mt19937 rng(7);
  TextArena arena;
  std::vector<std::pair<TextArena::Handle, std::pair<std::string, std::string>>> live;
  for (int step = 0; step < steps; ++step) {
    if (!live.empty() && rng() % 3 == 0) {
      const size_t i = rng() % live.size();
      arena.drop(live[i].first);
      live[i] = live.back();
      live.pop_back();
      continue;
    }
    const std::string first(rng() % 20, static_cast<char>('a' + rng() % 26));
    const std::string second(rng() % longest, static_cast<char>('a' + rng() % 26));
    const size_t need = TextArena::record_size(first.size(), second.size());
    if (!arena.fits(need) && arena.dead_bytes() * 4 >= arena.size()) {
      TextArena fresh(arena.live_bytes() + need);
      for (auto& [h, text] : live) h = fresh.add(arena.first(h), arena.second(h));
      arena = std::move(fresh);
      ASSERT_EQ(arena.dead_bytes(), 0u);
    }
    live.emplace_back(add(arena, first, second), std::make_pair(first, second));
    if (step % 101 != 0) continue;
    size_t bytes = 0;
    for (const auto& [h, text] : live) {
      ASSERT_EQ(arena.first(h), text.first);
      ASSERT_EQ(arena.second(h), text.second);
      bytes += TextArena::record_size(text.first.size(), text.second.size());
    }
    ASSERT_EQ(arena.live_bytes(), bytes);
  }
}

TEST(TextArenaTest, CompactingKeepsEveryLivePair) { compact_randomly(20000, 200); }

// Buffers of several MiB, whose pages are mapped ahead of the writes: grown (realloc), moved and
// compacted, every live pair still reads back.
TEST(TextArenaTest, LargeArenasMappedAheadKeepEveryLivePair) { compact_randomly(6000, 40000); }

}  // namespace
}  // namespace bel::projections
