// bel check with no coordinator (actors/check/local_check.h): each view restored as a coordinator
// would restore it (its snapshot plus the events after it) against the same view folded from
// idx 1, on memory:// logs, both ways the check reads a log: one scan for every view (a short
// log) and one scan per view (a long one). The real binary on sqlite logs whose snapshots are tampered with is
// in check_test.cc (CheckCommandTest).
#include "actors/check/local_check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "actors/check/view_rebuild.h"
#include "actors/coordinator.h"
#include "messages/event_id.h"
#include "projections/stored_answers.h"
#include "projections/view_snapshots.pb.h"
#include "storage/storage_factory.h"
#include "tests/support/forwarding_storage.h"
#include "tests/support/random_stream.h"
#include "tests/support/run_command.h"

namespace bel::check {
namespace {

using projections::ViewKind;
using testing::StreamBuilder;

const std::vector<std::string> kNames = {
    "schema",        "idx contiguity", "view partition_status", "view build_summary",
    "view job_runs", "view activity"};

using bel::testing::contains;

// "N answers equal the full scan" -> N; -1 when the detail says no such thing.
int64_t answers_equal(const std::string& detail) {
  const auto end = detail.find(" answer");
  if (end == std::string::npos) return -1;
  const auto start = detail.rfind(' ', end - 1);
  return std::stoll(detail.substr(start == std::string::npos ? 0 : start + 1, end));
}

// How the check reads the log: one scan for every view, or one per view.
enum class Scans { one, per_view };

// LogCheckOptions::one_scan_events that gives `scans` on the test's logs (at most a few thousand
// events).
int64_t one_scan_events(Scans scans) { return scans == Scans::one ? 1000000 : 0; }

class LocalCheckBase : public ::testing::Test {
 protected:
  LocalCheckBase() {
    auto log = storage::open_storage("memory://", {});
    EXPECT_TRUE(log.ok()) << log.error().to_string();
    if (log.ok()) log_ = std::move(*log);
  }

  // Appends `events` as stored events (idx assigned by the log, fresh ids); returns the last idx.
  int64_t append(std::vector<BuildEvent> events) {
    for (auto& e : events) {
      e.set_idx(0);
      e.set_event_id(new_event_id());
    }
    auto idxs = log_->append_batch(events);
    EXPECT_TRUE(idxs.ok()) << idxs.error().to_string();
    return idxs.ok() && !idxs->empty() ? idxs->back() : 0;
  }

  // The check of log_, or of `log` (a view of it) when set.
  LogCheckReport check(Scans scans, storage::Storage* log = nullptr) {
    LogCheckOptions options;
    options.log_uri = "memory://";
    options.views.list_limit = 7;  // every list takes several pages
    options.one_scan_events = one_scan_events(scans);
    auto report = run_local_log_check(log != nullptr ? *log : *log_, options);
    EXPECT_TRUE(report.ok()) << report.error().to_string();
    return report.ok() ? *report : LogCheckReport{};
  }

  static std::vector<std::string> names(const LogCheckReport& report) {
    std::vector<std::string> out;
    for (const auto& c : report.checks) out.push_back(c.name);
    return out;
  }

  static const CheckResult& result(const LogCheckReport& report, const std::string& name) {
    static const CheckResult kNone{"none", false, "no such check"};
    for (const auto& c : report.checks) {
      if (c.name == name) return c;
    }
    return kNone;
  }

  // The check of view `failed` (the only failing view of `report`, which fails): every other
  // view's check passes.
  static const CheckResult& only_failed_view(const LogCheckReport& report,
                                             const std::string& failed) {
    EXPECT_FALSE(report.ok());
    for (const auto& c : report.checks) {
      if (c.name.rfind("view ", 0) == 0 && c.name != failed) {
        EXPECT_TRUE(c.ok) << c.detail;
      }
    }
    const auto& out = result(report, failed);
    EXPECT_FALSE(out.ok) << out.detail;
    return out;
  }

