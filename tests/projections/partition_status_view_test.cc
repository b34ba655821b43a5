#include "projections/partition_status_view.h"

#include <string>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "tests/support/random_stream.h"

namespace bel::projections {
namespace {

using google::protobuf::util::MessageDifferencer;
using testing::fold_stream;
using testing::StreamBuilder;

std::vector<std::string> ids(const ActiveBuildsResponse& r) {
  return {r.build_request_ids().begin(), r.build_request_ids().end()};
}

std::vector<std::string> refs(const PartitionsListResponse& r) {
  std::vector<std::string> out;
  for (const auto& p : r.partitions()) out.push_back(p.partition_ref());
  return out;
}

TEST(PartitionStatusViewTest, EmptyViewIsAsOfZero) {
  PartitionStatusView view;
  EXPECT_EQ(view.as_of_idx(), 0);
  EXPECT_EQ(view.status("data/a").status_code(), v1::PARTITION_UNKNOWN);
  EXPECT_EQ(view.total(), 0);
}

TEST(PartitionStatusViewTest, UnknownRefHasItsRefItsStatusNameAndAsOfIdx) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/requested-only"})
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED, {"data/target-only"});
  auto view = fold_stream<PartitionStatusView>(s);
  for (const char* ref : {"data/never", "data/requested-only", "data/target-only"}) {
    PartitionStatusResponse want;
    want.set_partition_ref(ref);
    want.set_status_name("PARTITION_UNKNOWN");  // its code, 0, is the default
    want.set_as_of_idx(2);
    EXPECT_TRUE(MessageDifferencer::Equals(view.status(ref), want))
        << view.status(ref).ShortDebugString();
  }
}

TEST(PartitionStatusViewTest, StatusComesFromTheLatestPartitionEvent) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-1", "data/a", v1::PARTITION_REQUESTED)
      .at(77777)
      .partition("br-1", "data/a", v1::PARTITION_BUILDING, "jr-1", "building now")
      .build("br-1", v1::BUILD_REQUEST_EXECUTING);
  auto view = fold_stream<PartitionStatusView>(s);
  auto st = view.status("data/a");
  EXPECT_EQ(st.status_code(), v1::PARTITION_BUILDING);
  EXPECT_EQ(st.status_name(), "PARTITION_BUILDING");
  EXPECT_EQ(st.last_updated(), 77777);
  EXPECT_EQ(st.last_idx(), 3);
  EXPECT_EQ(st.build_request_id(), "br-1");
  EXPECT_EQ(st.job_run_id(), "jr-1");
  EXPECT_EQ(st.message(), "building now");
  EXPECT_EQ(st.as_of_idx(), 4);
}

TEST(PartitionStatusViewTest, DelegatedDoesNotSetThePartitionStatus) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-1", "data/a", v1::PARTITION_BUILDING, "jr-1")
      .build("br-2", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-2", "data/a", v1::PARTITION_DELEGATED)
      .delegate("br-2", "data/a", "br-1")
      .delegate("br-2", "data/only-delegated", "br-1")
      .partition("br-2", "data/only-delegated", v1::PARTITION_DELEGATED);
  auto view = fold_stream<PartitionStatusView>(s);
  auto st = view.status("data/a");
  EXPECT_EQ(st.status_code(), v1::PARTITION_BUILDING);
  EXPECT_EQ(st.last_idx(), 2);
  EXPECT_EQ(st.build_request_id(), "br-1");
  EXPECT_EQ(view.status("data/only-delegated").status_code(), v1::PARTITION_UNKNOWN);
  EXPECT_EQ(view.total(), 1);
}

TEST(PartitionStatusViewTest, InvalidationSetsTheStatusUntilALaterPartitionEvent) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-1", "data/a", v1::PARTITION_AVAILABLE, "jr-1", "rows=10")
      .build("br-2", v1::BUILD_REQUEST_RECEIVED)
      .invalidate("br-2", "data/a", "upstream changed");
  auto view = fold_stream<PartitionStatusView>(s);
  auto st = view.status("data/a");
  EXPECT_EQ(st.status_code(), v1::PARTITION_INVALIDATED);
  EXPECT_EQ(st.status_name(), "PARTITION_INVALIDATED");
  EXPECT_EQ(st.message(), "upstream changed");
  EXPECT_EQ(st.job_run_id(), "");
  EXPECT_EQ(st.build_request_id(), "br-2");
  EXPECT_EQ(st.last_idx(), 4);

  s.partition("br-2", "data/a", v1::PARTITION_SCHEDULED, "jr-2");
  view.apply(s.last());
  EXPECT_EQ(view.status("data/a").status_code(), v1::PARTITION_SCHEDULED);
  EXPECT_EQ(view.status("data/a").message(), "");
  // A delegation afterwards changes nothing; a new invalidation does.
  s.partition("br-3", "data/a", v1::PARTITION_DELEGATED).invalidate("br-1", "data/a", "again");
  view.apply(s.events()[s.events().size() - 2]);
  EXPECT_EQ(view.status("data/a").status_code(), v1::PARTITION_SCHEDULED);
  view.apply(s.last());
  EXPECT_EQ(view.status("data/a").status_code(), v1::PARTITION_INVALIDATED);
  EXPECT_EQ(view.status("data/a").message(), "again");
}

