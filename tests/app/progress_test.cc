// What `bel views rebuild` through a coordinator draws while it waits (app/progress.h): the log's
// events once, however many views rebuild, and the wait for their snapshots named.
#include "app/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace bel::app {
namespace {

ViewsStatus status_of(int64_t last_idx) {
  ViewsStatus out;
  out.set_last_idx(last_idx);
  for (const char* name : {"partition_status", "build_summary", "job_runs", "activity"}) {
    auto* v = out.add_views();
    v->set_view(name);
    v->set_state(v1::VIEW_REBUILDING);
  }
  return out;
}

TEST(RebuildProgressTest, CountsTheLogsEventsOnceWhateverTheViewsRebuilt) {
  ViewsStatus views = status_of(1000);
  for (int i = 0; i < 4; ++i) views.mutable_views(i)->set_applied_idx(100 * (i + 1));
  RebuildProgress every = rebuild_progress(views, "");
  EXPECT_EQ(every.total, 1000);
  EXPECT_EQ(every.folded, 250);  // (100 + 200 + 300 + 400) / 4
  EXPECT_FALSE(every.saving);
  RebuildProgress one = rebuild_progress(views, "job_runs");
  EXPECT_EQ(one.total, 1000);
  EXPECT_EQ(one.folded, 300);

  // A view that has folded counts whole, whatever it applied since.
  views.mutable_views(0)->set_state(v1::VIEW_HEALTHY);
  views.mutable_views(0)->set_applied_idx(1000);
  views.mutable_views(0)->set_snapshot_idx(1000);
  EXPECT_EQ(rebuild_progress(views, "").folded, (1000 + 200 + 300 + 400) / 4);
}

TEST(RebuildProgressTest, EveryViewFoldedWithASnapshotUnsavedIsTheSavingWait) {
  ViewsStatus views = status_of(1000);
  for (auto& v : *views.mutable_views()) {
    v.set_state(v1::VIEW_HEALTHY);
    v.set_applied_idx(1000);
    v.set_snapshot_idx(1000);
  }
  EXPECT_FALSE(rebuild_progress(views, "").saving);
  views.mutable_views(2)->set_snapshot_idx(0);  // job_runs still saving its rebuilt snapshot
  RebuildProgress now = rebuild_progress(views, "");
  EXPECT_TRUE(now.saving);
  EXPECT_EQ(now.folded, 1000);
  EXPECT_FALSE(rebuild_progress(views, "activity").saving);
  EXPECT_TRUE(rebuild_progress(views, "job_runs").saving);
  // While one still folds, the bar is not at its end: not the saving wait yet.
  views.mutable_views(1)->set_state(v1::VIEW_REBUILDING);
  views.mutable_views(1)->set_applied_idx(500);
  EXPECT_FALSE(rebuild_progress(views, "").saving);
}

// A bar as wide as the terminal wraps, and each redraw's \r then returns to its last row only,
// leaving a stale line per update: the line always takes fewer columns than the terminal has.
TEST(ProgressLineTest, FitsTheTerminalNarrowingTheBarThenDroppingIt) {
  const std::string label = "checking the views (one scan)";
  EXPECT_EQ(progress_line(label, 500000, 1000000, 200),
            label + " [" + std::string(15, '#') + std::string(15, ' ') + "]  50%  500000/1000000");
  const std::string at80 = progress_line(label, 1000, 1000000, 80);
  EXPECT_EQ(at80.size(), 79u) << at80;  // the bar narrowed to fit, not dropped
  EXPECT_EQ(at80.rfind(label + " [", 0), 0u) << at80;
  EXPECT_NE(at80.find("]   0%  1000/1000000"), std::string::npos) << at80;
  EXPECT_EQ(progress_line(label, 1000000, 1000000, 60), label + " 100%  1000000/1000000");
  EXPECT_EQ(progress_line(label, 1000000, 1000000, 40), "checking the view 100%  1000000/1000000");
  EXPECT_EQ(progress_line(label, 7, 0, 80), label + "  7");
  for (int columns = 0; columns <= 120; ++columns) {
    for (const int64_t done : {0, 999, 1000000}) {
      const std::string line = progress_line(label, done, 1000000, columns);
      EXPECT_LT(line.size(), static_cast<size_t>(std::max(columns, 1))) << columns << ": " << line;
    }
  }
}

}  // namespace
}  // namespace bel::app
