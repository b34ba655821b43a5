// What a person meets at the console: suggestions for typos, comma-separated statuses, a bare
// path as --log, lists that say when nothing matches, help that speaks of what users have, the
// shell completion script, and ./scripts/run with an absolute build directory.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "app/suggest.h"
#include "messages/json.h"
#include "messages/types.h"
#include "storage/postgres_lock.h"
#include "tests/app/bel_binary.h"
#include "tests/support/events.h"
#include "tests/support/postgres.h"
#include "tests/support/run_command.h"

namespace bel::app {
namespace {

using testing::run_command;
using testing::shell_quote;
using testing::TempDir;

using testing::kBel;

TEST(SuggestTest, ClosestFindsOneEditTyposAndUniquePrefixes) {
  const std::vector<std::string> commands = {"partitions", "builds", "jobs", "job-runs", "views"};
  EXPECT_EQ(closest("partition", commands), "partitions");
  EXPECT_EQ(closest("buidls", commands), "builds");    // two letters swapped
  EXPECT_EQ(closest("part", commands), "partitions");  // the only command it begins
  EXPECT_EQ(closest("--limt", {"--limit", "--log", "--offset"}), "--limit");
  EXPECT_EQ(closest("job", commands), "jobs");
  EXPECT_EQ(closest("bulk", {"bulb", "bull"}), std::nullopt);  // two as close: no guess
  EXPECT_EQ(closest("xyz", commands), std::nullopt);
  EXPECT_EQ(closest("builds", commands), std::nullopt);  // a known word needs no suggestion
}

class UsabilityTest : public ::testing::Test {
 protected:
  testing::CommandResult bel(const std::string& args, const std::string& input = "") {
    return run_command(shell_quote(kBel) + " " + args, input);
  }
  std::string log() const { return shell_quote("sqlite://" + dir_.path() + "/u.db"); }
  TempDir dir_;
};

TEST_F(UsabilityTest, TyposGetASuggestionAndExitTwo) {
  auto command = bel("partition list");
  EXPECT_EQ(command.exit_code, 2);
  EXPECT_NE(command.err.find("did you mean \"partitions\"?"), std::string::npos) << command.err;

  auto sub = bel("builds lsit");
  EXPECT_EQ(sub.exit_code, 2);
  EXPECT_NE(sub.err.find("did you mean \"list\"?"), std::string::npos) << sub.err;
  EXPECT_NE(sub.err.find("Run bel builds --help for its subcommands."), std::string::npos)
      << sub.err;

  // A flag given last with no value says so, in bel's words rather than CLI11's.
  auto no_value = bel("builds list --limit");
  EXPECT_EQ(no_value.exit_code, 2);
  EXPECT_EQ(no_value.err.rfind("bel: invalid_argument: --limit: needs a value after it\n", 0), 0u)
      << no_value.err;
  // A flag of one value given twice alike.
  for (const char* args : {"partitions list --pattern a --pattern b",
                           "builds list --format json "
                           "--format table"}) {
    auto twice = bel(std::string(args) + " --log " + log());
    EXPECT_EQ(twice.exit_code, 2) << args;
    EXPECT_NE(twice.err.find(": given more than once; it takes one value\n"), std::string::npos)
        << twice.err;
    EXPECT_EQ(twice.err.find("At Most"), std::string::npos) << twice.err;
  }

  // A key that begins with "-" reads as a flag: the error says where it goes.
  auto dashed = bel("partitions show -x --log " + log());
  EXPECT_EQ(dashed.exit_code, 2);
  EXPECT_NE(dashed.err.find("REF is required (an argument that begins with \"-\" goes last, "
                            "after the flags and \"--\": ... -- -x)"),
            std::string::npos)
      << dashed.err;

  auto flag = bel("builds list --limt 3");
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_NE(flag.err.find("unknown flag \"--limt\" for builds list; did you mean \"--limit\"?"),
            std::string::npos)
      << flag.err;

  // A value that looks like a flag is a value, not a typo.
  auto value = bel("builds cancel br-x --reason --limt --log " + log());
  EXPECT_EQ(value.err.find("unknown flag"), std::string::npos) << value.err;

  // Flags before the subcommand: the line to type instead, not "needs a subcommand".
  auto early = bel("builds --limit 1 list");
  EXPECT_EQ(early.exit_code, 2);
  EXPECT_NE(early.err.find("flags go after the subcommand: bel builds list --limit 1"),
            std::string::npos)
      << early.err;
  auto group = bel("builds");
  EXPECT_EQ(group.exit_code, 2);
  EXPECT_NE(group.err.find("builds needs a subcommand: list, show, cancel"), std::string::npos)
      << group.err;
  EXPECT_NE(group.err.find("Run bel builds --help for its subcommands."), std::string::npos)
      << group.err;

  // Nothing at all, and a word too many, in bel's words rather than CLI11's.
  auto bare = bel("");
  EXPECT_EQ(bare.exit_code, 2);
  EXPECT_NE(bare.err.find("bel needs a command"), std::string::npos) << bare.err;
  auto extra = bel("builds list --limit 1 extra --log " + log());
  EXPECT_EQ(extra.exit_code, 2);
  EXPECT_NE(extra.err.find("unexpected argument: extra"), std::string::npos) << extra.err;
}

// SPEC section 7: every error has a stable code, bad usage too (exit 2): a typo, a value out of
// range, one that does not convert, a missing argument, a control character quoted back escaped.
TEST_F(UsabilityTest, UsageErrorsNameTheirCode) {
  for (const std::string& args : std::vector<std::string>{
           "partition list", "builds lsit", "builds", "builds list --limt 3",
           "builds list --limit 0 --log " + log(), "builds list --limit abc --log " + log(),
           "partitions show --log " + log(), "validation loose --log " + log(), "'par\x1b[31mt'",
           "builds show '' --log " + log(), "partitions invalidate p/1 --reason '' --log " + log(),
           // An empty filter or name (a script's unset variable) is not read as "any" or "all".
           "job-runs list --job '' --log " + log(), "job-runs list --build '' --log " + log(),
           "partitions list --pattern '' --log " + log(), "views rebuild '' --log " + log(),
           "append '' --log " + log(), "run --rate -1 --log memory://",
           "run --rate 1e-10 --log memory://", "serve --simulate --builds -1 --log memory://",
           // bel run's coordinator has no endpoint: a token for one is no flag of it.
           "run --token-file t --log memory://", "events list --type bogus --log " + log(),
           "partitions invalidate p/1 --reason r --build '' --log " + log()}) {
    auto r = bel(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_EQ(r.err.rfind("bel: invalid_argument: ", 0), 0u) << args << ": " << r.err;
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << args << ": " << r.err;
  }
}

// No event holds a string that is not UTF-8 (appends refuse it), so a key asked about that is not
// is a usage error naming the argument, the byte and its offset, on every command that asks about
// one; the same key in UTF-8 is answered. (Write commands leave such text to the append rules,
// which name the event's field:
// ServeTest.TextThatIsNotUtf8IsRefusedWithItsFieldAndTheLogStaysReadable.)
// A filter's bad value is named by the flag that gave it, as every other flag's is.
// An endpoint that is not HOST:PORT is bad usage (exit 2) naming the flag, from the command line
// or from the environment, as a bad --listen is.
TEST_F(UsabilityTest, AMalformedConnectEndpointIsAUsageError) {
  auto flag = bel("activity --connect bogus --log " + log());
  EXPECT_EQ(flag.exit_code, 2) << flag.err;
  EXPECT_TRUE(
      contains(flag.err, "bel: invalid_argument: --connect: endpoint \"bogus\" is not HOST:PORT"))
      << flag.err;
  auto env =
      run_command("BEL_CONNECT=127.0.0.1:99999 " + shell_quote(kBel) + " activity --log " + log());
  EXPECT_EQ(env.exit_code, 2) << env.err;
  EXPECT_TRUE(contains(env.err, "bel: invalid_argument: $BEL_CONNECT: endpoint")) << env.err;
  EXPECT_TRUE(contains(env.err, "port \"99999\" is not 0..65535")) << env.err;
}

// Whole numbers are decimal: a leading zero does not make one octal ("010" is ten, "08" is
// eight), and a hex form or a value past int64 is a usage error rather than another number.
TEST_F(UsabilityTest, NumbersAreDecimalAndOutOfRangeIsAUsageError) {
  std::string lines;
  for (int i = 0; i < 12; ++i) {
    lines += "{\"build_request_id\":\"br-" + std::to_string(i) +
             "\",\"build_request_event\":{\"status_code\":\"BUILD_REQUEST_RECEIVED\"}}\n";
  }
  ASSERT_EQ(bel("append - --log " + log(), lines).exit_code, 0);
  auto ten = bel("events list --since 010 --limit 1 --format json --log " + log());
  ASSERT_EQ(ten.exit_code, 0) << ten.err;
  EXPECT_TRUE(contains(ten.out, "\"idx\":\"11\"")) << ten.out;
  auto eight = bel("events list --limit 08 --format json --log " + log());
  ASSERT_EQ(eight.exit_code, 0) << eight.err;
  EXPECT_TRUE(contains(eight.out, "\"idx\":\"8\"")) << eight.out;
  EXPECT_FALSE(contains(eight.out, "\"idx\":\"9\"")) << eight.out;
  auto hex = bel("events list --since 0x10 --log " + log());
  EXPECT_EQ(hex.exit_code, 2);
  EXPECT_TRUE(contains(hex.err, "--since: is not a whole number in decimal: \"0x10\"")) << hex.err;
  auto huge = bel("events list --since 99999999999999999999999 --log " + log());
  EXPECT_EQ(huge.exit_code, 2);
  EXPECT_TRUE(contains(huge.err,
                       "--since: 99999999999999999999999 does not fit a 64-bit number (at most "
                       "9223372036854775807)"))
      << huge.err;
}

TEST_F(UsabilityTest, AnEventFiltersBadValueNamesItsFlag) {
  for (const auto& [args, said] : std::vector<std::pair<std::string, std::string>>{
           {"--type bogus", "--type: unknown event type \"bogus\" (known: build_request_event"},
           {"--pattern '['", "--pattern: pattern \"[\": unclosed '['"},
           {"--partition p --partition ''", "--partition: is empty"},
           {"--job-run ''", "--job-run: is empty"},
           {"--build ''", "--build: is empty"}}) {
    auto r = bel("events list " + args + " --log " + log());
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
    EXPECT_EQ(r.err.rfind("bel: invalid_argument: " + said, 0), 0u) << args << ": " << r.err;
  }
}

TEST_F(UsabilityTest, AnArgumentThatIsNotUtf8IsAUsageErrorNamingTheByte) {
  const std::string event =
      "{\"build_request_id\":\"br-1\",\"build_request_event\":{\"status_code\":"
      "\"BUILD_REQUEST_RECEIVED\",\"requested_partitions\":[{\"str\":\"data/\xc3\xa9\"}]}}\n";
  ASSERT_EQ(bel("append - --log " + log(), event).exit_code, 0);
  const std::string bad = shell_quote(
      "ab\xff"
      "c");
  for (const auto& [args, named] : std::vector<std::pair<std::string, std::string>>{
           {"partitions show " + bad, "REF"},
           {"builds show " + bad, "ID"},
           {"job-runs show " + bad, "ID"},
           {"jobs show " + bad, "LABEL"},
           {"job-runs list --job " + bad, "--job"},
           {"job-runs list --build " + bad, "--build"},
           {"events list --partition " + bad, "--partition"},
           {"events list --type " + bad, "--type"}}) {
    auto r = bel(args + " --log " + log());
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
    EXPECT_NE(r.err.find("bel: invalid_argument: " + named + ": " +
                         "is not valid UTF-8: byte 0xff at offset 2"),
              std::string::npos)
        << args << ": " << r.err;
  }
  auto fine =
      bel("partitions show " + shell_quote("data/\xc3\xa9") + " --format json --log " + log());
  EXPECT_EQ(fine.exit_code, 0) << fine.err;
  EXPECT_NE(fine.out.find("\"partition_ref\":\"data/\xc3\xa9\""), std::string::npos) << fine.out;
  EXPECT_NE(fine.out.find("\"build_request_id\":\"br-1\""), std::string::npos) << fine.out;
}

// Output that cannot be written (a full disk, a closed stdout) is an error the script sees: exit 1
// and a line on stderr, never an abort and never exit 0 with the answer lost. A closed stdout is
// not taken over by the log or the coordinator's files meanwhile: the log checks out afterwards.
TEST_F(UsabilityTest, OutputThatCannotBeWrittenIsAFailureAndTheLogStaysWhole) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this machine";
  // The redirection inside the braces is bel's; run_command's own (to its files) is the group's.
  auto to = [&](const std::string& args, const std::string& where) {
    return run_command("{ " + shell_quote(kBel) + " " + args + " " + where + "; }");
  };
  for (const std::string where : {">/dev/full", ">&-"}) {
    SCOPED_TRACE(where);
    auto run = to("run --builds 3 --format json --log " + log(), where);
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_NE(run.err.find("bel: cannot write"), std::string::npos) << run.err;
    EXPECT_EQ(run.err.find("terminate"), std::string::npos) << run.err;
    auto list = to("builds list --format json --log " + log(), where);
    EXPECT_EQ(list.exit_code, 1) << list.err;
    EXPECT_NE(list.err.find("bel: cannot write the output"), std::string::npos) << list.err;
  }
  EXPECT_NE(
      to("builds list --format json --log " + log(), ">&-").err.find("standard output is closed"),
      std::string::npos);
  auto check = bel("check --format json --log " + log());
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  auto list = bel("builds list --format json --log " + log());
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("\"total_count\":\"6\""), std::string::npos) << list.out;
}

// A file-size limit (`ulimit -f`) makes bel's writes fail with EFBIG rather than kill it with
// SIGXFSZ: the append fails naming the cause, and the log keeps exactly what it had.
TEST_F(UsabilityTest, AFileSizeLimitFailsTheAppendSayingSoAndTheLogStaysWhole) {
  const std::string first =
      "{\"build_request_id\":\"br-0\",\"build_request_event\":{\"status_code\":"
      "\"BUILD_REQUEST_RECEIVED\"}}\n";
  ASSERT_EQ(bel("append - --log " + log(), first).exit_code, 0);
  std::string many;
  for (int i = 1; i <= 4000; ++i) {
    many += "{\"build_request_id\":\"br-" + std::to_string(i) +
            "\",\"build_request_event\":{\"status_code\":\"BUILD_REQUEST_RECEIVED\","
            "\"message\":\"" +
            std::string(300, 'm') + "\"}}\n";
  }
  // 1.3 MB of events against a limit of 512 KiB on every file the process writes.
  auto limited = run_command("bash -c " + shell_quote("ulimit -f 512; exec " + shell_quote(kBel) +
                                                      " append - --log " + log()),
                             many);
  EXPECT_EQ(limited.exit_code, 1) << limited.out << limited.err;
  EXPECT_NE(limited.err.find("File too large"), std::string::npos) << limited.err;
  auto listed = bel("events list --format json --log " + log());
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("\"build_request_id\":\"br-0\""), std::string::npos) << listed.out;
  EXPECT_EQ(listed.out.find("br-1\""), std::string::npos) << "a part of the batch was stored";
  auto check = bel("check --format json --log " + log());
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  // Without the limit the same batch goes in whole.
  EXPECT_EQ(bel("append - --log " + log(), many).exit_code, 0);
}

