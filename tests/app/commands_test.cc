// End-to-end: the real `bel` binary's query and operator commands (SPEC section 6: partitions,
// builds, jobs, job-runs, activity, views, check) on an sqlite log filled by `bel append` with a
// small hand-written DataBuild scenario. Every expected value below is worked out by hand from
// the scenario (SPEC section 4 definitions), never by calling the code under test.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>

#include "messages/json.h"
#include "messages/types.h"
#include "tests/app/bel_binary.h"
#include "tests/support/events.h"
#include "tests/support/run_command.h"

namespace bel {
namespace {

using namespace bel::testing;
using namespace bel::v1;
using google::protobuf::util::MessageDifferencer;

// ---- The scenario ------------------------------------------------------------------------------
//
// Times are seconds after 2026-01-15T10:00:00Z (Unix 1768471200).
//
// idx  t     build      event
//  1   0     br-done    RECEIVED [sales/2026-01-01, sales/2026-01-02]
//  2   60    br-done    EXECUTING
//  3   120   br-done    job jr-sales-1 //jobs:sales SCHEDULED [sales/2026-01-01, sales/2026-01-02]
//  4   180   br-done    job jr-sales-1 RUNNING
//  5   180   br-done    partition sales/2026-01-01 BUILDING (jr-sales-1)
//  6   180   br-done    partition sales/2026-01-02 BUILDING (jr-sales-1)
//  7   450   br-done    job jr-sales-1 COMPLETED                   (ran 4m30s)
//  8   450   br-done    partition sales/2026-01-01 AVAILABLE (jr-sales-1)
//  9   450   br-done    partition sales/2026-01-02 AVAILABLE (jr-sales-1)
// 10   480   br-done    COMPLETED "2 partitions built"
// 11   600   br-fail    RECEIVED [reports/2026-01-01]
// 12   660   br-fail    EXECUTING
// 13   720   br-fail    job jr-reports-1 //jobs:reports SCHEDULED [reports/2026-01-01]
// 14   780   br-fail    job jr-reports-1 RUNNING
// 15   780   br-fail    partition reports/2026-01-01 BUILDING (jr-reports-1)
// 16   900   br-fail    job jr-reports-1 FAILED "exit code 3"
// 17   900   br-fail    partition reports/2026-01-01 FAILED (jr-reports-1) "job jr-reports-1 ..."
// 18   960   br-fail    FAILED "1 of 1 partitions failed"
// 19   1200  br-exec    RECEIVED [sales/2026-01-03]
// 20   1230  br-queued  RECEIVED [sales/2026-01-03]
// 21   1230  br-queued  partition sales/2026-01-03 REQUESTED
// 22   1260  br-exec    EXECUTING
// 23   1320  br-exec    job jr-sales-2 //jobs:sales SCHEDULED [sales/2026-01-03]
// 24   1380  br-exec    job jr-sales-2 RUNNING
// 25   1380  br-exec    partition sales/2026-01-03 BUILDING (jr-sales-2)
// 26   1500  br-deleg   RECEIVED [sales/2026-01-02, sales/2026-01-03]
// 27   1560  br-deleg   EXECUTING
// 28   1620  br-deleg   delegation sales/2026-01-03 -> br-exec      (to the running build)
// 29   1680  br-deleg   job jr-skip-1 //jobs:sales SKIPPED [sales/2026-01-02] "already built..."
// 30   1680  br-deleg   delegation sales/2026-01-02 -> br-done      (historical: built before)
// 31   1680  br-deleg   partition sales/2026-01-02 DELEGATED (jr-skip-1)
// 32   1800  br-exec    invalidation sales/2026-01-01 "late upstream data"
//
// Every job event lists its targets, so a partition's events include its job events.

constexpr int64_t kT0 = 1768471200;  // 2026-01-15T10:00:00Z
constexpr int64_t kLastIdx = 32;

int64_t at(int64_t seconds) { return (kT0 + seconds) * 1000000000LL; }

const std::string kSales1 = "sales/2026-01-01";
const std::string kSales2 = "sales/2026-01-02";
const std::string kSales3 = "sales/2026-01-03";
const std::string kReports1 = "reports/2026-01-01";

std::vector<BuildEvent> dated_scenario() {
  std::vector<BuildEvent> out;
  auto add = [&](BuildEvent e, int64_t seconds) -> BuildEvent& {
    e.set_timestamp(at(seconds));
    out.push_back(std::move(e));
    return out.back();
  };
  // br-done: one job run builds both partitions.
  add(request_event("br-done", BUILD_REQUEST_RECEIVED, {kSales1, kSales2}), 0);
  add(request_event("br-done", BUILD_REQUEST_EXECUTING), 60);
  add(job_event("br-done", "jr-sales-1", "//jobs:sales", JOB_SCHEDULED, {kSales1, kSales2}), 120);
  add(job_event("br-done", "jr-sales-1", "//jobs:sales", JOB_RUNNING, {kSales1, kSales2}), 180);
  add(partition_event("br-done", kSales1, PARTITION_BUILDING, "jr-sales-1"), 180);
  add(partition_event("br-done", kSales2, PARTITION_BUILDING, "jr-sales-1"), 180);
  add(job_event("br-done", "jr-sales-1", "//jobs:sales", JOB_COMPLETED, {kSales1, kSales2}), 450);
  add(partition_event("br-done", kSales1, PARTITION_AVAILABLE, "jr-sales-1"), 450);
  add(partition_event("br-done", kSales2, PARTITION_AVAILABLE, "jr-sales-1"), 450);
  add(request_event("br-done", BUILD_REQUEST_COMPLETED), 480)
      .mutable_build_request_event()
      ->set_message("2 partitions built");
  // br-fail: its job fails, and so do the partition and the request.
  add(request_event("br-fail", BUILD_REQUEST_RECEIVED, {kReports1}), 600);
  add(request_event("br-fail", BUILD_REQUEST_EXECUTING), 660);
  add(job_event("br-fail", "jr-reports-1", "//jobs:reports", JOB_SCHEDULED, {kReports1}), 720);
  add(job_event("br-fail", "jr-reports-1", "//jobs:reports", JOB_RUNNING, {kReports1}), 780);
  add(partition_event("br-fail", kReports1, PARTITION_BUILDING, "jr-reports-1"), 780);
  add(job_event("br-fail", "jr-reports-1", "//jobs:reports", JOB_FAILED, {kReports1}), 900)
      .mutable_job_event()
      ->set_message("exit code 3");
  add(partition_event("br-fail", kReports1, PARTITION_FAILED, "jr-reports-1"), 900)
      .mutable_partition_event()
      ->set_message("job jr-reports-1 failed");
  add(request_event("br-fail", BUILD_REQUEST_FAILED), 960)
      .mutable_build_request_event()
      ->set_message("1 of 1 partitions failed");
  // br-exec builds sales/2026-01-03 now; br-queued asked for it just before and waits.
  add(request_event("br-exec", BUILD_REQUEST_RECEIVED, {kSales3}), 1200);
  add(request_event("br-queued", BUILD_REQUEST_RECEIVED, {kSales3}), 1230);
  add(partition_event("br-queued", kSales3, PARTITION_REQUESTED), 1230);
  add(request_event("br-exec", BUILD_REQUEST_EXECUTING), 1260);
  add(job_event("br-exec", "jr-sales-2", "//jobs:sales", JOB_SCHEDULED, {kSales3}), 1320);
  add(job_event("br-exec", "jr-sales-2", "//jobs:sales", JOB_RUNNING, {kSales3}), 1380);
  add(partition_event("br-exec", kSales3, PARTITION_BUILDING, "jr-sales-2"), 1380);
  // br-deleg delegates one partition to the running build and one to the build that made it.
  add(request_event("br-deleg", BUILD_REQUEST_RECEIVED, {kSales2, kSales3}), 1500);
  add(request_event("br-deleg", BUILD_REQUEST_EXECUTING), 1560);
  add(delegation_event("br-deleg", kSales3, "br-exec"), 1620);
  add(job_event("br-deleg", "jr-skip-1", "//jobs:sales", JOB_SKIPPED, {kSales2}), 1680)
      .mutable_job_event()
      ->set_message("already built by br-done");
  add(delegation_event("br-deleg", kSales2, "br-done"), 1680);
  add(partition_event("br-deleg", kSales2, PARTITION_DELEGATED, "jr-skip-1"), 1680);
  // An operator invalidates sales/2026-01-01 on behalf of the open br-exec.
  add(invalidation_event("br-exec", kSales1, "late upstream data"), 1800);
  return out;
}

// ---- Expected answers, written out by hand -----------------------------------------------------

PartitionStatusResponse partition(const std::string& ref, PartitionStatus code, int64_t idx,
                                  int64_t seconds, const std::string& build,
                                  const std::string& job_run, const std::string& message = "") {
  PartitionStatusResponse p;
  p.set_partition_ref(ref);
  p.set_status_code(code);
  p.set_status_name(PartitionStatus_Name(code));
  p.set_last_updated(at(seconds));
  p.set_last_idx(idx);
  p.set_build_request_id(build);
  p.set_job_run_id(job_run);
  p.set_message(message);
  p.set_as_of_idx(kLastIdx);
  return p;
}

// The four partitions as the scenario leaves them.
PartitionStatusResponse sales1() {
  return partition(kSales1, PARTITION_INVALIDATED, 32, 1800, "br-exec", "", "late upstream data");
}
PartitionStatusResponse sales2() {  // the DELEGATED event of br-deleg (idx 31) does not count
  return partition(kSales2, PARTITION_AVAILABLE, 9, 450, "br-done", "jr-sales-1");
}
PartitionStatusResponse sales3() {  // br-exec's BUILDING (idx 25) is later than REQUESTED (21)
  return partition(kSales3, PARTITION_BUILDING, 25, 1380, "br-exec", "jr-sales-2");
}
PartitionStatusResponse reports1() {
  return partition(kReports1, PARTITION_FAILED, 17, 900, "br-fail", "jr-reports-1",
                   "job jr-reports-1 failed");
}

struct Part {
  std::string ref;
  PartitionStatus code;
  std::string delegated_to;
};

BuildRequestSummary build(const std::string& id, BuildRequestStatus code,
                          const std::vector<std::string>& requested, int64_t created_s,
                          int64_t updated_s, int64_t first_idx, int64_t last_idx,
                          int64_t event_count, const std::vector<Part>& parts,
                          const std::map<std::string, int64_t>& job_runs,
                          const std::string& message = "") {
  BuildRequestSummary b;
  b.set_build_request_id(id);
  b.set_status_code(code);
  b.set_status_name(BuildRequestStatus_Name(code));
  for (const auto& r : requested) b.add_requested_partitions(r);
  b.set_created_at(at(created_s));
  b.set_updated_at(at(updated_s));
  b.set_first_idx(first_idx);
  b.set_last_idx(last_idx);
  b.set_event_count(event_count);
  for (const auto& p : parts) {
    auto* s = b.add_partitions();
    s->set_partition_ref(p.ref);
    s->set_status_code(p.code);
    s->set_status_name(PartitionStatus_Name(p.code));
    s->set_delegated_to_build_request_id(p.delegated_to);
  }
  for (const auto& [k, v] : job_runs) (*b.mutable_job_runs_by_status())[k] = v;
  b.set_message(message);
  b.set_as_of_idx(kLastIdx);
  return b;
}

BuildRequestSummary br_done() {
  return build("br-done", BUILD_REQUEST_COMPLETED, {kSales1, kSales2}, 0, 480, 1, 10, 10,
               {{kSales1, PARTITION_AVAILABLE, ""}, {kSales2, PARTITION_AVAILABLE, ""}},
               {{"JOB_COMPLETED", 1}}, "2 partitions built");
}
BuildRequestSummary br_fail() {
  auto b =
      build("br-fail", BUILD_REQUEST_FAILED, {kReports1}, 600, 960, 11, 18, 8,
            {{kReports1, PARTITION_FAILED, ""}}, {{"JOB_FAILED", 1}}, "1 of 1 partitions failed");
  // Why it failed (SPEC section 4, failures): its job run that ended FAILED.
  auto* f = b.add_failures();
  f->set_job_run_id("jr-reports-1");
  f->set_job_label("//jobs:reports");
  f->set_status_name("JOB_FAILED");
  f->set_message("exit code 3");
  f->add_partition_refs(kReports1);
  return b;
}
BuildRequestSummary br_exec() {  // idx 19, 22, 23, 24, 25 and the invalidation at 32
  return build("br-exec", BUILD_REQUEST_EXECUTING, {kSales3}, 1200, 1800, 19, 32, 6,
               {{kSales3, PARTITION_BUILDING, ""}}, {{"JOB_RUNNING", 1}});
}
BuildRequestSummary br_queued() {
  return build("br-queued", BUILD_REQUEST_RECEIVED, {kSales3}, 1230, 1230, 20, 21, 2,
               {{kSales3, PARTITION_REQUESTED, ""}}, {});
}
BuildRequestSummary br_deleg() {  // partitions in order of first appearance: 28, then 30
  return build(
      "br-deleg", BUILD_REQUEST_EXECUTING, {kSales2, kSales3}, 1500, 1680, 26, 31, 6,
      {{kSales3, PARTITION_DELEGATED, "br-exec"}, {kSales2, PARTITION_DELEGATED, "br-done"}},
      {{"JOB_SKIPPED", 1}});
}

// seconds < 0 leaves the time 0 (no such event).
JobRunSummary job_run(const std::string& id, const std::string& label, const std::string& build,
                      const std::vector<std::string>& targets, JobStatus code, int64_t scheduled_s,
                      int64_t started_s, int64_t ended_s, const std::string& message = "") {
  JobRunSummary r;
  r.set_job_run_id(id);
  r.set_job_label(label);
  r.set_build_request_id(build);
  for (const auto& t : targets) r.add_target_partitions(t);
  r.set_status_code(code);
  r.set_status_name(JobStatus_Name(code));
  if (scheduled_s >= 0) r.set_scheduled_at(at(scheduled_s));
  if (started_s >= 0) r.set_started_at(at(started_s));
  if (ended_s >= 0) r.set_ended_at(at(ended_s));
  r.set_message(message);
  r.set_as_of_idx(kLastIdx);
  return r;
}

JobRunSummary jr_sales_1() {
  return job_run("jr-sales-1", "//jobs:sales", "br-done", {kSales1, kSales2}, JOB_COMPLETED, 120,
                 180, 450);
}
JobRunSummary jr_reports_1() {
  return job_run("jr-reports-1", "//jobs:reports", "br-fail", {kReports1}, JOB_FAILED, 720, 780,
                 900, "exit code 3");
}
JobRunSummary jr_sales_2() {
  return job_run("jr-sales-2", "//jobs:sales", "br-exec", {kSales3}, JOB_RUNNING, 1320, 1380, -1);
}
JobRunSummary jr_skip_1() {  // a SKIPPED run was never scheduled or started; it ended at once
  return job_run("jr-skip-1", "//jobs:sales", "br-deleg", {kSales2}, JOB_SKIPPED, -1, -1, 1680,
                 "already built by br-done");
}

JobMetrics metrics(const std::string& label, int64_t total,
                   const std::map<std::string, int64_t>& by_status, double success_rate,
                   int64_t avg_duration_ns, const JobRunSummary& last_run) {
  JobMetrics m;
  m.set_job_label(label);
  m.set_total_runs(total);
  for (const auto& [k, v] : by_status) (*m.mutable_runs_by_status())[k] = v;
  m.set_success_rate(success_rate);
  m.set_avg_duration_ns(avg_duration_ns);
  *m.mutable_last_run() = last_run;
  m.set_as_of_idx(kLastIdx);
  return m;
}

JobMetrics reports_metrics() {  // 0 completed / (0 + 1 failed); no completed run to average
  return metrics("//jobs:reports", 1, {{"JOB_FAILED", 1}}, 0.0, 0, jr_reports_1());
}
JobMetrics sales_metrics() {  // 1 / (1 + 0); jr-sales-1 ran 180 s .. 450 s; last run by first idx
  return metrics("//jobs:sales", 3, {{"JOB_COMPLETED", 1}, {"JOB_RUNNING", 1}, {"JOB_SKIPPED", 1}},
                 1.0, 270LL * 1000000000LL, jr_skip_1());
}

// Equal field by field (lists in order, maps by key). as_of_idx is compared by the tests
// themselves at the top level only: the SPEC does not say what nested summaries carry.
template <class M>
::testing::AssertionResult same(const M& want, const M& got) {
  MessageDifferencer d;
  for (const auto* desc : {PartitionStatusResponse::descriptor(), BuildRequestSummary::descriptor(),
                           JobRunSummary::descriptor(), JobMetrics::descriptor()}) {
    d.IgnoreField(desc->FindFieldByName("as_of_idx"));
  }
  std::string diff;
  d.ReportDifferencesToString(&diff);
  if (d.Compare(want, got)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << diff << "want " << to_json(want) << "\n got " << to_json(got);
}

template <class M, class Item>
std::vector<std::string> ids(const google::protobuf::RepeatedPtrField<Item>& items, M get) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(get(i));
  return out;
}
std::vector<std::string> refs(
    const google::protobuf::RepeatedPtrField<PartitionStatusResponse>& p) {
  return ids(p, [](const PartitionStatusResponse& s) { return s.partition_ref(); });
}
std::vector<std::string> build_ids(
    const google::protobuf::RepeatedPtrField<BuildRequestSummary>& b) {
  return ids(b, [](const BuildRequestSummary& s) { return s.build_request_id(); });
}
std::vector<std::string> run_ids(const google::protobuf::RepeatedPtrField<JobRunSummary>& r) {
  return ids(r, [](const JobRunSummary& s) { return s.job_run_id(); });
}
using Ids = std::vector<std::string>;

// ---- The fixture --------------------------------------------------------------------------------

// What `bel partitions show --format json` prints, parsed.
struct PartitionShow {
  PartitionStatusResponse status;
  Ids active_builds;
  std::vector<BuildEvent> recent_events;
};

class CommandsTest : public ::testing::Test {
 protected:
  // One log with the scenario, shared by the tests that only read it.
  static void SetUpTestSuite() {
    shared_dir_ = new TempDir();
    shared_append_ = new CommandResult(append_scenario(uri_in(*shared_dir_)));
  }
  static void TearDownTestSuite() {
    delete shared_append_;
    delete shared_dir_;
  }

