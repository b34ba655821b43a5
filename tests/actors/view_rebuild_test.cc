// The one-pass fold without a coordinator (actors/check/view_rebuild.h): the snapshots that
// `bel views rebuild` and `bel append` leave restore to views equal to a full fold, and a refresh
// folds only the views whose snapshot is due.
#include "actors/check/view_rebuild.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "projections/queries.h"
#include "projections/stored_answers.h"
#include "storage/storage_factory.h"
#include "tests/support/forwarding_storage.h"
#include "tests/support/random_stream.h"
#include "tests/support/run_command.h"

namespace bel::check {
namespace {

using projections::AllViews;
using projections::ViewKind;

std::vector<BuildEvent> stream(uint64_t seed, int n) {
  testing::RandomStreamOptions o;
  o.num_events = n;
  o.concurrent_builds = 5;
  o.partition_space = 14;
  return testing::random_stream(seed, o);
}

std::unique_ptr<storage::Storage> log_with(const std::vector<BuildEvent>& events) {
  auto log = storage::open_storage("memory://", {});
  EXPECT_TRUE(log.ok());
  std::vector<BuildEvent> batch = events;
  for (auto& e : batch) e.set_idx(0);
  EXPECT_TRUE((*log)->append_batch(batch).ok());
  return std::move(*log);
}

// The stored snapshot of each view of `kinds` (every view when empty) equals the serialized full
// fold of `events`.
void expect_snapshots_equal_fold(storage::Storage& log, const std::vector<BuildEvent>& events,
                                 const std::vector<ViewKind>& kinds = {}) {
  AllViews fold;
  for (const auto& e : events) fold.apply(e);
  for (ViewKind kind : projections::kAllViews) {
    if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) continue;
    AllViews::with_view(fold, kind, [&](const auto& view) {
      using View = std::decay_t<decltype(view)>;
      auto snap = log.load_snapshot(View::kName, View::kVersion);
      ASSERT_TRUE(snap.ok() && *snap) << View::kName;
      EXPECT_EQ((*snap)->applied_idx, static_cast<int64_t>(events.size())) << View::kName;
      auto restored = View::restore((*snap)->data);
      ASSERT_TRUE(restored.ok()) << restored.error().to_string();
      EXPECT_EQ(restored->serialize(), view.serialize()) << View::kName;
    });
  }
}

TEST(ViewRebuildTest, RebuildWritesSnapshotsEqualToAFullFold) {
  const auto events = stream(3, 900);
  auto log = log_with(events);
  int64_t last_progress = 0;
  auto report = rebuild_view_snapshots(*log, {}, [&](int64_t done, int64_t total) {
    EXPECT_EQ(total, 900);
    last_progress = done;
  });
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(last_progress, 900);
  EXPECT_EQ(report->events, 900);  // one pass for four views
  EXPECT_EQ(report->views.views_size(), 4);
  for (const auto& v : report->views.views()) EXPECT_EQ(v.state(), v1::VIEW_HEALTHY) << v.view();
  expect_snapshots_equal_fold(*log, events);

  // One view only: only its snapshot is replaced.
  auto one = rebuild_view_snapshots(*log, {ViewKind::job_runs}, {});
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->views.views_size(), 1);
  EXPECT_EQ(one->views.views(0).view(), "job_runs");
}

// The activity view shares the partition status view's fold when both are rebuilt, and folds its
// own when rebuilt alone or over the other's newer snapshot: the bytes of a full fold each way.
TEST(ViewRebuildTest, ActivityWithOrWithoutThePartitionViewWritesTheBytesOfAFullFold) {
  const auto events = stream(33, 1700);
  auto log = log_with(events);
  for (const std::vector<ViewKind>& kinds :
       {std::vector<ViewKind>{ViewKind::activity},
        std::vector<ViewKind>{ViewKind::partition_status, ViewKind::activity},
        std::vector<ViewKind>{ViewKind::activity, ViewKind::partition_status}}) {
    auto report = rebuild_view_snapshots(*log, kinds, {});
    ASSERT_TRUE(report.ok()) << report.error().to_string();
    EXPECT_EQ(report->views.views_size(), static_cast<int>(kinds.size()));
    for (const auto& v : report->views.views()) {
      EXPECT_EQ(v.state(), v1::VIEW_HEALTHY) << v.view();
      EXPECT_EQ(v.applied_idx(), 1700) << v.view();
    }
    expect_snapshots_equal_fold(*log, events, kinds);
  }
}

