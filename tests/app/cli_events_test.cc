// End-to-end: the real `bel` binary appending to and listing temp logs (SPEC section 6).
#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "messages/json.h"
#include "messages/types.h"
#include "tests/app/bel_binary.h"
#include "tests/support/events.h"
#include "tests/support/random_stream.h"
#include "tests/support/run_command.h"
#include "tests/support/serve_process.h"

namespace bel {
namespace {

using namespace bel::testing;
using namespace bel::v1;

class CliTest : public ::testing::Test {
 protected:
  std::string log_uri() const { return "sqlite://" + dir_.path() + "/log.db"; }
  CommandResult bel(const std::string& args, const std::string& input = "") {
    return run_command(shell_quote(kBel) + " " + args + " --log " + shell_quote(log_uri()),
                       input);
  }
  static std::string json_lines(const std::vector<BuildEvent>& events) {
    std::string out;
    for (const auto& e : events) out += to_json(e) + "\n";
    return out;
  }
  EventPage list(const std::string& args = "") {
    auto r = bel("events list --format json " + args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EventPage page;
    auto ok = from_json(r.out, &page);
    EXPECT_TRUE(ok.ok()) << r.out;
    return page;
  }

  TempDir dir_;
};

std::vector<BuildEvent> scenario() {
  return {request_event("br-1", BUILD_REQUEST_RECEIVED, {"sales/2026-11-01", "sales/2026-11-02"}),
          request_event("br-1", BUILD_REQUEST_EXECUTING),
          job_event("br-1", "jr-1", "//sales", JOB_SCHEDULED, {"sales/2026-11-01"}),
          partition_event("br-1", "sales/2026-11-01", PARTITION_BUILDING, "jr-1"),
          job_event("br-1", "jr-1", "//sales", JOB_COMPLETED, {"sales/2026-11-01"}),
          partition_event("br-1", "sales/2026-11-01", PARTITION_AVAILABLE, "jr-1"),
          partition_event("br-1", "reports/2026-11-01", PARTITION_REQUESTED)};
}

TEST_F(CliTest, AppendThenListRoundTripsThroughAnSqliteLog) {
  const auto events = scenario();
  auto r = bel("append - --format json", json_lines(events));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), events.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    AppendAck ack;
    ASSERT_TRUE(from_json(lines[i], &ack).ok()) << lines[i];
    EXPECT_EQ(ack.idx(), static_cast<int64_t>(i + 1));
    EXPECT_FALSE(ack.duplicate());
    EXPECT_FALSE(ack.event_id().empty());
    EXPECT_NE(lines[i].find("\"duplicate\":false"), std::string::npos) << lines[i];
  }

  EventPage page = list();
  ASSERT_EQ(page.events_size(), static_cast<int>(events.size()));
  EXPECT_FALSE(page.has_more());
  EXPECT_EQ(page.next_idx(), static_cast<int64_t>(events.size()));
  for (int i = 0; i < page.events_size(); ++i) {
    BuildEvent got = page.events(i);
    EXPECT_EQ(got.idx(), i + 1);
    EXPECT_GT(got.timestamp(), 0);
    got.clear_idx();
    got.clear_event_id();
    got.clear_timestamp();
    BuildEvent want = events[i];
    // The log fills status names.
    BuildEvent filled;
    ASSERT_TRUE(from_json(to_json(got), &filled).ok());
    EXPECT_EQ(got.build_request_id(), want.build_request_id());
    EXPECT_EQ(got.event_type_case(), want.event_type_case());
  }
  EXPECT_EQ(page.events(3).partition_event().status_name(), "PARTITION_BUILDING");
}

// An in-process `bel append` holds the log's writer lock, and then brings the view snapshots it
// made due up to date (50 000 events since none: actors/read/view_actor.h) through a second
// connection that only saves snapshots: no warning, and every view's snapshot is at the last idx.
TEST_F(CliTest, AppendRefreshesTheViewSnapshotsItMadeDue) {
  RandomStreamOptions options;
  options.num_events = 50000;
  auto events = random_stream(17, options);
  for (auto& e : events) e.clear_idx();
  auto r = bel("append - --format json", json_lines(events));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("not refreshed"), std::string::npos) << r.err;
  EXPECT_EQ(r.err, "");