// A log the user may write in a directory it may not: SQLite cannot make its WAL files there. A
// command that writes says so in a writer's words, naming the directory (not a reader's advice
// from the look it takes first for a coordinator). As root the command runs as `nobody`.
TEST_F(UsabilityTest, AWriterInADirectoryItMayNotWriteIsToldSoNamingIt) {
  const std::string as_other =
      ::geteuid() == 0 ? "setpriv --reuid=nobody --regid=nogroup --clear-groups " : "";
  const std::string dir = dir_.path() + "/ro";
  std::filesystem::create_directory(dir);
  const std::string uri = "sqlite://" + dir + "/r.db";
  const std::string event = [](const std::string& id) {
    return "{\"build_request_id\":\"" + id +
           "\",\"build_request_event\":{\"status_code\":\"BUILD_REQUEST_RECEIVED\"}}\n";
  }("br-1");
  ASSERT_EQ(bel("append - --log " + shell_quote(uri), event).exit_code, 0);
  for (const char* side : {"-wal", "-shm"}) std::filesystem::remove(dir + "/r.db" + side);
  namespace fs = std::filesystem;
  fs::permissions(dir + "/r.db", fs::perms::all & ~(fs::perms::owner_exec | fs::perms::group_exec |
                                                    fs::perms::others_exec));
  fs::permissions(dir_.path(), fs::perms::owner_all | fs::perms::group_read |
                                   fs::perms::group_exec | fs::perms::others_read |
                                   fs::perms::others_exec);
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                           fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  if (run_command(as_other + shell_quote(kBel) + " --version").exit_code != 0) {
    fs::permissions(dir, fs::perms::owner_all);
    GTEST_SKIP() << "cannot run bel as another user here";
  }
  auto appended = run_command(
      as_other + shell_quote(kBel) + " append - --log " + shell_quote(uri),
      event.substr(0, event.find("br-1")) + "br-2" + event.substr(event.find("br-1") + 4));
  fs::permissions(dir, fs::perms::owner_all);
  EXPECT_EQ(appended.exit_code, 1) << appended.out << appended.err;
  EXPECT_NE(appended.err.find("a writer needs"), std::string::npos) << appended.err;
  EXPECT_NE(appended.err.find("cannot make in " + dir + " "), std::string::npos) << appended.err;
  EXPECT_EQ(appended.err.find("a reader needs"), std::string::npos) << appended.err;
}

