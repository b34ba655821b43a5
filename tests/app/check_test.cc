// bel check (SPEC section 6): the checks of actors/check/log_check.h against an in-process
// coordinator on memory://, and the real binary on sqlite logs filled by `bel run` (healthy, and
// tampered with).
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <array>
#include <fstream>
#include <map>
#include <set>

#include "actors/check/log_check.h"
#include "actors/coordinator.h"
#include "messages/event_id.h"
#include "messages/event_keys.h"
#include "messages/glob.h"
#include "messages/json.h"
#include "storage/storage_factory.h"
#include "tests/app/bel_binary.h"
#include "tests/support/events.h"
#include "tests/support/random_stream.h"
#include "tests/support/run_command.h"

namespace bel::check {
namespace {

using testing::StreamBuilder;

// ---- ScanChecker ----

CheckResult checked(const std::vector<BuildEvent>& events, int64_t last_idx) {
  ScanChecker checker;
  for (const auto& e : events) checker.add(e);
  return checker.finish(last_idx);
}

TEST(ScanCheckerTest, ContiguousValidStreamPasses) {
  auto result = checked(testing::random_events(200, 3), 200);
  EXPECT_TRUE(result.ok) << result.detail;
  EXPECT_EQ(result.name, "idx contiguity");
  EXPECT_NE(result.detail.find("idx 1..200 without gaps"), std::string::npos) << result.detail;
}

TEST(ScanCheckerTest, EmptyLogPasses) {
  auto result = checked({}, 0);
  EXPECT_TRUE(result.ok) << result.detail;
  EXPECT_EQ(result.detail, "the log is empty");
}

TEST(ScanCheckerTest, NamesEveryMissingIdxRange) {
  std::vector<BuildEvent> events;
  for (auto& e : testing::random_events(20, 3)) {
    if (e.idx() == 5 || (e.idx() >= 10 && e.idx() <= 12)) continue;
    events.push_back(e);
  }
  auto result = checked(events, 20);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.detail.find("missing idx 5, 10..12 (4 of 1..20)"), std::string::npos)
      << result.detail;
}

TEST(ScanCheckerTest, ScanEndingBeforeTheLastIdxNamesTheTail) {
  auto events = testing::random_events(8, 3);
  auto result = checked(events, 10);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.detail.find("missing idx 9..10"), std::string::npos) << result.detail;
}

TEST(ScanCheckerTest, RepeatedIdxAndRepeatedEventIdAreNamed) {
  auto events = testing::random_events(6, 3);
  events.insert(events.begin() + 3, events[2]);  // idx 3 twice, same event_id
  auto result = checked(events, 6);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.detail.find("idx 3 after idx 3"), std::string::npos) << result.detail;
  EXPECT_NE(result.detail.find("repeated event_id: \"" + events[2].event_id() + "\" at idx 3"),
            std::string::npos)
      << result.detail;
}

// UUID ids are kept compactly and their repeats found at the end: named in the log's order with
// the idx of the first event, mixed with repeats of other ids.
TEST(ScanCheckerTest, RepeatedUuidEventIdsAreNamedInLogOrder) {
  auto events = testing::random_events(12, 3);
  for (auto& e : events) e.set_event_id(new_event_id());
  events[7].set_event_id(events[1].event_id());  // a UUID at idx 2 and 8
  events[9].set_event_id(events[1].event_id());  // and again at idx 10
  events[3].set_event_id("ev-x");                // another id at idx 4 and 6
  events[5].set_event_id("ev-x");
  auto result = checked(events, 12);
  EXPECT_FALSE(result.ok);
  const std::string uuid = events[1].event_id();
  EXPECT_NE(result.detail.find("3 repeated event_id: \"ev-x\" at idx 4 and 6, \"" + uuid +
                               "\" at idx 2 and 8, \"" + uuid + "\" at idx 2 and 10"),
            std::string::npos)
      << result.detail;
  for (auto& e : events) e.set_event_id(new_event_id());
  EXPECT_TRUE(checked(events, 12).ok);
}

TEST(ScanCheckerTest, InvalidStoredEventIsNamedWithItsIdx) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a"})
      .partition("br-1", "data/a", v1::PARTITION_REQUESTED);
  auto events = s.events();
  for (auto& e : events) e.set_event_id("ev-" + std::to_string(e.idx()));
  events[1].mutable_partition_event()->mutable_partition_ref()->clear_str();
  auto result = checked(events, 2);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.detail.find("1 invalid: idx 2: invalid_event"), std::string::npos)
      << result.detail;
  EXPECT_NE(result.detail.find("partition_ref"), std::string::npos) << result.detail;
}

// ---- answer_difference and view_check_result ----

QueryResult partition_answer(const std::string& status_name, int64_t as_of) {
  QueryResult r;
  auto* s = r.mutable_partition_status();
  s->set_partition_ref("data/a");
  s->set_status_name(status_name);
  s->set_as_of_idx(as_of);
  return r;
}

// ---- ScanKeys ----