TEST(PartitionStatusViewTest, ActiveBuildsAreAscendingOpenRequestsInProgress) {
  StreamBuilder s;
  s.build("br-b", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-b", "data/a", v1::PARTITION_REQUESTED)
      .build("br-a", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-a", "data/a", v1::PARTITION_BUILDING)
      .build("br-c", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-c", "data/a", v1::PARTITION_SCHEDULED)
      .build("br-d", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-d", "data/a", v1::PARTITION_REQUESTED)
      .build("br-e", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-e", "data/a", v1::PARTITION_SCHEDULED)
      .build("br-f", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-f", "data/a", v1::PARTITION_AVAILABLE)
      .build("br-g", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-g", "data/a", v1::PARTITION_REQUESTED);
  auto view = fold_stream<PartitionStatusView>(s);
  EXPECT_EQ(ids(view.active_builds("data/a")),
            (std::vector<std::string>{"br-a", "br-b", "br-c", "br-d", "br-e", "br-g"}));

  // Terminal requests leave; a delegated request leaves (either kind of delegation event).
  s.build("br-c", v1::BUILD_REQUEST_COMPLETED)
      .delegate("br-d", "data/a", "br-a")
      .cancel_build("br-e", "stop")
      .partition("br-g", "data/a", v1::PARTITION_DELEGATED)
      .build("br-b", v1::BUILD_REQUEST_FAILED);
  view = fold_stream<PartitionStatusView>(s);
  auto active = view.active_builds("data/a");
  EXPECT_EQ(ids(active), (std::vector<std::string>{"br-a"}));
  EXPECT_EQ(active.partition_ref(), "data/a");
  EXPECT_EQ(active.as_of_idx(), static_cast<int64_t>(s.events().size()));
  EXPECT_TRUE(ids(view.active_builds("data/other")).empty());
}

TEST(PartitionStatusViewTest, ActiveBuildsWithoutBuildRequestEventsCountAsOpen) {
  // A partial sequence (a filtered scan) may hold partition events only.
  StreamBuilder s;
  s.partition("br-1", "data/a", v1::PARTITION_BUILDING);
  auto view = fold_stream<PartitionStatusView>(s);
  EXPECT_EQ(ids(view.active_builds("data/a")), (std::vector<std::string>{"br-1"}));
}

TEST(PartitionStatusViewTest, ALenientLogThatReopensARequestMakesItActiveAgain) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-1", "data/a", v1::PARTITION_BUILDING)
      .build("br-1", v1::BUILD_REQUEST_FAILED);
  auto view = fold_stream<PartitionStatusView>(s);
  EXPECT_TRUE(ids(view.active_builds("data/a")).empty());
  s.build("br-1", v1::BUILD_REQUEST_EXECUTING);  // invalid: only a lenient log has it
  view.apply(s.last());
  EXPECT_EQ(ids(view.active_builds("data/a")), (std::vector<std::string>{"br-1"}));
}

StreamBuilder many_partitions(int n) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED);
  for (int i = 0; i < n; ++i) {
    const std::string ds = i % 2 == 0 ? "sales" : "users";
    s.partition("br-1", "data/" + ds + "/" + std::to_string(i),
                i % 3 == 0 ? v1::PARTITION_AVAILABLE : v1::PARTITION_REQUESTED);
  }
  return s;
}

TEST(PartitionStatusViewTest, ListIsNewestFirstWithFilterPatternAndPaging) {
  StreamBuilder s = many_partitions(9);  // 0..8; AVAILABLE: 0, 3, 6
  s.partition("br-1", "data/sales/2", v1::PARTITION_FAILED);  // moves to the front
  auto view = fold_stream<PartitionStatusView>(s);

  PartitionsListRequest req;
  auto all = view.list(req);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(refs(*all),
            (std::vector<std::string>{"data/sales/2", "data/sales/8", "data/users/7",
                                      "data/sales/6", "data/users/5", "data/sales/4",
                                      "data/users/3", "data/users/1", "data/sales/0"}));
  EXPECT_EQ(all->total_count(), 9);
  EXPECT_FALSE(all->has_more());
  EXPECT_EQ(all->as_of_idx(), 11);
  EXPECT_EQ(all->partitions(0).status_name(), "PARTITION_FAILED");

  req.set_limit(2);
  req.set_offset(1);
  req.add_status_filter(v1::PARTITION_AVAILABLE);
  req.add_status_filter(v1::PARTITION_FAILED);
  auto page = view.list(req);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(refs(*page), (std::vector<std::string>{"data/sales/6", "data/users/3"}));
  EXPECT_EQ(page->total_count(), 4);
  EXPECT_TRUE(page->has_more());

  req.set_pattern("data/sales/*");
  page = view.list(req);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(refs(*page), (std::vector<std::string>{"data/sales/6", "data/sales/0"}));
  EXPECT_EQ(page->total_count(), 3);
  EXPECT_FALSE(page->has_more());

  req.set_offset(50);  // beyond the end
  page = view.list(req);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(refs(*page).empty());
  EXPECT_EQ(page->total_count(), 3);
  EXPECT_FALSE(page->has_more());
}

TEST(PartitionStatusViewTest, ListLimitDefaultsTo50AndRejectsBadValues) {
  auto view = fold_stream<PartitionStatusView>(many_partitions(60));
  PartitionsListRequest req;
  auto page = view.list(req);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->partitions_size(), 50);
  EXPECT_TRUE(page->has_more());
  req.set_limit(1000);
  EXPECT_EQ(view.list(req)->partitions_size(), 60);

  for (auto [limit, offset] : std::vector<std::pair<int, int>>{{-1, 0}, {1001, 0}, {5, -1}}) {
    req.set_limit(limit);
    req.set_offset(offset);
    auto bad = view.list(req);
    ASSERT_FALSE(bad.ok()) << limit << " " << offset;
    EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
  }
  req.set_limit(0);
  req.set_offset(0);
  req.set_pattern("data/[sales");
  auto bad = view.list(req);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
}

TEST(PartitionStatusViewTest, CountsByStatusFollowEveryChange) {
  StreamBuilder s = many_partitions(6);  // AVAILABLE: 0, 3; REQUESTED: 1, 2, 4, 5
  s.invalidate("br-1", "data/sales/0", "stale").partition("br-2", "data/new", v1::PARTITION_DELEGATED);
  auto view = fold_stream<PartitionStatusView>(s);
  EXPECT_EQ(view.total(), 6);
  EXPECT_EQ(view.counts_by_status().get(v1::PARTITION_AVAILABLE), 1);
  EXPECT_EQ(view.counts_by_status().get(v1::PARTITION_REQUESTED), 4);
  EXPECT_EQ(view.counts_by_status().get(v1::PARTITION_INVALIDATED), 1);
  EXPECT_EQ(view.counts_by_status().get(v1::PARTITION_DELEGATED), 0);
}

TEST(PartitionStatusViewTest, ManyUpdatesOfFewPartitionsKeepTheListOrder) {
  // Enough updates that the order index is compacted several times.
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED);
  const std::vector<std::string> names = {"data/a", "data/b", "data/c"};
  for (int i = 0; i < 5000; ++i) {
    s.partition("br-1", names[static_cast<size_t>(i * 7 % 3)],
                i % 2 == 0 ? v1::PARTITION_BUILDING : v1::PARTITION_AVAILABLE);
  }
  auto view = fold_stream<PartitionStatusView>(s);
  auto restored = PartitionStatusView::restore(view.serialize());
  ASSERT_TRUE(restored.ok());
  for (const auto* v : {&view, &*restored}) {
    auto page = v->list(PartitionsListRequest());
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->partitions_size(), 3);
    EXPECT_GT(page->partitions(0).last_idx(), page->partitions(1).last_idx());
    EXPECT_GT(page->partitions(1).last_idx(), page->partitions(2).last_idx());
    EXPECT_EQ(page->partitions(0).last_idx(), 5001);
  }
}

TEST(PartitionStatusViewTest, RestoreAnswersLikeTheOriginal) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-1", "data/a", v1::PARTITION_BUILDING)
      .partition("br-1", "data/b", v1::PARTITION_REQUESTED)
      .build("br-2", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-2", "data/a", v1::PARTITION_REQUESTED)
      .build("br-2", v1::BUILD_REQUEST_FAILED)
      .partition("br-3", "data/c", v1::PARTITION_DELEGATED);
  auto view = fold_stream<PartitionStatusView>(s);
  auto restored = PartitionStatusView::restore(view.serialize());
  ASSERT_TRUE(restored.ok()) << restored.error().to_string();
  EXPECT_EQ(restored->as_of_idx(), 7);
  for (const char* ref : {"data/a", "data/b", "data/c", "data/x"}) {
    EXPECT_TRUE(MessageDifferencer::Equals(view.status(ref), restored->status(ref))) << ref;
    EXPECT_TRUE(MessageDifferencer::Equals(view.active_builds(ref), restored->active_builds(ref)))
        << ref;
  }
  EXPECT_EQ(restored->serialize(), view.serialize());
  // The restored request statuses still count: a lenient reopening of br-2 reactivates it.
  s.build("br-2", v1::BUILD_REQUEST_EXECUTING);
  view.apply(s.last());
  restored->apply(s.last());
  EXPECT_EQ(ids(restored->active_builds("data/a")), (std::vector<std::string>{"br-1", "br-2"}));
  EXPECT_TRUE(MessageDifferencer::Equals(view.active_builds("data/a"),
                                         restored->active_builds("data/a")));
}

std::vector<std::pair<std::string, std::vector<std::string>>> flat(
    const std::vector<ClaimCheckpoint>& checkpoints) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& c : checkpoints) out.emplace_back(c.partition_ref, c.in_progress);
  return out;
}

