#include "projections/build_summary_view.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "projections/activity_view.h"
#include "tests/support/random_stream.h"
#include "tests/support/reference_fold.h"

namespace bel::projections {
namespace {

using google::protobuf::util::MessageDifferencer;
using testing::fold_stream;
using testing::StreamBuilder;

std::vector<std::string> ids(const BuildsListResponse& r) {
  std::vector<std::string> out;
  for (const auto& b : r.builds()) out.push_back(b.build_request_id());
  return out;
}

std::map<std::string, int64_t> job_counts(const BuildRequestSummary& s) {
  return {s.job_runs_by_status().begin(), s.job_runs_by_status().end()};
}

TEST(BuildSummaryViewTest, UnknownIdIsNotFoundNamingTheId) {
  BuildSummaryView view;
  auto s = view.summary("br-missing");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::not_found);
  EXPECT_NE(s.error().message.find("br-missing"), std::string::npos);
}

TEST(BuildSummaryViewTest, RequestedPartitionsComeFromTheFirstEventThatListsAny) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .build("br-1", v1::BUILD_REQUEST_PLANNING, {"data/a", "data/b"})
      .build("br-1", v1::BUILD_REQUEST_ANALYSIS_COMPLETED, {"data/c"});
  auto summary = fold_stream<BuildSummaryView>(s).summary("br-1");
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(std::vector<std::string>(summary->requested_partitions().begin(),
                                     summary->requested_partitions().end()),
            (std::vector<std::string>{"data/a", "data/b"}));
  EXPECT_EQ(summary->status_code(), v1::BUILD_REQUEST_ANALYSIS_COMPLETED);
  EXPECT_EQ(summary->status_name(), "BUILD_REQUEST_ANALYSIS_COMPLETED");
}

TEST(BuildSummaryViewTest, TimesIdxAndCountCoverEveryEventOfTheRequest) {
  StreamBuilder s;
  s.at(500).build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .build("br-2", v1::BUILD_REQUEST_RECEIVED)
      .graph("br-1")
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED)
      .invalidate("br-1", "data/z", "stale")
      .build("br-2", v1::BUILD_REQUEST_PLANNING)
      .at(9999).cancel_job("br-1", "jr-1", "");
  auto view = fold_stream<BuildSummaryView>(s);
  auto summary = view.summary("br-1");
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->created_at(), 500);
  EXPECT_EQ(summary->updated_at(), 9999);
  EXPECT_EQ(summary->first_idx(), 1);
  EXPECT_EQ(summary->last_idx(), 7);
  EXPECT_EQ(summary->event_count(), 5);
  EXPECT_EQ(summary->as_of_idx(), 7);
  EXPECT_TRUE(summary->partitions().empty());  // an invalidation is not one of its partitions
  EXPECT_EQ(view.summary("br-2")->event_count(), 2);
}

TEST(BuildSummaryViewTest, StatusComesFromTheLatestBuildRequestOrCancelEvent) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {}, "hello")
      .build("br-1", v1::BUILD_REQUEST_PLANNING)
      .cancel_build("br-1", "user asked");
  auto summary = fold_stream<BuildSummaryView>(s).summary("br-1");
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->status_code(), v1::BUILD_REQUEST_CANCELLED);
  EXPECT_EQ(summary->status_name(), "BUILD_REQUEST_CANCELLED");
  EXPECT_EQ(summary->cancel_reason(), "user asked");
  // SPEC section 4: the latest non-empty BuildRequestEvent message, or the cancel reason once
  // cancelled.
  EXPECT_EQ(summary->message(), "user asked");
}

TEST(BuildSummaryViewTest, MessageIsTheLatestNonEmptyOne) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {}, "first")
      .build("br-1", v1::BUILD_REQUEST_PLANNING, {}, "second")
      .build("br-1", v1::BUILD_REQUEST_EXECUTING, {}, "");
  EXPECT_EQ(fold_stream<BuildSummaryView>(s).summary("br-1")->message(), "second");
}