  static std::string uri_in(const TempDir& dir) { return "sqlite://" + dir.path() + "/log.db"; }
  static std::string shared_log() { return uri_in(*shared_dir_); }

  static CommandResult run_bel(const std::string& log, const std::string& args,
                               const std::string& input = "") {
    return run_command(shell_quote(kBel) + " " + args + " --log " + shell_quote(log), input);
  }
  static CommandResult append_scenario(const std::string& log) {
    std::string lines;
    for (const auto& e : dated_scenario()) lines += to_json(e) + "\n";
    return run_bel(log, "append - --format json", lines);
  }

  void SetUp() override {
    ASSERT_EQ(shared_append_->exit_code, 0) << shared_append_->err;
    ASSERT_EQ(lines_of(shared_append_->out).size(), static_cast<size_t>(kLastIdx));
  }

  // A log of this test's own with the scenario, for tests that write.
  std::string own_log() {
    const std::string log = uri_in(dir_);
    auto r = append_scenario(log);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return log;
  }

  // Runs `args --format json` on `log`, expects exit 0 and parses the output as M.
  template <class M>
  M json(const std::string& args, const std::string& log = shared_log()) {
    auto r = run_bel(log, args + " --format json");
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
    EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err;
    M out;
    auto ok = from_json(r.out, &out);
    EXPECT_TRUE(ok.ok()) << args << "\n" << r.out;
    return out;
  }