// After an orderly exit an SQLite log's file alone holds every commit (docs/operators.md,
// "Copying an SQLite log"): a copy of it without the -wal beside it reads the same events.
TEST_F(UsabilityTest, AfterAnOrderlyExitTheLogFileAloneHoldsEveryCommit) {
  const std::string events =
      "{\"build_request_id\":\"br-1\",\"build_request_event\":{\"status_code\":"
      "\"BUILD_REQUEST_RECEIVED\",\"requested_partitions\":[{\"str\":\"data/a\"}]}}\n"
      "{\"build_request_id\":\"br-1\",\"build_request_event\":{\"status_code\":"
      "\"BUILD_REQUEST_PLANNING\"}}\n";
  ASSERT_EQ(bel("append - --log " + log(), events).exit_code, 0);
  ASSERT_EQ(bel("activity --log " + log()).exit_code, 0);  // a reading session too
  const std::string copy = dir_.path() + "/copy.db";
  std::filesystem::copy_file(dir_.path() + "/u.db", copy);
  auto listed = bel("events list --format json --log " + shell_quote(copy));
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("\"idx\":\"2\""), std::string::npos) << listed.out;
}

// A job none of whose runs has completed or failed has no success rate yet: the tables say "-",
// not a 0.0% that reads as every run having failed.
TEST_F(UsabilityTest, AJobWithNoFinishedRunHasNoSuccessRateYet) {
  const std::string events =
      "{\"build_request_id\":\"br-1\",\"build_request_event\":{\"status_code\":"
      "\"BUILD_REQUEST_RECEIVED\",\"requested_partitions\":[{\"str\":\"data/a\"}]}}\n"
      "{\"build_request_id\":\"br-1\",\"job_event\":{\"job_run_id\":\"jr-1\",\"job_label\":"
      "{\"label\":\"//data:a\"},\"target_partitions\":[{\"str\":\"data/a\"}],"
      "\"status_code\":\"JOB_SCHEDULED\"}}\n";
  auto appended = bel("append - --log " + log(), events);
  ASSERT_EQ(appended.exit_code, 0) << appended.err;
  auto show = bel("jobs show //data:a --format table --log " + log());
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("success rate:  -\n"), std::string::npos) << show.out;
  auto list = bel("jobs list --format table --log " + log());
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("//data:a"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find('%'), std::string::npos) << list.out;
}

// PostgreSQL's client library is loaded only for a postgresql:// log (storage/libpq_api.h): a
// command on an SQLite log starts without it and the libraries it needs; one on a PostgreSQL log
// loads it and works. The dynamic loader's own report (LD_DEBUG=libs) says what was loaded.
TEST_F(UsabilityTest, OnlyAPostgresLogLoadsItsClientLibrary) {
  const std::string event =
      "{\"build_request_id\":\"br-1\",\"build_request_event\":"
      "{\"status_code\":\"BUILD_REQUEST_RECEIVED\"}}\n";
  ASSERT_EQ(bel("append - --log " + log(), event).exit_code, 0);
  const std::string traced = "LD_DEBUG=libs " + shell_quote(kBel);
  auto sqlite = run_command(traced + " activity --format json --log " + log());
  EXPECT_EQ(sqlite.exit_code, 0) << sqlite.err;
  ASSERT_TRUE(contains(sqlite.err, "libc.so.6")) << "the loader reported nothing: " << sqlite.err;
  EXPECT_FALSE(contains(sqlite.err, "libpq")) << sqlite.err;

  const auto uri = testing::fresh_postgres_uri();
  if (!uri) GTEST_SKIP() << "BEL_TEST_PG is not set (run through scripts/with-postgres)";
  auto append = run_command(traced + " append - --log " + shell_quote(*uri), event);
  EXPECT_EQ(append.exit_code, 0) << append.err;
  EXPECT_TRUE(contains(append.err, "libpq.so.5")) << append.err;
  auto activity = bel("activity --format json --log " + shell_quote(*uri));
  EXPECT_EQ(activity.exit_code, 0) << activity.err;
  EXPECT_TRUE(contains(activity.out, "\"total_build_requests\":\"1\"")) << activity.out;
}

