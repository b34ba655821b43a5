// Partition-ref globs (messages/glob.h) follow SQLite's GLOB exactly, which a backend may run in
// SQL instead: these cases are where a byte-wise matcher differed from SQLite (found by the
// filter_glob fuzzer, whose corpus keeps them as regression inputs too).
#include "messages/glob.h"

#include <gtest/gtest.h>

namespace bel {
namespace {

TEST(Glob, QuestionMarkMatchesOneUtf8CharacterNotOneByte) {
  EXPECT_TRUE(glob_match("data/?", "data/\xc3\xa9"));         // é: two bytes, one character
  EXPECT_FALSE(glob_match("data/??", "data/\xc3\xa9"));
  EXPECT_TRUE(glob_match("\xc3\xa9t\xc3\xa9/?", "\xc3\xa9t\xc3\xa9/\xc3\xa0"));
  EXPECT_TRUE(glob_match("*?", "\xe2\x82\xac"));              // €: three bytes
  EXPECT_FALSE(glob_match("?", "\xe2\x82\xac\xe2\x82\xac"));
}

TEST(Glob, ClassesCompareCharactersAndRangesByCodePoint) {
  EXPECT_TRUE(glob_match("[\xc3\xa9x]", "\xc3\xa9"));
  EXPECT_TRUE(glob_match("[a-\xc3\xbc]", "\xc3\xa9"));        // é lies between a and ü
  EXPECT_FALSE(glob_match("[^a-\xc3\xbc]", "\xc3\xa9"));
  EXPECT_FALSE(glob_match("[a-z]", "\xc3\xa9"));
}

TEST(Glob, DashAfterALeadingBracketIsLiteralAsInSqlite) {
  // "[]-a]" is the set {']', '-', 'a'}: the leading ']' does not start a range.
  EXPECT_TRUE(glob_match("[]-a]", "-"));
  EXPECT_TRUE(glob_match("[]-a]", "]"));
  EXPECT_TRUE(glob_match("[]-a]", "a"));
  EXPECT_FALSE(glob_match("[]-a]", "_"));
  // A '-' right after a range, or last, is literal too.
  EXPECT_TRUE(glob_match("[a-c-e]", "-"));
  EXPECT_FALSE(glob_match("[a-c-e]", "d"));
  EXPECT_TRUE(glob_match("[a-]", "-"));
}

TEST(Glob, StarsBacktrackByCharacter) {
  EXPECT_TRUE(glob_match("*\xc3\xa9", "a\xc3\xa9"));
  EXPECT_TRUE(glob_match("d*/[0-9]?", "data/x/1\xc3\xa9"));
  EXPECT_FALSE(glob_match("*\xa9", "a\xc3\xa9")) << "a continuation byte is not a character";
}

TEST(Glob, PatternThatIsNotUtf8IsRefused) {
  // A truncated sequence: SQLite would read "\xe3\xa9t" as the character e9 ("é") then "t", so a
  // match of "\xc3\xa9t..." would not start with the pattern's literal bytes.
  auto checked = check_glob("\xe3\xa9t\xc3\xa9/?");
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code, ErrorCode::invalid_argument);
  // Named as every refusal of such text names it, without echoing the bytes.
  EXPECT_EQ(checked.error().message, "pattern is not valid UTF-8: byte 0xe3 at offset 0");
  EXPECT_TRUE(check_glob("\xc3\xa9t\xc3\xa9/?").ok());
  EXPECT_FALSE(is_utf8("\xc0\xa9"));          // overlong
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));     // surrogate
  EXPECT_TRUE(is_utf8("data/\xf0\x9f\x98\x80"));
}

// The first byte that breaks a sequence, whether it falls in the ASCII runs read eight at a time
// or after a multi-byte character.
TEST(Glob, Utf8ErrorAtNamesTheFirstBadByte) {
  constexpr size_t kNone = std::string_view::npos;
  EXPECT_EQ(utf8_error_at(""), kNone);
  EXPECT_EQ(utf8_error_at("exactly8"), kNone);
  EXPECT_EQ(utf8_error_at("sixteen bytes ok"), kNone);
  EXPECT_EQ(utf8_error_at("\xff"), 0u);
  EXPECT_EQ(utf8_error_at("0123456\xff"), 7u);   // the last byte of an 8-byte run
  EXPECT_EQ(utf8_error_at("01234567\x80"), 8u);  // a stray continuation byte
  EXPECT_EQ(utf8_error_at("\xc3\xa9\xc3\xa9"
                          "abcdefgh\xe2\x82"),
            12u);                                                           // truncated at the end
  EXPECT_EQ(utf8_error_at("\xe2\x82\xac abcdefgh \xf4\x90\x80\x80"), 13u);  // above U+10FFFF
  EXPECT_EQ(utf8_error_at("\xe2\x82\xac abcdefgh \xf4\x8f\xbf\xbf"), kNone);  // U+10FFFF
}

}  // namespace
}  // namespace bel