  std::unique_ptr<storage::Storage> log_;
};

// The tests that hold both ways the check reads a log.
class LocalCheckTest : public LocalCheckBase, public ::testing::WithParamInterface<Scans> {
 protected:
  LogCheckReport check(storage::Storage* log = nullptr) {
    return LocalCheckBase::check(GetParam(), log);
  }
};

// The tests that pick how the check reads the log themselves.
using LocalCheckScansTest = LocalCheckBase;

TEST_P(LocalCheckTest, LogWithoutSnapshotsPasses) {
  ASSERT_EQ(append(testing::random_events(1500, 11)), 1500);
  auto report = check();
  EXPECT_EQ(report.last_idx, 1500);
  EXPECT_EQ(names(report), kNames);
  for (const auto& c : report.checks) EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
  EXPECT_TRUE(contains(report.checks[1].detail, "idx 1..1500")) << report.checks[1].detail;
  for (size_t i = 2; i < report.checks.size(); ++i) {
    EXPECT_TRUE(contains(report.checks[i].detail, "no snapshot")) << report.checks[i].detail;
    EXPECT_GT(answers_equal(report.checks[i].detail), 0) << report.checks[i].detail;
  }
}

TEST_P(LocalCheckTest, EmptyLogPasses) {
  auto report = check();
  EXPECT_EQ(report.last_idx, 0);
  EXPECT_EQ(names(report), kNames);
  for (const auto& c : report.checks) EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
}

TEST_P(LocalCheckTest, SnapshotsFoldedOverTheTailPass) {
  ASSERT_EQ(append(testing::random_events(1000, 5)), 1000);
  auto saved = rebuild_view_snapshots(*log_, {}, {});
  ASSERT_TRUE(saved.ok()) << saved.error().to_string();
  ASSERT_EQ(append(testing::random_events(500, 6)), 1500);

  auto report = check();
  EXPECT_EQ(names(report), kNames);
  for (const auto& c : report.checks) EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
  for (size_t i = 2; i < report.checks.size(); ++i) {
    EXPECT_TRUE(contains(report.checks[i].detail,
                         "restored from its snapshot at idx 1000, folded to idx 1500; the same "
                         "state as the full scan's"))
        << report.checks[i].detail;
  }
}

TEST_P(LocalCheckTest, SnapshotThatDisagreesWithTheLogFailsItsViewNamingTheDifference) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a"})
      .partition("br-1", "data/a", v1::PARTITION_REQUESTED)
      .build("br-1", v1::BUILD_REQUEST_PLANNING);
  ASSERT_EQ(append(s.events()), 3);
  // A snapshot at the log's last idx of a view folded over another stream: data/a SCHEDULED.
  projections::PartitionStatusView other;
  int64_t idx = 0;
  for (auto e : s.events()) {
    e.set_idx(++idx);
    if (e.has_partition_event()) {
      e.mutable_partition_event()->set_status_code(v1::PARTITION_SCHEDULED);
      e.mutable_partition_event()->set_status_name("PARTITION_SCHEDULED");
    }
    other.apply(e);
  }
  ASSERT_TRUE(
      log_->save_snapshot({projections::PartitionStatusView::kName,
                           projections::PartitionStatusView::kVersion, 3, other.serialize()})
          .ok());