TEST(BuildSummaryViewTest, PartitionsInFirstAppearanceOrderWithTheirLatestStatus) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .partition("br-1", "data/b", v1::PARTITION_REQUESTED)
      .partition("br-1", "data/a", v1::PARTITION_REQUESTED)
      .partition("br-2", "data/c", v1::PARTITION_BUILDING)  // another request's
      .partition("br-1", "data/b", v1::PARTITION_SCHEDULED)
      .delegate("br-1", "data/a", "br-0")
      .partition("br-1", "data/a", v1::PARTITION_DELEGATED)
      .delegate("br-1", "data/c", "br-2");
  auto summary = fold_stream<BuildSummaryView>(s).summary("br-1");
  ASSERT_TRUE(summary.ok());
  ASSERT_EQ(summary->partitions_size(), 3);
  const auto& b = summary->partitions(0);
  EXPECT_EQ(b.partition_ref(), "data/b");
  EXPECT_EQ(b.status_code(), v1::PARTITION_SCHEDULED);
  EXPECT_EQ(b.status_name(), "PARTITION_SCHEDULED");
  EXPECT_EQ(b.delegated_to_build_request_id(), "");
  const auto& a = summary->partitions(1);
  EXPECT_EQ(a.partition_ref(), "data/a");
  EXPECT_EQ(a.status_code(), v1::PARTITION_DELEGATED);
  EXPECT_EQ(a.delegated_to_build_request_id(), "br-0");
  const auto& c = summary->partitions(2);
  EXPECT_EQ(c.partition_ref(), "data/c");
  EXPECT_EQ(c.status_code(), v1::PARTITION_DELEGATED);
  EXPECT_EQ(c.status_name(), "PARTITION_DELEGATED");
  EXPECT_EQ(c.delegated_to_build_request_id(), "br-2");
}

TEST(BuildSummaryViewTest, JobRunsByStatusCountsEachRunAtItsCurrentStatus) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED)
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_RUNNING)
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_COMPLETED)
      .job("br-1", "jr-2", "//jobs:a", v1::JOB_SCHEDULED)
      .job("br-1", "jr-3", "//jobs:b", v1::JOB_SCHEDULED)
      .cancel_job("br-1", "jr-3", "no longer needed")
      .job("br-1", "jr-4", "//jobs:b", v1::JOB_SKIPPED)
      .job("br-2", "jr-5", "//jobs:b", v1::JOB_SCHEDULED)   // another request's run
      .cancel_job("br-1", "jr-unknown", "never scheduled");  // not a run of br-1
  auto summary = fold_stream<BuildSummaryView>(s).summary("br-1");
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(job_counts(*summary), (std::map<std::string, int64_t>{{"JOB_COMPLETED", 1},
                                                                   {"JOB_SCHEDULED", 1},
                                                                   {"JOB_CANCELLED", 1},
                                                                   {"JOB_SKIPPED", 1}}));
}

TEST(BuildSummaryViewTest, ARequestExistsFromItsFirstEventOfAnyType) {
  // Lenient log or partial sequence: events before RECEIVED.
  StreamBuilder s;
  s.partition("br-1", "data/a", v1::PARTITION_REQUESTED);
  auto view = fold_stream<BuildSummaryView>(s);
  auto summary = view.summary("br-1");
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->status_code(), v1::BUILD_REQUEST_UNKNOWN);
  EXPECT_EQ(summary->status_name(), "BUILD_REQUEST_UNKNOWN");
  EXPECT_EQ(view.counts_by_status().get(v1::BUILD_REQUEST_UNKNOWN), 1);
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED);
  view.apply(s.last());
  EXPECT_EQ(view.summary("br-1")->status_code(), v1::BUILD_REQUEST_RECEIVED);
  EXPECT_EQ(view.summary("br-1")->first_idx(), 1);
  EXPECT_EQ(view.counts_by_status().get(v1::BUILD_REQUEST_UNKNOWN), 0);
}

StreamBuilder five_builds() {
  StreamBuilder s;
  s.build("br-e", v1::BUILD_REQUEST_RECEIVED)  // first_idx 1
      .build("br-d", v1::BUILD_REQUEST_RECEIVED)
      .build("br-c", v1::BUILD_REQUEST_RECEIVED)
      .build("br-b", v1::BUILD_REQUEST_RECEIVED)
      .build("br-a", v1::BUILD_REQUEST_RECEIVED)  // first_idx 5
      .build("br-e", v1::BUILD_REQUEST_PLANNING)
      .build("br-d", v1::BUILD_REQUEST_PLANNING)
      .build("br-d", v1::BUILD_REQUEST_FAILED)
      .cancel_build("br-b", "x");
  return s;
}