// The keys a scan collects: each distinct non-empty key once, in order of first appearance, as
// a plain list built from keys_of gives them; a view's own keys only when asked for one view.
TEST(ScanKeysTest, KeysAreDistinctInOrderOfFirstAppearanceAndPerView) {
  auto events = testing::random_events(2000, 11);
  events[10].set_build_request_id("");                    // an empty key is left out
  using Lists = std::array<std::vector<std::string>, 4>;  // refs, builds, runs, labels
  Lists want;
  std::array<std::set<std::string>, 4> seen;
  auto note = [&](size_t list, const std::string& key) {
    if (!key.empty() && seen[list].insert(key).second) want[list].push_back(key);
  };
  ScanKeys all, partitions_only;
  for (const auto& e : events) {
    for (const auto& ref : keys_of(e).partitions) note(0, ref);
    note(1, e.build_request_id());
    if (e.has_job_event()) {
      note(2, e.job_event().job_run_id());
      note(3, e.job_event().job_label().label());
    }
    all.add(e);
    partitions_only.add(e, projections::ViewKind::partition_status);
  }
  auto lists = [](const ScanKeys& keys) {
    Lists out;
    const KeyList* from[] = {&keys.partition_refs(), &keys.build_request_ids(), &keys.job_run_ids(),
                             &keys.job_labels()};
    for (size_t l = 0; l < 4; ++l) {
      for (size_t i = 0; i < from[l]->size(); ++i) out[l].emplace_back((*from[l])[i]);
    }
    return out;
  };
  for (const auto& list : want) EXPECT_GT(list.size(), 1u);
  EXPECT_EQ(lists(all), want);
  EXPECT_EQ(lists(partitions_only), (Lists{want[0], {}, {}, {}}));
}

TEST(AnswerDifferenceTest, EqualAnswersAndEqualErrorCodesDoNotDiffer) {
  EXPECT_FALSE(answer_difference(partition_answer("PARTITION_AVAILABLE", 4),
                                 partition_answer("PARTITION_AVAILABLE", 4)));
  Result<QueryResult> a = make_error(ErrorCode::not_found, "view: no build br-9");
  Result<QueryResult> b = make_error(ErrorCode::not_found, "no build br-9");
  EXPECT_FALSE(answer_difference(a, b));
}

TEST(AnswerDifferenceTest, NamesTheFieldAndBothValuesViewFirst) {
  auto diff = answer_difference(partition_answer("PARTITION_BUILDING", 4),
                                partition_answer("PARTITION_AVAILABLE", 4));
  ASSERT_TRUE(diff);
  EXPECT_NE(diff->find("status_name"), std::string::npos) << *diff;
  EXPECT_LT(diff->find("PARTITION_BUILDING"), diff->find("PARTITION_AVAILABLE")) << *diff;
  EXPECT_NE(diff->find("(view -> full scan)"), std::string::npos) << *diff;
}

TEST(AnswerDifferenceTest, AsOfIdxCountsAndAnErrorDiffersFromAnAnswer) {
  EXPECT_TRUE(answer_difference(partition_answer("PARTITION_AVAILABLE", 4),
                                partition_answer("PARTITION_AVAILABLE", 5)));
  Result<QueryResult> failed = make_error(ErrorCode::timeout, "no answer within 30000 ms");
  auto diff = answer_difference(failed, partition_answer("PARTITION_AVAILABLE", 4));
  ASSERT_TRUE(diff);
  EXPECT_NE(diff->find("view answered timeout"), std::string::npos) << *diff;
}

// Answers are compared by their bytes first: maps filled in another order must still be equal,
// and a large answer compared before a small one must not leave its bytes behind.
TEST(AnswerDifferenceTest, MapsInAnotherOrderAreEqualAndALargeAnswerLeavesNothingBehind) {
  QueryResult a, b;
  auto* am = a.mutable_job_metrics()->mutable_runs_by_status();
  auto* bm = b.mutable_job_metrics()->mutable_runs_by_status();
  const std::vector<std::string> names = {"JOB_COMPLETED", "JOB_FAILED", "JOB_RUNNING",
                                          "JOB_SCHEDULED", "JOB_CANCELLED", "JOB_SKIPPED"};
  for (size_t i = 0; i < names.size(); ++i) {
    (*am)[names[i]] = static_cast<int64_t>(i + 1);
    (*bm)[names[names.size() - 1 - i]] = static_cast<int64_t>(names.size() - i);
  }
  EXPECT_FALSE(answer_difference(a, b));
  (*bm)["JOB_FAILED"] = 99;
  auto diff = answer_difference(a, b);
  ASSERT_TRUE(diff);
  EXPECT_NE(diff->find("runs_by_status"), std::string::npos) << *diff;

  QueryResult large;
  large.mutable_partition_status()->set_message(std::string(100000, 'x'));
  EXPECT_FALSE(answer_difference(large, large));
  EXPECT_FALSE(answer_difference(partition_answer("PARTITION_AVAILABLE", 4),
                                 partition_answer("PARTITION_AVAILABLE", 4)));
  EXPECT_TRUE(answer_difference(partition_answer("PARTITION_AVAILABLE", 4), large));
}