  auto report = check();
  const auto& partitions = only_failed_view(report, "view partition_status");
  EXPECT_TRUE(contains(partitions.detail, "restored from its snapshot at idx 3"))
      << partitions.detail;
  EXPECT_FALSE(contains(partitions.detail, "the same state")) << partitions.detail;
  // partition_status(data/a) and the partitions list differ; active_builds agrees.
  EXPECT_TRUE(contains(partitions.detail, "2 of ")) << partitions.detail;
  EXPECT_TRUE(contains(partitions.detail,
                       "partition_status(data/a): modified: partition_status.status_code: "
                       "PARTITION_SCHEDULED -> PARTITION_REQUESTED"))
      << partitions.detail;
}

TEST_P(LocalCheckTest, SnapshotThatDoesNotRestoreFailsItsViewClearly) {
  ASSERT_EQ(append(testing::random_events(300, 7)), 300);
  ASSERT_TRUE(
      log_->save_snapshot({projections::JobRunsView::kName, projections::JobRunsView::kVersion, 300,
                           "these bytes are no snapshot"})
          .ok());
  auto report = check();
  const auto& runs = only_failed_view(report, "view job_runs");
  EXPECT_TRUE(contains(runs.detail, "its snapshot at idx 300 does not restore (storage_corrupt"))
      << runs.detail;
  EXPECT_TRUE(contains(runs.detail, "a coordinator would ignore it and fold from idx 1"))
      << runs.detail;
  // The fold from idx 1 was still asked every question.
  EXPECT_GT(answers_equal(runs.detail), 0) << runs.detail;
  EXPECT_TRUE(result(report, "idx contiguity").ok);
}

TEST_P(LocalCheckTest, StoredAnswersThatAreNotTheSnapshotsFailTheirView) {
  ASSERT_EQ(append(testing::random_events(1000, 8)), 1000);
  auto saved = rebuild_view_snapshots(*log_, {}, {});
  ASSERT_TRUE(saved.ok()) << saved.error().to_string();
  // The partition status view's answers with a claim checkpoint its snapshot does not hold: a
  // console command would take data/x's active builds from it.
  using projections::PartitionStatusView;
  const std::string name = projections::answers_name(PartitionStatusView::kName);
  auto stored = log_->load_snapshot(name, PartitionStatusView::kVersion);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  snapshots::v1::ViewAnswers answers;
  ASSERT_TRUE(answers.ParseFromString((*stored)->data));
  auto* forged = answers.add_claim_checkpoints();
  forged->set_partition_ref("data/x");
  forged->add_in_progress_build_request_ids("br-9");
  ASSERT_TRUE(
      log_->save_snapshot({name, PartitionStatusView::kVersion, 1000, answers.SerializeAsString()})
          .ok());

  auto report = check();
  const auto& partitions = only_failed_view(report, "view partition_status");
  EXPECT_TRUE(contains(partitions.detail,
                       "its stored answers at idx 1000 are not its snapshot's (only one holds a "
                       "claim checkpoint of data/x)"))
      << partitions.detail;
  EXPECT_TRUE(contains(partitions.detail, "the same state as the full scan's"))
      << partitions.detail;

  // Answers that do not parse are named too; a rebuild writes them again.
  ASSERT_TRUE(log_->save_snapshot({name, PartitionStatusView::kVersion, 1000, "no answers"}).ok());
  EXPECT_TRUE(contains(only_failed_view(check(), "view partition_status").detail,
                       "its stored answers at idx 1000 do not parse"));
  ASSERT_TRUE(rebuild_view_snapshots(*log_, {}, {}).ok());
  EXPECT_TRUE(check().ok());
}

// A memory:// log whose list_events fails on one call (counted from 1), for the scans' errors.
class FailingReads final : public testing::ForwardingStorage {
 public:
  FailingReads(storage::Storage& inner, int failing_call)
      : ForwardingStorage(inner), failing_(failing_call) {}
  int calls = 0;

  Result<EventPage> list_events(int64_t since_idx, const EventFilter& filter, int limit) override {
    if (++calls == failing_) return make_error(ErrorCode::storage_unavailable, "disk went away");
    return inner().list_events(since_idx, filter, limit);
  }