TEST(ViewRebuildTest, PagesReadWhileTheLastOneFoldsGiveTheSameSnapshots) {
  // A short first page of storage::kDefaultListLimit, then pages of storage::kMaxListLimit: each
  // is read while the views fold the one before, on two threads, and the pages take turns on two
  // arenas.
  const int n = storage::kDefaultListLimit + 2 * storage::kMaxListLimit + 3456;
  const auto events = stream(21, n);
  auto log = log_with(events);
  std::vector<int64_t> progress;
  auto report =
      rebuild_view_snapshots(*log, {}, [&](int64_t done, int64_t) { progress.push_back(done); });
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  const int64_t first = storage::kDefaultListLimit;
  EXPECT_EQ(progress, (std::vector<int64_t>{first, first + storage::kMaxListLimit,
                                            first + 2 * storage::kMaxListLimit, n}));
  EXPECT_EQ(report->events, n);
  expect_snapshots_equal_fold(*log, events);
  // The stored answers are saved beside each snapshot, at the same idx.
  const projections::AllViews views;
  for (ViewKind kind : projections::kAllViews) {
    const int version = projections::AllViews::with_view(views, kind, [](const auto& view) {
      return std::remove_reference_t<decltype(view)>::kVersion;
    });
    auto answers =
        log->load_snapshot(projections::answers_name(projections::view_name(kind)), version);
    ASSERT_TRUE(answers.ok());
    ASSERT_TRUE(answers->has_value()) << projections::view_name(kind);
    EXPECT_EQ((*answers)->applied_idx, n);
  }
}

// What an older bel's views saved is dropped once a view saves its own version; a version above
// it (a newer bel's) is left.
TEST(ViewRebuildTest, SavingAViewDropsItsOlderVersionsSnapshots) {
  const auto events = stream(22, 300);
  auto log = log_with(events);
  using projections::PartitionStatusView;
  const std::string name = PartitionStatusView::kName;
  const std::string answers = projections::answers_name(name);
  for (const std::string& view : {name, answers}) {
    ASSERT_TRUE(log->save_snapshot({view, PartitionStatusView::kVersion - 1, 100, "old"}).ok());
    ASSERT_TRUE(log->save_snapshot({view, PartitionStatusView::kVersion + 1, 100, "new"}).ok());
  }
  auto report = rebuild_view_snapshots(*log, {ViewKind::partition_status}, {});
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  for (const std::string& view : {name, answers}) {
    EXPECT_FALSE(log->load_snapshot(view, PartitionStatusView::kVersion - 1)->has_value()) << view;
    EXPECT_TRUE(log->load_snapshot(view, PartitionStatusView::kVersion)->has_value()) << view;
    EXPECT_TRUE(log->load_snapshot(view, PartitionStatusView::kVersion + 1)->has_value()) << view;
  }
}

// A rebuild over the compressed snapshots of an earlier one reserves room for their plain size
// (read from each blob's header): the bytes it saves are those of a full fold all the same.
TEST(ViewRebuildTest, ARebuildOverEarlierSnapshotsWritesTheBytesOfAFullFold) {
  const testing::TempDir dir;
  auto log = storage::open_storage("sqlite://" + dir.path() + "/rebuild.db", {});
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  const auto events = stream(13, 1500);
  std::vector<BuildEvent> first(events.begin(), events.begin() + 500);
  for (auto& e : first) e.set_idx(0);
  ASSERT_TRUE((*log)->append_batch(first).ok());
  ASSERT_TRUE(rebuild_view_snapshots(**log, {}, {}).ok());
  std::vector<BuildEvent> rest(events.begin() + 500, events.end());
  for (auto& e : rest) e.set_idx(0);
  ASSERT_TRUE((*log)->append_batch(rest).ok());
  auto stored = (*log)->load_stored_snapshot(projections::JobRunsView::kName,
                                             projections::JobRunsView::kVersion);
  ASSERT_TRUE(stored.ok() && *stored);
  EXPECT_TRUE((*stored)->encoded);  // the size comes from a compressed blob's header

  auto report = rebuild_view_snapshots(**log, {}, {});
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->events, 1500);
  expect_snapshots_equal_fold(**log, events);
}

