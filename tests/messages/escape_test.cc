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

TEST(EscapeTest, FirstCodePointDecodesOnlyWellFormedSequences) {
  EXPECT_EQ(first_code_point("a").cp, U'a');
  EXPECT_EQ(first_code_point("\xc3\xa9x").cp, U'\u00e9');
  EXPECT_EQ(first_code_point("\xc3\xa9x").length, 2u);
  EXPECT_EQ(first_code_point("\xe2\x80\xaer").cp, U'\u202e');
  EXPECT_EQ(first_code_point("\xe2\x80\xaer").length, 3u);
  EXPECT_EQ(first_code_point("\xf0\x9f\x94\xa5").cp, U'\U0001f525');
  EXPECT_EQ(first_code_point("\xf0\x9f\x94\xa5").length, 4u);
  for (const char* bad : {"", "\x80", "\xc0\x80", "\xe0\x80\x80", "\xed\xa0\x80", "\xe2\x80",
                          "\xf4\x90\x80\x80", "\xc3("}) {
    EXPECT_EQ(first_code_point(bad).length, 0u) << ascii_escaped(bad);
  }
}

TEST(EscapeTest, MovesTextNamesTheFormatCharactersThatReorderOrBreakALine) {
  for (char32_t cp :
       {U'\u061c', U'\u200e', U'\u200f', U'\u2028', U'\u202e', U'\u2066', U'\u2069'}) {
    EXPECT_TRUE(moves_text(cp)) << static_cast<uint32_t>(cp);
  }
  for (char32_t cp : {U'a', U'\u05d0', U'\u200d', U'\u2027', U'\u202f', U'\u2065', U'\u206a'}) {
    EXPECT_FALSE(moves_text(cp)) << static_cast<uint32_t>(cp);
  }
}

TEST(EscapeTest, InvisibleNamesWhatIsDrawnAsNothingButTheJoinersAndSelectors) {
  for (char32_t cp : {U'\u00ad', U'\u034f', U'\u180e', U'\u200b', U'\u2060', U'\u206a', U'\u3164',
                      U'\ufeff', U'\ufff9', U'\U000e0001', U'\U0001d173'}) {
    EXPECT_TRUE(invisible(cp)) << std::hex << static_cast<uint32_t>(cp);
    EXPECT_TRUE(shown_as_escape(cp)) << std::hex << static_cast<uint32_t>(cp);
  }
  for (char32_t cp : {U'a', U'\u00e9', U'\u05d0', U'\u65e5', U'\u200c', U'\u200d', U'\ufe0f',
                      U'\U0001f600', U'\U000e0067', U'\U000e0100', U'\ufffd'}) {
    EXPECT_FALSE(invisible(cp)) << std::hex << static_cast<uint32_t>(cp);
  }
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
