#include "projections/job_runs_view.h"

#include <map>
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

std::vector<std::string> ids(const JobRunsListResponse& r) {
  std::vector<std::string> out;
  for (const auto& j : r.job_runs()) out.push_back(j.job_run_id());
  return out;
}

std::map<std::string, int64_t> counts(const JobMetrics& m) {
  return {m.runs_by_status().begin(), m.runs_by_status().end()};
}

TEST(JobRunsViewTest, SummaryFollowsTheRunsEvents) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED)
      .at(100).job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED, {}, "queued")
      .at(200).job("br-1", "jr-1", "//jobs:a", v1::JOB_RUNNING, {"data/a", "data/b"}, "on w-1")
      .at(300).job("br-1", "jr-1", "//jobs:a", v1::JOB_COMPLETED, {"data/c"}, "");
  auto view = fold_stream<JobRunsView>(s);
  auto run = view.job_run("jr-1");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->job_run_id(), "jr-1");
  EXPECT_EQ(run->job_label(), "//jobs:a");
  EXPECT_EQ(run->build_request_id(), "br-1");
  EXPECT_EQ(std::vector<std::string>(run->target_partitions().begin(),
                                     run->target_partitions().end()),
            (std::vector<std::string>{"data/a", "data/b"}));
  EXPECT_EQ(run->status_code(), v1::JOB_COMPLETED);
  EXPECT_EQ(run->status_name(), "JOB_COMPLETED");
  EXPECT_EQ(run->scheduled_at(), 100);
  EXPECT_EQ(run->started_at(), 200);
  EXPECT_EQ(run->ended_at(), 300);
  EXPECT_EQ(run->message(), "on w-1");  // the latest non-empty
  EXPECT_EQ(run->as_of_idx(), 4);
}

TEST(JobRunsViewTest, ARunningRunHasNoEnd) {
  StreamBuilder s;
  s.job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED).job("br-1", "jr-1", "//jobs:a",
                                                           v1::JOB_RUNNING);
  auto run = fold_stream<JobRunsView>(s).job_run("jr-1");
  EXPECT_EQ(run->status_code(), v1::JOB_RUNNING);
  EXPECT_EQ(run->ended_at(), 0);
}

TEST(JobRunsViewTest, CancelMovesTheRunToCancelledWithItsReason) {
  StreamBuilder s;
  s.job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED, {}, "queued")
      .at(4242).cancel_job("br-1", "jr-1", "operator stop");
  auto run = fold_stream<JobRunsView>(s).job_run("jr-1");
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status_code(), v1::JOB_CANCELLED);
  EXPECT_EQ(run->status_name(), "JOB_CANCELLED");
  EXPECT_EQ(run->message(), "operator stop");
  EXPECT_EQ(run->ended_at(), 4242);
  EXPECT_EQ(run->started_at(), 0);

  StreamBuilder quiet;
  quiet.job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED, {}, "queued")
      .cancel_job("br-1", "jr-1", "");
  EXPECT_EQ(fold_stream<JobRunsView>(quiet).job_run("jr-1")->message(), "queued");
}

TEST(JobRunsViewTest, ASkippedRunEndsAtItsOnlyEvent) {
  StreamBuilder s;
  s.at(777).job("br-1", "jr-1", "//jobs:a", v1::JOB_SKIPPED, {"data/a"}, "already built");
  auto run = fold_stream<JobRunsView>(s).job_run("jr-1");
  EXPECT_EQ(run->status_code(), v1::JOB_SKIPPED);
  EXPECT_EQ(run->ended_at(), 777);
  EXPECT_EQ(run->scheduled_at(), 0);
}

TEST(JobRunsViewTest, EndedAtIsWhenTheRunBecameTerminal) {
  // Lenient logs only: terminal -> terminal keeps the first end; a non-terminal status clears it.
  StreamBuilder s;
  s.at(10).job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED)
      .at(20).job("br-1", "jr-1", "//jobs:a", v1::JOB_COMPLETED)
      .at(30).job("br-1", "jr-1", "//jobs:a", v1::JOB_FAILED);
  auto view = fold_stream<JobRunsView>(s);
  EXPECT_EQ(view.job_run("jr-1")->ended_at(), 20);
  EXPECT_EQ(view.job_run("jr-1")->status_code(), v1::JOB_FAILED);
  s.at(40).job("br-1", "jr-1", "//jobs:a", v1::JOB_RUNNING);
  view.apply(s.last());
  EXPECT_EQ(view.job_run("jr-1")->ended_at(), 0);
  EXPECT_EQ(view.job_run("jr-1")->started_at(), 40);
  s.at(50).cancel_job("br-1", "jr-1", "");
  view.apply(s.last());
  EXPECT_EQ(view.job_run("jr-1")->ended_at(), 50);
}

