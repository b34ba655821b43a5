// SPEC section 4, "In-flight claims end with their owner": each case of the rule in the views
// (partition status, activity, job runs, build summary), checked against the reference fold.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "projections/activity_view.h"
#include "projections/build_summary_view.h"
#include "projections/job_runs_view.h"
#include "projections/partition_status_view.h"
#include "tests/support/random_stream.h"
#include "tests/support/reference_fold.h"

namespace bel::projections {
namespace {

using google::protobuf::util::MessageDifferencer;
using testing::ReferenceFold;
using testing::StreamBuilder;

struct Views {
  PartitionStatusView partitions;
  ActivityView activity;
  JobRunsView job_runs;
  BuildSummaryView builds;
};

// Folds the stream into every view and checks the partition answers against the reference fold.
Views fold_views(const StreamBuilder& s) {
  Views v;
  for (const auto& e : s.events()) {
    v.partitions.apply(e);
    v.activity.apply(e);
    v.job_runs.apply(e);
    v.builds.apply(e);
  }
  ReferenceFold oracle(s.events());
  for (const auto& ref : oracle.partition_refs()) {
    EXPECT_TRUE(MessageDifferencer::Equals(v.partitions.status(ref), oracle.partition_status(ref)))
        << ref << "\n view: " << v.partitions.status(ref).ShortDebugString()
        << "\n reference: " << oracle.partition_status(ref).ShortDebugString();
  }
  for (const auto& id : oracle.job_run_ids()) {
    auto view = v.job_runs.job_run(id);
    auto want = oracle.job_run(id);
    EXPECT_EQ(view.ok(), want.ok()) << id;
    if (view.ok() && want.ok()) {
      EXPECT_TRUE(MessageDifferencer::Equals(*view, *want)) << view->ShortDebugString() << "\n"
                                                            << want->ShortDebugString();
    }
  }
  EXPECT_TRUE(MessageDifferencer::Equals(v.activity.activity(), oracle.activity()))
      << v.activity.activity().ShortDebugString() << "\n"
      << oracle.activity().ShortDebugString();
  return v;
}

int64_t idx_of_last(const StreamBuilder& s) { return s.last().idx(); }

// The status came from the claim of `build` (job run `job`, message `message`) at event `idx`.
void expect_from_claim(const PartitionStatusResponse& st, PartitionStatus code,
                       const std::string& build, const std::string& job, const std::string& message,
                       int64_t idx) {
  EXPECT_EQ(st.status_code(), code) << st.ShortDebugString();
  EXPECT_EQ(st.build_request_id(), build) << st.ShortDebugString();
  EXPECT_EQ(st.job_run_id(), job) << st.ShortDebugString();
  EXPECT_EQ(st.message(), message) << st.ShortDebugString();
  EXPECT_EQ(st.last_idx(), idx) << st.ShortDebugString();
}

TEST(PartitionClaimsTest, AClaimEndsWhenItsJobRunFails) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"})
      .partition("br-1", "data/a", v1::PARTITION_BUILDING, "jr-1", "building")
      .at(55555)
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_FAILED, {}, "exit 1");
  auto v = fold_views(s);
  auto st = v.partitions.status("data/a");
  EXPECT_EQ(st.status_code(), v1::PARTITION_FAILED);
  EXPECT_EQ(st.last_idx(), idx_of_last(s));
  EXPECT_EQ(st.last_updated(), 55555);
  EXPECT_EQ(st.build_request_id(), "br-1");
  EXPECT_EQ(st.job_run_id(), "jr-1");
  EXPECT_NE(st.message().find("jr-1"), std::string::npos) << st.message();
  // The request is still open and its own latest status is BUILDING: it stays active.
  EXPECT_EQ(v.partitions.active_builds("data/a").build_request_ids_size(), 1);
}

TEST(PartitionClaimsTest, AClaimEndsWithAJobRunCancelEvent) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"})
      .partition("br-1", "data/a", v1::PARTITION_SCHEDULED, "jr-1")
      .cancel_job("br-1", "jr-1", "not needed");
  auto v = fold_views(s);
  auto st = v.partitions.status("data/a");
  EXPECT_EQ(st.status_code(), v1::PARTITION_FAILED);
  EXPECT_EQ(st.last_idx(), 4);
  EXPECT_EQ(st.job_run_id(), "jr-1");
  EXPECT_EQ(v.job_runs.job_run("jr-1")->status_code(), v1::JOB_CANCELLED);
}