TEST(BuildSummaryViewTest, ListIsNewestFirstByFirstIdxWithFilterAndPaging) {
  auto view = fold_stream<BuildSummaryView>(five_builds());
  BuildsListRequest req;
  auto all = view.list(req);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(ids(*all), (std::vector<std::string>{"br-a", "br-b", "br-c", "br-d", "br-e"}));
  EXPECT_EQ(all->total_count(), 5);
  EXPECT_FALSE(all->has_more());
  EXPECT_EQ(all->as_of_idx(), 9);
  EXPECT_EQ(all->builds(1).status_code(), v1::BUILD_REQUEST_CANCELLED);

  req.set_limit(2);
  req.set_offset(1);
  auto page = view.list(req);
  EXPECT_EQ(ids(*page), (std::vector<std::string>{"br-b", "br-c"}));
  EXPECT_TRUE(page->has_more());
  EXPECT_EQ(page->total_count(), 5);

  req.set_offset(0);
  req.add_status_filter(v1::BUILD_REQUEST_FAILED);
  req.add_status_filter(v1::BUILD_REQUEST_CANCELLED);
  req.add_status_filter(v1::BUILD_REQUEST_FAILED);
  page = view.list(req);
  EXPECT_EQ(ids(*page), (std::vector<std::string>{"br-b", "br-d"}));
  EXPECT_EQ(page->total_count(), 2);
  EXPECT_FALSE(page->has_more());

  req.set_offset(7);
  page = view.list(req);
  EXPECT_TRUE(ids(*page).empty());
  EXPECT_EQ(page->total_count(), 2);
  EXPECT_FALSE(page->has_more());
}

TEST(BuildSummaryViewTest, ListRejectsBadLimitAndOffset) {
  auto view = fold_stream<BuildSummaryView>(five_builds());
  for (auto [limit, offset] :
       std::vector<std::pair<int, int>>{{-1, 0}, {1001, 0}, {0, -1}, {-100, -100}}) {
    BuildsListRequest req;
    req.set_limit(limit);
    req.set_offset(offset);
    auto bad = view.list(req);
    ASSERT_FALSE(bad.ok()) << limit << " " << offset;
    EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
  }
  BuildsListRequest max;
  max.set_limit(1000);
  EXPECT_TRUE(view.list(max).ok());
}

TEST(BuildSummaryViewTest, RestoreAnswersLikeTheOriginal) {
  StreamBuilder s = five_builds();
  s.job("br-a", "jr-1", "//jobs:a", v1::JOB_SCHEDULED)
      .delegate("br-a", "data/x", "br-c")
      .partition("br-a", "data/y", v1::PARTITION_REQUESTED);
  auto view = fold_stream<BuildSummaryView>(s);
  auto restored = BuildSummaryView::restore(view.serialize());
  ASSERT_TRUE(restored.ok()) << restored.error().to_string();
  EXPECT_EQ(restored->as_of_idx(), view.as_of_idx());
  for (const char* id : {"br-a", "br-b", "br-c", "br-d", "br-e"}) {
    EXPECT_TRUE(MessageDifferencer::Equals(*view.summary(id), *restored->summary(id))) << id;
  }
  // The per-run statuses survive: cancelling jr-1 moves it, in both.
  s.cancel_job("br-a", "jr-1", "stop");
  view.apply(s.last());
  restored->apply(s.last());
  EXPECT_EQ(job_counts(*restored->summary("br-a")),
            (std::map<std::string, int64_t>{{"JOB_CANCELLED", 1}}));
  EXPECT_TRUE(MessageDifferencer::Equals(*view.list(BuildsListRequest()),
                                         *restored->list(BuildsListRequest())));
}

}  // namespace
}  // namespace bel::projections

