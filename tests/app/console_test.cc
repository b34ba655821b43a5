// bel console (SPEC section 6): splitting and completing lines, then the real binary driven
// through a pipe (scripts) and through a pseudo-terminal (people: libedit, Tab, Ctrl-C).
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>

#include "app/commands.h"
#include "app/console_lines.h"
#include "messages/json.h"
#include "messages/types.h"
#include "tests/app/bel_binary.h"
#include "tests/support/events.h"
#include "tests/support/run_command.h"

namespace bel {
namespace {

using namespace bel::testing;
using namespace bel::v1;
using app::complete_console_word;
using app::split_console_line;
using Words = std::vector<std::string>;

Words split(const std::string& line) {
  auto words = split_console_line(line);
  EXPECT_TRUE(words.ok()) << line << ": " << words.error().to_string();
  return words.ok() ? *words : Words{"<error>"};
}

TEST(ConsoleLinesTest, WhitespaceSeparatesWords) {
  EXPECT_EQ(split("builds   list\t--limit 5 "), (Words{"builds", "list", "--limit", "5"}));
  EXPECT_EQ(split("  activity"), (Words{"activity"}));
}

TEST(ConsoleLinesTest, BlankLinesAndCommentsHaveNoWords) {
  EXPECT_EQ(split(""), Words{});
  EXPECT_EQ(split("  \t "), Words{});
  EXPECT_EQ(split("# builds list"), Words{});
  EXPECT_EQ(split("   #comment"), Words{});
  // Only a line that starts with # is a comment.
  EXPECT_EQ(split("events list --partition a#b"), (Words{"events", "list", "--partition", "a#b"}));
}

TEST(ConsoleLinesTest, QuotesGroupAndJoinAdjacentParts) {
  EXPECT_EQ(split(R"(builds cancel br-1 --reason "too slow")"),
            (Words{"builds", "cancel", "br-1", "--reason", "too slow"}));
  EXPECT_EQ(split("--pattern 'sales/*  x'"), (Words{"--pattern", "sales/*  x"}));
  EXPECT_EQ(split(R"(a"b c"'d e'f)"), (Words{"ab cd ef"}));
  EXPECT_EQ(split(R"(--reason "" x '')"), (Words{"--reason", "", "x", ""}));
}

TEST(ConsoleLinesTest, BackslashEscapesOutsideQuotesAndOnlyQuoteOrBackslashInDoubleQuotes) {
  EXPECT_EQ(split(R"(a\ b \"c\" \\)"), (Words{"a b", "\"c\"", "\\"}));
  EXPECT_EQ(split(R"("say \"hi\" \\ \n")"), (Words{R"(say "hi" \ \n)"}));
  EXPECT_EQ(split(R"('no \escapes\ here')"), (Words{R"(no \escapes\ here)"}));
}

TEST(ConsoleLinesTest, UnterminatedQuoteIsAnInvalidArgumentNamingTheColumn) {
  for (const std::string line : {"builds cancel \"br-1", "x 'abc", "trailing \\"}) {
    auto words = split_console_line(line);
    ASSERT_FALSE(words.ok()) << line;
    EXPECT_EQ(words.error().code, ErrorCode::invalid_argument);
  }
  auto words = split_console_line("x 'abc");
  ASSERT_FALSE(words.ok());
  EXPECT_NE(words.error().message.find("unterminated single quote (column 3)"), std::string::npos)
      << words.error().message;
}

class ConsoleCompletionTest : public ::testing::Test {
 protected:
  ConsoleCompletionTest() {
    ctx_.in_console = true;
    app::add_all_commands(commands_, ctx_, /*interactive=*/true);
  }
  Words complete(const Words& before, const std::string& prefix) {
    return complete_console_word(commands_, {"exit", "help", "quit"}, before, prefix);
  }

  app::Context ctx_;
  CLI::App commands_;
};

TEST_F(ConsoleCompletionTest, FirstWordCompletesCommandsAndBuiltins) {
  EXPECT_EQ(complete({}, "buil"), Words{"builds"});
  EXPECT_EQ(complete({}, "h"), Words{"help"});
  auto all = complete({}, "");
  EXPECT_NE(std::find(all.begin(), all.end(), "activity"), all.end());
  EXPECT_NE(std::find(all.begin(), all.end(), "quit"), all.end());
  EXPECT_EQ(std::find(all.begin(), all.end(), "serve"), all.end());
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
}

TEST_F(ConsoleCompletionTest, LaterWordsCompleteSubcommandsAndOptions) {
  EXPECT_EQ(complete({"builds"}, "c"), Words{"cancel"});
  EXPECT_EQ(complete({"help", "builds"}, "sh"), Words{"show"});
  EXPECT_EQ(complete({"help"}, "buil"), Words{"builds"});
  EXPECT_EQ(complete({"builds", "list"}, "--li"), Words{"--limit"});
  EXPECT_EQ(complete({"builds", "list", "--limit", "5"}, "--off"), Words{"--offset"});
  // In the console a command has no --log: its session is fixed.
  EXPECT_EQ(complete({"builds", "list"}, "--lo"), Words{});
  EXPECT_EQ(complete({"nosuch"}, ""), Words{});
  EXPECT_EQ(complete({"builds", "show", "br-1"}, ""), Words{});
}

TEST_F(ConsoleCompletionTest, AnOptionThatListsItsValuesCompletesThem) {
  EXPECT_EQ(complete({"builds", "list", "--format"}, ""), (Words{"json", "table"}));
  EXPECT_EQ(complete({"builds", "list", "--format"}, "j"), Words{"json"});
  const Words statuses = complete({"builds", "list", "--status"}, "");
  EXPECT_NE(std::find(statuses.begin(), statuses.end(), "executing"), statuses.end());
  EXPECT_EQ(complete({"builds", "list", "--status"}, "cancel"), Words{"cancelled"});
  // A value already given: options again; an option without listed values: nothing.
  EXPECT_EQ(complete({"builds", "list", "--format", "json"}, "--li"), Words{"--limit"});
  EXPECT_EQ(complete({"builds", "list", "--limit"}, ""), Words{});
  EXPECT_EQ(complete({"help", "builds", "list", "--format"}, ""), Words{});
}

// The real binary on a temporary sqlite:// log holding one executing build request, br-1.
class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string events;
    for (const auto& e : {request_event("br-1", BUILD_REQUEST_RECEIVED, {"sales/2026-11-01"}),
                          request_event("br-1", BUILD_REQUEST_EXECUTING)}) {
      events += to_json(e) + "\n";
    }
    auto r = run_command(shell_quote(kBel) + " append - --log " + shell_quote(log_uri()), events);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string log_uri() const { return "sqlite://" + dir_.path() + "/log.db"; }
  // Pipes `script` into `bel console` (standard input is then not a terminal).
  CommandResult console(const std::string& script, const std::string& args = "") {
    return run_command(shell_quote(kBel) + " console --log " + shell_quote(log_uri()) + " " + args,
                       script);
  }

  TempDir dir_;
};

// A view rebuilt by name answers with that view alone, inside the console (whose session holds
// the log, so the rebuild goes through its coordinator) as from a shell.
TEST_F(ConsoleTest, AViewRebuiltByNameIsTheOneViewInTheAnswer) {
  auto r = console("views rebuild activity --format json\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"activity\""), std::string::npos) << r.out;
  for (const char* other : {"partition_status", "build_summary", "job_runs"}) {
    EXPECT_EQ(r.out.find(other), std::string::npos) << other << " in " << r.out;
  }
}

TEST_F(ConsoleTest, LinesShareOneSessionSoLaterLinesSeeEarlierWrites) {
  auto r = console(
      "builds list --format json\n"
      "builds cancel br-1 --reason 'too slow' --format json\n"
      "builds show br-1 --format json\n"
      "quit\n"
      "activity --format json\n");  // after quit: never runs
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;  // no prompt, no banner

  BuildsListResponse list;
  ASSERT_TRUE(from_json(lines[0], &list).ok()) << lines[0];
  ASSERT_EQ(list.builds_size(), 1);
  EXPECT_EQ(list.builds(0).status_code(), BUILD_REQUEST_EXECUTING);
  AppendAck ack;
  ASSERT_TRUE(from_json(lines[1], &ack).ok()) << lines[1];
  EXPECT_EQ(ack.idx(), 3);
  BuildRequestSummary shown;
  ASSERT_TRUE(from_json(lines[2], &shown).ok()) << lines[2];
  EXPECT_EQ(shown.status_code(), BUILD_REQUEST_CANCELLED);
  EXPECT_EQ(shown.cancel_reason(), "too slow");
  EXPECT_GE(shown.as_of_idx(), 3);
}

TEST_F(ConsoleTest, FailedLinesPrintTheirErrorAndTheExitCodeIsTheLastFailures) {
  auto r = console(
      "builds list --limit 0\n"  // bad usage: 2
      "\n"
      "# a comment\n"
      "nosuchcommand\n"              // bad usage: 2
      "builds show no-such-build\n"  // failed: 1
      "activity --format json\n");   // still runs; ends at EOF without quit
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("--limit: must be between 1 and 1000, got 0"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown command \"nosuchcommand\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
  ActivityResponse activity;
  ASSERT_TRUE(from_json(r.out, &activity).ok()) << r.out;
  EXPECT_EQ(activity.event_count(), 2);

  r = console("builds show no-such-build\nbuilds cancel \"br-1\n");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("unterminated double quote"), std::string::npos) << r.err;
}

TEST_F(ConsoleTest, AppendFromStandardInputIsRefusedWhenTheScriptComesFromIt) {
  // `append -` would read the rest of the script as JSON lines: refused, and the lines after it
  // still run as commands.
  auto r = console(
      "append -\n"
      "builds list --format json\n");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("the console reads its commands from standard input"), std::string::npos)
      << r.err;
  BuildsListResponse list;
  ASSERT_TRUE(from_json(r.out, &list).ok()) << r.out;
  EXPECT_EQ(list.builds_size(), 1);
}