 private:
  int failing_;
};

// The report of a check of `inner` whose `failing`-th page read fails.
Result<LogCheckReport> check_with_failing_read(storage::Storage& inner, int failing, Scans scans) {
  FailingReads log(inner, failing);
  LogCheckOptions options;
  options.log_uri = "memory://";
  options.one_scan_events = one_scan_events(scans);
  return run_local_log_check(log, options);
}

TEST_P(LocalCheckTest, ReadErrorInTheFirstScanFailsContiguityAndLeavesTheViewsUncompared) {
  ASSERT_EQ(append(testing::random_events(1500, 3)), 1500);
  auto report = check_with_failing_read(*log_, 2, GetParam());  // the first scan's second page
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(names(*report), kNames);
  EXPECT_FALSE(report->ok());
  const auto& contiguity = result(*report, "idx contiguity");
  EXPECT_FALSE(contiguity.ok);
  EXPECT_TRUE(contains(contiguity.detail, "the scan stopped: ")) << contiguity.detail;
  EXPECT_TRUE(contains(contiguity.detail, "disk went away")) << contiguity.detail;
  EXPECT_TRUE(contains(contiguity.detail, "(the events up to idx ")) << contiguity.detail;
  // What stopped it is kept, so the command can say the log was not found damaged.
  ASSERT_TRUE(report->scan_stopped.has_value());
  EXPECT_EQ(report->scan_stopped->code, ErrorCode::storage_unavailable);
  EXPECT_EQ(report->scan_stopped->message, "disk went away");
  for (size_t i = 2; i < report->checks.size(); ++i) {
    EXPECT_FALSE(report->checks[i].ok);
    EXPECT_TRUE(contains(report->checks[i].detail, "not compared")) << report->checks[i].detail;
  }

  // The first page failing: nothing was checked, and the detail claims no idx.
  auto first = check_with_failing_read(*log_, 1, GetParam());
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  const auto& none = result(*first, "idx contiguity");
  EXPECT_FALSE(none.ok);
  EXPECT_TRUE(contains(none.detail, "the scan stopped: ")) << none.detail;
  EXPECT_FALSE(contains(none.detail, "up to idx")) << none.detail;
}

TEST_F(LocalCheckScansTest, ReadErrorInALaterScanFailsThatViewOnly) {
  ASSERT_EQ(append(testing::random_events(1500, 3)), 1500);
  // One scan per view: the second view's first page.
  auto report = check_with_failing_read(*log_, 3, Scans::per_view);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(names(*report), kNames);
  EXPECT_TRUE(result(*report, "idx contiguity").ok) << result(*report, "idx contiguity").detail;
  EXPECT_TRUE(result(*report, "view partition_status").ok);
  const auto& summary = result(*report, "view build_summary");
  EXPECT_FALSE(summary.ok);
  EXPECT_TRUE(contains(summary.detail, "not compared: reading the log: storage_unavailable"))
      << summary.detail;
  EXPECT_TRUE(result(*report, "view job_runs").ok);
  EXPECT_TRUE(result(*report, "view activity").ok);
}

TEST_F(LocalCheckScansTest, ReadErrorInATailScanFailsThatViewOnly) {
  ASSERT_EQ(append(testing::random_events(1000, 5)), 1000);
  auto saved = rebuild_view_snapshots(*log_, {}, {});
  ASSERT_TRUE(saved.ok()) << saved.error().to_string();
  ASSERT_EQ(append(testing::random_events(500, 6)), 1500);
  // One scan for every view takes two pages (the second ends the log); then each view reads the
  // events after its snapshot. Two views are checked at once (job_runs beside the others), so
  // which view's read is the third depends on the threads: that view fails, the others pass.
  auto report = check_with_failing_read(*log_, 3, Scans::one);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_TRUE(result(*report, "idx contiguity").ok) << result(*report, "idx contiguity").detail;
  int failed = 0;
  for (const char* name :
       {"view partition_status", "view build_summary", "view job_runs", "view activity"}) {
    const auto& view = result(*report, name);
    if (!view.ok) {
      ++failed;
      EXPECT_TRUE(contains(view.detail, "not compared: reading the log: storage_unavailable"))
          << name << ": " << view.detail;
    } else {
      EXPECT_TRUE(contains(view.detail, "folded to idx 1500")) << name << ": " << view.detail;
    }
  }
  EXPECT_EQ(failed, 1);
}

// A log that reports a last idx below its real one: events appended after the check read it.
class LaggingLastIdx final : public testing::ForwardingStorage {
 public:
  LaggingLastIdx(storage::Storage& inner, int64_t reported)
      : ForwardingStorage(inner), reported_(reported) {}
  Result<int64_t> last_idx() override { return reported_; }

 private:
  int64_t reported_;
};

// Snapshots saved after the check read the log's last idx: both folds are read up to them.
TEST_P(LocalCheckTest, SnapshotsNewerThanTheCheckAreComparedAtTheirIdx) {
  ASSERT_EQ(append(testing::random_events(1500, 8)), 1500);
  auto saved = rebuild_view_snapshots(*log_, {}, {});
  ASSERT_TRUE(saved.ok()) << saved.error().to_string();
  LaggingLastIdx log(*log_, 1200);
  LogCheckOptions options;
  options.log_uri = "memory://";
  options.one_scan_events = one_scan_events(GetParam());
  auto report = run_local_log_check(log, options);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->last_idx, 1200);
  for (const auto& c : report->checks) EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
  for (size_t i = 2; i < report->checks.size(); ++i) {
    EXPECT_TRUE(contains(report->checks[i].detail,
                         "restored from its snapshot at idx 1500, folded to idx 1500"))
        << report->checks[i].detail;
    EXPECT_GT(answers_equal(report->checks[i].detail), 0) << report->checks[i].detail;
  }
}