TEST(PartitionClaimsTest, AClaimEndsWhenItsBuildIsCancelled) {
  StreamBuilder s;
  s.build("br-7", v1::BUILD_REQUEST_RECEIVED, {"data/a"})
      .partition("br-7", "data/a", v1::PARTITION_REQUESTED)
      .cancel_build("br-7", "wrong dates");
  auto v = fold_views(s);
  auto st = v.partitions.status("data/a");
  EXPECT_EQ(st.status_code(), v1::PARTITION_FAILED);
  EXPECT_EQ(st.build_request_id(), "br-7");
  EXPECT_EQ(st.last_idx(), 3);
  EXPECT_NE(st.message().find("br-7"), std::string::npos) << st.message();
  EXPECT_EQ(v.partitions.active_builds("data/a").build_request_ids_size(), 0);
  auto activity = v.activity.activity();
  EXPECT_EQ(activity.partitions_by_status().at("PARTITION_FAILED"), 1);
  EXPECT_EQ(activity.partitions_by_status().count("PARTITION_REQUESTED"), 0u);
}

TEST(PartitionClaimsTest, EveryTerminalBuildStatusEndsItsClaims) {
  for (auto status : {v1::BUILD_REQUEST_COMPLETED, v1::BUILD_REQUEST_FAILED}) {
    StreamBuilder s;
    s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
        .partition("br-1", "data/a", v1::PARTITION_BUILDING, "jr-1")
        .build("br-1", status);
    auto v = fold_views(s);
    EXPECT_EQ(v.partitions.status("data/a").status_code(), v1::PARTITION_FAILED);
  }
}

TEST(PartitionClaimsTest, AnEndedClaimFallsBackToTheMostRecentLiveClaim) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .build("br-2", v1::BUILD_REQUEST_RECEIVED)
      .build("br-3", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-2", "data/a", v1::PARTITION_REQUESTED, "", "wanted by br-2")  // 4
      .partition("br-3", "data/a", v1::PARTITION_SCHEDULED, "jr-3", "queued")      // 5
      .partition("br-1", "data/a", v1::PARTITION_BUILDING, "jr-1", "building")     // 6
      .cancel_job("br-3", "jr-3", "superseded")                                    // 7
      .at(99000)
      .cancel_build("br-1", "stop");  // 8
  auto v = fold_views(s);
  auto st = v.partitions.status("data/a");
  // br-3's claim ended at 7 (its job run was cancelled), so br-2's claim is the live one.
  expect_from_claim(st, v1::PARTITION_REQUESTED, "br-2", "", "wanted by br-2", 8);
  EXPECT_EQ(st.last_updated(), 99000);

  // br-2 ends too: no live claim is left.
  s.build("br-2", v1::BUILD_REQUEST_FAILED);
  v = fold_views(s);
  st = v.partitions.status("data/a");
  EXPECT_EQ(st.status_code(), v1::PARTITION_FAILED);
  EXPECT_EQ(st.build_request_id(), "br-2");
  EXPECT_EQ(st.last_idx(), 9);
}

TEST(PartitionClaimsTest, ADelegatedRequestsEndFallsBackToTheBuildItDelegatedTo) {
  StreamBuilder s;
  s.build("br-2", v1::BUILD_REQUEST_RECEIVED)
      .job("br-2", "jr-2", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"})
      .partition("br-2", "data/a", v1::PARTITION_SCHEDULED, "jr-2", "queued in br-2")  // 3
      .build("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a"})
      .partition("br-1", "data/a", v1::PARTITION_REQUESTED)  // 5
      .delegate("br-1", "data/a", "br-2")
      .partition("br-1", "data/a", v1::PARTITION_DELEGATED)
      .build("br-1", v1::BUILD_REQUEST_COMPLETED);  // 8
  auto v = fold_views(s);
  expect_from_claim(v.partitions.status("data/a"), v1::PARTITION_SCHEDULED, "br-2", "jr-2",
                    "queued in br-2", 8);

  // The status now follows br-2's claim: its job run failing ends it.
  s.job("br-2", "jr-2", "//jobs:a", v1::JOB_FAILED);
  v = fold_views(s);
  EXPECT_EQ(v.partitions.status("data/a").status_code(), v1::PARTITION_FAILED);
  EXPECT_EQ(v.partitions.status("data/a").build_request_id(), "br-2");
}