TEST_F(ConsoleTest, ShellOnlyCommandsAreNamedNotRun) {
  for (const std::string command :
       {"serve", "run", "console", "bench", "completion bash", "help serve"}) {
    auto r = console(command + "\n");
    EXPECT_EQ(r.exit_code, 2) << command;
    EXPECT_NE(r.err.find("is not available inside the console"), std::string::npos)
        << command << ": " << r.err;
  }
}

// A script saved by an editor that starts files with a byte order mark runs as written.
TEST_F(ConsoleTest, AByteOrderMarkBeforeTheFirstLineIsNotPartOfItsCommand) {
  auto r = console(
      "\xef\xbb\xbf"
      "validation --format json\nvalidation --format json\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"validation_mode\":\"strict\"}\n{\"validation_mode\":\"strict\"}\n");
}

TEST_F(ConsoleTest, HelpListsTheCommandsAndHelpCommandShowsItsOptions) {
  auto r = console("help\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* listed : {"activity", "append", "builds list", "builds cancel", "events tail",
                             "partitions invalidate", "quit", "exit code"}) {
    EXPECT_NE(r.out.find(listed), std::string::npos) << listed << " missing from\n" << r.out;
  }
  EXPECT_EQ(r.out.find("serve"), std::string::npos) << r.out;

  r = console("help builds cancel\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("--reason"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("--log"), std::string::npos) << r.out;  // the session is fixed
}