TEST(ViewCheckResultTest, FailedViewPassesWhenItsFallbackAnswersAgreeAndSaysSo) {
  ViewStatus status;
  status.set_view("job_runs");
  status.set_state(v1::VIEW_FAILED);
  status.set_failed_idx(7);
  status.set_last_error("idx 7: boom");
  ViewComparison comparison;
  comparison.compared = 12;
  auto result = view_check_result(projections::ViewKind::job_runs, comparison, &status, "");
  EXPECT_TRUE(result.ok) << result.detail;
  EXPECT_EQ(result.name, "view job_runs");
  EXPECT_NE(result.detail.find("FAILED at idx 7"), std::string::npos) << result.detail;
  EXPECT_NE(result.detail.find("came from the fallback scan"), std::string::npos) << result.detail;
  EXPECT_NE(result.detail.find("12 answers equal the full scan"), std::string::npos)
      << result.detail;
}

TEST(ViewCheckResultTest, MismatchOrStoppingFailsTheCheck) {
  ViewStatus status;
  status.set_state(v1::VIEW_HEALTHY);
  ViewComparison comparison;
  comparison.compared = 3;
  comparison.mismatches = 1;
  comparison.differences = {"activity(): modified: activity.event_count: 3 -> 4"};
  auto result = view_check_result(projections::ViewKind::activity, comparison, &status, "");
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.detail.find("1 of 3 answers differs from the full scan: activity()"),
            std::string::npos)
      << result.detail;
  comparison.mismatches = 0;
  EXPECT_FALSE(
      view_check_result(projections::ViewKind::activity, comparison, &status, "timeout: no answer")
          .ok);
}

// ---- schema ----

TEST(CheckSchemaTest, InProcessLogsHaveNoSchemaToCheck) {
  auto result = check_schema("memory://");
  EXPECT_TRUE(result.ok);
  EXPECT_EQ(result.detail, "n/a (in-process log)");
}

TEST(CheckSchemaTest, CurrentSqliteLogPassesAndAMissingOneFails) {
  testing::TempDir dir;
  const std::string uri = "sqlite://" + dir.path() + "/log.db";
  {
    auto log = storage::open_storage(uri, {});
    ASSERT_TRUE(log.ok()) << log.error().to_string();
  }
  auto result = check_schema(uri);
  EXPECT_TRUE(result.ok) << result.detail;
  EXPECT_NE(result.detail.find("schema_version " + std::to_string(storage::kSchemaVersion)),
            std::string::npos)
      << result.detail;

  auto missing = check_schema("sqlite://" + dir.path() + "/none.db");
  EXPECT_FALSE(missing.ok);
  EXPECT_NE(missing.detail.find("none.db"), std::string::npos) << missing.detail;
}

// ---- against an in-process coordinator ----

class LogCheckTest : public ::testing::Test {
 protected:
  LogCheckTest() : system_(actors::configure_actor_system(config_)) {
    auto api = actors::start_coordinator(system_, "memory://");
    EXPECT_TRUE(api.ok()) << api.error().to_string();
    if (api.ok()) api_ = *api;
    client_ = std::make_unique<actors::ApiClient>(system_, api_);
  }
  ~LogCheckTest() override {
    if (api_) actors::stop_coordinator(api_);
  }

  // Appends `events` (idx cleared) as one batch; returns the last idx.
  int64_t append(std::vector<BuildEvent> events) {
    for (auto& e : events) e.set_idx(0);
    auto acks = client_->append(std::move(events));
    EXPECT_TRUE(acks.ok()) << acks.error().to_string();
    return acks.ok() && !acks->empty() ? acks->back().idx() : 0;
  }

  caf::actor_system_config config_;
  caf::actor_system system_;
  actors::BelApi api_;
  std::unique_ptr<actors::ApiClient> client_;
};