namespace bel::projections {
namespace {

TEST(BuildSummaryFailuresTest, FailedAndCancelledRunsNewestFirstWithTheirPartitions) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {}, "received")
      .job("br-1", "jr-ok", "//jobs:a", v1::JOB_SCHEDULED, {"data/ok"})
      .job("br-1", "jr-ok", "//jobs:a", v1::JOB_COMPLETED)
      .job("br-1", "jr-bad", "//jobs:b", v1::JOB_SCHEDULED, {"data/b1", "data/b2"})
      .job("br-1", "jr-bad", "//jobs:b", v1::JOB_RUNNING)
      .job("br-1", "jr-bad", "//jobs:b", v1::JOB_FAILED, {}, "exit 1: null order_id")
      .job("br-1", "jr-gone", "//jobs:c", v1::JOB_SCHEDULED, {"data/c"})
      .cancel_job("br-1", "jr-gone", "not needed")
      .job("br-1", "jr-z", "//jobs:d", v1::JOB_RUNNING, {"data/z"})
      .job("br-1", "jr-y", "//jobs:d", v1::JOB_SCHEDULED, {"data/y"})
      .cancel_build("br-1", "wrong dates");
  auto summary = fold_stream<BuildSummaryView>(s).summary("br-1");
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->message(), "wrong dates");
  std::vector<std::string> ids;
  for (const auto& f : summary->failures()) ids.push_back(f.job_run_id());
  // The build's end cancelled jr-y and jr-z at one event: ties by job_run_id.
  EXPECT_EQ(ids, (std::vector<std::string>{"jr-y", "jr-z", "jr-gone", "jr-bad"}));
  const BuildFailure& bad = summary->failures(3);
  EXPECT_EQ(bad.job_label(), "//jobs:b");
  EXPECT_EQ(bad.status_name(), "JOB_FAILED");
  EXPECT_EQ(bad.message(), "exit 1: null order_id");
  EXPECT_EQ(std::vector<std::string>(bad.partition_refs().begin(), bad.partition_refs().end()),
            (std::vector<std::string>{"data/b1", "data/b2"}));
  EXPECT_EQ(summary->failures(2).message(), "not needed");
  EXPECT_EQ(summary->failures(2).status_name(), "JOB_CANCELLED");
  EXPECT_NE(summary->failures(0).message().find("br-1"), std::string::npos);
  EXPECT_EQ(summary->failures(0).partition_refs(0), "data/y");

  testing::ReferenceFold oracle(s.events());
  EXPECT_TRUE(MessageDifferencer::Equals(*summary, *oracle.build_summary("br-1")))
      << summary->ShortDebugString() << "\n"
      << oracle.build_summary("br-1")->ShortDebugString();
  auto restored = BuildSummaryView::restore(fold_stream<BuildSummaryView>(s).serialize());
  ASSERT_TRUE(restored.ok());
  EXPECT_TRUE(MessageDifferencer::Equals(*restored->summary("br-1"), *summary));
}

TEST(BuildSummaryFailuresTest, AtMostTwentyNewestFailures) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED);
  for (int i = 0; i < 25; ++i) {
    const std::string id = "jr-" + std::to_string(100 + i);
    s.job("br-1", id, "//jobs:a", v1::JOB_SCHEDULED).job("br-1", id, "//jobs:a", v1::JOB_FAILED);
  }
  auto summary = fold_stream<BuildSummaryView>(s).summary("br-1");
  ASSERT_TRUE(summary.ok());
  ASSERT_EQ(summary->failures_size(), BuildSummaryState::kMaxFailures);
  EXPECT_EQ(summary->failures(0).job_run_id(), "jr-124");
  EXPECT_EQ(summary->failures(19).job_run_id(), "jr-105");
  EXPECT_EQ(summary->job_runs_by_status().at("JOB_FAILED"), 25);
}

}  // namespace
}  // namespace bel::projections