TEST_F(ConsoleTest, FormatGivenOnALineLastsForThatLineOnly) {
  auto r = console("activity --format json\nactivity\n", "--format table");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t end_of_json = r.out.find('\n');
  ActivityResponse activity;
  ASSERT_TRUE(from_json(r.out.substr(0, end_of_json), &activity).ok()) << r.out;
  EXPECT_NE(r.out.find("as of idx 2", end_of_json), std::string::npos) << r.out;  // a table
}

// `bel console` on a pseudo-terminal, read with poll() under a deadline.
class PtyConsole {
 public:
  PtyConsole(const std::string& home, const std::string& log_uri) {
    struct winsize size {};
    size.ws_row = 40;
    size.ws_col = 160;
    pid_ = forkpty(&fd_, nullptr, nullptr, &size);
    if (pid_ == 0) {
      setenv("HOME", home.c_str(), 1);
      setenv("TERM", "xterm", 1);
      unsetenv("EDITRC");
      execl(kBel.c_str(), "bel", "console", "--log", log_uri.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~PtyConsole() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }
  bool started() const { return pid_ > 0; }

  void send(const std::string& keys) {
    mark_ = output_.size();
    ASSERT_EQ(write(fd_, keys.data(), keys.size()), static_cast<ssize_t>(keys.size()));
  }
  // Waits until the output since the last send() contains `text`; false at the deadline or when
  // the console closed the terminal first.
  bool wait_for(const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (output_.find(text, mark_) == std::string::npos) {
      if (!read_some(deadline)) return false;
    }
    return true;
  }
  // libedit prints the prompt before it switches the terminal to raw mode; until then the
  // kernel's line discipline takes the keys, and turns ^D into an end-of-file marker that raw
  // mode later reads as NUL. Ctrl-A (to the start of the line) is echoed as "^A" by the kernel
  // but as a cursor motion (backspace or an escape sequence) by libedit: once that shows,
  // libedit is reading the keys. REQUIRES: the line being typed is not empty.
  bool wait_until_editing() {
    send("\x01");
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (output_.find('\b', mark_) == std::string::npos &&
           output_.find("\x1b[", mark_) == std::string::npos) {
      if (!read_some(deadline)) return false;
    }
    return true;
  }
  // Waits for the console to close the terminal and exit; its exit code, or -1.
  int wait_exit() {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (read_some(deadline)) {
    }
    if (!closed_) return -1;
    int status = 0;
    if (waitpid(pid_, &status, 0) != pid_) return -1;
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string since_mark() const { return output_.substr(mark_); }
  const std::string& output() const { return output_; }

 private:
  static constexpr std::chrono::seconds kDeadline{30};

  bool read_some(std::chrono::steady_clock::time_point deadline) {
    if (closed_) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) return true;
    if (ready <= 0) return false;
    char buffer[4096];
    ssize_t n = read(fd_, buffer, sizeof buffer);
    if (n <= 0) {  // EIO: every slave descriptor is closed, the console has ended
      closed_ = true;
      return false;
    }
    output_.append(buffer, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  bool reaped_ = false;
  bool closed_ = false;
  std::string output_;
  size_t mark_ = 0;
};

TEST_F(ConsoleTest, OnATerminalItCompletesSurvivesCtrlCAndRecallsHistory) {
  PtyConsole tty(dir_.path(), log_uri());
  ASSERT_TRUE(tty.started());
  ASSERT_TRUE(tty.wait_for("bel> ")) << tty.output();
  EXPECT_NE(tty.output().find("bel console on " + log_uri()), std::string::npos) << tty.output();

  tty.send("activity\n");
  ASSERT_TRUE(tty.wait_for("as of idx 2")) << tty.output();  // a table: stdout is the terminal
  ASSERT_TRUE(tty.wait_for("bel> ")) << tty.since_mark();

  // Tab completes the command, then the subcommand; the completed line runs.
  tty.send("buil\t");
  ASSERT_TRUE(tty.wait_for("ds ")) << tty.since_mark();
  tty.send("sh\t");
  ASSERT_TRUE(tty.wait_for("ow ")) << tty.since_mark();
  tty.send("br-1\n");
  ASSERT_TRUE(tty.wait_for("(idx 1..2)")) << tty.since_mark();
  ASSERT_TRUE(tty.wait_for("bel> ")) << tty.since_mark();

  // Ctrl-C drops the half-typed line and prompts again; the console lives on.
  tty.send("bogus");
  ASSERT_TRUE(tty.wait_for("bogus")) << tty.since_mark();
  tty.send("\x03");
  ASSERT_TRUE(tty.wait_for("bel> ")) << tty.since_mark();
  tty.send("quit\n");
  EXPECT_EQ(tty.wait_exit(), 0) << tty.output();
  EXPECT_EQ(tty.output().find("unknown command"), std::string::npos) << tty.output();

  // A new console recalls the lines of the last one (~/.bel_history): Ctrl-P twice is
  // "builds show br-1". Ctrl-D on an empty line leaves.
  PtyConsole again(dir_.path(), log_uri());
  ASSERT_TRUE(again.started());
  ASSERT_TRUE(again.wait_for("bel> ")) << again.output();
  again.send("\x10\x10\n");
  ASSERT_TRUE(again.wait_for("(idx 1..2)")) << again.since_mark();
  ASSERT_TRUE(again.wait_for("bel> ")) << again.since_mark();
  again.send("x");
  ASSERT_TRUE(again.wait_until_editing()) << again.since_mark();
  again.send("\x0b\x04");  // Ctrl-K empties the line
  EXPECT_EQ(again.wait_exit(), 0) << again.output();
}

// Two consoles open at once (on two logs: each holds its log's writer), with the same home: the
// history file keeps the lines of both, in the order they were typed.
TEST_F(ConsoleTest, TwoConsolesAtOnceKeepEachOthersHistory) {
  const std::string other_log = "sqlite://" + dir_.path() + "/other.db";
  ASSERT_EQ(run_command(shell_quote(kBel) + " append - --log " + shell_quote(other_log),
                        to_json(request_event("br-9", BUILD_REQUEST_RECEIVED)) + "\n")
                .exit_code,
            0);
  PtyConsole first(dir_.path(), log_uri());
  PtyConsole second(dir_.path(), other_log);
  ASSERT_TRUE(first.started() && second.started());
  ASSERT_TRUE(first.wait_for("bel> ")) << first.output();
  ASSERT_TRUE(second.wait_for("bel> ")) << second.output();
  for (auto [tty, line] : {std::pair<PtyConsole*, std::string>{&first, "builds show br-1"},
                           {&second, "activity"},
                           {&first, "partitions show sales/2026-11-01"}}) {
    tty->send(line + "\n");
    ASSERT_TRUE(tty->wait_for("bel> ")) << tty->since_mark();
  }
  first.send("quit\n");
  EXPECT_EQ(first.wait_exit(), 0) << first.output();
  second.send("quit\n");
  EXPECT_EQ(second.wait_exit(), 0) << second.output();

  std::ifstream file(dir_.path() + "/.bel_history");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // libedit writes a space as \040.
  for (size_t at; (at = text.find("\\040")) != std::string::npos;) text.replace(at, 4, " ");
  const size_t show = text.find("builds show br-1\n");
  const size_t activity = text.find("activity\n");
  const size_t partitions = text.find("partitions show sales/2026-11-01\n");
  ASSERT_NE(show, std::string::npos) << text;
  ASSERT_NE(activity, std::string::npos) << text;
  ASSERT_NE(partitions, std::string::npos) << text;
  EXPECT_LT(show, activity);
  EXPECT_LT(activity, partitions);
}

TEST_F(ConsoleTest, OnATerminalAppendReadsLinesUntilCtrlDAndTheConsoleGoesOn) {
  PtyConsole tty(dir_.path(), log_uri());
  ASSERT_TRUE(tty.started());
  ASSERT_TRUE(tty.wait_for("bel> ")) << tty.output();
  // Twice: the first Ctrl-D ends only the first append's input.
  for (const std::string id : {"br-2", "br-3"}) {
    tty.send("append -\n");
    // Once it says so, it reads: the terminal is back in its line mode, where ^D ends the input.
    ASSERT_TRUE(tty.wait_for("Ctrl-D ends them")) << tty.since_mark();
    tty.send(to_json(request_event(id, BUILD_REQUEST_RECEIVED, {"sales/2026-11-02"})) + "\n");
    ASSERT_TRUE(tty.wait_for(id)) << tty.since_mark();
    tty.send("\x04");
    ASSERT_TRUE(tty.wait_for("bel> ")) << tty.since_mark();
  }
  tty.send("builds show br-3\n");
  ASSERT_TRUE(tty.wait_for("(idx 4..4)")) << tty.since_mark();
  ASSERT_TRUE(tty.wait_for("bel> ")) << tty.since_mark();
  tty.send("quit\n");
  EXPECT_EQ(tty.wait_exit(), 0) << tty.output();
}

}  // namespace
}  // namespace bel