  auto status = bel("views status --format json");
  ASSERT_EQ(status.exit_code, 0) << status.err;
  ViewsStatus views;
  ASSERT_TRUE(from_json(status.out, &views).ok()) << status.out;
  ASSERT_EQ(views.views_size(), 4) << status.out;
  for (const auto& v : views.views()) {
    EXPECT_EQ(v.snapshot_idx(), 50000) << v.view() << ": " << status.out;
  }
}

TEST_F(CliTest, ListFiltersByEveryFlag) {
  ASSERT_EQ(bel("append -", json_lines(scenario())).exit_code, 0);
  EXPECT_EQ(list("--partition sales/2026-11-01").events_size(), 5);  // requested, job x2, part x2
  EXPECT_EQ(list("--pattern 'sales/*-02'").events_size(), 1);
  EXPECT_EQ(list("--pattern 'reports/*' --pattern 'sales/*-02'").events_size(), 2);
  EXPECT_EQ(list("--job //sales").events_size(), 2);
  EXPECT_EQ(list("--job-run jr-1").events_size(), 4);
  EXPECT_EQ(list("--build br-1").events_size(), 7);
  EXPECT_EQ(list("--build br-2").events_size(), 0);
  EXPECT_EQ(list("--type partition_event").events_size(), 3);
  EXPECT_EQ(list("--type partition --partition sales/2026-11-01").events_size(), 2);
  // Types in any case, repeated or separated by commas, long or short.
  EXPECT_EQ(list("--type PARTITION_EVENT").events_size(), 3);
  const int jobs = list("--type job").events_size();
  ASSERT_GT(jobs, 0);
  EXPECT_EQ(list("--type Partition,job_event").events_size(), 3 + jobs);
  EXPECT_EQ(list("--type partition --type JOB").events_size(), 3 + jobs);
  EXPECT_EQ(list("--since 5").events_size(), 2);
  EventPage page = list("--limit 2 --since 2");
  ASSERT_EQ(page.events_size(), 2);
  EXPECT_EQ(page.events(0).idx(), 3);
  EXPECT_EQ(page.next_idx(), 4);
  EXPECT_TRUE(page.has_more());
}

// A value in brackets is a ref, a glob or an id as it stands, not a list: "[lit]" is the ref
// "[lit]", "[rs]*" a glob with a class, "[a,b]" one build request id.
TEST_F(CliTest, AValueInBracketsIsTakenWhole) {
  ASSERT_EQ(bel("append -", json_lines({request_event("[a,b]", BUILD_REQUEST_RECEIVED, {"[lit]"}),
                                        request_event("br-r", BUILD_REQUEST_RECEIVED, {"r/1"}),
                                        request_event("br-s", BUILD_REQUEST_RECEIVED, {"s/1"}),
                                        request_event("a", BUILD_REQUEST_RECEIVED)}))
                .exit_code,
            0);
  auto ids = [](const EventPage& page) {
    std::vector<std::string> out;
    for (const auto& e : page.events()) out.push_back(e.build_request_id());
    return out;
  };
  using Ids = std::vector<std::string>;
  EXPECT_EQ(ids(list("--partition '[lit]'")), Ids({"[a,b]"}));
  EXPECT_EQ(ids(list("--pattern '[rs]/*'")), Ids({"br-r", "br-s"}));
  EXPECT_EQ(ids(list("--build '[a,b]'")), Ids({"[a,b]"}));
  // Several values: the flag once per value.
  EXPECT_EQ(ids(list("--build a --build br-s")), Ids({"br-s", "a"}));
}