TEST(PartitionClaimsTest, AStatusThatIsNotInFlightIsLeftAlone) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-1", "data/a", v1::PARTITION_BUILDING, "jr-1")
      .partition("br-1", "data/a", v1::PARTITION_AVAILABLE, "jr-1")
      .build("br-2", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-2", "data/b", v1::PARTITION_REQUESTED)
      .invalidate("br-2", "data/b", "stale")
      .cancel_build("br-1", "late")
      .cancel_build("br-2", "late");
  auto v = fold_views(s);
  EXPECT_EQ(v.partitions.status("data/a").status_code(), v1::PARTITION_AVAILABLE);
  EXPECT_EQ(v.partitions.status("data/a").last_idx(), 3);
  EXPECT_EQ(v.partitions.status("data/b").status_code(), v1::PARTITION_INVALIDATED);
}

TEST(PartitionClaimsTest, OneEventEndingSeveralClaimsListsThemByAscendingRef) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-1", "data/c", v1::PARTITION_REQUESTED)
      .partition("br-1", "data/a", v1::PARTITION_REQUESTED)
      .partition("br-1", "data/d", v1::PARTITION_AVAILABLE)
      .partition("br-1", "data/b", v1::PARTITION_REQUESTED)
      .cancel_build("br-1", "stop");
  auto v = fold_views(s);
  auto list = v.partitions.list(PartitionsListRequest{});
  ASSERT_TRUE(list.ok());
  std::vector<std::string> refs;
  for (const auto& p : list->partitions()) refs.push_back(p.partition_ref());
  EXPECT_EQ(refs, (std::vector<std::string>{"data/a", "data/b", "data/c", "data/d"}));
  EXPECT_EQ(list->partitions(0).last_idx(), 6);
  EXPECT_EQ(list->partitions(2).last_idx(), 6);

  auto activity = v.activity.activity();
  ASSERT_EQ(activity.recent_partitions_size(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(activity.recent_partitions(i).partition_ref(), refs[i]);
  }

  ReferenceFold oracle(s.events());
  EXPECT_TRUE(MessageDifferencer::Equals(*list, *oracle.list_partitions(PartitionsListRequest{})));

  // Snapshots keep the ties' order and the claims.
  auto partitions = PartitionStatusView::restore(v.partitions.serialize());
  ASSERT_TRUE(partitions.ok()) << partitions.error().to_string();
  EXPECT_TRUE(MessageDifferencer::Equals(*partitions->list(PartitionsListRequest{}), *list));
  auto restored = ActivityView::restore(v.activity.serialize());
  ASSERT_TRUE(restored.ok()) << restored.error().to_string();
  EXPECT_TRUE(MessageDifferencer::Equals(restored->activity(), activity));
}

TEST(PartitionClaimsTest, RestoredViewsKeepTheLiveClaims) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .build("br-2", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-2", "data/a", v1::PARTITION_REQUESTED, "", "from br-2")
      .partition("br-1", "data/a", v1::PARTITION_BUILDING, "jr-1")
      .partition("br-1", "data/b", v1::PARTITION_BUILDING, "jr-1");
  auto before = fold_views(s);
  auto partitions = PartitionStatusView::restore(before.partitions.serialize());
  auto activity = ActivityView::restore(before.activity.serialize());
  ASSERT_TRUE(partitions.ok() && activity.ok());
  s.job("br-1", "jr-1", "//jobs:a", v1::JOB_FAILED);
  partitions->apply(s.last());
  activity->apply(s.last());
  auto after = fold_views(s);
  EXPECT_EQ(partitions->serialize(), after.partitions.serialize());
  EXPECT_EQ(activity->serialize(), after.activity.serialize());
  EXPECT_EQ(partitions->status("data/a").build_request_id(), "br-2");
  EXPECT_EQ(partitions->status("data/b").status_code(), v1::PARTITION_FAILED);
}

