#include "projections/build_strings.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace bel::projections {
namespace {

// Strings of one length that differ only at `at`: the cache samples a string's start, middle and
// end, so with `at` outside those these all share one cache entry.
std::vector<std::string> alike(size_t length, size_t at, int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    std::string s(length, 'a');
    s[at] = static_cast<char>('A' + i);
    out.push_back(s);
  }
  return out;
}

TEST(BuildStringsTest, InternGivesOneIdPerStringWhateverTheCacheConfuses) {
  BuildStrings strings;
  const std::vector<std::string> a = alike(40, 9, 20);
  std::vector<StringPool::Id> ids;
  for (const auto& s : a) ids.push_back(strings.intern(s));
  // Again, in another order, and interleaved so that each evicts the other from the cache.
  for (int round = 0; round < 3; ++round) {
    for (size_t i = a.size(); i-- > 0;) {
      EXPECT_EQ(strings.intern(a[i]), ids[i]) << a[i];
      EXPECT_EQ(strings.intern(a[(i + 7) % a.size()]), ids[(i + 7) % a.size()]);
    }
  }
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(strings.str(ids[i]), a[i]);
    EXPECT_EQ(strings.find(a[i]), ids[i]);
    for (size_t j = 0; j < i; ++j) EXPECT_NE(ids[i], ids[j]);
  }
  EXPECT_EQ(strings.size(), a.size());
  EXPECT_EQ(strings.find("never"), StringPool::kNone);
  // Short strings and the empty one are strings like any other.
  const StringPool::Id x = strings.intern("x");
  const StringPool::Id empty = strings.intern("");
  EXPECT_NE(x, empty);
  EXPECT_EQ(strings.intern("x"), x);
  EXPECT_EQ(strings.intern(""), empty);
  EXPECT_EQ(strings.str(empty), "");
}

TEST(BuildStringsTest, KeptStringsAreCopiesThatOutliveMovesAndGrowth) {
  BuildStrings strings;
  std::vector<std::string> originals;
  std::vector<std::string_view> kept;
  for (int i = 0; i < 3000; ++i) {
    originals.push_back("jr-" + std::to_string(i) + std::string(static_cast<size_t>(i % 50), 'x'));
    kept.push_back(strings.keep(originals.back()));
  }
  const std::string huge(100 * 1024, 'h');  // longer than a block
  const std::string_view kept_huge = strings.keep(huge);
  kept.push_back(strings.keep("after the huge one"));
  originals.push_back("after the huge one");
  EXPECT_EQ(strings.keep(""), std::string_view());
  // Kept strings are not interned, and the same string kept twice is two copies.
  EXPECT_EQ(strings.size(), 0u);
  EXPECT_EQ(strings.held(), originals.size() + 1);
  EXPECT_NE(strings.keep("jr-0").data(), kept[0].data());

  BuildStrings moved = std::move(strings);
  for (size_t i = 0; i < kept.size(); ++i) {
    EXPECT_EQ(kept[i], originals[i]);
    EXPECT_NE(kept[i].data(), originals[i].data());
  }
  EXPECT_EQ(kept_huge, huge);
}

TEST(BuildStringsTest, SharedStringsAreKeptOnceWhileTheyRepeatAndAreNeverConfused) {
  BuildStrings strings;
  const std::string_view a = strings.share("exit 1");
  EXPECT_EQ(strings.share("exit 1").data(), a.data());  // just seen: the same copy
  EXPECT_EQ(strings.held(), 1u);
  EXPECT_EQ(strings.share(""), std::string_view());
  // Strings the cache cannot tell apart each get their own copy, never another's.
  const std::vector<std::string> alike_ones = alike(40, 9, 10);
  for (int round = 0; round < 2; ++round) {
    for (const auto& s : alike_ones) EXPECT_EQ(strings.share(s), s);
  }
  EXPECT_EQ(strings.share("exit 1"), "exit 1");
  EXPECT_EQ(a, "exit 1");  // still valid
  EXPECT_EQ(strings.size(), 0u);
}

TEST(BuildStringsTest, DraftSlotsAreOverwrittenAndReusedOnceFreed) {
  BuildStrings strings;
  const uint32_t a = strings.set_draft(StringPool::kNone, "queued");
  const uint32_t b = strings.set_draft(StringPool::kNone, "started on worker-1 after 3s");
  EXPECT_NE(a, b);
  EXPECT_EQ(strings.set_draft(a, "started on worker-2 after a long wait in the queue"), a);
  EXPECT_EQ(strings.draft(a), "started on worker-2 after a long wait in the queue");
  EXPECT_EQ(strings.draft(b), "started on worker-1 after 3s");
  strings.free_draft(a);
  strings.free_draft(StringPool::kNone);  // nothing
  const uint32_t c = strings.set_draft(StringPool::kNone, "x");
  EXPECT_EQ(c, a);
  EXPECT_EQ(strings.draft(c), "x");
  EXPECT_EQ(strings.draft(b), "started on worker-1 after 3s");
  EXPECT_EQ(strings.size(), 0u);  // drafts never reach the pool
  BuildStrings moved = std::move(strings);
  EXPECT_EQ(moved.draft(b), "started on worker-1 after 3s");
}

}  // namespace
}  // namespace bel::projections
