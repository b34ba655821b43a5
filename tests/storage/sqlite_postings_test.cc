// The text of a key_postings row (storage/sqlite_postings.h): what the indexer writes reads back,
// SQLite's own json_group_array form reads too, and damaged text is storage_corrupt naming the
// log, never a crash or a wrong idx.
#include "storage/sqlite_postings.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bel::storage {
namespace {

TEST(SqlitePostingsTest, WrittenIdxReadBackInOrder) {
  const std::vector<int64_t> idxs = {1, 12, 40, 41, 9007199254740993};
  std::string text;
  append_postings(text, idxs.begin(), idxs.end(), [](int64_t idx) { return idx; });
  EXPECT_EQ(text, "[1,12,40,41,9007199254740993]");
  std::vector<int64_t> back;
  ASSERT_TRUE(parse_postings(text, back, "sqlite:///x.db").ok());
  EXPECT_EQ(back, idxs);
}

TEST(SqlitePostingsTest, JsonWhitespaceAndAnEmptyArrayAreAccepted) {
  std::vector<int64_t> back;
  ASSERT_TRUE(parse_postings(" [ 3 , 5,\n7 ] ", back, "log").ok());
  EXPECT_EQ(back, (std::vector<int64_t>{3, 5, 7}));
  back.clear();
  ASSERT_TRUE(parse_postings("[]", back, "log").ok());
  EXPECT_TRUE(back.empty());
}

TEST(SqlitePostingsTest, DamagedTextIsStorageCorruptNamingTheLog) {
  for (const char* text : {"", "[", "]", "[1,", "[1,,2]", "[1 2]", "[1]x", "[-4]", "[0]", "[1.5]",
                           "[\"7\"]", "{1}", "[99999999999999999999999]", "[1,\xff]"}) {
    std::vector<int64_t> back;
    auto parsed = parse_postings(text, back, "sqlite:///var/bel.db");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::storage_corrupt) << text;
    EXPECT_NE(parsed.error().message.find("sqlite:///var/bel.db"), std::string::npos)
        << parsed.error().message;
    EXPECT_NE(parsed.error().message.find("--repair"), std::string::npos);
  }
}

}  // namespace
}  // namespace bel::storage