TEST(PartitionClaimsTest, ABuildsEndCancelsItsScheduledAndRunningJobRuns) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"})
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_RUNNING)
      .job("br-1", "jr-2", "//jobs:a", v1::JOB_SCHEDULED, {"data/b"})
      .job("br-1", "jr-3", "//jobs:b", v1::JOB_SCHEDULED, {"data/c"})
      .job("br-1", "jr-3", "//jobs:b", v1::JOB_COMPLETED)
      .build("br-2", v1::BUILD_REQUEST_RECEIVED)
      .job("br-2", "jr-4", "//jobs:a", v1::JOB_SCHEDULED)
      .at(77000)
      .build("br-1", v1::BUILD_REQUEST_FAILED, {}, "2 of 3 failed");
  auto v = fold_views(s);
  for (const char* id : {"jr-1", "jr-2"}) {
    auto run = v.job_runs.job_run(id);
    ASSERT_TRUE(run.ok());
    EXPECT_EQ(run->status_code(), v1::JOB_CANCELLED) << id;
    EXPECT_EQ(run->ended_at(), 77000) << id;
    EXPECT_NE(run->message().find("br-1"), std::string::npos) << run->message();
  }
  EXPECT_EQ(v.job_runs.job_run("jr-3")->status_code(), v1::JOB_COMPLETED);
  EXPECT_EQ(v.job_runs.job_run("jr-4")->status_code(), v1::JOB_SCHEDULED);
  auto metrics = v.job_runs.metrics("//jobs:a");
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(metrics->runs_by_status().at("JOB_CANCELLED"), 2);
  EXPECT_EQ(metrics->runs_by_status().at("JOB_SCHEDULED"), 1);
  auto summary = v.builds.summary("br-1");
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->job_runs_by_status().at("JOB_CANCELLED"), 2);
  EXPECT_EQ(summary->job_runs_by_status().at("JOB_COMPLETED"), 1);
  EXPECT_EQ(summary->job_runs_by_status().count("JOB_RUNNING"), 0u);

  ReferenceFold oracle(s.events());
  EXPECT_TRUE(MessageDifferencer::Equals(*summary, *oracle.build_summary("br-1")));
  EXPECT_TRUE(MessageDifferencer::Equals(*metrics, *oracle.job_metrics("//jobs:a")));
  auto restored = JobRunsView::restore(v.job_runs.serialize());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->serialize(), v.job_runs.serialize());
}

// SPEC: a claim is live while "the job run it names (if any) has not ended FAILED or
// CANCELLED", so a claim reported after its run failed (a late worker report) is not live.
TEST(PartitionClaimsTest, AClaimNamingARunThatAlreadyFailedIsNotLive) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .build("br-2", v1::BUILD_REQUEST_RECEIVED)
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"})
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_FAILED)
      .partition("br-1", "data/a", v1::PARTITION_BUILDING, "jr-1", "late report")
      .job("br-2", "jr-2", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"})
      .partition("br-2", "data/a", v1::PARTITION_BUILDING, "jr-2")
      .job("br-2", "jr-2", "//jobs:a", v1::JOB_FAILED);
  auto v = fold_views(s);
  auto st = v.partitions.status("data/a");
  EXPECT_EQ(st.status_code(), v1::PARTITION_FAILED) << st.ShortDebugString();
  EXPECT_EQ(st.build_request_id(), "br-2");
  EXPECT_EQ(st.job_run_id(), "jr-2");
  EXPECT_EQ(st.last_idx(), idx_of_last(s));
  // The status a claim that was never live set still ends with its build request.
  StreamBuilder late;
  late.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"})
      .cancel_job("br-1", "jr-1", "not needed")
      .partition("br-1", "data/a", v1::PARTITION_SCHEDULED, "jr-1")
      .build("br-1", v1::BUILD_REQUEST_FAILED);
  auto w = fold_views(late);
  EXPECT_EQ(w.partitions.status("data/a").status_code(), v1::PARTITION_FAILED);
  EXPECT_EQ(w.partitions.status("data/a").last_idx(), idx_of_last(late));
}

