// The text helpers of messages/escape.h.
#include "messages/escape.h"

#include <gtest/gtest.h>

namespace bel {
namespace {

TEST(EscapeTest, AppendEscapedReplacesOnlyTheNamedCharacters) {
  std::string out = "x";
  append_escaped(out, "a<b>&c", {{'<', "&lt;"}, {'&', "&amp;"}});
  EXPECT_EQ(out, "xa&lt;b>&amp;c");
}

TEST(EscapeTest, AsciiEscapedShowsEveryByteOutsidePrintableAscii) {
  EXPECT_EQ(ascii_escaped("a\nb\xff\\"), "a\\x0ab\\xff\\x5c");
  EXPECT_EQ(ascii_escaped("plain text"), "plain text");
}

TEST(EscapeTest, TrimBlanksTakesBlanksFromBothEndsOnly) {
  EXPECT_EQ(trim_blanks(" br-1\n"), "br-1");
  EXPECT_EQ(trim_blanks("\t\r\n a b \n"), "a b");
  EXPECT_EQ(trim_blanks("   "), "");
  EXPECT_EQ(trim_blanks(""), "");
  EXPECT_EQ(trim_blanks("x"), "x");
}

}  // namespace
}  // namespace bel