// An error that quotes a key of tens of kilobytes does not fill the terminal: it is cut, saying
// how long it was; a short one is whole.
TEST_F(UsabilityTest, AnErrorQuotingAHugeKeyIsCutSayingHowLongItWas) {
  ASSERT_EQ(bel("append - --log " + log(),
                "{\"build_request_id\":\"br-1\",\"build_request_event\":{\"status_code\":"
                "\"BUILD_REQUEST_RECEIVED\",\"requested_partitions\":[{\"str\":\"d/a\"}]}}\n")
                .exit_code,
            0);
  auto huge = bel("builds show " + std::string(60000, 'k') + " --log " + log());
  EXPECT_EQ(huge.exit_code, 1);
  EXPECT_LT(huge.err.size(), 2200u);
  EXPECT_TRUE(contains(huge.err, "bel: not_found: build request kkkk")) << huge.err.substr(0, 100);
  EXPECT_TRUE(contains(huge.err, "… (cut here: ")) << huge.err.substr(huge.err.size() - 100);
  auto short_id = bel("builds show br-2 --log " + log());
  EXPECT_EQ(short_id.exit_code, 1);
  EXPECT_TRUE(contains(short_id.err, "build request br-2 not found")) << short_id.err;
  EXPECT_FALSE(contains(short_id.err, "cut here")) << short_id.err;
}

// A log's password never reaches a terminal: not in a suggestion, not in an error about a URI
// bel cannot use or libpq cannot parse, not in what `bel run` prints and suggests.
TEST_F(UsabilityTest, NothingBelPrintsShowsALogsPassword) {
  const std::string secret = "NotShown42";
  auto misplaced = bel("--log 'postgresql://alice:" + secret + "@h/db' activity");
  EXPECT_EQ(misplaced.exit_code, 2);
  EXPECT_TRUE(
      contains(misplaced.err,
               "flags go after the command: bel activity --log 'postgresql://alice:***@h/db'"))
      << misplaced.err;
  auto other_scheme = bel("activity --log 'mysql://alice:" + secret + "@x/db'");
  EXPECT_NE(other_scheme.exit_code, 0);
  EXPECT_TRUE(contains(other_scheme.err, "mysql://alice:***@x/db")) << other_scheme.err;
  auto unparsed = bel("activity --log 'postgresql://alice:" + secret + "%zz@127.0.0.1:1/db'");
  EXPECT_NE(unparsed.exit_code, 0);
  EXPECT_TRUE(contains(unparsed.err, "not a PostgreSQL connection URI")) << unparsed.err;
  // Unencoded '/' in the password: libpq reads its start as the port, and quotes it.
  auto misread = bel("activity --log 'postgresql://alice:" + secret + "/x@127.0.0.1/db'");
  EXPECT_NE(misread.exit_code, 0);
  EXPECT_TRUE(contains(misread.err, "postgresql://alice:***@127.0.0.1/db")) << misread.err;
  for (const auto* r : {&misplaced, &other_scheme, &unparsed, &misread}) {
    EXPECT_FALSE(contains(r->out + r->err, secret)) << r->out << r->err;
  }

  const auto uri = testing::fresh_postgres_uri();
  if (!uri) GTEST_SKIP() << "BEL_TEST_PG is not set (run through scripts/with-postgres)";
  auto run =
      bel("run --builds 2 --format table --log " + shell_quote(*uri + "&password=" + secret));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(contains(run.out, "password=***")) << run.out;
  EXPECT_FALSE(contains(run.out + run.err, secret)) << run.out << run.err;
}

// An append refused because another writer held the log's lock past the wait says that nothing
// was written, and nothing that contradicts it.
TEST_F(UsabilityTest, AnAppendThatFoundTheLogLockedSaysNothingWasWritten) {
  const auto uri = testing::fresh_postgres_uri();
  if (!uri) GTEST_SKIP() << "BEL_TEST_PG is not set (run through scripts/with-postgres)";
  const std::string event =
      "{\"build_request_id\":\"br-1\",\"build_request_event\":{\"status_code\":"
      "\"BUILD_REQUEST_RECEIVED\"}}\n";
  ASSERT_EQ(bel("append - --log " + shell_quote(*uri), event).exit_code, 0);
  CommandResult refused;
  {
    testing::PostgresSession holder(*uri);  // another writer in its transaction, with the lock
    ASSERT_TRUE(holder.run("BEGIN") && holder.run(storage::pg_take_log_lock_sql()));
    refused = bel("append - --log " + shell_quote(*uri),
                  "{\"build_request_id\":\"br-2\",\"build_request_event\":{\"status_code\":"
                  "\"BUILD_REQUEST_RECEIVED\"}}\n");
  }
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(contains(refused.err, "another writer of this log has held it")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "nothing was written, a retry is safe")) << refused.err;
  EXPECT_FALSE(contains(refused.err, "may or may not")) << refused.err;
}

// bel check on a PostgreSQL log checks its schema and its derived rows: here the one key row,
// the requested partition's (the damage cases are in tests/fault/postgres_damage_test.cc).
TEST_F(UsabilityTest, CheckOnAPostgresLogChecksItsSchemaAndDerivedRows) {
  const auto uri = testing::fresh_postgres_uri();
  if (!uri) GTEST_SKIP() << "BEL_TEST_PG is not set (run through scripts/with-postgres)";
  ASSERT_EQ(bel("append - --log " + shell_quote(*uri),
                "{\"build_request_id\":\"br-1\",\"build_request_event\":"
                "{\"status_code\":\"BUILD_REQUEST_RECEIVED\",\"requested_partitions\":"
                "[{\"str\":\"data/a\"}]}}\n")
                .exit_code,
            0);
  auto check = bel("check --format json --log " + shell_quote(*uri));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_TRUE(contains(check.out,
                       "{\"name\": \"schema\", \"ok\": true, \"detail\": "
                       "\"schema_version"))
      << check.out;
  EXPECT_TRUE(contains(check.out,
                       "{\"name\": \"derived rows\", \"ok\": true, \"detail\": "
                       "\"1 events, 1 key rows up to idx 1;"))
      << check.out;
}

