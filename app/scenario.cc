#include "app/scenario.h"

#include "messages/status_names.h"

namespace bel::app {
namespace {

class Builder {
 public:
  explicit Builder(std::string run) : run_(std::move(run)) {}

  std::string br(int n) const { return "br-" + run_ + "-" + std::to_string(n); }
  std::string jr(int n) const { return "jr-" + run_ + "-" + std::to_string(n); }

  BuildEvent base(const std::string& build) {
    BuildEvent e;
    e.set_build_request_id(build);
    return e;
  }
  BuildEvent request(const std::string& build, BuildRequestStatus s,
                     std::vector<std::string> parts = {}, std::string message = {}) {
    BuildEvent e = base(build);
    auto* r = e.mutable_build_request_event();
    r->set_status_code(s);
    for (auto& p : parts) r->add_requested_partitions()->set_str(p);
    r->set_message(std::move(message));
    return e;
  }
  BuildEvent partition(const std::string& build, const std::string& ref, PartitionStatus s,
                       const std::string& job_run = {}, std::string message = {}) {
    BuildEvent e = base(build);
    auto* p = e.mutable_partition_event();
    p->mutable_partition_ref()->set_str(ref);
    p->set_status_code(s);
    p->set_job_run_id(job_run);
    p->set_message(std::move(message));
    return e;
  }
  BuildEvent job(const std::string& build, const std::string& run, const std::string& label,
                 std::vector<std::string> targets, JobStatus s, std::string message = {}) {
    BuildEvent e = base(build);
    auto* j = e.mutable_job_event();
    j->set_job_run_id(run);
    j->mutable_job_label()->set_label(label);
    for (auto& t : targets) j->add_target_partitions()->set_str(t);
    j->set_status_code(s);
    j->set_message(std::move(message));
    return e;
  }
  BuildEvent graph(const std::string& build, const std::string& label,
                   std::vector<std::string> outputs) {
    BuildEvent e = base(build);
    auto* g = e.mutable_job_graph_event()->mutable_job_graph();
    g->set_label(label);
    for (auto& o : outputs) g->add_outputs()->set_str(o);
    return e;
  }
  BuildEvent delegation(const std::string& build, const std::string& ref, const std::string& to,
                        std::string message) {
    BuildEvent e = base(build);
    auto* d = e.mutable_delegation_event();
    d->mutable_partition_ref()->set_str(ref);
    d->set_delegated_to_build_request_id(to);
    d->set_message(std::move(message));
    return e;
  }

