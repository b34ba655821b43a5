#include "projections/activity_view.h"

#include <map>
#include <string>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "projections/build_summary_view.h"
#include "projections/partition_status_view.h"
#include "tests/support/random_stream.h"

namespace bel::projections {
namespace {

using google::protobuf::util::MessageDifferencer;
using testing::fold_stream;
using testing::StreamBuilder;

std::map<std::string, int64_t> as_map(const google::protobuf::Map<std::string, int64_t>& m) {
  return {m.begin(), m.end()};
}

TEST(ActivityViewTest, EmptyViewHasNothing) {
  ActivityResponse a = ActivityView().activity();
  EXPECT_TRUE(MessageDifferencer::Equals(a, ActivityResponse())) << a.ShortDebugString();
}

TEST(ActivityViewTest, CountsBuildRequestsByStatusAndActive) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .build("br-2", v1::BUILD_REQUEST_RECEIVED)
      .build("br-2", v1::BUILD_REQUEST_PLANNING)
      .build("br-3", v1::BUILD_REQUEST_RECEIVED)
      .build("br-3", v1::BUILD_REQUEST_COMPLETED)
      .build("br-4", v1::BUILD_REQUEST_RECEIVED)
      .cancel_build("br-4", "x")
      .partition("br-5", "data/a", v1::PARTITION_REQUESTED);  // exists, no status (lenient)
  auto a = fold_stream<ActivityView>(s).activity();
  EXPECT_EQ(a.total_build_requests(), 5);
  EXPECT_EQ(a.active_builds_count(), 3);  // br-1, br-2, br-5
  EXPECT_EQ(as_map(a.build_requests_by_status()),
            (std::map<std::string, int64_t>{{"BUILD_REQUEST_RECEIVED", 1},
                                            {"BUILD_REQUEST_PLANNING", 1},
                                            {"BUILD_REQUEST_COMPLETED", 1},
                                            {"BUILD_REQUEST_CANCELLED", 1},
                                            {"BUILD_REQUEST_UNKNOWN", 1}}));
  EXPECT_EQ(a.event_count(), 8);
  EXPECT_EQ(a.as_of_idx(), 8);
}

TEST(ActivityViewTest, PartitionsFollowThePartitionStatusRules) {
  StreamBuilder s;
  s.partition("br-1", "data/a", v1::PARTITION_AVAILABLE)
      .partition("br-1", "data/b", v1::PARTITION_BUILDING)
      .partition("br-2", "data/b", v1::PARTITION_DELEGATED)
      .delegate("br-2", "data/c", "br-1")
      .partition("br-2", "data/d", v1::PARTITION_DELEGATED)
      .invalidate("br-2", "data/a", "stale")
      .invalidate("br-2", "data/e", "never built");
  auto a = fold_stream<ActivityView>(s).activity();
  EXPECT_EQ(a.total_partitions(), 3);
  EXPECT_EQ(as_map(a.partitions_by_status()),
            (std::map<std::string, int64_t>{{"PARTITION_INVALIDATED", 2},
                                            {"PARTITION_BUILDING", 1}}));
  ASSERT_EQ(a.recent_partitions_size(), 3);
  EXPECT_EQ(a.recent_partitions(0).partition_ref(), "data/e");
  EXPECT_EQ(a.recent_partitions(1).partition_ref(), "data/a");
  EXPECT_EQ(a.recent_partitions(1).message(), "stale");
  EXPECT_EQ(a.recent_partitions(2).partition_ref(), "data/b");
  EXPECT_EQ(a.recent_partitions(2).last_idx(), 2);
}

TEST(ActivityViewTest, RecentBuildsAreTheTenNewestAsFullSummaries) {
  StreamBuilder s;
  for (int i = 0; i < 13; ++i) {
    const std::string id = "br-" + std::to_string(100 - i);  // ids descend, first_idx ascends
    s.build(id, v1::BUILD_REQUEST_RECEIVED, {"data/" + std::to_string(i)});
  }
  // Events for old builds (pushed out of the ten) and for recent ones.
  s.build("br-100", v1::BUILD_REQUEST_PLANNING)
      .partition("br-95", "data/5", v1::PARTITION_REQUESTED)
      .job("br-90", "jr-1", "//jobs:a", v1::JOB_SCHEDULED)
      .cancel_build("br-91", "stop");
  auto view = fold_stream<ActivityView>(s);
  BuildSummaryView summaries;
  for (const auto& e : s.events()) summaries.apply(e);

  auto a = view.activity();
  ASSERT_EQ(a.recent_builds_size(), 10);
  for (int i = 0; i < 10; ++i) {
    const std::string id = "br-" + std::to_string(88 + i);  // newest first: br-88 .. br-97
    EXPECT_TRUE(MessageDifferencer::Equals(a.recent_builds(i), *summaries.summary(id))) << id;
  }
  EXPECT_EQ(a.total_build_requests(), 13);
  EXPECT_EQ(a.active_builds_count(), 12);
}

TEST(ActivityViewTest, RecentPartitionsAreTheTenWithTheHighestLastIdx) {
  StreamBuilder s;
  for (int i = 0; i < 14; ++i) {
    s.partition("br-1", "data/" + std::to_string(i), v1::PARTITION_REQUESTED);
  }
  s.partition("br-1", "data/0", v1::PARTITION_SCHEDULED)  // back to the front, no duplicate
      .partition("br-1", "data/13", v1::PARTITION_BUILDING);
  auto view = fold_stream<ActivityView>(s);
  PartitionStatusView statuses;
  for (const auto& e : s.events()) statuses.apply(e);

  auto a = view.activity();
  ASSERT_EQ(a.recent_partitions_size(), 10);
  std::vector<std::string> want = {"data/13", "data/0",  "data/12", "data/11", "data/10",
                                   "data/9",  "data/8",  "data/7",  "data/6",  "data/5"};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(a.recent_partitions(static_cast<int>(i)),
                                           statuses.status(want[i])))
        << want[i];
  }
  EXPECT_EQ(a.total_partitions(), 14);
}

TEST(ActivityViewTest, RestoreAnswersLikeTheOriginal) {
  auto events = testing::random_stream(5);
  ActivityView view;
  for (size_t i = 0; i < events.size() / 2; ++i) view.apply(events[i]);
  auto restored = ActivityView::restore(view.serialize());
  ASSERT_TRUE(restored.ok()) << restored.error().to_string();
  EXPECT_TRUE(MessageDifferencer::Equals(view.activity(), restored->activity()));
  for (size_t i = events.size() / 2; i < events.size(); ++i) {
    view.apply(events[i]);
    restored->apply(events[i]);
  }
  EXPECT_TRUE(MessageDifferencer::Equals(view.activity(), restored->activity()));
  EXPECT_EQ(restored->serialize(), view.serialize());
}

}  // namespace
}  // namespace bel::projections