  PartitionShow show_partition(const std::string& ref, const std::string& log = shared_log(),
                               const std::string& extra = "") {
    auto doc = json<google::protobuf::Struct>("partitions show " + shell_quote(ref) + extra, log);
    PartitionShow out;
    const auto& f = doc.fields();
    EXPECT_EQ(f.size(), 3u) << to_json(doc);
    if (f.count("status") == 0 || f.count("active_builds") == 0 || f.count("recent_events") == 0) {
      ADD_FAILURE() << "missing keys: " << to_json(doc);
      return out;
    }
    EXPECT_TRUE(from_json(to_json(f.at("status")), &out.status).ok()) << to_json(doc);
    for (const auto& v : f.at("active_builds").list_value().values()) {
      out.active_builds.push_back(v.string_value());
    }
    for (const auto& v : f.at("recent_events").list_value().values()) {
      BuildEvent e;
      EXPECT_TRUE(from_json(to_json(v), &e).ok()) << to_json(v);
      out.recent_events.push_back(e);
    }
    return out;
  }

  // `jobs list` prints a JSON array of JobMetrics.
  JobMetricsList jobs_list(const std::string& log = shared_log()) {
    auto r = run_bel(log, "jobs list --format json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.substr(0, 1), "[") << r.out;
    JobMetricsList out;
    EXPECT_TRUE(from_json("{\"jobs\":" + r.out + "}", &out).ok()) << r.out;
    return out;
  }

  // The idx of every event in the log, ascending.
  std::vector<int64_t> log_idx(const std::string& log) {
    auto page = json<EventPage>("events list --limit 10000", log);
    std::vector<int64_t> out;
    for (const auto& e : page.events()) out.push_back(e.idx());
    return out;
  }

  static TempDir* shared_dir_;
  static CommandResult* shared_append_;
  TempDir dir_;
};

TempDir* CommandsTest::shared_dir_ = nullptr;
CommandResult* CommandsTest::shared_append_ = nullptr;

std::vector<int64_t> idx_of(const std::vector<BuildEvent>& events) {
  std::vector<int64_t> out;
  for (const auto& e : events) out.push_back(e.idx());
  return out;
}

// ---- partitions ---------------------------------------------------------------------------------

TEST_F(CommandsTest, PartitionsListIsNewestFirstByLastIdxWithEveryField) {
  auto list = json<PartitionsListResponse>("partitions list");
  EXPECT_EQ(list.total_count(), 4);
  EXPECT_FALSE(list.has_more());
  EXPECT_EQ(list.as_of_idx(), kLastIdx);
  ASSERT_EQ(list.partitions_size(), 4);
  EXPECT_TRUE(same(sales1(), list.partitions(0)));
  EXPECT_TRUE(same(sales3(), list.partitions(1)));
  EXPECT_TRUE(same(reports1(), list.partitions(2)));
  EXPECT_TRUE(same(sales2(), list.partitions(3)));
}

TEST_F(CommandsTest, PartitionsListFiltersByShortOrEnumStatusAndPattern) {
  auto available = json<PartitionsListResponse>("partitions list --status available");
  EXPECT_EQ(refs(available.partitions()), Ids({kSales2}));
  EXPECT_EQ(available.total_count(), 1);

  auto failed = json<PartitionsListResponse>("partitions list --status PARTITION_FAILED");
  EXPECT_EQ(refs(failed.partitions()), Ids({kReports1}));

  auto two = json<PartitionsListResponse>("partitions list --status building --status invalidated");
  EXPECT_EQ(refs(two.partitions()), Ids({kSales1, kSales3}));
  EXPECT_EQ(two.total_count(), 2);

  auto none = json<PartitionsListResponse>("partitions list --status requested");
  EXPECT_EQ(none.partitions_size(), 0);  // br-queued's REQUESTED was overtaken by BUILDING
  EXPECT_EQ(none.total_count(), 0);
  EXPECT_FALSE(none.has_more());

  // Never a partition's status: a usage error saying so, and not offered by --help.
  for (const char* delegated : {"delegated", "PARTITION_DELEGATED"}) {
    auto r = run_bel(shared_log(), std::string("partitions list --status ") + delegated);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--status: delegated is never a partition's status"), std::string::npos)
        << r.err;
  }
  auto help = run_bel(shared_log(), "partitions list --help");
  EXPECT_NE(help.out.find("invalidated"), std::string::npos) << help.out;
  EXPECT_EQ(help.out.find("delegated"), std::string::npos) << help.out;
  // Nor by the names a mistyped status is told are accepted.
  auto unknown = run_bel(shared_log(), "partitions list --status unknown");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
  EXPECT_NE(unknown.err.find("unknown partition status \"unknown\" (accepted: requested, "
                             "scheduled, building, available, failed, invalidated)"),
            std::string::npos)
      << unknown.err;

  auto sales = json<PartitionsListResponse>("partitions list --pattern 'sales/*'");
  EXPECT_EQ(refs(sales.partitions()), Ids({kSales1, kSales3, kSales2}));
  EXPECT_EQ(sales.total_count(), 3);

  auto cls = json<PartitionsListResponse>(
      "partitions list --pattern 'sales/2026-01-0[12]' --status available");
  EXPECT_EQ(refs(cls.partitions()), Ids({kSales2}));
}

TEST_F(CommandsTest, PartitionsListPagesWithLimitAndOffset) {
  auto first = json<PartitionsListResponse>("partitions list --limit 2");
  EXPECT_EQ(refs(first.partitions()), Ids({kSales1, kSales3}));
  EXPECT_EQ(first.total_count(), 4);
  EXPECT_TRUE(first.has_more());

  auto second = json<PartitionsListResponse>("partitions list --limit 2 --offset 2");
  EXPECT_EQ(refs(second.partitions()), Ids({kReports1, kSales2}));
  EXPECT_EQ(second.total_count(), 4);
  EXPECT_FALSE(second.has_more());

  auto middle = json<PartitionsListResponse>("partitions list --limit 1 --offset 2");
  EXPECT_EQ(refs(middle.partitions()), Ids({kReports1}));
  EXPECT_TRUE(middle.has_more());

  auto past = json<PartitionsListResponse>("partitions list --offset 10");
  EXPECT_EQ(past.partitions_size(), 0);
  EXPECT_EQ(past.total_count(), 4);
  EXPECT_FALSE(past.has_more());
}

TEST_F(CommandsTest, PartitionsShowGivesStatusActiveBuildsAndRecentEvents) {
  // br-exec (BUILDING) and br-queued (REQUESTED) are open and active; br-deleg delegated its
  // share (a DelegationEvent counts as DELEGATED), so it is not.
  auto building = show_partition(kSales3);
  EXPECT_TRUE(same(sales3(), building.status));
  EXPECT_EQ(building.status.as_of_idx(), kLastIdx);
  EXPECT_EQ(building.active_builds, Ids({"br-exec", "br-queued"}));
  // Requests listing it (19, 20, 26), its partition events (21, 25), jr-sales-2's job events
  // (23, 24) and the delegation (28); ascending.
  EXPECT_EQ(idx_of(building.recent_events), std::vector<int64_t>({19, 20, 21, 23, 24, 25, 26, 28}));
  ASSERT_EQ(building.recent_events.size(), 8u);
  EXPECT_EQ(building.recent_events[7].delegation_event().delegated_to_build_request_id(),
            "br-exec");
  EXPECT_EQ(building.recent_events[7].timestamp(), at(1620));

  auto last3 = show_partition(kSales3, shared_log(), " --recent 3");
  EXPECT_EQ(idx_of(last3.recent_events), std::vector<int64_t>({25, 26, 28}));

  auto invalidated = show_partition(kSales1);
  EXPECT_TRUE(same(sales1(), invalidated.status));
  EXPECT_TRUE(invalidated.active_builds.empty());
  EXPECT_EQ(idx_of(invalidated.recent_events), std::vector<int64_t>({1, 3, 4, 5, 7, 8, 32}));

  // Available although br-deleg logged DELEGATED for it later; nobody is building it.
  auto available = show_partition(kSales2);
  EXPECT_TRUE(same(sales2(), available.status));
  EXPECT_TRUE(available.active_builds.empty());
  EXPECT_EQ(idx_of(available.recent_events),
            std::vector<int64_t>({1, 3, 4, 6, 7, 9, 26, 29, 30, 31}));

  // A ref never seen is not an error: UNKNOWN, nothing active, no events.
  auto unknown = show_partition("nosuch/ref");
  EXPECT_EQ(unknown.status.partition_ref(), "nosuch/ref");
  EXPECT_EQ(unknown.status.status_code(), PARTITION_UNKNOWN);
  EXPECT_EQ(unknown.status.last_idx(), 0);
  EXPECT_EQ(unknown.status.as_of_idx(), kLastIdx);
  EXPECT_TRUE(unknown.active_builds.empty());
  EXPECT_TRUE(unknown.recent_events.empty());
}

TEST_F(CommandsTest, PartitionsInvalidateChangesTheStatusAndRefusesAFinishedBuild) {
  const std::string log = own_log();
  auto r = run_bel(log, "partitions invalidate " + kSales2 +
                            " --reason 'bad rows found' --build br-deleg --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  AppendAck ack;
  ASSERT_TRUE(from_json(r.out, &ack).ok()) << r.out;
  EXPECT_EQ(ack.idx(), kLastIdx + 1);
  EXPECT_FALSE(ack.duplicate());
  EXPECT_FALSE(ack.event_id().empty());
  EXPECT_TRUE(contains(r.out, "\"duplicate\":false")) << r.out;

  auto shown = show_partition(kSales2, log);
  EXPECT_EQ(shown.status.status_code(), PARTITION_INVALIDATED);
  EXPECT_EQ(shown.status.status_name(), "PARTITION_INVALIDATED");
  EXPECT_EQ(shown.status.message(), "bad rows found");
  EXPECT_EQ(shown.status.build_request_id(), "br-deleg");
  EXPECT_EQ(shown.status.job_run_id(), "");
  EXPECT_EQ(shown.status.last_idx(), kLastIdx + 1);
  EXPECT_GT(shown.status.last_updated(), at(1800));  // "now"
  EXPECT_EQ(shown.status.as_of_idx(), kLastIdx + 1);
  ASSERT_FALSE(shown.recent_events.empty());
  EXPECT_EQ(shown.recent_events.back().partition_invalidation_event().reason(), "bad rows found");
  auto invalidated = json<PartitionsListResponse>("partitions list --status invalidated", log);
  EXPECT_EQ(refs(invalidated.partitions()), Ids({kSales2, kSales1}));

  // br-done is COMPLETED: nothing may be logged on its behalf.
  auto refused = run_bel(log, "partitions invalidate " + kSales1 + " --reason x --build br-done");
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_TRUE(contains(refused.err, "invalid_transition")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "br-done")) << refused.err;
  EXPECT_EQ(log_idx(log).back(), kLastIdx + 1);
}

// ---- builds -------------------------------------------------------------------------------------

TEST_F(CommandsTest, BuildsListIsNewestFirstByFirstIdxWithFullSummaries) {
  auto list = json<BuildsListResponse>("builds list");
  EXPECT_EQ(list.total_count(), 5);
  EXPECT_FALSE(list.has_more());
  EXPECT_EQ(list.as_of_idx(), kLastIdx);
  ASSERT_EQ(list.builds_size(), 5);
  EXPECT_TRUE(same(br_deleg(), list.builds(0)));
  EXPECT_TRUE(same(br_queued(), list.builds(1)));
  EXPECT_TRUE(same(br_exec(), list.builds(2)));
  EXPECT_TRUE(same(br_fail(), list.builds(3)));
  EXPECT_TRUE(same(br_done(), list.builds(4)));

  auto executing = json<BuildsListResponse>("builds list --status executing");
  EXPECT_EQ(build_ids(executing.builds()), Ids({"br-deleg", "br-exec"}));
  EXPECT_EQ(executing.total_count(), 2);
  auto ended =
      json<BuildsListResponse>("builds list --status BUILD_REQUEST_FAILED --status completed");
  EXPECT_EQ(build_ids(ended.builds()), Ids({"br-fail", "br-done"}));
  auto page = json<BuildsListResponse>("builds list --limit 2 --offset 1");
  EXPECT_EQ(build_ids(page.builds()), Ids({"br-queued", "br-exec"}));
  EXPECT_EQ(page.total_count(), 5);
  EXPECT_TRUE(page.has_more());
  auto tail = json<BuildsListResponse>("builds list --limit 2 --offset 3");
  EXPECT_EQ(build_ids(tail.builds()), Ids({"br-fail", "br-done"}));
  EXPECT_FALSE(tail.has_more());
}

TEST_F(CommandsTest, BuildsShowGivesEveryFieldOfTheSummary) {
  for (const auto& want : {br_done(), br_fail(), br_exec(), br_queued(), br_deleg()}) {
    auto got = json<BuildRequestSummary>("builds show " + want.build_request_id());
    EXPECT_TRUE(same(want, got)) << want.build_request_id();
    EXPECT_EQ(got.as_of_idx(), kLastIdx) << want.build_request_id();
  }
}

TEST_F(CommandsTest, BuildsShowSaysWhichJobRunsFailedOnWhichPartitionsAndWhy) {
  auto json_doc = json<BuildRequestSummary>("builds show br-fail");
  ASSERT_EQ(json_doc.failures_size(), 1);
  EXPECT_TRUE(same(br_fail().failures(0), json_doc.failures(0)));

  auto table = run_bel(shared_log(), "builds show br-fail --format table");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  bool found = false;
  for (const auto& line : lines_of(table.out)) {
    if (!contains(line, "jr-reports-1")) continue;
    found = true;
    EXPECT_TRUE(contains(line, "//jobs:reports") && contains(line, "failed") &&
                contains(line, kReports1) && contains(line, "exit code 3"))
        << table.out;
  }
  EXPECT_TRUE(found) << table.out;
  EXPECT_TRUE(contains(table.out, "1 of 1 partitions failed")) << table.out;
}

TEST_F(CommandsTest, CancellingABuildEndsItsJobRunsAndItsClaimsOnPartitions) {
  const std::string log = own_log();
  auto r = run_bel(log, "builds cancel br-exec --reason 'cluster maintenance'");
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // jr-sales-2 was RUNNING: the build's end cancels it, and it is listed as a failure.
  auto summary = json<BuildRequestSummary>("builds show br-exec", log);
  EXPECT_EQ(summary.message(), "cluster maintenance");
  ASSERT_EQ(summary.failures_size(), 1);
  EXPECT_EQ(summary.failures(0).job_run_id(), "jr-sales-2");
  EXPECT_EQ(summary.failures(0).status_name(), "JOB_CANCELLED");
  EXPECT_EQ(summary.failures(0).partition_refs_size(), 1);
  EXPECT_TRUE(contains(summary.failures(0).message(), "br-exec")) << summary.failures(0).message();
  EXPECT_EQ(summary.job_runs_by_status().at("JOB_CANCELLED"), 1);
  auto table = run_bel(log, "builds show br-exec --format table");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_TRUE(contains(table.out, "jr-sales-2") && contains(table.out, kSales3) &&
              contains(table.out, "cancelled"))
      << table.out;

  auto runs = json<JobRunsListResponse>("job-runs list --build br-exec", log);
  ASSERT_EQ(runs.job_runs_size(), 1);
  EXPECT_EQ(runs.job_runs(0).job_run_id(), "jr-sales-2");
  EXPECT_EQ(runs.job_runs(0).status_code(), JOB_CANCELLED);
  EXPECT_EQ(runs.total_count(), 1);
  EXPECT_EQ(json<JobRunsListResponse>("job-runs list --build br-nope", log).total_count(), 0);

  // br-exec's BUILDING claim on sales/2026-01-03 ended: br-queued's REQUESTED claim is live.
  auto shown = show_partition(kSales3, log);
  EXPECT_EQ(shown.status.status_code(), PARTITION_REQUESTED);
  EXPECT_EQ(shown.status.build_request_id(), "br-queued");
  EXPECT_EQ(shown.status.last_idx(), kLastIdx + 1);
  EXPECT_EQ(shown.active_builds, Ids({"br-queued"}));
}

TEST_F(CommandsTest, BuildsShowOfAnUnknownIdIsNotFoundNamingIt) {
  auto r = run_bel(shared_log(), "builds show br-unknown-7 --format json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "not_found")) << r.err;
  EXPECT_TRUE(contains(r.err, "br-unknown-7")) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(CommandsTest, BuildsCancelEndsTheBuildOnceAndLeavesTheLogAloneAfterwards) {
  const std::string log = own_log();
  auto r = run_bel(log, "builds cancel br-queued --reason 'superseded by br-exec' --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  AppendAck ack;
  ASSERT_TRUE(from_json(r.out, &ack).ok()) << r.out;
  EXPECT_EQ(ack.idx(), kLastIdx + 1);

  auto got = json<BuildRequestSummary>("builds show br-queued", log);
  auto want = br_queued();
  want.set_status_code(BUILD_REQUEST_CANCELLED);
  want.set_status_name("BUILD_REQUEST_CANCELLED");
  want.set_cancel_reason("superseded by br-exec");
  want.set_message("superseded by br-exec");  // SPEC section 4: the cancel reason once cancelled
  want.set_last_idx(kLastIdx + 1);
  want.set_event_count(3);
  want.set_updated_at(got.updated_at());  // "now", checked below
  EXPECT_TRUE(same(want, got));
  EXPECT_GT(got.updated_at(), at(1800));
  EXPECT_EQ(got.as_of_idx(), kLastIdx + 1);
  // A cancelled build is no longer active for the partition it asked for.
  EXPECT_EQ(show_partition(kSales3, log).active_builds, Ids({"br-exec"}));

  auto again = run_bel(log, "builds cancel br-queued --reason 'again'");
  EXPECT_EQ(again.exit_code, 1) << again.err;
  EXPECT_TRUE(contains(again.err, "invalid_transition")) << again.err;
  EXPECT_TRUE(contains(again.err, "br-queued")) << again.err;
  auto finished = run_bel(log, "builds cancel br-done --reason 'too late'");
  EXPECT_EQ(finished.exit_code, 1) << finished.err;
  EXPECT_TRUE(contains(finished.err, "invalid_transition")) << finished.err;
  std::vector<int64_t> want_idx;
  for (int64_t i = 1; i <= kLastIdx + 1; ++i) want_idx.push_back(i);
  EXPECT_EQ(log_idx(log), want_idx);
}

// ---- jobs and job runs -------------------------------------------------------------------------

TEST_F(CommandsTest, JobsListIsAnArrayOfMetricsPerLabelAscending) {
  auto list = jobs_list();
  ASSERT_EQ(list.jobs_size(), 2);
  EXPECT_TRUE(same(reports_metrics(), list.jobs(0)));
  EXPECT_TRUE(same(sales_metrics(), list.jobs(1)));
}

TEST_F(CommandsTest, JobsShowGivesOneLabelsMetricsAndUnknownIsNotFound) {
  auto sales = json<JobMetrics>("jobs show //jobs:sales");
  EXPECT_TRUE(same(sales_metrics(), sales));
  EXPECT_EQ(sales.as_of_idx(), kLastIdx);
  EXPECT_TRUE(same(reports_metrics(), json<JobMetrics>("jobs show //jobs:reports")));

  auto r = run_bel(shared_log(), "jobs show //jobs:nope --format json");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "not_found")) << r.err;
  EXPECT_TRUE(contains(r.err, "//jobs:nope")) << r.err;
}

TEST_F(CommandsTest, JobRunsListIsNewestFirstAndFiltersByJobAndStatus) {
  auto all = json<JobRunsListResponse>("job-runs list");
  EXPECT_EQ(all.total_count(), 4);
  EXPECT_FALSE(all.has_more());
  EXPECT_EQ(all.as_of_idx(), kLastIdx);
  ASSERT_EQ(all.job_runs_size(), 4);
  EXPECT_TRUE(same(jr_skip_1(), all.job_runs(0)));
  EXPECT_TRUE(same(jr_sales_2(), all.job_runs(1)));
  EXPECT_TRUE(same(jr_reports_1(), all.job_runs(2)));
  EXPECT_TRUE(same(jr_sales_1(), all.job_runs(3)));

  auto sales = json<JobRunsListResponse>("job-runs list --job //jobs:sales");
  EXPECT_EQ(run_ids(sales.job_runs()), Ids({"jr-skip-1", "jr-sales-2", "jr-sales-1"}));
  EXPECT_EQ(sales.total_count(), 3);
  auto running = json<JobRunsListResponse>("job-runs list --status running");
  EXPECT_EQ(run_ids(running.job_runs()), Ids({"jr-sales-2"}));
  auto done = json<JobRunsListResponse>(
      "job-runs list --job //jobs:sales --status completed --status JOB_SKIPPED");
  EXPECT_EQ(run_ids(done.job_runs()), Ids({"jr-skip-1", "jr-sales-1"}));
  auto failed = json<JobRunsListResponse>("job-runs list --job //jobs:sales --status failed");
  EXPECT_EQ(failed.job_runs_size(), 0);
  EXPECT_EQ(failed.total_count(), 0);
  auto page = json<JobRunsListResponse>("job-runs list --limit 1 --offset 1");
  EXPECT_EQ(run_ids(page.job_runs()), Ids({"jr-sales-2"}));
  EXPECT_EQ(page.total_count(), 4);
  EXPECT_TRUE(page.has_more());
}

TEST_F(CommandsTest, JobRunsShowGivesEveryField) {
  for (const auto& want : {jr_sales_1(), jr_reports_1(), jr_sales_2(), jr_skip_1()}) {
    auto got = json<JobRunSummary>("job-runs show " + want.job_run_id());
    EXPECT_TRUE(same(want, got)) << want.job_run_id();
    EXPECT_EQ(got.as_of_idx(), kLastIdx) << want.job_run_id();
  }
  auto r = run_bel(shared_log(), "job-runs show jr-nope");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "not_found")) << r.err;
  EXPECT_TRUE(contains(r.err, "jr-nope")) << r.err;
}

TEST_F(CommandsTest, JobRunsCancelEndsARunningRunAndAnUnknownIdIsNotFound) {
  const std::string log = own_log();
  auto r = run_bel(log, "job-runs cancel jr-sales-2 --reason 'node drained' --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  AppendAck ack;
  ASSERT_TRUE(from_json(r.out, &ack).ok()) << r.out;
  EXPECT_EQ(ack.idx(), kLastIdx + 1);

  auto got = json<JobRunSummary>("job-runs show jr-sales-2", log);
  auto want = jr_sales_2();
  want.set_status_code(JOB_CANCELLED);
  want.set_status_name("JOB_CANCELLED");
  want.set_message("node drained");
  want.set_ended_at(got.ended_at());  // "now", checked below
  EXPECT_TRUE(same(want, got));
  EXPECT_GT(got.ended_at(), at(1800));
  // The run's build request counts it as cancelled.
  auto build = json<BuildRequestSummary>("builds show br-exec", log);
  EXPECT_EQ(build.job_runs_by_status().size(), 1u);
  EXPECT_EQ(build.job_runs_by_status().at("JOB_CANCELLED"), 1);
  auto metrics = json<JobMetrics>("jobs show //jobs:sales", log);
  EXPECT_EQ(metrics.runs_by_status().at("JOB_CANCELLED"), 1);
  EXPECT_EQ(metrics.runs_by_status().count("JOB_RUNNING"), 0u);

  auto unknown = run_bel(log, "job-runs cancel jr-nope --reason x");
  EXPECT_EQ(unknown.exit_code, 1) << unknown.err;
  EXPECT_TRUE(contains(unknown.err, "not_found")) << unknown.err;
  EXPECT_TRUE(contains(unknown.err, "jr-nope")) << unknown.err;
  auto finished = run_bel(log, "job-runs cancel jr-sales-1 --reason x");
  EXPECT_EQ(finished.exit_code, 1) << finished.err;
  EXPECT_TRUE(contains(finished.err, "invalid_transition")) << finished.err;
  EXPECT_EQ(log_idx(log).back(), kLastIdx + 1);
}

// ---- activity, views, check ---------------------------------------------------------------------

TEST_F(CommandsTest, ActivityCountsByStatusAndListsTheRecent) {
  auto a = json<ActivityResponse>("activity");
  EXPECT_EQ(a.active_builds_count(), 3);  // br-exec, br-queued, br-deleg
  EXPECT_EQ(a.total_build_requests(), 5);
  EXPECT_EQ(a.total_partitions(), 4);
  EXPECT_EQ(a.event_count(), kLastIdx);
  EXPECT_EQ(a.as_of_idx(), kLastIdx);
  const std::map<std::string, int64_t> builds(a.build_requests_by_status().begin(),
                                              a.build_requests_by_status().end());
  EXPECT_EQ(builds, (std::map<std::string, int64_t>{{"BUILD_REQUEST_COMPLETED", 1},
                                                    {"BUILD_REQUEST_EXECUTING", 2},
                                                    {"BUILD_REQUEST_FAILED", 1},
                                                    {"BUILD_REQUEST_RECEIVED", 1}}));
  const std::map<std::string, int64_t> partitions(a.partitions_by_status().begin(),
                                                  a.partitions_by_status().end());
  EXPECT_EQ(partitions, (std::map<std::string, int64_t>{{"PARTITION_AVAILABLE", 1},
                                                        {"PARTITION_BUILDING", 1},
                                                        {"PARTITION_FAILED", 1},
                                                        {"PARTITION_INVALIDATED", 1}}));
  ASSERT_EQ(a.recent_builds_size(), 5);
  EXPECT_TRUE(same(br_deleg(), a.recent_builds(0)));
  EXPECT_TRUE(same(br_queued(), a.recent_builds(1)));
  EXPECT_TRUE(same(br_exec(), a.recent_builds(2)));
  EXPECT_TRUE(same(br_fail(), a.recent_builds(3)));
  EXPECT_TRUE(same(br_done(), a.recent_builds(4)));
  ASSERT_EQ(a.recent_partitions_size(), 4);
  EXPECT_TRUE(same(sales1(), a.recent_partitions(0)));
  EXPECT_TRUE(same(sales3(), a.recent_partitions(1)));
  EXPECT_TRUE(same(reports1(), a.recent_partitions(2)));
  EXPECT_TRUE(same(sales2(), a.recent_partitions(3)));
}

const Ids kViews = {"partition_status", "build_summary", "job_runs", "activity"};

Ids view_names(const ViewsStatus& v) {
  Ids out;
  for (const auto& s : v.views()) out.push_back(s.view());
  std::sort(out.begin(), out.end());
  return out;
}
Ids sorted(Ids v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST_F(CommandsTest, ViewsStatusListsTheFourViewsOfAnInProcessSession) {
  auto v = json<ViewsStatus>("views status");
  EXPECT_EQ(v.last_idx(), kLastIdx);
  EXPECT_EQ(view_names(v), sorted(kViews));
  for (const auto& s : v.views()) {
    EXPECT_GE(s.applied_idx(), 0) << s.view();
    EXPECT_LE(s.applied_idx(), kLastIdx) << s.view();
    EXPECT_EQ(s.lag(), kLastIdx - s.applied_idx()) << s.view();
    EXPECT_NE(s.state(), VIEW_FAILED) << s.view() << ": " << s.last_error();
    EXPECT_GE(s.version(), 1) << s.view();
  }
}

TEST_F(CommandsTest, ViewsRebuildLeavesEveryRebuiltViewHealthyAndCaughtUp) {
  const std::string log = own_log();
  auto all = json<ViewsStatus>("views rebuild", log);
  EXPECT_EQ(all.last_idx(), kLastIdx);
  EXPECT_EQ(view_names(all), sorted(kViews));
  for (const auto& s : all.views()) {
    EXPECT_EQ(s.state(), VIEW_HEALTHY) << s.view() << ": " << s.last_error();
    EXPECT_EQ(s.applied_idx(), kLastIdx) << s.view();
    EXPECT_EQ(s.lag(), 0) << s.view();
  }

  auto one = json<ViewsStatus>("views rebuild partition_status", log);
  EXPECT_EQ(one.views_size(), 1) << to_json(one);  // the view asked for, and only it
  bool found = false;
  for (const auto& s : one.views()) {
    if (s.view() != "partition_status") continue;
    found = true;
    EXPECT_EQ(s.state(), VIEW_HEALTHY) << s.last_error();
    EXPECT_EQ(s.applied_idx(), kLastIdx);
  }
  EXPECT_TRUE(found) << to_json(one);
  // Rebuilding writes no events, and the answers are unchanged.
  EXPECT_EQ(log_idx(log).size(), static_cast<size_t>(kLastIdx));
  EXPECT_TRUE(same(sales3(), show_partition(kSales3, log).status));

  auto bad = run_bel(log, "views rebuild nosuch");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_TRUE(contains(bad.err, "nosuch")) << bad.err;
}

TEST_F(CommandsTest, CheckPassesOnTheHealthyLog) {
  auto r = run_bel(shared_log(), "check --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  google::protobuf::Struct doc;
  ASSERT_TRUE(from_json(r.out, &doc).ok()) << r.out;
  EXPECT_TRUE(doc.fields().at("ok").bool_value()) << r.out;
  EXPECT_EQ(doc.fields().at("last_idx").string_value(), std::to_string(kLastIdx));
  const auto& checks = doc.fields().at("checks").list_value().values();
  EXPECT_GE(checks.size(), 6);  // schema, idx contiguity, one per view
  for (const auto& c : checks) {
    EXPECT_TRUE(c.struct_value().fields().at("ok").bool_value()) << to_json(c);
  }
}

TEST_F(CommandsTest, CheckSkipIntegrityLeavesOutSqlitesIntegrityCheckOnly) {
  // The names of the checks `bel check ARGS` reports on the shared log, in order.
  auto check_names = [&](const std::string& args) {
    auto r = run_bel(shared_log(), "check --format json " + args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    google::protobuf::Struct doc;
    EXPECT_TRUE(from_json(r.out, &doc).ok()) << r.out;
    std::vector<std::string> names;
    if (!doc.fields().contains("checks")) return names;
    for (const auto& c : doc.fields().at("checks").list_value().values()) {
      names.push_back(c.struct_value().fields().at("name").string_value());
    }
    return names;
  };
  auto has = [](const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  const auto all = check_names("");
  EXPECT_TRUE(has(all, "integrity")) << ::testing::PrintToString(all);
  EXPECT_TRUE(has(all, "derived rows")) << ::testing::PrintToString(all);
  auto skipped = check_names("--skip-integrity");
  EXPECT_FALSE(has(skipped, "integrity")) << ::testing::PrintToString(skipped);
  // Everything else is still checked, in the same order.
  std::vector<std::string> expected;
  for (const auto& name : all) {
    if (name != "integrity") expected.push_back(name);
  }
  EXPECT_EQ(skipped, expected);
}

// ---- bad usage and failures ---------------------------------------------------------------------

bool crashed(const CommandResult& r) {
  return contains(r.err, "terminate") || contains(r.err, "Aborted") || contains(r.err, "what()") ||
         contains(r.err, "Segmentation") || r.exit_code < 0;
}

TEST_F(CommandsTest, BadUsageExitsTwoNamingTheFlagOrValue) {
  struct Case {
    std::string args, needle;
  };
  const std::vector<Case> cases = {
      {"partitions list --status bogus", "bogus"},
      {"partitions list --status JOB_FAILED", "JOB_FAILED"},
      {"partitions list --limit 0", "--limit"},
      {"partitions list --limit 1001", "--limit"},
      {"partitions list --offset -1", "--offset"},
      {"partitions list --pattern 'a[b'", "a[b"},
      {"partitions list --format yaml", "yaml"},
      {"partitions show", "REF"},
      {"partitions show p --recent -1", "--recent"},
      {"partitions invalidate p --build br-exec", "--reason"},
      {"partitions nosuch", "nosuch"},
      {"partitions", "list, show, invalidate"},
      {"builds list --status bogus", "bogus"},
      {"builds list --status available", "available"},
      {"builds list --limit 0", "--limit"},
      {"builds list --limit 1001", "--limit"},
      {"builds list --offset -1", "--offset"},
      {"builds list --no-such-flag", "--no-such-flag"},
      {"builds show", "ID"},
      {"builds cancel br-exec", "--reason"},
      {"builds nosuch", "nosuch"},
      {"jobs show", "LABEL"},
      {"jobs list --status running", "--status"},
      {"jobs nosuch", "nosuch"},
      {"job-runs list --status bogus", "bogus"},
      {"job-runs list --limit 0", "--limit"},
      {"job-runs list --limit 1001", "--limit"},
      {"job-runs list --offset -1", "--offset"},
      {"job-runs show", "ID"},
      {"job-runs cancel jr-sales-2", "--reason"},
      {"job-runs nosuch", "nosuch"},
      {"activity --limit 3", "--limit"},
      {"activity extra", "extra"},
      {"views rebuild nosuch", "nosuch"},
      {"views nosuch", "nosuch"},
      {"check --bogus", "--bogus"},
      {"'' activity", "unknown command \"\""},  // an empty word is no command
      {"activity -x", "unknown flag \"-x\" for activity"},
      {"builds list -l 1", "unknown flag \"-l\" for builds list"},
  };
  for (const auto& c : cases) {
    auto r = run_bel(shared_log(), c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.out << r.err;
    EXPECT_TRUE(contains(r.err + r.out, c.needle)) << c.args << "\n" << r.out << r.err;
    EXPECT_FALSE(crashed(r)) << c.args << "\n" << r.err;
  }
  // None of them wrote anything.
  EXPECT_EQ(log_idx(shared_log()).size(), static_cast<size_t>(kLastIdx));
}

TEST_F(CommandsTest, MissingLogExitsOneNamingTheUriAndCreatesNothing) {
  const std::string path = dir_.path() + "/missing.db";
  const std::string log = "sqlite://" + path;
  for (const std::string args :
       {"partitions list", "partitions show p", "partitions invalidate p --reason r --build b",
        "builds list", "builds show b", "builds cancel b --reason r", "jobs list", "jobs show j",
        "job-runs list", "job-runs show r", "job-runs cancel r --reason x", "activity",
        "views status", "views rebuild", "check"}) {
    auto r = run_bel(log, args + " --format json");
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, log)) << args << "\n" << r.err;
    EXPECT_FALSE(crashed(r)) << args << "\n" << r.err;
    EXPECT_EQ(r.out, "") << args;
  }
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << path << " was created";
}

// ---- tables and help ----------------------------------------------------------------------------

TEST_F(CommandsTest, TablesUseShortStatusesAndUtcTimes) {
  auto parts = run_bel(shared_log(), "partitions list --format table");
  ASSERT_EQ(parts.exit_code, 0) << parts.err;
  auto lines = lines_of(parts.out);
  ASSERT_EQ(lines.size(), 5u) << parts.out;
  for (const auto& col : {"PARTITION", "STATUS", "UPDATED (UTC)", "IDX", "BUILD", "JOB RUN"}) {
    EXPECT_TRUE(contains(lines[0], col)) << col << "\n" << parts.out;
  }
  EXPECT_TRUE(contains(lines[1], kSales1) && contains(lines[1], "invalidated") &&
              contains(lines[1], "2026-01-15T10:30:00.000Z") &&
              contains(lines[1], "late upstream data"))
      << parts.out;
  EXPECT_TRUE(contains(lines[4], kSales2) && contains(lines[4], "available") &&
              contains(lines[4], "2026-01-15T10:07:30.000Z") && contains(lines[4], "jr-sales-1"))
      << parts.out;
  EXPECT_FALSE(contains(parts.out, "PARTITION_")) << parts.out;

  auto builds = run_bel(shared_log(), "builds list --format table --status completed");
  ASSERT_EQ(builds.exit_code, 0) << builds.err;
  lines = lines_of(builds.out);
  ASSERT_EQ(lines.size(), 2u) << builds.out;
  for (const auto& col : {"BUILD", "STATUS", "CREATED (UTC)", "UPDATED (UTC)", "EVENTS"}) {
    EXPECT_TRUE(contains(lines[0], col)) << col << "\n" << builds.out;
  }
  EXPECT_TRUE(contains(lines[1], "br-done") && contains(lines[1], "completed") &&
              contains(lines[1], "2026-01-15T10:00:00.000Z") &&
              contains(lines[1], "2026-01-15T10:08:00.000Z"))
      << builds.out;
  EXPECT_FALSE(contains(builds.out, "BUILD_REQUEST_")) << builds.out;

  auto runs = run_bel(shared_log(), "job-runs list --format table --job //jobs:sales");
  ASSERT_EQ(runs.exit_code, 0) << runs.err;
  lines = lines_of(runs.out);
  ASSERT_EQ(lines.size(), 4u) << runs.out;
  for (const auto& col : {"JOB RUN", "JOB", "STATUS", "SCHEDULED (UTC)", "DURATION"}) {
    EXPECT_TRUE(contains(lines[0], col)) << col << "\n" << runs.out;
  }
  EXPECT_TRUE(contains(lines[1], "jr-skip-1") && contains(lines[1], "skipped")) << runs.out;
  EXPECT_TRUE(contains(lines[2], "jr-sales-2") && contains(lines[2], "running") &&
              contains(lines[2], "2026-01-15T10:22:00.000Z"))
      << runs.out;
  EXPECT_TRUE(contains(lines[3], "jr-sales-1") && contains(lines[3], "completed") &&
              contains(lines[3], "4m30s"))
      << runs.out;

  auto jobs = run_bel(shared_log(), "jobs list --format table");
  ASSERT_EQ(jobs.exit_code, 0) << jobs.err;
  lines = lines_of(jobs.out);
  ASSERT_EQ(lines.size(), 3u) << jobs.out;
  EXPECT_TRUE(contains(lines[0], "JOB") && contains(lines[0], "SUCCESS")) << jobs.out;
  // A job whose one run failed: a measured 0%.
  EXPECT_TRUE(contains(lines[1], "//jobs:reports") && contains(lines[1], "0.0%")) << jobs.out;
  EXPECT_TRUE(contains(lines[2], "//jobs:sales") && contains(lines[2], "100.0%") &&
              contains(lines[2], "4m30s") && contains(lines[2], "jr-skip-1"))
      << jobs.out;

  auto show = run_bel(shared_log(), "partitions show " + kSales3 + " --format table");
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_TRUE(contains(show.out, "building")) << show.out;
  EXPECT_TRUE(contains(show.out, "br-exec, br-queued")) << show.out;
  EXPECT_TRUE(contains(show.out, "2026-01-15T10:23:00.000Z")) << show.out;
  EXPECT_TRUE(contains(show.out, "to br-exec")) << show.out;  // the delegation event's detail
  EXPECT_FALSE(contains(show.out, "PARTITION_")) << show.out;
}

TEST_F(CommandsTest, EveryLeafCommandHasHelpNamingLogAndFormat) {
  for (const std::string cmd :
       {"partitions list", "partitions show", "partitions invalidate", "builds list", "builds show",
        "builds cancel", "jobs list", "jobs show", "job-runs list", "job-runs show",
        "job-runs cancel", "activity", "views status", "views rebuild", "check"}) {
    auto r = run_command(shell_quote(kBel) + " " + cmd + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.err;
    EXPECT_TRUE(contains(r.out, "--log")) << cmd << "\n" << r.out;
    EXPECT_TRUE(contains(r.out, "--format")) << cmd << "\n" << r.out;
  }
}

}  // namespace
}  // namespace bel