namespace bel::projections {
namespace {

// Folds every prefix of `events` and checks the summary of each of `ids` against the reference
// fold, straight and through a snapshot; the restored view then folds the rest of the events.
void expect_every_prefix_like_the_reference(const std::vector<BuildEvent>& events,
                                            const std::vector<std::string>& ids) {
  for (size_t n = 1; n <= events.size(); ++n) {
    const std::vector<BuildEvent> prefix(events.begin(), events.begin() + n);
    testing::ReferenceFold oracle(prefix);
    BuildSummaryView view;
    for (const auto& e : prefix) view.apply(e);
    auto restored = BuildSummaryView::restore(view.serialize());
    ASSERT_TRUE(restored.ok()) << restored.error().to_string();
    EXPECT_EQ(restored->serialize(), view.serialize()) << "after " << n << " events";
    for (const auto& id : ids) {
      auto want = oracle.build_summary(id);
      auto got = view.summary(id);
      ASSERT_EQ(got.ok(), want.ok()) << id << " after " << n << " events";
      if (!want.ok()) continue;
      EXPECT_TRUE(MessageDifferencer::Equals(*got, *want)) << id << " after " << n << " events\n"
                                                           << got->ShortDebugString() << "\n"
                                                           << want->ShortDebugString();
      EXPECT_TRUE(MessageDifferencer::Equals(*restored->summary(id), *want)) << id;
    }
    for (size_t i = n; i < events.size(); ++i) restored->apply(events[i]);
    BuildSummaryView whole;
    for (const auto& e : events) whole.apply(e);
    EXPECT_EQ(restored->serialize(), whole.serialize()) << "restored after " << n << " events";
  }
}

// Past BuildSummaryState::kIndexedFrom partitions or job runs a build looks them up in an index;
// the answers stay those of the reference, before and after a snapshot.
TEST(BuildSummaryCompactTest, ABuildWithManyPartitionsAndJobRunsAnswersLikeTheReference) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/p0", "data/p1"});
  const int n = static_cast<int>(BuildSummaryState::kIndexedFrom) + 8;
  for (int i = 0; i < n; ++i) {
    const std::string ref = "data/p" + std::to_string(i);
    const std::string run = "jr-" + std::to_string(i);
    s.partition("br-1", ref, v1::PARTITION_REQUESTED)
        .job("br-1", run, "//jobs:" + std::to_string(i % 3), v1::JOB_SCHEDULED, {ref}, "queued");
  }
  // Every one again, after the index was made: statuses, delegations, failures, cancels.
  for (int i = n; i-- > 0;) {
    const std::string ref = "data/p" + std::to_string(i);
    const std::string run = "jr-" + std::to_string(i);
    if (i % 4 == 0) {
      s.delegate("br-1", ref, "br-other");
      s.cancel_job("br-1", run, i % 8 == 0 ? "" : "not needed");
    } else {
      s.partition("br-1", ref, v1::PARTITION_BUILDING)
          .job("br-1", run, "//jobs:x", v1::JOB_RUNNING, {}, "started " + std::to_string(i))
          .job("br-1", run, "//jobs:x", i % 3 == 0 ? v1::JOB_FAILED : v1::JOB_COMPLETED, {},
               i % 5 == 0 ? "" : "ended " + std::to_string(i));
    }
  }
  s.cancel_job("br-1", "jr-unknown", "never ran").build("br-1", v1::BUILD_REQUEST_FAILED);
  expect_every_prefix_like_the_reference(s.events(), {"br-1", "br-other"});
}

// A run's message goes through every change of form: queued and running messages, a cancel or an
// end without a message of its own, a retry after an end, and the build's end while in flight.
TEST(BuildSummaryCompactTest, MessagesOfJobRunsSurviveEveryStatusChange) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .job("br-1", "jr-a", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"}, "queued on pool small")
      .job("br-1", "jr-b", "//jobs:b", v1::JOB_SCHEDULED, {"data/b"}, "queued on pool small")
      .job("br-1", "jr-a", "//jobs:a", v1::JOB_RUNNING, {}, "started on worker-1")
      .job("br-1", "jr-c", "//jobs:c", v1::JOB_RUNNING, {"data/c"}, "started on worker-3")
      .job("br-1", "jr-b", "//jobs:b", v1::JOB_RUNNING)  // no message: keeps "queued ..."
      .cancel_job("br-1", "jr-a", "")                    // keeps "started on worker-1"
      .job("br-1", "jr-b", "//jobs:b", v1::JOB_FAILED, {}, "exit 1")
      .job("br-1", "jr-b", "//jobs:b", v1::JOB_RUNNING)  // a retry: keeps "exit 1"
      .job("br-1", "jr-b", "//jobs:b", v1::JOB_RUNNING, {}, "started again")
      .job("br-1", "jr-d", "//jobs:d", v1::JOB_SCHEDULED, {"data/d"})
      .job("br-1", "jr-b", "//jobs:b", v1::JOB_FAILED)  // keeps "started again"
      .job("br-1", "jr-e", "//jobs:e", static_cast<JobStatus>(99), {}, "a status unknown")
      .cancel_build("br-1", "wrong dates");  // ends jr-c and jr-d with the build's text
  expect_every_prefix_like_the_reference(s.events(), {"br-1"});
  auto summary = fold_stream<BuildSummaryView>(s).summary("br-1");
  ASSERT_TRUE(summary.ok());
  std::map<std::string, std::string> messages;
  for (const auto& f : summary->failures()) messages[f.job_run_id()] = f.message();
  EXPECT_EQ(messages["jr-a"], "started on worker-1");
  EXPECT_EQ(messages["jr-b"], "started again");
  EXPECT_NE(messages["jr-c"].find("br-1"), std::string::npos);
}

// ActivityView's recent builds keep their strings apart and rebuild them as builds pass through
// (RecentBuildSummaries): thousands of builds, each with strings of its own, some still in flight
// when pushed out, answer like the reference all along, and through a snapshot.
TEST(BuildSummaryCompactTest, RecentBuildsAnswerLikeTheReferenceAsThousandsPassThrough) {
  StreamBuilder s;
  auto id = [](int i) { return "br-" + std::to_string(i); };
  auto run = [](int i) { return "jr-" + std::to_string(i); };
  auto ref = [](int i) { return "data/" + std::to_string(i); };
  auto label = [](int i) { return "//jobs:" + std::to_string(i % 37); };
  const int builds = 2000;
  for (int i = 0; i < builds; ++i) {
    s.build(id(i), v1::BUILD_REQUEST_RECEIVED, {ref(i)}, "received " + std::to_string(i))
        .job(id(i), run(i), label(i), v1::JOB_SCHEDULED, {ref(i)}, "queued");
    if (i >= 1) {
      s.job(id(i - 1), run(i - 1), label(i - 1), v1::JOB_RUNNING, {}, "started " + run(i - 1));
    }
    const int j = i - 2;  // ends now, fails, or stays in flight (until its build ends)
    if (j >= 0 && j % 5 != 0) {
      s.job(id(j), run(j), label(j), j % 3 == 0 ? v1::JOB_FAILED : v1::JOB_COMPLETED, {},
            "ended " + ref(j))
          .partition(id(j), ref(j), v1::PARTITION_AVAILABLE);
    }
    if (j >= 0 && j % 7 == 0) s.build(id(j), v1::BUILD_REQUEST_FAILED);
  }
  const std::vector<BuildEvent>& events = s.events();
  ActivityView view;
  BuildSummaryView summaries;  // the same fold, one build at a time, checked against the reference
  for (size_t n = 1; n <= events.size(); ++n) {
    view.apply(events[n - 1]);
    summaries.apply(events[n - 1]);
    const ActivityResponse got = view.activity();
    ASSERT_EQ(got.recent_builds_size(), std::min<int>(kRecentCount, summaries.total()));
    for (const auto& recent : got.recent_builds()) {
      auto want = summaries.summary(recent.build_request_id());
      ASSERT_TRUE(want.ok());
      ASSERT_TRUE(MessageDifferencer::Equals(recent, *want)) << "after " << n << " events\n"
                                                             << recent.ShortDebugString() << "\n"
                                                             << want->ShortDebugString();
    }
    if (n % 1500 != 0 && n != events.size()) continue;
    const std::vector<BuildEvent> prefix(events.begin(), events.begin() + n);
    const ActivityResponse want = testing::ReferenceFold(prefix).activity();
    ASSERT_EQ(got.recent_builds_size(), want.recent_builds_size());
    for (int i = 0; i < want.recent_builds_size(); ++i) {
      EXPECT_TRUE(MessageDifferencer::Equals(got.recent_builds(i), want.recent_builds(i)))
          << "after " << n << " events";
    }
    auto restored = ActivityView::restore(view.serialize());
    ASSERT_TRUE(restored.ok()) << restored.error().to_string();
    EXPECT_TRUE(MessageDifferencer::Equals(restored->activity(), got));
    EXPECT_EQ(restored->serialize(), view.serialize());
  }
}

}  // namespace
}  // namespace bel::projections