// The same, with the activity view's snapshot and the partition status view's at two idx, either
// newer: the one scan's activity view reads the partition status view's fold, which its check
// folds past the scan to the activity snapshot's idx, and the partition status view's check
// compares at the newer of that idx and its own snapshot's.
TEST_P(LocalCheckTest, SnapshotsNewerThanTheCheckAtTwoIdxAreComparedAtTheirIdx) {
  for (const bool activity_newer : {true, false}) {
    SCOPED_TRACE(activity_newer ? "activity newer" : "partition status newer");
    auto made = storage::open_storage("memory://", {});
    ASSERT_TRUE(made.ok()) << made.error().to_string();
    log_ = std::move(*made);
    ASSERT_EQ(append(testing::random_events(1300, 14)), 1300);
    const ViewKind first = activity_newer ? ViewKind::partition_status : ViewKind::activity;
    const ViewKind second = activity_newer ? ViewKind::activity : ViewKind::partition_status;
    ASSERT_TRUE(rebuild_view_snapshots(*log_, {first}, {}).ok());
    ASSERT_EQ(append(testing::random_events(200, 15)), 1500);
    ASSERT_TRUE(rebuild_view_snapshots(*log_, {second}, {}).ok());

    LaggingLastIdx log(*log_, 1200);
    const LogCheckReport report = check(&log);
    EXPECT_TRUE(report.ok());
    const auto& partitions = result(report, "view partition_status");
    const auto& activity = result(report, "view activity");
    EXPECT_TRUE(partitions.ok) << partitions.detail;
    EXPECT_TRUE(activity.ok) << activity.detail;
    EXPECT_TRUE(contains(activity.detail, activity_newer
                                              ? "snapshot at idx 1500, folded to idx 1500"
                                              : "snapshot at idx 1300, folded to idx 1300"))
        << activity.detail;
    // After the activity view's check the shared fold is at its snapshot's idx or the scan's.
    EXPECT_TRUE(contains(partitions.detail,
                         activity_newer
                             ? "snapshot at idx 1300, folded to idx " +
                                   std::string(GetParam() == Scans::one ? "1500" : "1300")
                             : "snapshot at idx 1500, folded to idx 1500"))
        << partitions.detail;
    EXPECT_GT(answers_equal(partitions.detail), 0) << partitions.detail;
    EXPECT_GT(answers_equal(activity.detail), 0) << activity.detail;
  }
}

// Each view's snapshot at an idx of its own (or none), and the check's last idx anywhere below or
// above them: every check passes, both ways the log is read. In the one scan the activity view
// and the partition status view share a fold, which either view's check may take past the scan.
TEST_P(LocalCheckTest, SnapshotsAtIdxOfTheirOwnPassWhereverTheCheckStops) {
  for (uint64_t seed = 21; seed < 27; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto made = storage::open_storage("memory://", {});
    ASSERT_TRUE(made.ok()) << made.error().to_string();
    log_ = std::move(*made);
    const auto events = testing::random_events(1200, seed);
    std::mt19937_64 rng(seed);
    for (size_t at = 0; at < events.size();) {
      const size_t n = std::min<size_t>(events.size() - at,
                                        std::uniform_int_distribution<size_t>(100, 400)(rng));
      const auto first = events.begin() + static_cast<std::ptrdiff_t>(at);
      ASSERT_EQ(append({first, first + static_cast<std::ptrdiff_t>(n)}),
                static_cast<int64_t>(at + n));
      at += n;
      std::vector<ViewKind> kinds;
      for (ViewKind kind : projections::kAllViews) {
        if (rng() % 2 == 0) kinds.push_back(kind);
      }
      if (!kinds.empty()) {
        ASSERT_TRUE(rebuild_view_snapshots(*log_, kinds, {}).ok());
      }
    }
    const int64_t last_idx = std::uniform_int_distribution<int64_t>(1, 1200)(rng);
    LaggingLastIdx log(*log_, last_idx);
    const LogCheckReport report = check(&log);
    EXPECT_EQ(report.last_idx, last_idx);
    for (const auto& c : report.checks) EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
  }
}