TEST_F(LogCheckTest, HealthyLogPassesEveryCheck) {
  ASSERT_EQ(append(testing::random_events(1500, 11)), 1500);
  LogCheckOptions options;
  options.log_uri = "memory://";
  // Pages of one row and small rounds: every list takes many pages, the views many rounds.
  options.views.list_limit = 1;
  options.views.round_size = 40;
  auto report = run_log_check(*client_, options);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->last_idx, 1500);
  std::vector<std::string> names;
  for (const auto& c : report->checks) {
    names.push_back(c.name);
    EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"schema", "idx contiguity", "view partition_status",
                                      "view build_summary", "view job_runs", "view activity"}));
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->checks[0].detail, "n/a (in-process log)");
  EXPECT_NE(report->checks[1].detail.find("idx 1..1500"), std::string::npos);
  EXPECT_NE(report->checks[2].detail.find("healthy"), std::string::npos)
      << report->checks[2].detail;

  // Every page of every list was asked, over as many rounds as that takes (a round takes a few
  // dozen pages of each list): at least one question per item and one per page.
  auto total = [&](auto put, auto take) -> int64_t {
    Query q;
    (q.*put)()->set_limit(1);
    auto answer = client_->query(q);
    EXPECT_TRUE(answer.ok());
    return answer.ok() ? ((*answer).*take)().total_count() : 0;
  };
  const int64_t partitions = total(&Query::mutable_partitions_list, &QueryResult::partitions_list);
  const int64_t builds = total(&Query::mutable_builds_list, &QueryResult::builds_list);
  const int64_t runs = total(&Query::mutable_job_runs_list, &QueryResult::job_runs_list);
  auto pages = [](int64_t items) { return std::max<int64_t>(1, items); };
  ASSERT_GT(pages(runs), 100) << "the lists take many rounds";
  auto answers_of = [](const std::string& detail) {
    const auto at = detail.find(" answer");
    const auto from = detail.rfind(' ', at - 1);
    return std::stoll(detail.substr(from + 1, at - from - 1));
  };
  EXPECT_GE(answers_of(report->checks[2].detail), 2 * partitions + pages(partitions))
      << report->checks[2].detail;
  EXPECT_GE(answers_of(report->checks[3].detail), builds + pages(builds))
      << report->checks[3].detail;
  EXPECT_GE(answers_of(report->checks[4].detail), runs + pages(runs)) << report->checks[4].detail;
}

TEST_F(LogCheckTest, EmptyLogPassesEveryCheck) {
  LogCheckOptions options;
  options.log_uri = "memory://";
  auto report = run_log_check(*client_, options);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->last_idx, 0);
  for (const auto& c : report->checks) EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
}

TEST_F(LogCheckTest, ViewAnswerThatDiffersFromTheFullScanIsReported) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a"})
      .partition("br-1", "data/a", v1::PARTITION_REQUESTED)
      .build("br-1", v1::BUILD_REQUEST_PLANNING);
  ASSERT_EQ(append(s.events()), 3);
  // A deliberately different "full scan": the partition was SCHEDULED, says the fold.
  FullScanFold fold;
  for (auto e : s.events()) {
    if (e.has_partition_event()) {
      e.mutable_partition_event()->set_status_code(v1::PARTITION_SCHEDULED);
      e.mutable_partition_event()->set_status_name("PARTITION_SCHEDULED");
    }
    fold.apply(e);
  }
  ScanChecker checker;
  LogScan scan(*client_, &checker, &fold);
  std::string stopped_by;
  auto comparisons = compare_views(*client_, scan, {}, &stopped_by);
  EXPECT_EQ(stopped_by, "");
  const auto& partitions = comparisons[0];
  // partition_status(data/a) and the partitions list; active_builds agrees (both in progress).
  EXPECT_EQ(partitions.mismatches, 2);
  ASSERT_FALSE(partitions.differences.empty());
  std::string all;
  for (const auto& d : partitions.differences) all += d + "\n";
  EXPECT_NE(all.find("partition_status(data/a): modified: partition_status.status_code: "
                     "PARTITION_REQUESTED -> PARTITION_SCHEDULED"),
            std::string::npos)
      << all;
  EXPECT_GT(comparisons[1].mismatches, 0);  // the build summary's partitions
  EXPECT_GT(comparisons[3].mismatches, 0);  // activity: partitions_by_status
  EXPECT_EQ(comparisons[2].mismatches, 0);  // no job runs
  auto result =
      view_check_result(projections::ViewKind::partition_status, partitions, nullptr, stopped_by);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.detail.find("2 of "), std::string::npos) << result.detail;
}

TEST_F(LogCheckTest, FoldReadsOnWhenAnswersReflectLaterAppends) {
  const int64_t first = append(testing::random_events(400, 5));
  ASSERT_EQ(first, 400);
  ScanChecker checker;
  FullScanFold fold;
  LogScan scan(*client_, &checker, &fold);
  ASSERT_TRUE(scan.advance_to(first).ok());
  ASSERT_EQ(fold.last_idx(), 400);

  // More events after the scan; the activity view surely reflects them once this answers.
  StreamBuilder more;
  more.build("late-1", v1::BUILD_REQUEST_RECEIVED, {"data/late"})
      .partition("late-1", "data/late", v1::PARTITION_REQUESTED);
  const int64_t last = append(more.events());
  ASSERT_EQ(last, 402);
  Query q;
  q.set_min_idx(last);
  q.mutable_activity();
  ASSERT_TRUE(client_->query(q).ok());

  std::string stopped_by;
  auto comparisons = compare_views(*client_, scan, {}, &stopped_by);
  EXPECT_EQ(stopped_by, "");
  for (const auto& c : comparisons) {
    EXPECT_EQ(c.mismatches, 0) << (c.differences.empty() ? "" : c.differences[0]);
    EXPECT_GT(c.compared, 0);
  }
  EXPECT_EQ(fold.last_idx(), 402);
  auto contiguity = checker.finish(first);
  EXPECT_TRUE(contiguity.ok) << contiguity.detail;
  EXPECT_NE(contiguity.detail.find("idx 1..402"), std::string::npos) << contiguity.detail;
}