// bel append refuses what it cannot take before a log is made for it, and says so in one line.
TEST_F(UsabilityTest, AppendRefusesBadInputBeforeMakingALogAndSaysWhyInOneLine) {
  const std::string fresh = dir_.path() + "/fresh.db";
  auto control = bel("append - --log " + shell_quote(fresh),
                     "{\"build_request_id\":\"br-a\\tb\",\"build_request_event\":"
                     "{\"status_code\":\"BUILD_REQUEST_RECEIVED\",\"requested_partitions\":"
                     "[{\"str\":\"data/a\"}]}}\n");
  EXPECT_EQ(control.exit_code, 1);
  EXPECT_NE(control.err.find("invalid_event: stdin line 1 (event #1): build_request_id contains "
                             "control character 0x09 at offset 4; nothing was appended"),
            std::string::npos)
      << control.err;
  EXPECT_FALSE(std::filesystem::exists(fresh)) << "a refused append made a log";

  auto broken = bel("append - --log " + shell_quote(fresh), "{\"build_request_id\": \"x\", \n");
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.err.find("invalid_event: stdin line 1: invalid JSON for BuildEvent: "),
            std::string::npos)
      << broken.err;
  EXPECT_EQ(broken.err.find("\\n"), std::string::npos) << broken.err;  // no escaped caret lines
  auto array = bel("append - --log " + shell_quote(fresh), "[]\n");
  EXPECT_EQ(array.exit_code, 1);
  EXPECT_NE(array.err.find("invalid JSON for BuildEvent: Root element must be a message"),
            std::string::npos)
      << array.err;

  // A FILE that is not one to read is bad usage (exit 2), as a bad flag is.
  auto directory = bel("append " + shell_quote(dir_.path()) + " --log " + shell_quote(fresh));
  EXPECT_EQ(directory.exit_code, 2);
  EXPECT_NE(directory.err.find("is a directory, not a file of JSON lines"), std::string::npos)
      << directory.err;
  auto missing =
      bel("append " + shell_quote(dir_.path() + "/none.jsonl") + " --log " + shell_quote(fresh));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("bel: invalid_argument: " + dir_.path() +
                             "/none.jsonl: cannot open: No such file or directory"),
            std::string::npos)
      << missing.err;
  EXPECT_FALSE(std::filesystem::exists(fresh)) << "a refused append made a log";

  // The transition rules, which need a log, refuse the batch on an empty one in memory first:
  // a first append with a status out of order names its line and makes no log either.
  const std::string out_of_order =
      to_json(testing::request_event("br-0", v1::BUILD_REQUEST_RECEIVED)) + "\n" +
      to_json(testing::partition_event("br-1", "a/b", v1::PARTITION_AVAILABLE)) + "\n";
  auto transition = bel("append - --log " + shell_quote(fresh), out_of_order);
  EXPECT_EQ(transition.exit_code, 1);
  EXPECT_NE(transition.err.find("invalid_transition: stdin line 2 (event #2): build request br-1 "
                                "does not exist"),
            std::string::npos)
      << transition.err;
  EXPECT_NE(transition.err.find("; nothing was appended and no log was created"), std::string::npos)
      << transition.err;
  EXPECT_FALSE(std::filesystem::exists(fresh)) << "a refused append made a log";
  // A batch over the pending limit of the log it would create (100 000 events in-process) is
  // refused before the log is made, as the log itself would refuse it.
  std::string too_many;
  for (int i = 0; i <= 100000; ++i) {
    too_many += "{\"build_request_id\":\"b" + std::to_string(i) +
                "\",\"build_request_event\":{\"status_code\":\"BUILD_REQUEST_RECEIVED\"}}\n";
  }
  auto overloaded = bel("append - --log " + shell_quote(fresh), too_many);
  EXPECT_EQ(overloaded.exit_code, 1);
  EXPECT_NE(overloaded.err.find("overloaded: "), std::string::npos) << overloaded.err;
  EXPECT_NE(overloaded.err.find("larger than the pending limit"), std::string::npos)
      << overloaded.err;
  EXPECT_NE(overloaded.err.find("no log was created"), std::string::npos) << overloaded.err;
  EXPECT_FALSE(std::filesystem::exists(fresh)) << "a refused append made a log";
  // An empty file (a creation that did not finish: a kill, a full disk) is no log yet to a
  // reader, not a damaged one.
  { std::ofstream(fresh).flush(); }
  auto empty = bel("events list --log " + shell_quote(fresh));
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("storage_unavailable: "), std::string::npos) << empty.err;
  EXPECT_NE(empty.err.find("no log at " + fresh + " yet: an empty file"), std::string::npos)
      << empty.err;
  // What a new log takes is appended, to a log made for it (in the empty file).
  auto first = bel("append - --log " + shell_quote(fresh),
                   out_of_order.substr(0, out_of_order.find('\n') + 1));
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(std::filesystem::exists(fresh));
  // Nor is a database with no tables, which a full disk before the first commit leaves: a reader
  // is told there is no log yet (it was storage_corrupt, "not a bel log", and appends refused it
  // for good), and the next append makes the log in it.
  const std::string tableless = dir_.path() + "/tableless.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(tableless.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  ASSERT_GT(std::filesystem::file_size(tableless), 0u);
  auto unread = bel("events list --log " + shell_quote(tableless));
  EXPECT_EQ(unread.exit_code, 1);
  EXPECT_NE(unread.err.find("storage_unavailable: "), std::string::npos) << unread.err;
  EXPECT_NE(unread.err.find("no log at " + tableless + " yet: a database with no tables"),
            std::string::npos)
      << unread.err;
  auto made = bel("append - --log " + shell_quote(tableless),
                  out_of_order.substr(0, out_of_order.find('\n') + 1));
  EXPECT_EQ(made.exit_code, 0) << made.err;
  auto listed = bel("events list --format json --log " + shell_quote(tableless));
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("\"idx\":\"1\""), std::string::npos) << listed.out;

  const std::string other = dir_.path() + "/other.db";
  auto nothing = bel("append - --log " + shell_quote(other), "");
  EXPECT_EQ(nothing.exit_code, 0) << nothing.err;
  EXPECT_NE(nothing.err.find("stdin holds no events; nothing was appended"), std::string::npos)
      << nothing.err;
  EXPECT_FALSE(std::filesystem::exists(other));
}