TEST(JobRunsViewTest, UnknownRunIsNotFoundAndItsCancelIsIgnored) {
  StreamBuilder s;
  s.cancel_job("br-1", "jr-ghost", "before any job event");
  auto view = fold_stream<JobRunsView>(s);
  auto run = view.job_run("jr-ghost");
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error().code, ErrorCode::not_found);
  EXPECT_NE(run.error().message.find("jr-ghost"), std::string::npos);
  EXPECT_EQ(view.as_of_idx(), 1);
  // The run starts with its first JobEvent; the earlier cancel does not count.
  s.job("br-1", "jr-ghost", "//jobs:a", v1::JOB_SCHEDULED);
  view.apply(s.last());
  EXPECT_EQ(view.job_run("jr-ghost")->status_code(), v1::JOB_SCHEDULED);
  EXPECT_EQ(view.job_run("jr-ghost")->message(), "");
}

TEST(JobRunsViewTest, ARunKeepsTheLabelAndBuildRequestOfItsFirstEvent) {
  StreamBuilder s;
  s.job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED)
      .job("br-2", "jr-1", "//jobs:b", v1::JOB_RUNNING);  // lenient log
  auto view = fold_stream<JobRunsView>(s);
  EXPECT_EQ(view.job_run("jr-1")->job_label(), "//jobs:a");
  EXPECT_EQ(view.job_run("jr-1")->build_request_id(), "br-1");
  EXPECT_FALSE(view.metrics("//jobs:b").ok());
  EXPECT_EQ(view.metrics("//jobs:a")->runs_by_status().at("JOB_RUNNING"), 1);
}

StreamBuilder metrics_stream() {
  StreamBuilder s;
  // jr-1: COMPLETED after RUNNING for 100 ns; jr-2: 201 ns; jr-3 COMPLETED without RUNNING;
  // jr-4 FAILED; jr-5 CANCELLED; jr-6 still RUNNING; jr-7 another label.
  s.at(1000).job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED)
      .at(1100).job("br-1", "jr-1", "//jobs:a", v1::JOB_RUNNING)
      .at(1200).job("br-1", "jr-1", "//jobs:a", v1::JOB_COMPLETED)
      .at(2000).job("br-1", "jr-2", "//jobs:a", v1::JOB_SCHEDULED)
      .at(2010).job("br-1", "jr-2", "//jobs:a", v1::JOB_RUNNING)
      .at(2211).job("br-1", "jr-2", "//jobs:a", v1::JOB_COMPLETED)
      .at(3000).job("br-1", "jr-3", "//jobs:a", v1::JOB_SCHEDULED)
      .at(3999).job("br-1", "jr-3", "//jobs:a", v1::JOB_COMPLETED)
      .at(4000).job("br-1", "jr-4", "//jobs:a", v1::JOB_SCHEDULED)
      .at(4001).job("br-1", "jr-4", "//jobs:a", v1::JOB_RUNNING)
      .at(4002).job("br-1", "jr-4", "//jobs:a", v1::JOB_FAILED)
      .at(5000).job("br-1", "jr-7", "//jobs:0-first", v1::JOB_SKIPPED)
      .at(5001).job("br-1", "jr-5", "//jobs:a", v1::JOB_SCHEDULED)
      .at(5002).cancel_job("br-1", "jr-5", "stop")
      .at(6000).job("br-1", "jr-6", "//jobs:a", v1::JOB_SCHEDULED)
      .at(6001).job("br-1", "jr-6", "//jobs:a", v1::JOB_RUNNING)
      .at(6002).job("br-1", "jr-1", "//jobs:a", v1::JOB_COMPLETED);  // lenient repeat, no change
  return s;
}

TEST(JobRunsViewTest, MetricsCountRatesAndMeanDuration) {
  auto view = fold_stream<JobRunsView>(metrics_stream());
  auto m = view.metrics("//jobs:a");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->job_label(), "//jobs:a");
  EXPECT_EQ(m->total_runs(), 6);
  EXPECT_EQ(counts(*m), (std::map<std::string, int64_t>{{"JOB_COMPLETED", 3},
                                                         {"JOB_FAILED", 1},
                                                         {"JOB_CANCELLED", 1},
                                                         {"JOB_RUNNING", 1}}));
  EXPECT_DOUBLE_EQ(m->success_rate(), 3.0 / 4.0);
  // (100 + 201) / 2 = 150.5, truncated; jr-3 had no RUNNING event and does not count.
  EXPECT_EQ(m->avg_duration_ns(), 150);
  EXPECT_EQ(m->last_run().job_run_id(), "jr-6");  // highest first idx
  EXPECT_EQ(m->last_run().status_code(), v1::JOB_RUNNING);
  EXPECT_EQ(m->as_of_idx(), 17);
}

