// bel bench (SPEC sections 6 and 8): the real binary runs every figure at the quick scale (the only
// bench run of the test suite) and reports them as a table and as JSON rows; generated logs are
// kept in --log-dir; an unknown suite is a usage error. Nothing here asserts a speed: the
// performance targets are checked by `bel bench` itself, never by timed unit tests.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "tests/support/run_command.h"

namespace bel::app {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::shell_quote;
using testing::TempDir;

std::string bel() { return shell_quote(BEL_BINARY); }

const google::protobuf::Value* field(const google::protobuf::Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? nullptr : &it->second;
}

// The one bench run of the test suite: `bel bench --quick`, every figure at a small scale.
TEST(BenchCommandTest, QuickRunsEveryFigureAndReportsRowsAsJson) {
  TempDir dir;
  auto r = run_command(bel() + " bench --quick --format json --dir " + shell_quote(dir.path()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  google::protobuf::Struct doc;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &doc).ok()) << r.out;

  const auto* machine = field(doc, "machine");
  ASSERT_NE(machine, nullptr) << r.out;
  ASSERT_TRUE(machine->has_struct_value());
  for (const char* name : {"cpu", "cores", "memory_bytes", "load_average", "filesystem"}) {
    EXPECT_NE(field(machine->struct_value(), name), nullptr) << name;
  }
  EXPECT_EQ(field(machine->struct_value(), "durability")->string_value(), "full");
  EXPECT_TRUE(field(machine->struct_value(), "quick")->bool_value());

  const auto* figures = field(doc, "figures");
  ASSERT_NE(figures, nullptr) << r.out;
  std::set<std::string> seen;
  for (const auto& row : figures->list_value().values()) {
    const auto& f = row.struct_value();
    for (const char* name : {"figure", "value", "baseline", "ratio", "target", "pass"}) {
      ASSERT_NE(field(f, name), nullptr) << name << " missing in " << r.out;
    }
    const std::string id = field(f, "figure")->string_value();
    EXPECT_FALSE(field(f, "target")->string_value().empty()) << id;
    // At the quick scale no absolute target is judged: pass is null with a note saying why.
    EXPECT_TRUE(field(f, "pass")->has_null_value()) << id;
    EXPECT_FALSE(field(f, "pass_note")->string_value().empty()) << id;
    seen.insert(id.substr(0, id.find(' ')));
    if (id == "P1" || id == "P4" || id == "P5" || id.rfind("P10 ", 0) == 0 || id == "P11 check" ||
        id == "P11 views rebuild" || id == "history: append 1k") {
      EXPECT_GT(field(f, "value")->number_value(), 0) << id;
      EXPECT_GT(field(f, "baseline")->number_value(), 0) << id;
      EXPECT_GT(field(f, "ratio")->number_value(), 0) << id;
    }
    if (id == "history: append 1k") {
      EXPECT_EQ(field(f, "detail")->string_value().find("FAILED"), std::string::npos) << r.out;
    }
    if (id == "P7" || id == "P8" || id == "P9" || id == "P6 oldest-first") {
      EXPECT_GT(field(f, "value")->number_value(), 0) << id;
    }
  }
  for (int n = 1; n <= 12; ++n) {
    EXPECT_EQ(seen.count("P" + std::to_string(n)), 1u) << "P" << n << " missing in " << r.out;
  }
  // Beside P10, a writer on each log's history (its 1k-event append succeeded on both copies).
  EXPECT_EQ(seen.count("history:"), 1u) << r.out;
  // The quick logs live in the scratch directory inside --dir, which is removed afterwards.
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

// The table: a header with the columns of SPEC section 8, one row per figure, machine notes; a
// log in --log-dir is made once and found again by the next run.
TEST(BenchCommandTest, TableHasTheColumnsAndLogsAreKeptInTheLogDir) {
  TempDir dir;
  const std::string logs = dir.path() + "/logs";
  const std::string cmd = bel() + " bench p9 --quick --format table --dir " +
                          shell_quote(dir.path()) + " --log-dir " + shell_quote(logs);
  auto first = run_command(cmd);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto header = first.out.substr(0, first.out.find('\n'));
  std::string rest = header;
  for (const char* column : {"FIGURE", "VALUE", "BASELINE", "RATIO", "TARGET", "PASS"}) {
    const auto at = rest.find(column);
    ASSERT_NE(at, std::string::npos) << column << " not in order in: " << header;
    rest = rest.substr(at);
  }
  EXPECT_NE(first.out.find("\nP9 "), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("n/a at quick scale"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("machine notes"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("load average"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("made in"), std::string::npos) << first.out;

  auto second = run_command(cmd);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("found in the cache"), std::string::npos) << second.out;
  EXPECT_EQ(second.out.find("made in"), std::string::npos) << second.out;
}

// More appends in flight than SPEC's 1000 come from several producers; the figure is measured
// (every append acknowledged, or the run fails) and says it is not judged there.
TEST(BenchCommandTest, MoreAppendsInFlightAreMeasuredAndNotJudged) {
  TempDir dir;
  auto r = run_command(bel() + " bench p1 --events 6000 --repetitions 1 --in-flight 2500" +
                       " --format json --dir " + shell_quote(dir.path()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  google::protobuf::Struct doc;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &doc).ok()) << r.out;
  EXPECT_EQ(field(field(doc, "machine")->struct_value(), "in_flight")->number_value(), 2500);
  const auto& rows = field(doc, "figures")->list_value().values();
  ASSERT_EQ(rows.size(), 1);
  const auto& p1 = rows[0].struct_value();
  EXPECT_EQ(field(p1, "figure")->string_value(), "P1");
  EXPECT_GT(field(p1, "value")->number_value(), 0);
  EXPECT_NE(field(p1, "what")->string_value().find("2500 single-event appends in flight"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(field(p1, "pass")->has_null_value()) << r.out;
  EXPECT_EQ(field(p1, "pass_note")->string_value(),
            "not judged at 2500 in flight (the target is at 1000)");
  // Beside bel's figure, the same run's ceilings of appends through a bare actor.
  EXPECT_NE(field(p1, "detail")->string_value().find("actor-fed ceilings in this run"),
            std::string::npos)
      << r.out;

  auto bad = run_command(bel() + " bench p1 --in-flight 0 --format json");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--in-flight: must be 1 .. 50000, got 0"), std::string::npos) << bad.err;
}

// `bel bench p1` of 5000 events, once, with `options`, in a scratch directory: its result in `r`
// and its JSON in `doc`, which holds exactly one figure.
void run_p1(const std::string& options, CommandResult* r, google::protobuf::Struct* doc) {
  TempDir dir;
  *r = run_command(bel() + " bench p1 --events 5000 --repetitions 1 " + options +
                   " --format json --dir " + shell_quote(dir.path()));
  ASSERT_EQ(r->exit_code, 0) << r->err;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r->out, doc).ok()) << r->out;
  ASSERT_EQ(field(*doc, "figures")->list_value().values_size(), 1) << r->out;
}

// --via pure-actor measures what actor-fed single-event appends reach with nothing done for them
// (one row each, answered after COMMIT), sent as bel's are (through the Appender, or a request
// each): every append is acknowledged, the group commit and latencies are reported, and the
// figure says it is not bel's and is not judged.
TEST(BenchCommandTest, PureActorAppendsAreMeasuredAsACeilingAndNotJudged) {
  for (const std::string via : {"pure-actor", "ids-actor"}) {
    for (const std::string client : {"appender", "requests"}) {
      SCOPED_TRACE(via + " " + client);
      google::protobuf::Struct doc;
      CommandResult r;
      ASSERT_NO_FATAL_FAILURE(run_p1("--via " + via + " --client " + client, &r, &doc));
      EXPECT_EQ(field(field(doc, "machine")->struct_value(), "appends_via")->string_value(), via);
      EXPECT_EQ(field(field(doc, "machine")->struct_value(), "appends_client")->string_value(),
                client);
      const auto& p1 = field(doc, "figures")->list_value().values(0).struct_value();
      EXPECT_GT(field(p1, "value")->number_value(), 0);
      EXPECT_GT(field(p1, "baseline")->number_value(), 0);
      EXPECT_NE(field(p1, "what")->string_value().find("not bel"), std::string::npos) << r.out;
      // Every append was answered after a COMMIT: the actor counted its commits and their events.
      const std::string detail = field(p1, "detail")->string_value();
      EXPECT_NE(detail.find("events per commit"), std::string::npos) << r.out;
      EXPECT_EQ(detail.find("group commit: 0.0 events per commit"), std::string::npos) << r.out;
      EXPECT_TRUE(field(p1, "pass")->has_null_value()) << r.out;
      EXPECT_EQ(field(p1, "pass_note")->string_value(),
                "not judged: not bel (--via " + via + ", a ceiling for actor-fed appends)");
    }
  }
}

// A coordinator's appends go through the client library's Appender unless --client requests asks
// for one request per append; either way every append is acknowledged and the run says which.
TEST(BenchCommandTest, AppendsReachTheCoordinatorThroughTheAppenderOrARequestEach) {
  for (const std::string client : {"appender", "requests"}) {
    SCOPED_TRACE(client);
    google::protobuf::Struct doc;
    CommandResult r;
    ASSERT_NO_FATAL_FAILURE(run_p1("--client " + client, &r, &doc));
    EXPECT_EQ(field(field(doc, "machine")->struct_value(), "appends_client")->string_value(),
              client);
    const auto& p1 = field(doc, "figures")->list_value().values(0).struct_value();
    EXPECT_GT(field(p1, "value")->number_value(), 0);
    EXPECT_NE(field(p1, "what")
                  ->string_value()
                  .find(client == "appender" ? "the client library's Appender"
                                             : "one request per append"),
              std::string::npos)
        << r.out;
    // The Appender carries many appends in a message while 1000 are in flight; requests one.
    const std::string detail = field(p1, "detail")->string_value();
    std::smatch m;
    const std::regex per_message(R"(; ([0-9.]+) appends per message the producers sent)");
    ASSERT_TRUE(std::regex_search(detail, m, per_message)) << detail;
    if (client == "appender") {
      EXPECT_GT(std::stod(m[1].str()), 2.0) << detail;
    } else {
      EXPECT_EQ(std::stod(m[1].str()), 1.0) << detail;
    }
  }
  auto bad = run_command(bel() + " bench p1 --client batches --format json");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--client"), std::string::npos) << bad.err;
}

TEST(BenchCommandTest, UnknownSuiteIsAUsageErrorListingTheSuites) {
  auto r = run_command(bel() + " bench p99 --format json");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown suite \"p99\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("p1, p1r, p2, p3, p4"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  // No count of events is not the suite's default count: refused, as a negative one is.
  for (const std::string events : {"0", "-5"}) {
    auto none = run_command(bel() + " bench p1 --quick --format json --events " + events);
    EXPECT_EQ(none.exit_code, 2) << events;
    EXPECT_NE(none.err.find("--events: must be at least 1, got " + events), std::string::npos)
        << none.err;
    EXPECT_TRUE(none.out.empty()) << none.out;
  }
}

}  // namespace
}  // namespace bel::app
