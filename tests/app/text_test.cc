// Tables that survive real text: display widths, visible escapes for control characters, cells
// cut with an ellipsis; and the same through the real binary on a log holding such text.
#include "app/text.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "app/output.h"
#include "messages/json.h"
#include "tests/support/events.h"
#include "tests/support/run_command.h"

namespace bel::app {
namespace {

using testing::lines_of;
using testing::run_command;
using testing::shell_quote;
using testing::TempDir;

const std::string kWide = "ventes/quotidien/été/日本語/🚀";
const std::string kCombining = "cafe\xcc\x81/e\xcc\x81t\xc3\xa9";  // "café/été", decomposed é
const std::string kEsc = "boom \x1b[2J\x1b[H cleared";             // clears a terminal
const std::string kC1 =
    "csi \xc2\x9b"
    "31m red";  // U+009B, the 8-bit CSI

// True when `text` holds no C0 control, DEL or C1 control (U+0080..U+009F as UTF-8).
bool has_control(const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < text.size()) {
      const auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next < 0xa0) return true;
    }
  }
  return false;
}

std::string print_to_string(const Table& table) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* out = open_memstream(&buf, &len);
  table.print(out);
  std::fclose(out);
  std::string text(buf, len);
  std::free(buf);
  return text;
}

// The display column where `needle` starts in `line`.
size_t column_of(const std::string& line, const std::string& needle) {
  const size_t at = line.find(needle);
  EXPECT_NE(at, std::string::npos) << needle << " not in: " << line;
  return at == std::string::npos ? 0 : display_width(line.substr(0, at));
}

TEST(TextTest, DisplayWidthCountsColumnsNotBytes) {
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width("été"), 3u);
  EXPECT_EQ(display_width("日本語"), 6u);
  EXPECT_EQ(display_width("🚀"), 2u);
  EXPECT_EQ(display_width("e\xcc\x81"), 1u);  // e + combining acute
  EXPECT_EQ(display_width(kWide),
            17u + 3u + 1u + 6u + 1u + 2u);  // "ventes/quotidien/" été / 日本語 / 🚀
}

TEST(TextTest, PrintableEscapesEveryControlCharacterVisibly) {
  EXPECT_EQ(printable("a\x1b[2Jb"), "a\\x1b[2Jb");
  EXPECT_EQ(printable(kC1), "csi \\u009b31m red");
  EXPECT_EQ(printable("one\ntwo\tthree\r"), "one\\ntwo\\tthree\\r");
  EXPECT_EQ(printable(std::string("nul\0x", 5)), "nul\\x00x");
  EXPECT_EQ(printable("del\x7f"), "del\\x7f");
  EXPECT_EQ(printable("bad \xff byte"), "bad \\xff byte");
  // A backslash is doubled, so the text "\x1b" differs from an escaped ESC.
  EXPECT_EQ(printable("text \\x1b"), "text \\\\x1b");
  EXPECT_NE(printable("text \\x1b"), printable("text \x1b"));
  // Bidirectional overrides and isolates, marks, and line separators move what follows them.
  EXPECT_EQ(printable("evil\u202e.txt \u2066x\u2069"), "evil\\u202e.txt \\u2066x\\u2069");
  EXPECT_EQ(printable("a\u2028b\u2029c\u200fd"), "a\\u2028b\\u2029c\\u200fd");
  // Characters drawn as nothing: "dai" U+200B "ly" must not read as "daily".
  EXPECT_EQ(printable("dai\u200bly dai\u00adly \ufeffx"), "dai\\u200bly dai\\u00adly \\ufeffx");
  // A zero-width joiner inside an emoji sequence is text: kept; so is a variation selector.
  EXPECT_EQ(printable("\u2764\ufe0f"), "\u2764\ufe0f");
  EXPECT_EQ(printable("\U0001F469\u200D\U0001F4BB"), "\U0001F469\u200D\U0001F4BB");
  EXPECT_EQ(printable(kWide), kWide);  // printable text is kept as it is
  EXPECT_EQ(printable(kCombining), kCombining);
}