// A coordinator that stops while the check asks (killed, or shut down) answers nothing more: the
// check says it stopped asking and why, and counts no question as a difference.
TEST_F(LogCheckTest, ACoordinatorThatStopsStopsTheAskingWithoutDifferences) {
  const int64_t last = append(testing::random_events(300, 9));
  ASSERT_EQ(last, 300);
  ScanChecker checker;
  FullScanFold fold;
  LogScan scan(*client_, &checker, &fold);
  ASSERT_TRUE(scan.advance_to(last).ok());
  actors::stop_coordinator(api_);
  api_ = actors::BelApi{};
  std::string stopped_by;
  ViewCheckOptions options;
  options.round_size = 40;
  auto comparisons = compare_views(*client_, scan, options, &stopped_by);
  EXPECT_NE(stopped_by, "");
  for (const auto& c : comparisons) {
    EXPECT_EQ(c.mismatches, 0) << (c.differences.empty() ? "" : c.differences[0]);
  }
  auto result = view_check_result(projections::ViewKind::partition_status, comparisons[0], nullptr,
                                  stopped_by);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.detail.find("stopped asking: "), std::string::npos) << result.detail;
  EXPECT_EQ(result.detail.find("differ"), std::string::npos) << result.detail;
}

// ---- the real binary on sqlite logs ----

using testing::contains;
using testing::kBel;

class CheckCommandTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.path() + "/log.db"; }
  std::string log_uri() const { return "sqlite://" + path(); }
  testing::CommandResult bel(const std::string& args) {
    return testing::run_command(testing::shell_quote(kBel) + " " + args + " --log " +
                                testing::shell_quote(log_uri()));
  }
  void fill() {
    auto r = bel("run --builds 12 --workers 3 --seed 4 --format json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // The JSON report, parsed.
  google::protobuf::Struct report(const testing::CommandResult& r) {
    google::protobuf::Struct out;
    auto parsed = google::protobuf::util::JsonStringToMessage(r.out, &out);
    EXPECT_TRUE(parsed.ok()) << r.out;
    return out;
  }
  static const google::protobuf::Value& field(const google::protobuf::Struct& s,
                                              const std::string& name) {
    static const google::protobuf::Value kNone;
    auto it = s.fields().find(name);
    return it == s.fields().end() ? kNone : it->second;
  }

  // A log written by `bel run`, its views' snapshots saved by `bel views rebuild` (a short run
  // saves none), then more events after them.
  void fill_with_snapshots() {
    fill();
    auto r = bel("views rebuild");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = bel("run --builds 3 --workers 2 --seed 5 --format json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // Runs `sql` on the log file; returns how many rows it changed.
  int exec(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
    char* message = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
    EXPECT_EQ(rc, SQLITE_OK) << (message != nullptr ? message : "");
    sqlite3_free(message);
    const int changed = sqlite3_changes(db);
    sqlite3_close(db);
    return changed;
  }
  // name -> (ok, detail) of the JSON report.
  std::map<std::string, std::pair<bool, std::string>> checks(const testing::CommandResult& r) {
    std::map<std::string, std::pair<bool, std::string>> out;
    const google::protobuf::Struct doc = report(r);
    for (const auto& c : field(doc, "checks").list_value().values()) {
      const auto& s = c.struct_value();
      out[field(s, "name").string_value()] = {field(s, "ok").bool_value(),
                                              field(s, "detail").string_value()};
    }
    return out;
  }

  testing::TempDir dir_;
};

// --repair on a log that is not there is the missing log's error, as a check's is; inside the
// console, whose session holds the log, it is refused saying where to run it.
TEST_F(CheckCommandTest, RepairOfAMissingLogOrInsideTheConsoleSaysWhy) {
  auto missing = bel("check --repair");
  EXPECT_EQ(missing.exit_code, 1) << missing.err;
  EXPECT_NE(missing.err.find("storage_unavailable"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("no log at " + path()), std::string::npos) << missing.err;
  EXPECT_FALSE(std::filesystem::exists(path())) << "a repair made a log";

  fill();
  auto inside = testing::run_command(
      testing::shell_quote(kBel) + " console --log " + testing::shell_quote(log_uri()),
      "check --repair\n");
  EXPECT_EQ(inside.exit_code, 2) << inside.err;
  EXPECT_NE(inside.err.find("run `bel check --repair` from a shell"), std::string::npos)
      << inside.err;
  EXPECT_EQ(bel("check --repair").exit_code, 0);
}

// The write-side checkpoint is derived from the events too. One that disagrees with them (here
// another log's, which knows a build request this log never received) makes the writer refuse a
// valid append; --repair drops it, so the next writer replays the log in full and decides as
// the events say.
TEST_F(CheckCommandTest, RepairDropsAWriteSideCheckpointSoTheNextWriterReplaysTheLog) {
  fill();
  const std::string other = dir_.path() + "/other.db";
  ASSERT_EQ(
      testing::run_command("cp " + testing::shell_quote(path()) + " " + testing::shell_quote(other))
          .exit_code,
      0);
  const std::string received =
      to_json(testing::request_event("br-q2", v1::BUILD_REQUEST_RECEIVED, {"q/1"})) + "\n";
  auto append_to = [&](const std::string& file) {
    return testing::run_command(testing::shell_quote(kBel) + " append - --format json --log " +
                                    testing::shell_quote("sqlite://" + file),
                                received);
  };
  ASSERT_EQ(append_to(other).exit_code, 0);
  ASSERT_EQ(exec("ATTACH DATABASE '" + other +
                 "' AS other; UPDATE snapshots SET data = (SELECT "
                 "data FROM other.snapshots WHERE view = 'write.transitions') WHERE view = "
                 "'write.transitions'"),
            1);
  auto refused = append_to(path());
  EXPECT_NE(refused.exit_code, 0) << refused.out;
  EXPECT_TRUE(contains(refused.out + refused.err, "invalid_transition"))
      << refused.out << refused.err;

  auto repaired = bel("check --repair");
  ASSERT_EQ(repaired.exit_code, 0) << repaired.err << repaired.out;
  EXPECT_EQ(exec("UPDATE snapshots SET version = version WHERE view = 'write.transitions'"), 0);
  auto accepted = append_to(path());
  EXPECT_EQ(accepted.exit_code, 0) << accepted.out << accepted.err;
}

TEST_F(CheckCommandTest, LogFilledByRunPassesEveryCheck) {
  fill();
  auto r = bel("check --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto doc = report(r);
  EXPECT_TRUE(field(doc, "ok").bool_value()) << r.out;
  EXPECT_GT(std::stoll(field(doc, "last_idx").string_value()), 0) << r.out;
  const auto& checks = field(doc, "checks").list_value();
  // schema, idx contiguity, four views, and for an sqlite file: integrity, derived rows.
  ASSERT_EQ(checks.values_size(), 8) << r.out;
  EXPECT_EQ(field(checks.values(6).struct_value(), "name").string_value(), "integrity");
  EXPECT_EQ(field(checks.values(7).struct_value(), "name").string_value(), "derived rows");
  for (const auto& c : checks.values()) {
    const auto& fields = c.struct_value();
    EXPECT_TRUE(field(fields, "ok").bool_value()) << r.out;
    EXPECT_FALSE(field(fields, "detail").string_value().empty()) << r.out;
  }
  EXPECT_EQ(field(checks.values(0).struct_value(), "name").string_value(), "schema");
  EXPECT_NE(field(checks.values(0).struct_value(), "detail")
                .string_value()
                .find("schema_version " + std::to_string(storage::kSchemaVersion)),
            std::string::npos)
      << r.out;

  auto table = bel("check --format table");
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("CHECK"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("view activity"), std::string::npos) << table.out;
}

TEST_F(CheckCommandTest, DeletedEventFailsAndTheContiguityCheckNamesItsIdx) {
  fill();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
  char* message = nullptr;
  int rc = sqlite3_exec(db, "DELETE FROM events WHERE idx = 5", nullptr, nullptr, &message);
  EXPECT_EQ(rc, SQLITE_OK) << (message != nullptr ? message : "");
  sqlite3_free(message);
  EXPECT_EQ(sqlite3_changes(db), 1);
  sqlite3_close(db);

  auto r = bel("check --format json");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("checks failed"), std::string::npos) << r.err;
  auto doc = report(r);
  EXPECT_FALSE(field(doc, "ok").bool_value()) << r.out;
  bool found = false;
  for (const auto& c : field(doc, "checks").list_value().values()) {
    const auto& fields = c.struct_value();
    if (field(fields, "name").string_value() != "idx contiguity") continue;
    found = true;
    EXPECT_FALSE(field(fields, "ok").bool_value()) << r.out;
    EXPECT_NE(field(fields, "detail").string_value().find("missing idx 5 "), std::string::npos)
        << r.out;
  }
  EXPECT_TRUE(found) << r.out;
}

TEST_F(CheckCommandTest, HelpExplainsWhatIsChecked) {
  auto r = testing::run_command(testing::shell_quote(kBel) + " check --help");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* words : {"schema_version", "idx contiguity", "full scan", "fallback"}) {
    EXPECT_NE(r.out.find(words), std::string::npos) << words << "\n" << r.out;
  }
}

TEST_F(CheckCommandTest, ComparesWhatACoordinatorWouldRestore) {
  fill_with_snapshots();
  auto r = bel("check --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto all = checks(r);
  for (const char* view :
       {"view partition_status", "view build_summary", "view job_runs", "view activity"}) {
    ASSERT_TRUE(all.count(view)) << r.out;
    EXPECT_TRUE(all[view].first) << all[view].second;
    EXPECT_TRUE(contains(all[view].second, "restored from its snapshot at idx "))
        << all[view].second;
    EXPECT_TRUE(contains(all[view].second,
                         ", folded to idx " + field(report(r), "last_idx").string_value() + ";"))
        << all[view].second;
  }
}

TEST_F(CheckCommandTest, LogWithoutSnapshotsPasses) {
  fill_with_snapshots();
  EXPECT_GT(exec("DELETE FROM snapshots"), 0);
  auto r = bel("check --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const auto& [name, c] : checks(r)) {
    EXPECT_TRUE(c.first) << name << ": " << c.second;
    if (name.rfind("view ", 0) == 0) {
      EXPECT_TRUE(contains(c.second, "no snapshot")) << c.second;
    }
  }
}

// Pages of the snapshots table damaged (the events intact): `--repair` leaves the snapshots out,
// as the derived data they are, says so, and the log passes every check after it, its views folded
// from idx 1; `bel views rebuild` saves new snapshots.
TEST_F(CheckCommandTest, RepairLeavesOutASnapshotsTableItCannotRead) {
  fill_with_snapshots();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr),
              SQLITE_OK);
    std::vector<int64_t> leaves;
    int64_t page_size = 0;
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT pageno, (SELECT page_size FROM pragma_page_size) FROM "
                                 "dbstat WHERE name = 'snapshots' AND pagetype = 'leaf'",
                                 -1, &stmt, nullptr),
              SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      leaves.push_back(sqlite3_column_int64(stmt, 0));
      page_size = sqlite3_column_int64(stmt, 1);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    ASSERT_FALSE(leaves.empty());
    std::fstream file(path(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp((leaves.front() - 1) * page_size);
    const std::string zeros(static_cast<size_t>(page_size), '\0');
    file.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
    ASSERT_TRUE(file.good());
  }
  auto damaged = bel("check --format json");
  EXPECT_EQ(damaged.exit_code, 1) << damaged.out;

  auto repaired = bel("check --repair --format json");
  EXPECT_EQ(repaired.exit_code, 0) << repaired.out << repaired.err;
  EXPECT_NE(repaired.err.find("no snapshot kept: the snapshots table is unreadable ("),
            std::string::npos)
      << repaired.err;
  EXPECT_EQ(field(report(repaired), "ok").bool_value(), true) << repaired.out;
  auto rebuilt = bel("views rebuild");
  EXPECT_EQ(rebuilt.exit_code, 0) << rebuilt.err;
  EXPECT_GT(exec("UPDATE snapshots SET view = view"), 0) << "no snapshot saved again";
  EXPECT_EQ(bel("check").exit_code, 0);
}

TEST_F(CheckCommandTest, CorruptSnapshotBlobFailsItsViewClearly) {
  fill_with_snapshots();
  // The compressed form's magic with a header cut short: it does not inflate, so a coordinator
  // restoring it (as it reads it) ignores it, as any snapshot that does not restore.
  EXPECT_EQ(exec("UPDATE snapshots SET data = X'0062656C7A0102' WHERE view = 'build_summary'"), 1);
  auto r = bel("check --format json");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "1 of 8 checks failed")) << r.err;
  auto all = checks(r);
  const auto& summary = all["view build_summary"];
  EXPECT_FALSE(summary.first) << r.out;
  EXPECT_TRUE(contains(summary.second, "does not restore (storage_corrupt")) << summary.second;
  EXPECT_TRUE(contains(summary.second, "build_summary snapshot: compressed data is cut short"))
      << summary.second;
  EXPECT_TRUE(contains(summary.second, "a coordinator would ignore it and fold from idx 1"))
      << summary.second;
  EXPECT_TRUE(all["view job_runs"].first) << all["view job_runs"].second;
  // The table shows a failed check's detail whole, as JSON does: it says what to do.
  auto table = bel("check --format table");
  EXPECT_EQ(table.exit_code, 1) << table.out << table.err;
  EXPECT_TRUE(contains(table.out, summary.second)) << table.out;
  // And what it says mends it.
  const std::string remedy = "`bel views rebuild build_summary` saves new ones";
  ASSERT_TRUE(contains(summary.second, remedy)) << summary.second;
  ASSERT_EQ(bel("views rebuild build_summary").exit_code, 0);
  EXPECT_EQ(bel("check").exit_code, 0);
}