// bel append parses each line as it reads it: a bad line ends the reading, however much input
// follows or is still to come, and a batch larger than any log takes is refused at the line that
// makes it so, not read to its end first.
TEST_F(UsabilityTest, AppendStopsReadingAtTheFirstLineItRefuses) {
  const std::string log = shell_quote(dir_.path() + "/stream.db");
  // The writer keeps the pipe open: reading to the end of the input would wait for ever (the
  // timeout fails the test instead).
  const std::string fifo = dir_.path() + "/events.fifo";
  auto open_ended =
      run_command("{ mkfifo " + shell_quote(fifo) + " && exec 3<>" + shell_quote(fifo) +
                  " && printf 'garbage\\n{\\n' >&3 && timeout 120 " + shell_quote(kBel) +
                  " append - --log " + log + " < " + shell_quote(fifo) + "; }");
  EXPECT_EQ(open_ended.exit_code, 1) << open_ended.err;
  EXPECT_NE(open_ended.err.find("invalid_event: stdin line 1: invalid JSON for BuildEvent: "),
            std::string::npos)
      << open_ended.err;

  // Events of ~60 KB each: 64 MiB of them is more than any log takes in one batch.
  const std::string big =
      R"({"build_request_id":"br-1","job_event":{"job_run_id":"r","job_label":{"label":"//j"},)"
      R"("status_code":"JOB_SCHEDULED","message":")" +
      std::string(60000, 'm') + "\"}}";
  const size_t fits = (size_t{64} << 20) / (big.size() - 60);  // ~ each one's encoded bytes
  auto too_many =
      run_command("{ yes " + shell_quote(big) + " | head -n " + std::to_string(fits + 100) + " | " +
                  shell_quote(kBel) + " append - --log " + log + "; }");
  EXPECT_EQ(too_many.exit_code, 1) << too_many.err;
  EXPECT_NE(too_many.err.find("overloaded: stdin line "), std::string::npos) << too_many.err;
  EXPECT_NE(too_many.err.find(": the batch goes past 1000000 events or 64 MiB of encoded events, "
                              "the most bel append sends in one batch; split it (nothing was "
                              "appended)"),
            std::string::npos)
      << too_many.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/stream.db"))
      << "a refused append made a log";

  // An id given twice in the batch with other content: both events are named by their lines.
  const std::string first =
      to_json(testing::with_id(testing::request_event("br-1", v1::BUILD_REQUEST_RECEIVED), "ev-1"));
  const std::string other =
      to_json(testing::with_id(testing::request_event("br-2", v1::BUILD_REQUEST_RECEIVED), "ev-1"));
  auto clash = bel("append - --log " + log, "\n" + first + "\n\n" + other + "\n");
  EXPECT_EQ(clash.exit_code, 1) << clash.err;
  EXPECT_NE(clash.err.find("duplicate_event_id: stdin line 4 (event #2): event_id \"ev-1\" is "
                           "already used by line 2 (event #1) of this batch with different "
                           "content; nothing was appended"),
            std::string::npos)
      << clash.err;
}

TEST_F(UsabilityTest, StatusesMayBeCommaSeparatedAndABarePathIsAnSqliteLog) {
  const std::string path = dir_.path() + "/bare.db";
  std::string lines;
  for (auto [id, status] : {std::pair{"br-done", v1::BUILD_REQUEST_COMPLETED},
                            std::pair{"br-fail", v1::BUILD_REQUEST_FAILED},
                            std::pair{"br-run", v1::BUILD_REQUEST_EXECUTING}}) {
    lines += to_json(testing::request_event(id, v1::BUILD_REQUEST_RECEIVED, {"p/1"})) + "\n";
    lines += to_json(testing::request_event(id, status)) + "\n";
  }
  auto appended = bel("append - --log " + shell_quote(path), lines);
  ASSERT_EQ(appended.exit_code, 0) << appended.err;

  auto both = bel("builds list --status completed,failed --format json --log " + shell_quote(path));
  ASSERT_EQ(both.exit_code, 0) << both.err;
  BuildsListResponse list;
  ASSERT_TRUE(from_json(both.out, &list).ok()) << both.out;
  ASSERT_EQ(list.builds_size(), 2);
  EXPECT_EQ(list.total_count(), 2);
  for (const auto& b : list.builds()) EXPECT_NE(b.build_request_id(), "br-run");

  auto repeated = bel("builds list --status completed --status failed --format json --log " +
                      shell_quote(path));
  EXPECT_EQ(repeated.out, both.out);

  auto bad = bel("builds list --status completed,finished --log " + shell_quote(path));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("finished"), std::string::npos) << bad.err;

  // The same file through its URI.
  auto through_uri = bel("builds list --format json --log " + shell_quote("sqlite://" + path));
  ASSERT_EQ(through_uri.exit_code, 0) << through_uri.err;
  ASSERT_TRUE(from_json(through_uri.out, &list).ok());
  EXPECT_EQ(list.total_count(), 3);
}

TEST_F(UsabilityTest, AnEmptyListSaysNothingMatchesAndCountsAreWordedForOne) {
  auto appended = bel("append - --log " + log(),
                      to_json(testing::request_event("br-1", v1::BUILD_REQUEST_RECEIVED)) + "\n");
  ASSERT_EQ(appended.exit_code, 0) << appended.err;
  auto builds = bel("builds list --status failed --format table --log " + log());
  ASSERT_EQ(builds.exit_code, 0) << builds.err;
  EXPECT_EQ(builds.out, "no builds match\n");
  auto runs = bel("job-runs list --format table --log " + log());
  EXPECT_EQ(runs.out, "no job runs match\n");
  auto events = bel("events list --build nobody --format table --log " + log());
  EXPECT_EQ(events.out, "no events match\n");
  // A page past the end of a list that has entries says how many there are.
  auto past = bel("builds list --offset 5 --format table --log " + log());
  ASSERT_EQ(past.exit_code, 0) << past.err;
  EXPECT_EQ(past.out, "no builds at this offset: 1 match; use an --offset below 1\n");
  // An unknown key reads as itself, without the view that looked for it.
  auto unknown = bel("jobs show //nope --log " + log());
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err, "bel: not_found: job label //nope not found\n");

  auto run = bel("run --builds 1 --workers 1 --format table --log " +
                 shell_quote("sqlite://" + dir_.path() + "/one.db"));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.find("1 builds"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("1 build requests"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("1 simulated workers"), std::string::npos) << run.out;
}

TEST_F(UsabilityTest, CancellingWhatAlreadyEndedSaysSoPlainly) {
  std::string lines = to_json(testing::request_event("br-done", v1::BUILD_REQUEST_RECEIVED)) + "\n";
  lines += to_json(testing::request_event("br-done", v1::BUILD_REQUEST_EXECUTING)) + "\n";
  lines += to_json(testing::job_event("br-done", "jr-1", "//j", v1::JOB_SCHEDULED)) + "\n";
  lines += to_json(testing::job_event("br-done", "jr-1", "//j", v1::JOB_COMPLETED)) + "\n";
  lines += to_json(testing::request_event("br-done", v1::BUILD_REQUEST_COMPLETED)) + "\n";
  ASSERT_EQ(bel("append - --log " + log(), lines).exit_code, 0);

  auto build = bel("builds cancel br-done --reason late --log " + log());
  EXPECT_EQ(build.exit_code, 1);
  EXPECT_NE(build.err.find("invalid_transition: br-done already completed at idx 5; nothing was "
                           "changed"),
            std::string::npos)
      << build.err;
  auto run = bel("job-runs cancel jr-1 --reason late --log " + log());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("invalid_transition: job run jr-1 already completed; nothing was changed"),
            std::string::npos)
      << run.err;
  // Ids the log has never seen say so, and that nothing changed, for builds and runs alike.
  for (const char* which : {"builds cancel br-nope", "job-runs cancel jr-nope"}) {
    auto unknown = bel(std::string(which) + " --reason late --log " + log());
    EXPECT_EQ(unknown.exit_code, 1) << which;
    EXPECT_NE(unknown.err.find("not found"), std::string::npos) << unknown.err;
    EXPECT_NE(unknown.err.find("; nothing was changed"), std::string::npos) << unknown.err;
  }
  // Nothing was appended.
  auto events = bel("events list --format json --log " + log());
  EventPage page;
  ASSERT_TRUE(from_json(events.out, &page).ok()) << events.out;
  EXPECT_EQ(page.events_size(), 5);
}