 private:
  std::string run_;
};

}  // namespace

std::vector<std::vector<BuildEvent>> demo_scenario(const std::string& run_id) {
  using namespace v1;
  Builder b(run_id);
  const std::string sales21 = "sales/daily/2026-11-21", sales22 = "sales/daily/2026-11-22";
  const std::string report22 = "reports/revenue/2026-11-22";
  const std::string br1 = b.br(1), br2 = b.br(2), br3 = b.br(3), br4 = b.br(4);
  std::vector<std::vector<BuildEvent>> steps;

  // 1. A build of two sales partitions that succeeds.
  steps.push_back({b.request(br1, BUILD_REQUEST_RECEIVED, {sales21, sales22}),
                   b.request(br1, BUILD_REQUEST_PLANNING),
                   b.graph(br1, "//sales:daily", {sales21, sales22}),
                   b.request(br1, BUILD_REQUEST_ANALYSIS_COMPLETED),
                   b.partition(br1, sales21, PARTITION_REQUESTED),
                   b.partition(br1, sales22, PARTITION_REQUESTED)});
  steps.push_back({b.job(br1, b.jr(1), "//sales:daily", {sales21, sales22}, JOB_SCHEDULED),
                   b.partition(br1, sales21, PARTITION_SCHEDULED, b.jr(1)),
                   b.partition(br1, sales22, PARTITION_SCHEDULED, b.jr(1)),
                   b.request(br1, BUILD_REQUEST_EXECUTING)});
  steps.push_back({b.job(br1, b.jr(1), "//sales:daily", {sales21, sales22}, JOB_RUNNING),
                   b.partition(br1, sales21, PARTITION_BUILDING, b.jr(1)),
                   b.partition(br1, sales22, PARTITION_BUILDING, b.jr(1))});
  steps.push_back({b.job(br1, b.jr(1), "//sales:daily", {sales21, sales22}, JOB_COMPLETED),
                   b.partition(br1, sales21, PARTITION_AVAILABLE, b.jr(1)),
                   b.partition(br1, sales22, PARTITION_AVAILABLE, b.jr(1)),
                   b.request(br1, BUILD_REQUEST_COMPLETED)});

  // 2. A report build: its sales input was already built (historical delegation, skipped job);
  //    the report job fails.
  steps.push_back({b.request(br2, BUILD_REQUEST_RECEIVED, {report22}),
                   b.request(br2, BUILD_REQUEST_PLANNING),
                   b.graph(br2, "//reports:revenue", {report22}),
                   b.partition(br2, sales22, PARTITION_REQUESTED),
                   b.delegation(br2, sales22, br1, "already built by " + br1),
                   b.job(br2, b.jr(2), "//sales:daily", {sales22}, JOB_SKIPPED,
                         "output available from " + br1),
                   b.request(br2, BUILD_REQUEST_ANALYSIS_COMPLETED),
                   b.partition(br2, report22, PARTITION_REQUESTED)});
  steps.push_back({b.request(br2, BUILD_REQUEST_EXECUTING),
                   b.job(br2, b.jr(3), "//reports:revenue", {report22}, JOB_SCHEDULED),
                   b.partition(br2, report22, PARTITION_SCHEDULED, b.jr(3)),
                   b.job(br2, b.jr(3), "//reports:revenue", {report22}, JOB_RUNNING),
                   b.partition(br2, report22, PARTITION_BUILDING, b.jr(3))});
  steps.push_back({b.job(br2, b.jr(3), "//reports:revenue", {report22}, JOB_FAILED,
                         "exit code 1: missing column 'currency'"),
                   b.partition(br2, report22, PARTITION_FAILED, b.jr(3), "job failed"),
                   b.request(br2, BUILD_REQUEST_FAILED, {}, "1 of 1 jobs failed")});

  // 3. A retry of the report that an operator cancels while it runs.
  BuildEvent cancel_run = b.base(br3);
  cancel_run.mutable_job_run_cancel_event()->set_job_run_id(b.jr(4));
  cancel_run.mutable_job_run_cancel_event()->set_reason("superseded by a fixed schema");
  BuildEvent cancel_build = b.base(br3);
  cancel_build.mutable_build_cancel_event()->set_reason("operator cancelled");
  steps.push_back({b.request(br3, BUILD_REQUEST_RECEIVED, {report22}),
                   b.request(br3, BUILD_REQUEST_EXECUTING),
                   b.job(br3, b.jr(4), "//reports:revenue", {report22}, JOB_SCHEDULED),
                   b.job(br3, b.jr(4), "//reports:revenue", {report22}, JOB_RUNNING),
                   b.partition(br3, report22, PARTITION_BUILDING, b.jr(4))});
  steps.push_back({cancel_run, cancel_build});

  // 4. Late data: sales for the 21st is invalidated and rebuilt.
  BuildEvent invalidate = b.base(br4);
  invalidate.mutable_partition_invalidation_event()->mutable_partition_ref()->set_str(sales21);
  invalidate.mutable_partition_invalidation_event()->set_reason("late-arriving orders");
  steps.push_back({b.request(br4, BUILD_REQUEST_RECEIVED, {sales21}), invalidate,
                   b.request(br4, BUILD_REQUEST_EXECUTING),
                   b.job(br4, b.jr(5), "//sales:daily", {sales21}, JOB_SCHEDULED),
                   b.job(br4, b.jr(5), "//sales:daily", {sales21}, JOB_RUNNING),
                   b.partition(br4, sales21, PARTITION_BUILDING, b.jr(5)),
                   b.job(br4, b.jr(5), "//sales:daily", {sales21}, JOB_COMPLETED),
                   b.partition(br4, sales21, PARTITION_AVAILABLE, b.jr(5)),
                   b.request(br4, BUILD_REQUEST_COMPLETED)});
  return steps;
}

}  // namespace bel::app