// A snapshot that claims an idx past the log's end (a damaged row, a log put back from an older
// copy) would never see the events that follow it: `bel check` fails its view at once, a view
// loading it ignores it and folds from idx 1, and the next in-process append writes it again.
TEST_F(CheckCommandTest, ASnapshotPastTheLogsEndFailsItsViewAndIsNotRestored) {
  fill_with_snapshots();
  EXPECT_EQ(exec("UPDATE snapshots SET applied_idx = 999999999 WHERE view = 'build_summary'"), 1);
  auto r = bel("check --format json");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto all = checks(r);
  const auto& summary = all["view build_summary"];
  EXPECT_FALSE(summary.first) << r.out;
  EXPECT_TRUE(contains(summary.second,
                       "its snapshot reflects idx 999999999, past the log's last "
                       "event: a coordinator ignores it"))
      << summary.second;
  EXPECT_TRUE(all["view job_runs"].first) << all["view job_runs"].second;

  // A view that loads it (here a console command's, with no coordinator) folds from idx 1.
  auto status = bel("views status --format json");
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_FALSE(contains(status.out, "999999999")) << status.out;

  const std::string lines =
      to_json(testing::request_event("br-after", v1::BUILD_REQUEST_RECEIVED)) + "\n";
  auto appended = testing::run_command(
      testing::shell_quote(kBel) + " append - --log " + testing::shell_quote(log_uri()), lines);
  ASSERT_EQ(appended.exit_code, 0) << appended.err;
  auto shown = bel("builds show br-after --format json");
  EXPECT_EQ(shown.exit_code, 0) << shown.out << shown.err;
  EXPECT_EQ(bel("check").exit_code, 0);
}