TEST(JobRunsViewTest, MetricsAreZeroWithoutCompletedOrFailedRuns) {
  auto m = fold_stream<JobRunsView>(metrics_stream()).metrics("//jobs:0-first");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->total_runs(), 1);
  EXPECT_EQ(m->success_rate(), 0.0);
  EXPECT_EQ(m->avg_duration_ns(), 0);
  EXPECT_EQ(counts(*m), (std::map<std::string, int64_t>{{"JOB_SKIPPED", 1}}));
  // That 0 is no measured rate: the console and the dashboard show "-" for it.
  EXPECT_FALSE(has_success_rate(*m));
  auto measured = fold_stream<JobRunsView>(metrics_stream()).metrics("//jobs:a");
  ASSERT_TRUE(measured.ok());
  EXPECT_TRUE(has_success_rate(*measured));
  JobMetrics failed_only;
  (*failed_only.mutable_runs_by_status())["JOB_FAILED"] = 2;
  EXPECT_TRUE(has_success_rate(failed_only));  // a measured 0%
  (*failed_only.mutable_runs_by_status())["JOB_FAILED"] = 0;
  EXPECT_FALSE(has_success_rate(failed_only));
}

TEST(JobRunsViewTest, UnknownLabelIsNotFoundAndAllMetricsAreByLabel) {
  auto view = fold_stream<JobRunsView>(metrics_stream());
  auto missing = view.metrics("//jobs:none");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_NE(missing.error().message.find("//jobs:none"), std::string::npos);
  auto all = view.all_metrics();
  ASSERT_EQ(all.jobs_size(), 2);
  EXPECT_EQ(all.jobs(0).job_label(), "//jobs:0-first");
  EXPECT_EQ(all.jobs(1).job_label(), "//jobs:a");
  EXPECT_TRUE(MessageDifferencer::Equals(all.jobs(1), *view.metrics("//jobs:a")));
  EXPECT_EQ(all.as_of_idx(), 17);
}

TEST(JobRunsViewTest, ListIsNewestFirstWithLabelStatusAndPaging) {
  auto view = fold_stream<JobRunsView>(metrics_stream());
  JobRunsListRequest req;
  auto all = view.list(req);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(ids(*all),
            (std::vector<std::string>{"jr-6", "jr-5", "jr-7", "jr-4", "jr-3", "jr-2", "jr-1"}));
  EXPECT_EQ(all->total_count(), 7);
  EXPECT_FALSE(all->has_more());

  req.set_job_label("//jobs:a");
  req.add_status_filter(v1::JOB_COMPLETED);
  req.set_limit(2);
  auto page = view.list(req);
  EXPECT_EQ(ids(*page), (std::vector<std::string>{"jr-3", "jr-2"}));
  EXPECT_EQ(page->total_count(), 3);
  EXPECT_TRUE(page->has_more());
  req.set_offset(2);
  page = view.list(req);
  EXPECT_EQ(ids(*page), (std::vector<std::string>{"jr-1"}));
  EXPECT_FALSE(page->has_more());
  req.set_offset(3);
  page = view.list(req);
  EXPECT_TRUE(ids(*page).empty());
  EXPECT_EQ(page->total_count(), 3);

  req.set_job_label("//jobs:none");
  req.set_offset(0);
  page = view.list(req);
  EXPECT_TRUE(ids(*page).empty());
  EXPECT_EQ(page->total_count(), 0);

  for (auto [limit, offset] : std::vector<std::pair<int, int>>{{-1, 0}, {1001, 0}, {0, -5}}) {
    JobRunsListRequest bad_req;
    bad_req.set_limit(limit);
    bad_req.set_offset(offset);
    auto bad = view.list(bad_req);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
  }
}