// A word the user pastes into a shell runs nothing and splits nowhere.
TEST(TextTest, ShellWordQuotesWhatAShellWouldReadAsMoreThanOneWord) {
  EXPECT_EQ(shell_word("sqlite:///var/lib/bel/a-b_c.db"), "sqlite:///var/lib/bel/a-b_c.db");
  EXPECT_EQ(shell_word("br-1@2026,x=y+z%"), "br-1@2026,x=y+z%");
  EXPECT_EQ(shell_word("my log's.db"), "'my log'\\''s.db'");
  EXPECT_EQ(shell_word("x$(id).db"), "'x$(id).db'");
  EXPECT_EQ(shell_word("sales/*"), "'sales/*'");
  EXPECT_EQ(shell_word(""), "''");
  EXPECT_EQ(shell_word("a\nb"), "'a\\nb'");  // a control character shows as its escape
  EXPECT_EQ(shell_word("a\\b"), "'a\\b'");   // a backslash pastes back as one
  EXPECT_EQ(shell_word("日本"), "'日本'");
}

TEST(TextTest, FitCutsLongTextWithAnEllipsisWithinTheWidth) {
  const std::string long_ref(5000, 'r');
  const std::string shown = fit(long_ref, 60);
  EXPECT_EQ(display_width(shown), 60u);
  EXPECT_EQ(shown.substr(shown.size() - 3), "…");
  EXPECT_EQ(shown.substr(0, 59), std::string(59, 'r'));

  EXPECT_EQ(fit("日本語日本語", 5), "日本…");  // never half a wide character
  EXPECT_EQ(fit("日本語日本語", 6), "日本…");
  EXPECT_EQ(fit("short", 60), "short");
}

TEST(TextTest, FitKeepsCombiningMarksWithTheirBase) {
  const std::string four =
      "e\xcc\x81"
      "e\xcc\x81"
      "e\xcc\x81"
      "e\xcc\x81";  // width 4
  EXPECT_EQ(fit(four, 3),
            "e\xcc\x81"
            "e\xcc\x81"
            "…");
  EXPECT_EQ(fit(four, 4), four);
}

TEST(TextTest, FitNeverCutsAnEscape) {
  // "dai" U+200B "ly" shows as dai\u200bly: a cut inside the escape would leave "\u20".
  EXPECT_EQ(fit("dai\u200bly", 6), "dai…");
  EXPECT_EQ(fit("dai\u200bly", 9), "dai…");
  EXPECT_EQ(fit("dai\u200bly", 10), "dai\\u200b…");
  EXPECT_EQ(fit("a\x1b"
                "cdef",
                4),
            "a…");
  EXPECT_EQ(fit("a\x1b"
                "cdef",
                6),
            "a\\x1b…");
  EXPECT_EQ(fit("a\\bcdef", 4), "a\\\\…");  // a doubled backslash is one
  EXPECT_EQ(fit("a\\bcdef", 3), "a…");
  // Hex digits after an escape are text of their own; a code point of five digits is one escape.
  EXPECT_EQ(fit("\u200b"
                "abcdef",
                8),
            "\\u200ba…");
  EXPECT_EQ(fit("x\U0001BCA0yz", 9), "x\\u1bca0…");
  EXPECT_EQ(fit("x\U0001BCA0yz", 8), "x…");
}

TEST(TextTest, PadUsesDisplayWidth) {
  EXPECT_EQ(pad("日本", 6), "日本  ");
  EXPECT_EQ(pad("toolong", 3), "toolong");
}

TEST(TableTest, ColumnsAlignByDisplayWidthWhateverTheText) {
  Table t({"REF", "STATUS", "MESSAGE"});
  t.add_row({kWide, "building", "ok"});
  t.add_row({kCombining, "available", kEsc});
  t.add_row({std::string(5000, 'x'), "failed", kC1});
  t.add_row({"plain", "requested", std::string(100, 'm')});
  const std::string text = print_to_string(t);
  EXPECT_FALSE(has_control(text)) << text;
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 5u);
  const size_t status_column = column_of(lines[0], "STATUS");
  const size_t message_column = column_of(lines[0], "MESSAGE");
  const char* statuses[] = {"building", "available", "failed", "requested"};
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(column_of(lines[i], statuses[i - 1]), status_column) << lines[i];
    EXPECT_LE(display_width(lines[i]), message_column + Table::kMaxCellWidth) << lines[i];
  }
  EXPECT_NE(lines[2].find("\\x1b[2J"), std::string::npos);  // escaped, not dropped
  // A key is never cut (pasted into the next command, a cut one would name something else); the
  // free text in the last column is.
  EXPECT_NE(lines[3].find(std::string(5000, 'x') + "  failed"), std::string::npos);
  EXPECT_NE(lines[4].find(std::string(59, 'm') + "…"), std::string::npos) << lines[4];
}