// SPEC sections 2 and 6: without --build the invalidation is the operator's own, valid in strict
// mode with no live build, visible in the partition's history, and part of no build summary,
// build list or build count.
TEST_F(UsabilityTest, AnOperatorInvalidatesWithoutABuild) {
  std::string lines;
  lines += to_json(testing::request_event("br-1", v1::BUILD_REQUEST_RECEIVED, {"p/1"})) + "\n";
  lines += to_json(testing::partition_event("br-1", "p/1", v1::PARTITION_AVAILABLE)) + "\n";
  lines += to_json(testing::request_event("br-1", v1::BUILD_REQUEST_COMPLETED)) + "\n";
  ASSERT_EQ(bel("append - --log " + log(), lines).exit_code, 0);

  auto r = bel("partitions invalidate p/1 --reason 'bad rows' --format json --log " + log());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  AppendAck ack;
  ASSERT_TRUE(from_json(r.out, &ack).ok()) << r.out;
  EXPECT_EQ(ack.idx(), 4);

  auto shown = bel("partitions show p/1 --format json --log " + log());
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("\"status_name\":\"PARTITION_INVALIDATED\""), std::string::npos)
      << shown.out;
  EXPECT_NE(shown.out.find("\"build_request_id\":\"operator:"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("bad rows"), std::string::npos) << shown.out;

  ActivityResponse activity;
  ASSERT_TRUE(from_json(bel("activity --format json --log " + log()).out, &activity).ok());
  EXPECT_EQ(activity.total_build_requests(), 1);
  EXPECT_EQ(activity.event_count(), 4);
  BuildsListResponse builds;
  ASSERT_TRUE(from_json(bel("builds list --format json --log " + log()).out, &builds).ok());
  ASSERT_EQ(builds.builds_size(), 1);
  EXPECT_EQ(builds.builds(0).build_request_id(), "br-1");
  EXPECT_EQ(builds.builds(0).event_count(), 3);
  const std::string operator_id =
      "operator:" + std::string(shown.out.substr(shown.out.find("operator:") + 9,
                                                 shown.out.find('"', shown.out.find("operator:")) -
                                                     shown.out.find("operator:") - 9));
  auto summary = bel("builds show " + shell_quote(operator_id) + " --log " + log());
  EXPECT_EQ(summary.exit_code, 1);
  EXPECT_NE(summary.err.find("not_found"), std::string::npos) << summary.err;
  // The same answers from a full scan.
  auto check = bel("check --log " + log());
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

// The log takes a build_request_id it never received for an operator's (SPEC section 2): the
// console makes sure --build names a build request, so that a typo changes nothing, and an
// operator:<name> id is taken as written.
TEST_F(UsabilityTest, InvalidatingForAnUnknownBuildChangesNothing) {
  std::string lines;
  lines += to_json(testing::request_event("br-1", v1::BUILD_REQUEST_RECEIVED, {"p/1"})) + "\n";
  lines += to_json(testing::partition_event("br-1", "p/1", v1::PARTITION_REQUESTED)) + "\n";
  ASSERT_EQ(bel("append - --log " + log(), lines).exit_code, 0);

  auto typo = bel("partitions invalidate p/1 --reason 'bad rows' --build br-l --log " + log());
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_NE(typo.err.find("not_found: --build: build request br-l not found"), std::string::npos)
      << typo.err;
  ActivityResponse activity;
  ASSERT_TRUE(from_json(bel("activity --format json --log " + log()).out, &activity).ok());
  EXPECT_EQ(activity.event_count(), 2);

  auto known = bel("partitions invalidate p/1 --reason 'bad rows' --build br-1 --log " + log());
  EXPECT_EQ(known.exit_code, 0) << known.err;
  auto named =
      bel("partitions invalidate p/1 --reason later --build operator:bob --format json "
          "--log " +
          log());
  ASSERT_EQ(named.exit_code, 0) << named.err;
  auto shown = bel("partitions show p/1 --format json --log " + log());
  EXPECT_NE(shown.out.find("\"build_request_id\":\"operator:bob\""), std::string::npos)
      << shown.out;
  EXPECT_NE(shown.out.find("\"message\":\"later\""), std::string::npos) << shown.out;

  // A build request received only by its cancel (a lenient log's) is one the log has received.
  ASSERT_EQ(bel("validation lenient --log " + log()).exit_code, 0);
  BuildEvent cancel;
  cancel.set_build_request_id("br-c");
  cancel.mutable_build_cancel_event()->set_reason("never started");
  ASSERT_EQ(bel("append - --log " + log(), to_json(cancel) + "\n").exit_code, 0);
  auto cancelled = bel("partitions invalidate p/1 --reason x --build br-c --log " + log());
  EXPECT_EQ(cancelled.exit_code, 0) << cancelled.err;
  EXPECT_EQ(cancelled.err.find("not_found"), std::string::npos) << cancelled.err;
}

// A lenient log's transition warnings go to the coordinator's log (stderr here): ids in them
// come from producers, so a bidi override in one is written as an escape, never as itself (it
// would turn around the line an operator reads).
TEST_F(UsabilityTest, LenientWarningsEscapeTheTextTheyQuote) {
  ASSERT_EQ(bel("append - --log " + log(),
                to_json(testing::request_event("br-1", v1::BUILD_REQUEST_RECEIVED, {"p/1"})) + "\n")
                .exit_code,
            0);
  ASSERT_EQ(bel("validation lenient --log " + log()).exit_code, 0);
  BuildEvent cancel;
  cancel.set_build_request_id("br-\xe2\x80\xae-evil");  // U+202E, right-to-left override
  cancel.mutable_build_cancel_event()->set_reason("never started");
  auto r = bel("append - --log " + log(), to_json(cancel) + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("lenient transition warning"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("br-\\xe2\\x80\\xae-evil"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("\xe2\x80\xae"), std::string::npos) << r.err;
}

// BEL_LOG and BEL_CONNECT are defaults: a flag given on the command line wins over them, for
// reading and writing commands alike, and without the flag the variable is used.
TEST_F(UsabilityTest, AFlagWinsOverItsEnvironmentVariable) {
  const std::string other = shell_quote("sqlite://" + dir_.path() + "/other.db");
  ASSERT_EQ(bel("append - --log " + log(),
                to_json(testing::request_event("br-1", v1::BUILD_REQUEST_RECEIVED, {"p/1"})) + "\n")
                .exit_code,
            0);
  auto env = [&](const std::string& vars, const std::string& args) {
    return run_command(vars + " " + shell_quote(kBel) + " " + args);
  };
  auto read = env("BEL_LOG=" + other, "activity --format json --log " + log());
  ASSERT_EQ(read.exit_code, 0) << read.err;
  EXPECT_NE(read.out.find("\"event_count\":\"1\""), std::string::npos) << read.out;

  auto write = env("BEL_LOG=" + other, "partitions invalidate p/9 --reason x --log memory://");
  EXPECT_EQ(write.exit_code, 0) << write.err;
  EXPECT_EQ(bel("activity --log " + other).exit_code, 1);  // other.db was never made
  EXPECT_NE(bel("activity --log " + other).err.find("no log at"), std::string::npos);

  auto from_env = env("BEL_LOG=" + log(), "activity --format json");
  ASSERT_EQ(from_env.exit_code, 0) << from_env.err;
  EXPECT_NE(from_env.out.find("\"event_count\":\"1\""), std::string::npos) << from_env.out;

  auto connect = env("BEL_CONNECT=127.0.0.1:2", "activity --connect 127.0.0.1:1 --log " + log());
  EXPECT_EQ(connect.exit_code, 1);
  EXPECT_NE(connect.err.find("127.0.0.1:1"), std::string::npos) << connect.err;
  EXPECT_EQ(connect.err.find("127.0.0.1:2"), std::string::npos) << connect.err;
  EXPECT_NE(connect.err.find("(--connect)"), std::string::npos) << connect.err;
  // Without the flag, the error names the variable: the user may have forgotten it was set.
  auto forgotten = env("BEL_CONNECT=127.0.0.1:1", "activity --log " + log());
  EXPECT_EQ(forgotten.exit_code, 1);
  EXPECT_NE(forgotten.err.find("no coordinator answers at 127.0.0.1:1 ($BEL_CONNECT)"),
            std::string::npos)
      << forgotten.err;
}

// bel run draws a progress bar on a terminal (here a pseudo-terminal from script(1)), and none
// when its output goes to a pipe.
TEST_F(UsabilityTest, RunShowsProgressOnATerminalOnly) {
  const std::string args = "run --builds 12 --rate 400 --format table --log ";
  auto piped = bel(args + log());
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.err.find("simulating ["), std::string::npos) << piped.err;

  const std::string command =
      shell_quote(kBel) + " " + args + shell_quote("sqlite://" + dir_.path() + "/tty.db");
  auto tty = run_command("script -qec " + shell_quote(command) + " /dev/null");
  ASSERT_EQ(tty.exit_code, 0) << tty.out << tty.err;
  EXPECT_NE(tty.out.find("simulating ["), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("/12"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("== activity"), std::string::npos) << tty.out;
}

TEST_F(UsabilityTest, HelpSpeaksOfWhatUsersHave) {
  auto serve = bel("serve --help");
  EXPECT_EQ(serve.exit_code, 0);
  EXPECT_NE(serve.out.find("--rate"), std::string::npos) << serve.out;
  EXPECT_NE(serve.out.find("--builds"), std::string::npos) << serve.out;
  EXPECT_EQ(serve.out.find("--connect"), std::string::npos) << serve.out;
  EXPECT_NE(serve.out.find("--token-file"), std::string::npos) << serve.out;
  auto bench = bel("bench --help");
  EXPECT_EQ(bench.exit_code, 0);
  EXPECT_EQ(bench.out.find("SPEC"), std::string::npos) << bench.out;
  auto list = bel("builds list --help");
  EXPECT_NE(list.out.find("commas"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("completed"), std::string::npos) << list.out;
}

// Sources the generated script in bash and asks it, as bash would on TAB, what completes.
class CompletionTest : public UsabilityTest {
 protected:
  std::string complete(const std::string& words) {
    const std::string script = "source <(" + shell_quote(kBel) +
                               " completion bash) || exit 3\n"
                               "COMP_WORDS=(" +
                               words +
                               ")\n"
                               "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
                               "_bel\n"
                               "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
                               "complete -p bel >/dev/null || exit 4\n";
    auto r = run_command("bash -c " + shell_quote(script));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    return r.out;
  }
};

TEST_F(CompletionTest, CompletesCommandsFlagsAndStatusNames) {
  EXPECT_EQ(complete("bel par"), "partitions\n");
  EXPECT_EQ(complete("bel job"), "jobs\njob-runs\n");
  EXPECT_EQ(complete("bel builds l"), "list\n");
  EXPECT_EQ(complete("bel builds list --st"), "--status\n");
  EXPECT_EQ(complete("bel job-runs list --status c"), "completed\ncancelled\n");
  EXPECT_EQ(complete("bel partitions list --status av"), "available\n");
  EXPECT_EQ(complete("bel builds list --limit 5 --format j"), "json\n");
  EXPECT_EQ(complete("bel events list --type partition_inv"), "partition_invalidation_event\n");
  EXPECT_EQ(complete("bel events tail --type build_c"), "build_cancel_event\n");
  // A flag takes no value: the word after it is a flag again.
  EXPECT_EQ(complete("bel check --repair --f"), "--format\n");
  EXPECT_EQ(complete("bel events list --newest-first --lim"), "--limit\n");
  // Every status of the enum is offered, from the schema, not from a list kept by hand.
  const std::string all = complete("bel builds list --status ''");
  for (const char* s : {"received", "planning", "analysis_completed", "executing", "completed",
                        "failed", "cancelled"}) {
    EXPECT_NE(all.find(std::string(s) + "\n"), std::string::npos) << s << " in " << all;
  }
  // The zsh script is the bash one behind bashcompinit.
  auto zsh = bel("completion zsh");
  EXPECT_EQ(zsh.exit_code, 0);
  EXPECT_NE(zsh.out.find("bashcompinit"), std::string::npos);
  EXPECT_NE(zsh.out.find("complete -o filenames -F _bel bel"), std::string::npos);
  EXPECT_EQ(bel("completion fish").exit_code, 2);
}

TEST_F(UsabilityTest, ScriptsRunTakesAnAbsoluteBuildDirectory) {
  // BEL_BUILD_DIR as an absolute path: the build this test runs from.
  std::string build_dir = kBel.substr(0, kBel.rfind("/app/bel"));
  auto r = run_command("BEL_BUILD_DIR=" + shell_quote(build_dir) + " " +
                       shell_quote(std::string(BEL_SOURCE_DIR) + "/scripts/run") +
                       " --builds 2 --workers 1 --format json --log " +
                       shell_quote("sqlite://" + dir_.path() + "/run.db"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"report\""), std::string::npos) << r.out;
}

// A log URI bel cannot use is named with where it came from when no one typed it in the command:
// a $BEL_LOG set long ago is otherwise hard to find.
TEST_F(UsabilityTest, AnUnusableLogFromTheEnvironmentIsNamedAsSuch) {
  auto from_env = run_command("BEL_LOG=sqlite:/x.db " + shell_quote(kBel) + " activity");
  EXPECT_EQ(from_env.exit_code, 2);
  EXPECT_NE(from_env.err.find("bel: unsupported_uri: $BEL_LOG: sqlite:/x.db: unknown storage "
                              "scheme"),
            std::string::npos)
      << from_env.err;
  auto typed =
      run_command("BEL_LOG=sqlite:/x.db " + shell_quote(kBel) + " activity --log sqlite:/y.db");
  EXPECT_EQ(typed.exit_code, 2);
  EXPECT_NE(typed.err.find("bel: unsupported_uri: sqlite:/y.db: unknown storage scheme"),
            std::string::npos)
      << typed.err;
}

}  // namespace
}  // namespace bel::app