// A log whose save_snapshot fails for one view's snapshot (its stored answers too).
class FailingSave final : public testing::ForwardingStorage {
 public:
  FailingSave(storage::Storage& inner, std::string view)
      : ForwardingStorage(inner), view_(std::move(view)) {}
  std::vector<std::string> saved;

  Status save_snapshot(const storage::Snapshot& snapshot) override {
    if (snapshot.view == view_) return make_error(ErrorCode::storage_unavailable, "disk full");
    saved.push_back(snapshot.view);
    return inner().save_snapshot(snapshot);
  }

 private:
  std::string view_;
};

// The snapshots are saved on a second thread while the next view is serialized: a failed save
// comes back as the rebuild's error, naming the view, and no view after it is saved.
TEST(ViewRebuildTest, AFailedSaveIsTheRebuildsErrorNamingTheView) {
  const auto events = stream(5, 700);
  auto inner = log_with(events);
  FailingSave log(*inner, "job_runs");
  auto report = rebuild_view_snapshots(log, {}, {});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, ErrorCode::storage_unavailable);
  EXPECT_NE(report.error().to_string().find("saving the job_runs snapshot"), std::string::npos)
      << report.error().to_string();
  // The views are saved two at a time, partition_status then job_runs on one thread,
  // build_summary then activity on the other: every view but job_runs was saved, in some order.
  std::vector<std::string> saved = log.saved;
  std::sort(saved.begin(), saved.end());
  EXPECT_EQ(saved, (std::vector<std::string>{"activity", "activity.answers", "build_summary",
                                             "build_summary.answers", "partition_status",
                                             "partition_status.answers"}));
}

TEST(ViewRebuildTest, RefreshFoldsOnlyDueViewsFromTheirSnapshots) {
  const auto events = stream(9, 1000);
  const std::vector<BuildEvent> first(events.begin(), events.begin() + 600);
  auto log = log_with(first);
  actors::ViewActorConfig policy;
  policy.snapshot_every_events = 300;
  policy.snapshot_bytes_per_event = 0;
  // No snapshot yet and 600 events >= 300: every view is due, folded from idx 1.
  auto report = refresh_view_snapshots(*log, policy, {});
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->views.views_size(), 4);
  EXPECT_EQ(report->events, 600);
  expect_snapshots_equal_fold(*log, first);

  // 200 more: none is due (200 < 300), nothing is read.
  std::vector<BuildEvent> more(events.begin() + 600, events.begin() + 800);
  for (auto& e : more) e.set_idx(0);
  ASSERT_TRUE(log->append_batch(more).ok());
  report = refresh_view_snapshots(*log, policy, {});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->views.views_size(), 0);
  EXPECT_EQ(report->events, 0);

  // A corrupt build_summary snapshot at idx 600 and the rest of the stream: all are due again;
  // build_summary folds from idx 1, the others from their snapshot at idx 600.
  ASSERT_TRUE(log->save_snapshot({projections::BuildSummaryView::kName,
                                  projections::BuildSummaryView::kVersion, 600, "\xff"})
                  .ok());
  std::vector<BuildEvent> rest(events.begin() + 800, events.end());
  for (auto& e : rest) e.set_idx(0);
  ASSERT_TRUE(log->append_batch(rest).ok());
  report = refresh_view_snapshots(*log, policy, {});
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->views.views_size(), 4);
  EXPECT_EQ(report->events, 1000);  // read from the lowest idx any view needed
  for (const auto& v : report->views.views()) {
    EXPECT_EQ(v.applies(), v.view() == "build_summary" ? 1000 : 400) << v.view();
  }
  expect_snapshots_equal_fold(*log, events);
}

}  // namespace
}  // namespace bel::check