// An event the append checks would refuse, stored anyway (through the storage, as a damaged or
// foreign log holds it), fails the contiguity check naming its idx, both ways the log is read
// (one scan checks each event's structure on its reading thread); the views still agree.
TEST_P(LocalCheckTest, InvalidStoredEventFailsContiguityNamingItsIdx) {
  auto events = testing::random_events(1500, 16);
  size_t bad = 0;
  for (size_t i = 1200; i < events.size() && bad == 0; ++i) {
    if (events[i].has_partition_event()) bad = i;
  }
  ASSERT_GT(bad, 0u);
  events[bad].mutable_partition_event()->mutable_partition_ref()->clear_str();
  ASSERT_EQ(append(events), 1500);

  auto report = check();
  const auto& contiguity = result(report, "idx contiguity");
  EXPECT_FALSE(contiguity.ok);
  EXPECT_TRUE(
      contains(contiguity.detail, "1 invalid: idx " + std::to_string(bad + 1) + ": invalid_event"))
      << contiguity.detail;
  for (const auto& c : report.checks) {
    if (c.name.rfind("view ", 0) == 0) {
      EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
    }
  }
}

// Reads the log once for every view when it is short enough, once per view otherwise.
TEST_F(LocalCheckScansTest, ReadsTheLogOnceOrOncePerView) {
  ASSERT_EQ(append(testing::random_events(1500, 9)), 1500);
  for (Scans scans : {Scans::one, Scans::per_view}) {
    FailingReads counted(*log_, /*failing_call=*/0);
    LogCheckOptions options;
    options.log_uri = "memory://";
    options.one_scan_events = one_scan_events(scans);
    auto report = run_local_log_check(counted, options);
    ASSERT_TRUE(report.ok()) << report.error().to_string();
    EXPECT_TRUE(report->ok());
    // Pages of 1000 events: two per scan of 1500 (no snapshots, so no tail to read).
    EXPECT_EQ(counted.calls, scans == Scans::one ? 2 : 8);
  }
}

INSTANTIATE_TEST_SUITE_P(BothWays, LocalCheckTest, ::testing::Values(Scans::one, Scans::per_view),
                         [](const ::testing::TestParamInfo<Scans>& info) {
                           return info.param == Scans::one ? "OneScan" : "ScanPerView";
                         });

// ---- the same answers as the check through a coordinator ----

TEST(LocalCheckCountsTest, AsksAsManyQuestionsAsTheCheckThroughACoordinator) {
  const auto events = testing::random_events(1200, 13);
  caf::actor_system_config config;
  caf::actor_system system(actors::configure_actor_system(config));
  auto api = actors::start_coordinator(system, "memory://");
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  LogCheckOptions options;
  options.log_uri = "memory://";
  options.views.list_limit = 7;
  Result<LogCheckReport> through = make_error(ErrorCode::internal, "not run");
  {
    actors::ApiClient client(system, *api);
    auto copy = events;
    for (auto& e : copy) e.set_idx(0);
    ASSERT_TRUE(client.append(std::move(copy)).ok());
    through = run_log_check(client, options);
  }
  actors::stop_coordinator(*api);
  ASSERT_TRUE(through.ok()) << through.error().to_string();

  auto log = storage::open_storage("memory://", {});
  ASSERT_TRUE(log.ok());
  auto copy = events;
  for (auto& e : copy) {
    e.set_idx(0);
    e.set_event_id(new_event_id());
  }
  ASSERT_TRUE((*log)->append_batch(copy).ok());
  auto local = run_local_log_check(**log, options);
  ASSERT_TRUE(local.ok()) << local.error().to_string();

  ASSERT_EQ(through->checks.size(), local->checks.size());
  for (size_t i = 0; i < local->checks.size(); ++i) {
    EXPECT_EQ(through->checks[i].name, local->checks[i].name);
    EXPECT_TRUE(local->checks[i].ok) << local->checks[i].detail;
    if (i >= 2) {
      EXPECT_EQ(answers_equal(through->checks[i].detail), answers_equal(local->checks[i].detail))
          << through->checks[i].detail << "\n"
          << local->checks[i].detail;
    }
  }
}

}  // namespace
}  // namespace bel::check