// A damaged row the report quotes (a key index's postings with a byte that is not UTF-8): the
// JSON report stays JSON, the byte shown as the text \xNN.
TEST_F(CheckCommandTest, AQuotedDamagedRowKeepsTheJsonReportJson) {
  fill();
  // The key index made whole first (an indexer catches up off the append path).
  ASSERT_EQ(bel("check --repair").exit_code, 0);
  ASSERT_GT(
      exec("UPDATE key_postings SET idxs = CAST(X'5B3189' AS TEXT) WHERE (kind, key, last_idx) = "
           "(SELECT kind, key, last_idx FROM key_postings LIMIT 1)"),
      0);
  auto r = bel("check --format json");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(is_utf8(r.out)) << r.out;
  auto parsed = report(r);
  bool quoted = false;
  for (const auto& c : field(parsed, "checks").list_value().values()) {
    const std::string& detail = field(c.struct_value(), "detail").string_value();
    if (detail.find("\\x89") != std::string::npos) quoted = true;
  }
  EXPECT_TRUE(quoted) << r.out;
}

TEST_F(CheckCommandTest, TextStoredThatIsNotUtf8ReadsWithReplacementCharactersAndIsNamed) {
  fill_with_snapshots();
  // A cancel reason as an older bel stored it, before appends refused text that is not UTF-8:
  // appended well-formed, then one byte of it made 0xff in the stored payload.
  const std::string lines = to_json(testing::request_event("br-text", v1::BUILD_REQUEST_RECEIVED)) +
                            "\n" + to_json(testing::build_cancel_event("br-text", "bad ~ reason")) +
                            "\n";
  auto appended = testing::run_command(
      testing::shell_quote(kBel) + " append - --log " + testing::shell_quote(log_uri()), lines);
  ASSERT_EQ(appended.exit_code, 0) << appended.err;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* read = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT idx, payload FROM events WHERE build_request_id = "
                                 "'br-text' ORDER BY idx DESC LIMIT 1",
                                 -1, &read, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(read), SQLITE_ROW);
    const int64_t idx = sqlite3_column_int64(read, 0);
    std::string payload(static_cast<const char*>(sqlite3_column_blob(read, 1)),
                        static_cast<size_t>(sqlite3_column_bytes(read, 1)));
    sqlite3_finalize(read);
    const size_t at = payload.find('~');
    ASSERT_NE(at, std::string::npos);
    payload[at] = '\xff';
    sqlite3_stmt* write = nullptr;
    ASSERT_EQ(
        sqlite3_prepare_v2(db, "UPDATE events SET payload = ? WHERE idx = ?", -1, &write, nullptr),
        SQLITE_OK);
    sqlite3_bind_blob(write, 1, payload.data(), static_cast<int>(payload.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(write, 2, idx);
    EXPECT_EQ(sqlite3_step(write), SQLITE_DONE);
    sqlite3_finalize(write);
    sqlite3_close(db);
  }
  const std::string read_as = "bad \xEF\xBF\xBD reason";  // U+FFFD for the byte

  auto show = bel("builds show br-text --format json");
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(show.err, "");  // nothing of protobuf's own complaint
  BuildRequestSummary summary;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(show.out, &summary).ok()) << show.out;
  EXPECT_EQ(summary.status_code(), v1::BUILD_REQUEST_CANCELLED);
  EXPECT_EQ(summary.cancel_reason(), read_as);

  auto listed = bel("events list --build br-text --format json");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_TRUE(contains(listed.out, read_as)) << listed.out;

  for (const char* step : {"before", "after"}) {
    auto r = bel("check --format json");
    EXPECT_EQ(r.exit_code, 0) << step << ": " << r.out << r.err;
    auto found = checks(r);
    ASSERT_TRUE(found.count("derived rows")) << r.out;
    EXPECT_TRUE(found["derived rows"].first) << r.out;
    EXPECT_TRUE(contains(found["derived rows"].second,
                         "1 event holds text that is not UTF-8 (stored before appends refused "
                         "it), read with U+FFFD for each byte that is not: first idx"))
        << found["derived rows"].second;
    EXPECT_TRUE(contains(found["derived rows"].second, "(build_cancel_event.reason)"))
        << found["derived rows"].second;
    // The views' snapshots, made again over the event, restore to what the full scan folds.
    if (std::string(step) == "before") {
      ASSERT_EQ(bel("views rebuild").exit_code, 0);
    }
  }
}

}  // namespace
}  // namespace bel::check