TEST(PartitionStatusViewTest, ClaimCheckpointsNameTheBusiestPartitionsWithEveryRequestInProgress) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a", "data/b"})
      .build("br-2", v1::BUILD_REQUEST_RECEIVED, {"data/a"})
      .delegate("br-2", "data/c", "br-1")                    // data/c: no status, not counted
      .partition("br-1", "data/a", v1::PARTITION_REQUESTED)  // data/a: 1
      .partition("br-2", "data/a", v1::PARTITION_SCHEDULED)  // 2
      .partition("br-1", "data/b", v1::PARTITION_BUILDING)   // data/b: 1
      .build("br-1", v1::BUILD_REQUEST_FAILED)               // terminal, still in progress
      .partition("br-2", "data/d", v1::PARTITION_AVAILABLE)  // data/d: 1, nothing in progress
      .delegate("br-2", "data/a", "br-3")                    // data/a: 3, br-2 delegated
      .partition("br-2", "data/c", v1::PARTITION_BUILDING);  // data/c: 1 (now it has a status)
  auto view = fold_stream<PartitionStatusView>(s);
  using Flat = std::vector<std::pair<std::string, std::vector<std::string>>>;
  EXPECT_EQ(
      flat(view.claim_checkpoints(1)),
      (Flat{{"data/a", {"br-1"}}, {"data/b", {"br-1"}}, {"data/c", {"br-2"}}, {"data/d", {}}}));
  EXPECT_EQ(flat(view.claim_checkpoints(2)), (Flat{{"data/a", {"br-1"}}}));
  EXPECT_TRUE(view.claim_checkpoints().empty());  // none has kCheckpointMinEvents
  // The counts are part of the state: a restored view names the same, and a view whose counts
  // differ is another state.
  auto restored = PartitionStatusView::restore(view.serialize());
  ASSERT_TRUE(restored.ok()) << restored.error().to_string();
  EXPECT_EQ(flat(restored->claim_checkpoints(1)), flat(view.claim_checkpoints(1)));
  EXPECT_TRUE(restored->same_state(view));
  s.partition("br-2", "data/d", v1::PARTITION_AVAILABLE);  // data/d: 2, its status unchanged
  view.apply(s.last());
  restored->apply(s.last());
  EXPECT_EQ(flat(restored->claim_checkpoints(2)), (Flat{{"data/a", {"br-1"}}, {"data/d", {}}}));
  EXPECT_TRUE(restored->same_state(view));
  StreamBuilder other = s;
  other.delegate("br-2", "data/d", "br-1");  // one claim event more, nothing else changes
  auto more = fold_stream<PartitionStatusView>(other);
  auto fewer = fold_stream<PartitionStatusView>(s);
  fewer.advance_to(more.as_of_idx());
  EXPECT_FALSE(more.same_state(fewer));
  EXPECT_NE(more.serialize(), fewer.serialize());
}

}  // namespace
}  // namespace bel::projections