// A show command's last column (a failed run's message) may be kept whole: still printable, the
// other columns whole and aligned.
TEST(TableTest, ALastColumnKeptWholeIsPrintableAndUncut) {
  Table t({"JOB RUN", "MESSAGE"});
  t.keep_last_column_whole();
  const std::string why = "exit code 1: " + std::string(200, 'm') + " \x1b[2J end";
  t.add_row({std::string(100, 'r'), why});
  t.add_row({"jr-2", "short"});
  const std::string text = print_to_string(t);
  EXPECT_FALSE(has_control(text)) << text;
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[1].find(std::string(200, 'm') + " \\x1b[2J end"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[1].find("…"), std::string::npos) << lines[1];  // nothing cut
  EXPECT_EQ(column_of(lines[1], "exit code"), column_of(lines[0], "MESSAGE"));
  EXPECT_EQ(column_of(lines[2], "short"), column_of(lines[0], "MESSAGE"));
}

// Through the binary: a log whose refs and messages hold such text prints tables that align and
// carry no control character; JSON keeps the values whole.
class RealTextTest : public ::testing::Test {
 protected:
  std::string bel(const std::string& args) {
    return shell_quote(BEL_BINARY) + " " + args + " --log " + shell_quote("sqlite://" + log_);
  }
  TempDir dir_;
  std::string log_ = dir_.path() + "/t.db";
};

TEST_F(RealTextTest, PartitionsListAndEventsAlignAndEscape) {
  const std::string long_ref = "long/" + std::string(5000, 'l');
  std::string lines;
  int n = 0;
  for (const auto& ref : {kWide, kCombining, long_ref, std::string("plain/ref")}) {
    const std::string build = "br-" + std::to_string(++n);
    lines += to_json(testing::request_event(build, v1::BUILD_REQUEST_RECEIVED, {ref})) + "\n";
    BuildEvent failed = testing::partition_event(build, ref, v1::PARTITION_REQUESTED);
    failed.mutable_partition_event()->set_message(n % 2 ? kEsc : kC1);
    lines += to_json(failed) + "\n";
  }
  auto appended = run_command(bel("append -"), lines);
  ASSERT_EQ(appended.exit_code, 0) << appended.err;

  auto table = run_command(bel("partitions list --format table"));
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_FALSE(has_control(table.out)) << table.out;
  auto rows = lines_of(table.out);
  ASSERT_GE(rows.size(), 5u);
  const size_t status_column = column_of(rows[0], "STATUS");
  for (size_t i = 1; i < 5; ++i) EXPECT_EQ(column_of(rows[i], "requested"), status_column);

  auto events = run_command(bel("events list --format table"));
  ASSERT_EQ(events.exit_code, 0) << events.err;
  EXPECT_FALSE(has_control(events.out)) << events.out;
  rows = lines_of(events.out);
  const size_t type_column = column_of(rows[0], "TYPE");
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(
        column_of(rows[i], rows[i].find("partition ") != std::string::npos ? "partition "
                                                                           : "build_request "),
        type_column)
        << rows[i];
  }

  auto tail = run_command(bel("events tail --since 0 --count 8 --format table"));
  ASSERT_EQ(tail.exit_code, 0) << tail.err;
  EXPECT_FALSE(has_control(tail.out)) << tail.out;
  rows = lines_of(tail.out);
  ASSERT_EQ(rows.size(), 9u);
  const size_t tail_type_column = column_of(rows[0], "TYPE");
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(
        column_of(rows[i], rows[i].find("partition ") != std::string::npos ? "partition "
                                                                           : "build_request "),
        tail_type_column)
        << rows[i];
  }

  auto json = run_command(bel("partitions show " + shell_quote(long_ref) + " --format json"));
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NE(json.out.find(long_ref), std::string::npos);  // JSON stays whole

  auto missing = run_command(bel("builds show " + shell_quote("br-\x1b[2J")));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_FALSE(has_control(missing.err)) << missing.err;
  EXPECT_NE(missing.err.find("\\x1b[2J"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace bel::app