TEST(JobRunsViewTest, RestoreAnswersLikeTheOriginal) {
  StreamBuilder s = metrics_stream();
  auto view = fold_stream<JobRunsView>(s);
  auto restored = JobRunsView::restore(view.serialize());
  ASSERT_TRUE(restored.ok()) << restored.error().to_string();
  EXPECT_EQ(restored->as_of_idx(), 17);
  EXPECT_TRUE(MessageDifferencer::Equals(view.all_metrics(), restored->all_metrics()));
  // Continue both: the first-RUNNING flags and the duration sums survived.
  s.at(7000).job("br-1", "jr-6", "//jobs:a", v1::JOB_COMPLETED);
  view.apply(s.last());
  restored->apply(s.last());
  EXPECT_EQ(restored->metrics("//jobs:a")->avg_duration_ns(), (100 + 201 + 999) / 3);
  EXPECT_TRUE(MessageDifferencer::Equals(view.all_metrics(), restored->all_metrics()));
  EXPECT_TRUE(
      MessageDifferencer::Equals(*view.list(JobRunsListRequest()), *restored->list({})));
}

std::vector<std::string> targets(const JobRunSummary& run) {
  return {run.target_partitions().begin(), run.target_partitions().end()};
}

// The compact state keeps one target in the run and more in a shared list, strings once for
// every use (a run id that is also a build id, a label and a ref), and counts a status outside
// the enum apart: each answers as the events say, before and after a snapshot.
TEST(JobRunsViewTest, TargetsSharedStringsAndOddStatusesSurviveRestore) {
  StreamBuilder s;
  s.job("br-1", "jr-0", "//jobs:a", v1::JOB_SCHEDULED)
      .job("br-1", "jr-1", "//jobs:a", v1::JOB_RUNNING, {"data/a", "data/b", "x"}, "on w-1")
      .job("br-1", "jr-0", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"})
      .job("br-1", "jr-0", "//jobs:a", v1::JOB_SCHEDULED, {"data/b", "data/c"})  // kept first
      .job("x", "x", "x", v1::JOB_RUNNING, {"x"})
      .job("br-2", "jr-3", "//jobs:a", static_cast<JobStatus>(42), {}, "odd")
      .cancel_build("br-1", "stop");
  auto view = fold_stream<JobRunsView>(s);
  auto check = [](const JobRunsView& v) {
    EXPECT_EQ(targets(*v.job_run("jr-0")), (std::vector<std::string>{"data/a"}));
    EXPECT_EQ(targets(*v.job_run("jr-1")), (std::vector<std::string>{"data/a", "data/b", "x"}));
    EXPECT_EQ(targets(*v.job_run("x")), (std::vector<std::string>{"x"}));
    EXPECT_TRUE(targets(*v.job_run("jr-3")).empty());
    EXPECT_EQ(v.job_run("x")->job_label(), "x");
    EXPECT_EQ(v.job_run("x")->build_request_id(), "x");
    EXPECT_EQ(v.job_run("x")->status_code(), v1::JOB_RUNNING);  // another build's end
    for (const char* id : {"jr-0", "jr-1"}) {
      EXPECT_EQ(v.job_run(id)->status_code(), v1::JOB_CANCELLED) << id;
      EXPECT_EQ(v.job_run(id)->message(), "build br-1 was cancelled before the job run ended");
    }
    EXPECT_EQ(v.job_run("jr-3")->message(), "odd");
    JobRunsListRequest by_build;
    by_build.set_build_request_id("br-1");
    EXPECT_EQ(ids(*v.list(by_build)), (std::vector<std::string>{"jr-1", "jr-0"}));
    by_build.set_job_label("x");
    EXPECT_TRUE(ids(*v.list(by_build)).empty());
    by_build.set_build_request_id("x");
    EXPECT_EQ(ids(*v.list(by_build)), (std::vector<std::string>{"x"}));
    JobRunsListRequest odd;
    odd.add_status_filter(static_cast<JobStatus>(42));
    auto odd_runs = v.list(odd);
    EXPECT_EQ(ids(*odd_runs), (std::vector<std::string>{"jr-3"}));
    EXPECT_EQ(odd_runs->total_count(), 1);
    auto a = v.metrics("//jobs:a");
    EXPECT_EQ(a->total_runs(), 3);
    EXPECT_EQ(a->runs_by_status().size(), 2u);  // JOB_CANCELLED and the odd status
    EXPECT_EQ(a->runs_by_status().at("JOB_CANCELLED"), 2);
    EXPECT_FALSE(v.metrics("br-1").ok());
  };
  check(view);
  auto restored = JobRunsView::restore(view.serialize());
  ASSERT_TRUE(restored.ok()) << restored.error().to_string();
  check(*restored);
  EXPECT_EQ(restored->serialize(), view.serialize());
  EXPECT_TRUE(MessageDifferencer::Equals(view.all_metrics(), restored->all_metrics()));
}

}  // namespace
}  // namespace bel::projections