TEST_F(CliTest, ListNewestFirstWalksBackWithBefore) {
  ASSERT_EQ(bel("append -", json_lines(scenario())).exit_code, 0);
  EventPage page = list("--newest-first --limit 2 --partition sales/2026-11-01");
  ASSERT_EQ(page.events_size(), 2);
  EXPECT_EQ(page.events(0).idx(), 6);
  EXPECT_EQ(page.events(1).idx(), 5);
  EXPECT_EQ(page.next_idx(), 5);
  EXPECT_TRUE(page.has_more());
  page = list("--newest-first --before 5 --partition sales/2026-11-01");
  ASSERT_EQ(page.events_size(), 3);  // 4, 3, 1
  EXPECT_EQ(page.events(0).idx(), 4);
  EXPECT_EQ(page.events(2).idx(), 1);
  EXPECT_FALSE(page.has_more());
  auto table = bel("events list --format table --newest-first --limit 1");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("add --before 7"), std::string::npos) << table.out;
  auto both = bel("events list --newest-first --since 2");
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("--since"), std::string::npos) << both.err;
  auto alone = bel("events list --before 3");
  EXPECT_EQ(alone.exit_code, 2);
  EXPECT_NE(alone.err.find("--before"), std::string::npos) << alone.err;
}

TEST_F(CliTest, BadLineAppendsNothingAndNamesLineFieldAndRule) {
  auto events = scenario();
  events[2].mutable_job_event()->clear_job_run_id();
  auto r = bel("append -", json_lines(events));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("job_event.job_run_id is empty"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("invalid_event"), std::string::npos) << r.err;
  // Refused before the log was opened: none was made for it.
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/log.db"));
}

TEST_F(CliTest, InvalidTransitionNamesTheLineAndAppendsNothing) {
  std::vector<BuildEvent> events = {request_event("br-1", BUILD_REQUEST_RECEIVED),
                                    request_event("br-1", BUILD_REQUEST_COMPLETED),
                                    request_event("br-1", BUILD_REQUEST_EXECUTING)};
  // On a log that exists (a refused first append makes none: UsabilityTest).
  ASSERT_EQ(bel("append -", json_lines({request_event("br-0", BUILD_REQUEST_RECEIVED)})).exit_code,
            0);
  auto r = bel("append -", "\n" + json_lines(events));  // a blank first line still counts
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 4"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("invalid_transition"), std::string::npos) << r.err;
  EXPECT_EQ(list().events_size(), 1);
}

TEST_F(CliTest, MalformedJsonNamesTheLine) {
  ASSERT_EQ(bel("append -", json_lines({scenario()[0]})).exit_code, 0);
  auto r = bel("append -", to_json(scenario()[1]) + "\n{\"build_request_id\": \n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
  EXPECT_EQ(list().events_size(), 1);
}

// A line longer than any event's JSON is refused when it is seen, naming its line, without
// reading the rest of it (a runaway producer must not take the command's memory with it). A line
// just under the limit is read whole and refused for what it holds.
TEST_F(CliTest, ALineLongerThanAnyEventIsRefusedByItsLengthAndNamed) {
  ASSERT_EQ(bel("append -", json_lines({scenario()[0]})).exit_code, 0);
  const std::string path = dir_.path() + "/long.jsonl";
  {
    std::ofstream f(path, std::ios::binary);
    f << to_json(scenario()[1]) << "\n\n";
    f << "{\"build_request_id\":\"" << std::string((size_t{16} << 20) + 1, 'a') << "\"}\n";
  }
  auto r = bel("append " + shell_quote(path));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 3: longer than 16 MiB"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("invalid_event"), std::string::npos) << r.err;
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << "{\"build_request_id\":\"" << std::string(size_t{15} << 20, 'a') << "\"}";  // no newline
  }
  r = bel("append " + shell_quote(path));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 1"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("16 MiB"), std::string::npos) << r.err;
  EXPECT_EQ(list().events_size(), 1);
}

TEST_F(CliTest, UnknownFieldIsRejectedByName) {
  auto r = bel("append -", "{\"build_request_id\":\"b\",\"bogus_field\":1}\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bogus_field"), std::string::npos) << r.err;
}