// A build request's end cancels its open job runs at that event, and so ends the claims of
// other requests that name them.
TEST(PartitionClaimsTest, ABuildsEndEndsOtherRequestsClaimsOnItsOpenRuns) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .build("br-2", v1::BUILD_REQUEST_RECEIVED)
      .build("br-3", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-3", "data/a", v1::PARTITION_REQUESTED, "", "from br-3")
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"})
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_RUNNING)
      .partition("br-2", "data/a", v1::PARTITION_BUILDING, "jr-1", "built by br-1's run")
      .partition("br-2", "data/b", v1::PARTITION_BUILDING, "jr-1")
      .build("br-1", v1::BUILD_REQUEST_FAILED);
  auto v = fold_views(s);
  EXPECT_EQ(v.job_runs.job_run("jr-1")->status_code(), v1::JOB_CANCELLED);
  expect_from_claim(v.partitions.status("data/a"), v1::PARTITION_REQUESTED, "br-3", "", "from br-3",
                    idx_of_last(s));
  auto b = v.partitions.status("data/b");
  EXPECT_EQ(b.status_code(), v1::PARTITION_FAILED) << b.ShortDebugString();
  EXPECT_EQ(b.build_request_id(), "br-2");
  EXPECT_EQ(b.job_run_id(), "jr-1");
  EXPECT_EQ(b.last_idx(), idx_of_last(s));
  // A claim naming the run after that is not live either.
  s.partition("br-3", "data/b", v1::PARTITION_BUILDING, "jr-1")
      .build("br-2", v1::BUILD_REQUEST_CANCELLED);
  auto w = fold_views(s);
  EXPECT_EQ(w.partitions.status("data/b").build_request_id(), "br-3");
  EXPECT_EQ(w.partitions.status("data/b").status_code(), v1::PARTITION_BUILDING);
}

// The job runs the rule keeps (open, with their build request; ended FAILED or CANCELLED) are
// in the snapshots: a restored view ends the same claims as one that folded every event.
TEST(PartitionClaimsTest, RestoredViewsKeepTheRunsTheRuleNeeds) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .build("br-2", v1::BUILD_REQUEST_RECEIVED)
      .build("br-3", v1::BUILD_REQUEST_RECEIVED)
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"})
      .job("br-3", "jr-3", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"})
      .job("br-3", "jr-3", "//jobs:a", v1::JOB_FAILED)
      .partition("br-2", "data/a", v1::PARTITION_REQUESTED, "", "from br-2");
  auto before = fold_views(s);
  auto partitions = PartitionStatusView::restore(before.partitions.serialize());
  auto activity = ActivityView::restore(before.activity.serialize());
  ASSERT_TRUE(partitions.ok()) << partitions.error().to_string();
  ASSERT_TRUE(activity.ok()) << activity.error().to_string();
  EXPECT_TRUE(partitions->same_state(before.partitions));
  EXPECT_TRUE(activity->same_state(before.activity));
  const size_t folded = s.events().size();
  s.partition("br-3", "data/a", v1::PARTITION_BUILDING, "jr-3")
      .partition("br-2", "data/a", v1::PARTITION_BUILDING, "jr-1")
      .partition("br-3", "data/b", v1::PARTITION_BUILDING, "jr-3")
      .build("br-2", v1::BUILD_REQUEST_CANCELLED)
      .build("br-1", v1::BUILD_REQUEST_CANCELLED);
  for (size_t i = folded; i < s.events().size(); ++i) {
    partitions->apply(s.events()[i]);
    activity->apply(s.events()[i]);
  }
  auto after = fold_views(s);
  EXPECT_EQ(partitions->serialize(), after.partitions.serialize());
  EXPECT_EQ(activity->serialize(), after.activity.serialize());
  EXPECT_EQ(partitions->status("data/a").status_code(), v1::PARTITION_FAILED);
  EXPECT_EQ(partitions->status("data/a").build_request_id(), "br-2");
}

}  // namespace
}  // namespace bel::projections