TEST_F(CliTest, AppendAcceptsLowerCamelCaseAndReadsAFile) {
  const std::string path = dir_.path() + "/events.jsonl";
  {
    std::ofstream f(path);
    f << "{\"buildRequestId\":\"br-9\",\"buildRequestEvent\":{\"statusCode\":"
         "\"BUILD_REQUEST_RECEIVED\"}}\n";
  }
  auto r = bel("append " + shell_quote(path) + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(list("--build br-9").events_size(), 1);
  // A file saved with a UTF-8 byte order mark, with CRLF line ends, reads the same.
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << "\xEF\xBB\xBF{\"buildRequestId\":\"br-8\",\"buildRequestEvent\":{\"statusCode\":"
         "\"BUILD_REQUEST_RECEIVED\"}}\r\n";
  }
  r = bel("append " + shell_quote(path) + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(list("--build br-8").events_size(), 1);
}

TEST_F(CliTest, IdenticalReappendIsReportedAsDuplicate) {
  auto e = with_id(request_event("br-1", BUILD_REQUEST_RECEIVED), "ev-1");
  e.set_timestamp(1000);
  ASSERT_EQ(bel("append -", json_lines({e})).exit_code, 0);
  auto r = bel("append - --format json", json_lines({e}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  AppendAck ack;
  ASSERT_TRUE(from_json(lines_of(r.out).at(0), &ack).ok());
  EXPECT_TRUE(ack.duplicate());
  EXPECT_EQ(ack.idx(), 1);
  e.set_timestamp(2000);
  r = bel("append -", json_lines({e}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("duplicate_event_id"), std::string::npos) << r.err;
}

TEST_F(CliTest, StdoutBackendPrintsEachCommittedEventAsAJsonLine) {
  auto r = run_command(shell_quote(kBel) + " append - --log stdout --format json",
                       json_lines(scenario()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int events = 0;
  for (const auto& line : lines_of(r.out)) {
    if (line.find("\"build_request_id\"") == std::string::npos) continue;
    BuildEvent e;
    ASSERT_TRUE(from_json(line, &e).ok()) << line;
    EXPECT_EQ(e.idx(), ++events);
  }
  EXPECT_EQ(events, static_cast<int>(scenario().size()));
}

TEST_F(CliTest, TailFollowsEventsCommittedAfterItStarts) {
  ASSERT_EQ(bel("append -", json_lines({request_event("br-1", BUILD_REQUEST_RECEIVED)})).exit_code,
            0);
  CommandResult tail;
  std::thread follower([&] {
    tail = run_command("timeout 60 " + shell_quote(kBel) + " events tail --since 1 --count 2 " +
                       "--format json --type partition_event --log " + shell_quote(log_uri()));
  });
  // Appended while tail runs (or before it polls: --since 1 makes it see them either way).
  ASSERT_EQ(bel("append -", json_lines({request_event("br-1", BUILD_REQUEST_EXECUTING),
                                        partition_event("br-1", "p/1", PARTITION_BUILDING)}))
                .exit_code,
            0);
  ASSERT_EQ(bel("append -", json_lines({partition_event("br-1", "p/2", PARTITION_BUILDING)}))
                .exit_code,
            0);
  follower.join();
  ASSERT_EQ(tail.exit_code, 0) << tail.err;
  auto lines = lines_of(tail.out);
  ASSERT_EQ(lines.size(), 2u);
  BuildEvent first, second;
  ASSERT_TRUE(from_json(lines[0], &first).ok());
  ASSERT_TRUE(from_json(lines[1], &second).ok());
  EXPECT_EQ(first.partition_event().partition_ref().str(), "p/1");
  EXPECT_EQ(second.idx(), 4);
}

// A tail asked to start past the log's end says so (the events up to there will never show):
// likely a typo, or an idx of another log. It still shows what comes after.
TEST_F(CliTest, ATailStartingPastTheEndSaysSoAndShowsWhatComesAfter) {
  ASSERT_EQ(bel("append -", json_lines({request_event("br-1", BUILD_REQUEST_RECEIVED)})).exit_code,
            0);
  ServeProcess tail(kBel, {"events", "tail", "--since", "3", "--count", "1", "--format", "json",
                           "--log", log_uri()});
  ASSERT_TRUE(
      tail.wait_for("bel: warning: --since 3 is past the log's last idx 1: events 2 to 3 "
                    "will not be shown"))
      << tail.err();
  ASSERT_EQ(bel("append -", json_lines({request_event("br-1", BUILD_REQUEST_EXECUTING),
                                        request_event("br-2", BUILD_REQUEST_RECEIVED),
                                        request_event("br-3", BUILD_REQUEST_RECEIVED)}))
                .exit_code,
            0);
  EXPECT_EQ(tail.stop(0), 0) << tail.err();  // it ends by itself after its one event
}

// A tail whose output cannot be written (a full disk) stops and says so (exit 1), rather than
// following on and dropping every event; one whose reader has gone ends while idle, as a write
// to it would (by SIGPIPE), not at the next event.
TEST_F(CliTest, TailEndsWhenItsOutputCannotBeWrittenOrIsNoLongerRead) {
  ASSERT_EQ(bel("append -", json_lines(scenario())).exit_code, 0);
  const std::string tail = "timeout 60 " + shell_quote(kBel) + " events tail --format json " +
                           "--log " + shell_quote(log_uri());
  if (std::filesystem::exists("/dev/full")) {
    // In braces: run_command's own redirection (to its files) is the group's, not bel's.
    auto full = run_command("{ " + tail + " --since 0 >/dev/full; }");
    EXPECT_EQ(full.exit_code, 1) << full.err;
    EXPECT_NE(full.err.find("bel: cannot write the output: "), std::string::npos) << full.err;
  }
  // No event comes after the last: the tail is idle when `true` leaves without reading.
  auto gone =
      run_command("bash -c " + shell_quote(tail + " | true; echo \"tail: ${PIPESTATUS[0]}\""));
  EXPECT_EQ(gone.exit_code, 0) << gone.err;
  EXPECT_NE(gone.out.find("tail: 141\n"), std::string::npos) << gone.out << gone.err;  // SIGPIPE
  // With SIGPIPE ignored, it says why and exits 1.
  auto ignored = run_command("bash -c " + shell_quote("trap '' PIPE; " + tail +
                                                      " | true; echo \"tail: ${PIPESTATUS[0]}\""));
  EXPECT_NE(ignored.out.find("tail: 1\n"), std::string::npos) << ignored.out << ignored.err;
  EXPECT_NE(ignored.err.find("the reader of standard output is gone"), std::string::npos)
      << ignored.err;
}

TEST_F(CliTest, MissingLogExitsOneNamingTheUri) {
  auto r = bel("events list");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(log_uri()), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err;
}

// A log URI of no form bel knows is bad usage (exit 2), named with SPEC's code for it.
TEST_F(CliTest, UnknownSchemeExitsTwoNamingTheUri) {
  for (const char* uri : {"ftp://x/y", "sqlite:/x.db", "''"}) {
    auto r = run_command(shell_quote(kBel) + " activity --log " + uri);
    EXPECT_EQ(r.exit_code, 2) << uri << ": " << r.err;
    EXPECT_NE(r.err.find("bel: unsupported_uri: "), std::string::npos) << r.err;
  }
  auto r = run_command(shell_quote(kBel) + " events list --log ftp://x/y");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("ftp://x/y"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unsupported_uri"), std::string::npos) << r.err;
}

TEST_F(CliTest, BadUsageExitsTwoNamingTheFlagOrValue) {
  struct Case {
    std::string args, needle;
  };
  const std::string too_long(70000, 'a');
  // Patterns past the limit (kMaxFilterPatterns); 500 once failed as the log being unavailable.
  auto patterns = [](int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += " --pattern 'data/*x" + std::to_string(i) + "*'";
    return out;
  };
  for (const auto& c : std::vector<Case>{
           {"events list" + patterns(101), "--pattern: 101 patterns, more than 100"},
           {"events tail" + patterns(500), "--pattern: 500 patterns, more than 100"},
           {"events list --limit 0", "--limit"},
           {"events list --limit 10001", "--limit"},
           {"events list --since -1", "--since"},
           {"events list --type bogus", "bogus"},
           {"events list --type partition,Bogus", "Bogus"},
           {"events list --type , --limit 5", "--type: \"--limit\" is a flag, not an event type"},
           {"builds list --status --limit 5", "--status: \"--limit\" is a flag, not a status"},
           {"--durability fast activity", "flags go after the command: bel activity"},
           // Only a log's password is hidden there: an SQLite file's name is its name.
           {"--log=sqlite://a:b@c.db activity", " --log=sqlite://a:b@c.db\n"},
           {"--bogus", "unknown flag \"--bogus\" before a command"},
           {"builds list --offset 2147483648",
            "--offset: 2147483648 does not fit a 32-bit number (at most 2147483647)"},
           {"builds list --limit -2147483649",
            "--limit: -2147483649 does not fit a 32-bit number (at least -2147483648)"},
           {"events tail --count 18446744073709551616",
            "--count: 18446744073709551616 does not fit a 64-bit number (at most "
            "9223372036854775807)"},
           {"events list --format ''", "--format: is empty; expected one of: table json"},
           {"builds list --status ''", "--status: is empty; expected one of: received"},
           {"run --seed -1", "--seed"},
           {"run --seed ' -2'", "must not be negative"},
           {"events list --pattern 'a[b'", "a[b"},
           {"events list --pattern " + std::string(50001, 'p'),
            "--pattern: pattern of 50001 bytes is longer than 50000"},
           {"events tail --pattern " + std::string(50001, 'p'),
            "--pattern: pattern of 50001 bytes is longer than 50000"},
           {"partitions list --pattern " + std::string(50001, 'p'),
            "--pattern: pattern of 50001 bytes is longer than 50000"},
           {"events list --format yaml", "yaml"},
           {"events list --no-such-flag", "--no-such-flag"},
           {"no-such-command", "no-such-command"},
           {"append --durability sometimes", "sometimes"},
           {"serve --workers 3", "--workers requires --simulate"},
           // A coordinator answers nothing: no --format to take and ignore.
           {"serve --format json", "unknown flag \"--format\" for serve"},
           {"serve --rate 5", "--rate requires --simulate"},
           // What a command makes an event of obeys its rules.
           {"builds cancel br-1 --reason " + too_long, "--reason is 70000 bytes (max 65536)"},
           {"job-runs cancel jr-1 --reason " + too_long, "--reason is 70000 bytes (max 65536)"},
           {"partitions invalidate p/1 --reason " + too_long,
            "--reason is 70000 bytes (max 65536)"},
           {"partitions invalidate " + shell_quote("p/\x01") + " --reason r",
            "REF contains control character 0x01"},
           {"builds cancel " + shell_quote("br-\x01") + " --reason r",
            "ID contains control character 0x01"}}) {
    auto r = bel(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.err;
    EXPECT_NE((r.err + r.out).find(c.needle), std::string::npos) << c.args << "\n" << r.err;
  }
  // A hundred patterns are one filter.
  ASSERT_EQ(
      bel("append -", to_json(request_event("br-1", BUILD_REQUEST_RECEIVED, {"data/x7y"})) + "\n")
          .exit_code,
      0);
  auto hundred = bel("events list --format json" + patterns(100));
  EXPECT_EQ(hundred.exit_code, 0) << hundred.err;
  EXPECT_NE(hundred.out.find("data/x7y"), std::string::npos) << hundred.out;
}

TEST_F(CliTest, EveryCommandHasHelp) {
  for (const std::string cmd : {"append", "events list", "events tail", "run"}) {
    auto r = run_command(shell_quote(kBel) + " " + cmd + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd << r.err;
    EXPECT_NE(r.out.find("--log"), std::string::npos) << cmd << "\n" << r.out;
  }
  // A command group lists its subcommands.
  auto group = run_command(shell_quote(kBel) + " events --help");
  EXPECT_EQ(group.exit_code, 0) << group.err;
  EXPECT_NE(group.out.find("list"), std::string::npos) << group.out;
  EXPECT_NE(group.out.find("tail"), std::string::npos) << group.out;
}

// `bel run` on a log that lives in its process says so instead of suggesting commands that could
// not read it; on a file it suggests them with its --log. Counts read as English.
TEST_F(CliTest, RunSuggestsCommandsOnlyForALogThatOutlivesIt) {
  // $BEL_CONNECT is for the commands that take --connect: run has none and goes where --log says.
  auto gone = run_command("BEL_CONNECT=127.0.0.1:1 " + shell_quote(kBel) +
                          " run --format table --builds 1 --workers 1 --seed 3 --log memory://");
  ASSERT_EQ(gone.exit_code, 0) << gone.err;
  EXPECT_NE(gone.out.find("bel run: 1 build request by 1 simulated worker (seed 3)"),
            std::string::npos)
      << gone.out;
  EXPECT_NE(gone.out.find("The log (memory://) ended with this process"), std::string::npos)
      << gone.out;
  EXPECT_EQ(gone.out.find("Explore further"), std::string::npos) << gone.out;
  auto kept = bel("run --format table --builds 2 --workers 2 --seed 3");
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  EXPECT_NE(kept.out.find("bel run: 2 build requests by 2 simulated workers"), std::string::npos)
      << kept.out;
  EXPECT_NE(kept.out.find("Explore further"), std::string::npos) << kept.out;
  EXPECT_NE(kept.out.find("bel builds list --log " + log_uri()), std::string::npos) << kept.out;
}

// "why a build ended as it did" names the newest failed build when the run had one (the plan's
// failures are a function of the seed: seed 1's first 30 builds have some).
TEST_F(CliTest, RunSuggestsAFailedBuildToAskWhy) {
  auto ran = bel("run --format table --builds 30 --workers 2 --seed 1");
  ASSERT_EQ(ran.exit_code, 0) << ran.err;
  auto failed = bel("builds list --status failed --limit 1 --format json");
  ASSERT_EQ(failed.exit_code, 0) << failed.err;
  BuildsListResponse list;
  ASSERT_TRUE(from_json(failed.out, &list).ok()) << failed.out;
  ASSERT_EQ(list.builds_size(), 1) << "seed 1 plans failures: " << failed.out;
  EXPECT_NE(ran.out.find("bel builds show --log " + log_uri() + " " +
                         list.builds(0).build_request_id() + "    # why a build ended as it did"),
            std::string::npos)
      << ran.out;
}

TEST_F(CliTest, RunSimulatesARealisticWorkloadAndReportsIt) {
  // The ./scripts/run workload (seed 1, 60 build requests) has every kind of event.
  auto r = bel("run --format json --builds 60 --workers 4 --seed 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  google::protobuf::Struct doc;
  ASSERT_TRUE(from_json(r.out, &doc).ok()) << r.out;
  const auto& report = doc.fields().at("report").struct_value().fields();
  const int64_t last_idx = std::stoll(report.at("last_idx").string_value());
  EXPECT_EQ(report.at("build_request_ids").list_value().values_size(), 60);
  EXPECT_EQ(report.at("errors").string_value(), "0");
  ActivityResponse activity;
  ASSERT_TRUE(from_json(to_json(doc.fields().at("activity")), &activity).ok());
  EXPECT_EQ(activity.total_build_requests(), 60);
  EXPECT_EQ(activity.as_of_idx(), last_idx);

  // The log holds the whole DataBuild flow: delegations, failed jobs, cancels, invalidations.
  auto listed = bel("events list --format json --limit 10000");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EventPage page;
  ASSERT_TRUE(from_json(listed.out, &page).ok()) << listed.out;
  EXPECT_EQ(page.events_size(), last_idx);
  bool delegation = false, failed_job = false, cancel = false, skipped = false;
  bool invalidation = false;
  for (const auto& e : page.events()) {
    delegation |= e.has_delegation_event();
    failed_job |= e.has_job_event() && e.job_event().status_code() == JOB_FAILED;
    skipped |= e.has_job_event() && e.job_event().status_code() == JOB_SKIPPED;
    cancel |= e.has_build_cancel_event();
    invalidation |= e.has_partition_invalidation_event();
  }
  EXPECT_TRUE(delegation);
  EXPECT_TRUE(failed_job);
  EXPECT_TRUE(skipped);
  EXPECT_TRUE(cancel);
  EXPECT_TRUE(invalidation);

  // A second run appends after the first (fresh build ids, idx continues).
  auto again = bel("run --format json --builds 5 --seed 5");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  google::protobuf::Struct second;
  ASSERT_TRUE(from_json(again.out, &second).ok());
  const auto& report2 = second.fields().at("report").struct_value().fields();
  EXPECT_GT(std::stoll(report2.at("last_idx").string_value()), last_idx);
  EXPECT_NE(report2.at("build_request_ids").list_value().values(0).string_value(),
            report.at("build_request_ids").list_value().values(0).string_value());
}

}  // namespace
}  // namespace bel
