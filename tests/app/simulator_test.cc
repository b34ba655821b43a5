// The simulated build workers against an in-process coordinator on memory://: what they report
// agrees with what the log holds, every kind of DataBuild event shows up, a seed reproduces its
// run, and errors are counted, never fatal.
#include "actors/sim/simulator.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include "actors/client/api_client.h"
#include "actors/coordinator.h"
#include "actors/coordinator_options.h"
#include "actors/sim/sim_worker.h"
#include "actors/write/transition_rules.h"
#include "messages/status_names.h"

namespace bel::sim {
namespace {

constexpr auto kTimeout = std::chrono::seconds(30);
constexpr auto kRunTimeout = std::chrono::milliseconds(60000);

// An actor system with a coordinator on a fresh memory:// log, asked through an actors::ApiClient.
// A failed call is a test failure (and an empty answer).
class TestCoordinator {
 public:
  explicit TestCoordinator(actors::CoordinatorOptions options = {})
      : system_(actors::configure_actor_system(config_)) {
    auto api = actors::start_coordinator(system_, "memory://", std::move(options));
    EXPECT_TRUE(api.ok()) << api.error().to_string();
    client_.emplace(system_, api.ok() ? *api : actors::BelApi{}, kTimeout);
  }
  ~TestCoordinator() {
    if (api()) actors::stop_coordinator(api());
  }

  caf::actor_system& system() { return system_; }
  const actors::BelApi& api() const { return client_->api(); }

  QueryResult query(Query q, int64_t min_idx, bool fallback = false) {
    q.set_min_idx(min_idx);
    auto r = fallback ? client_->fallback(q) : client_->query(q);
    if (!r.ok()) ADD_FAILURE() << r.error().to_string();
    return r.ok() ? std::move(*r) : QueryResult{};
  }

  std::vector<BuildEvent> events(const EventFilter& filter = {}) {
    std::vector<BuildEvent> out;
    ListEventsRequest req;
    *req.mutable_filter() = filter;
    req.set_limit(10000);
    for (bool more = true; more;) {
      auto page = client_->list_events(req);
      if (!page.ok()) {
        ADD_FAILURE() << page.error().to_string();
        break;
      }
      for (const auto& e : page->events()) out.push_back(e);
      req.set_since_idx(page->next_idx());
      more = page->has_more();
    }
    return out;
  }

  StorageStats stats() {
    auto s = client_->stats();
    if (!s.ok()) ADD_FAILURE() << s.error().to_string();
    return s.ok() ? *s : StorageStats{};
  }

  // Appends `events` as one batch.
  Result<std::vector<AppendAck>> append(std::vector<BuildEvent> events) {
    return client_->append(std::move(events));
  }

 private:
  caf::actor_system_config config_;
  caf::actor_system system_;
  std::optional<actors::ApiClient> client_;  // set in the constructor; ApiClient is not assignable
};

std::string errors_of(const SimulationReport& report) {
  std::string out;
  for (const auto& m : report.error_messages) out += "\n  " + m;
  return out;
}

int64_t builds_ended(const SimulationReport& r) {
  return r.builds_completed + r.builds_failed + r.builds_cancelled;
}

bool is_terminal(BuildRequestStatus s) {
  return s == v1::BUILD_REQUEST_COMPLETED || s == v1::BUILD_REQUEST_FAILED ||
         s == v1::BUILD_REQUEST_CANCELLED;
}

// Checks the report against the log (a fresh one, holding this simulation's events only).
// A simulation started on `coord`, and the future of the report it ends with.
struct ReportedSimulation {
  Result<SimulationActor> sim;
  std::future<SimulationReport> finished;
};
ReportedSimulation start_reported(TestCoordinator& coord, const SimulationOptions& options) {
  auto done = std::make_shared<std::promise<SimulationReport>>();
  auto finished = done->get_future();
  auto sim = start_simulation(coord.system(), coord.api(), options,
                              [done](const SimulationReport& r) { done->set_value(r); });
  return {std::move(sim), std::move(finished)};
}

// Asks `sim` for its report until `enough(report)` holds: waits on answers, not on a clock.
// False when it never did (or the simulation did not answer).
bool poll_until(TestCoordinator& coord, const SimulationActor& sim,
                const std::function<bool(const SimulationReport&)>& enough) {
  caf::scoped_actor self{coord.system()};
  bool reached = false;
  for (int polls = 0; !reached && polls < 1000000; ++polls) {
    bool answered = false;
    self->request(sim, kTimeout, report_atom::value)
        .receive(
            [&](const SimulationReport& r) {
              answered = true;
              reached = enough(r);
            },
            [&](const caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
    if (!answered) return false;
  }
  return reached;
}

void expect_report_matches_log(TestCoordinator& coord, const SimulationReport& report) {
  Query builds;
  builds.mutable_builds_list()->set_limit(1000);
  auto list = coord.query(builds, report.last_idx).builds_list();
  EXPECT_EQ(list.total_count(), static_cast<int64_t>(report.build_request_ids.size()));
  EXPECT_EQ(list.total_count(), builds_ended(report));
  std::map<BuildRequestStatus, int64_t> by_status;
  for (const auto& b : list.builds()) {
    EXPECT_TRUE(is_terminal(b.status_code())) << b.build_request_id() << " is " << b.status_name();
    ++by_status[b.status_code()];
  }
  EXPECT_EQ(by_status[v1::BUILD_REQUEST_COMPLETED], report.builds_completed);
  EXPECT_EQ(by_status[v1::BUILD_REQUEST_FAILED], report.builds_failed);
  EXPECT_EQ(by_status[v1::BUILD_REQUEST_CANCELLED], report.builds_cancelled);

  Query activity;
  activity.mutable_activity();
  auto act = coord.query(activity, report.last_idx).activity();
  EXPECT_EQ(act.event_count(), report.events_appended);
  EXPECT_EQ(act.as_of_idx(), report.last_idx);
  EXPECT_EQ(act.active_builds_count(), 0);

  Query failed_runs;
  failed_runs.mutable_job_runs_list()->add_status_filter(v1::JOB_FAILED);
  EXPECT_EQ(coord.query(failed_runs, report.last_idx).job_runs_list().total_count(),
            report.jobs_failed);
  Query skipped_runs;
  skipped_runs.mutable_job_runs_list()->add_status_filter(v1::JOB_SKIPPED);
  EXPECT_EQ(coord.query(skipped_runs, report.last_idx).job_runs_list().total_count(),
            report.delegations_historical);

  EventFilter invalidations;
  invalidations.add_event_types("partition_invalidation_event");
  EXPECT_EQ(static_cast<int64_t>(coord.events(invalidations).size()), report.invalidations);

  // Every delegation is a DelegationEvent and/or a PartitionEvent DELEGATED of one request and
  // partition.
  EventFilter delegations;
  delegations.add_event_types("delegation_event");
  delegations.add_event_types("partition_event");
  std::set<std::pair<std::string, std::string>> delegated;
  for (const auto& e : coord.events(delegations)) {
    if (e.has_delegation_event()) {
      delegated.emplace(e.build_request_id(), e.delegation_event().partition_ref().str());
    } else if (e.partition_event().status_code() == v1::PARTITION_DELEGATED) {
      delegated.emplace(e.build_request_id(), e.partition_event().partition_ref().str());
    }
  }
  EXPECT_EQ(static_cast<int64_t>(delegated.size()),
            report.delegations_active + report.delegations_historical);
}

TEST(SimulatorTest, FortyBuildsOnFourWorkersAgreeWithTheLog) {
  TestCoordinator coord;
  SimulationOptions options;
  options.seed = 20261121;
  options.workers = 4;
  options.builds = 40;
  options.run_id = "t1";
  // Higher than the defaults, so that every kind of flow shows up in 40 requests whatever the
  // timing (which partitions get delegated rather than built depends on it).
  options.failure_rate = 0.1;
  options.cancel_rate = 0.1;
  options.invalidate_rate = 0.05;
  auto report = run_simulation(coord.system(), coord.api(), options, kRunTimeout);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->errors, 0) << errors_of(*report);
  ASSERT_EQ(report->build_request_ids.size(), 40u);
  EXPECT_EQ(report->build_request_ids.front(), "br-t1-000001");
  EXPECT_EQ(report->build_request_ids.back(), "br-t1-000040");
  EXPECT_EQ(builds_ended(*report), 40);
  expect_report_matches_log(coord, *report);

  // Every kind of DataBuild flow happened at least once.
  EXPECT_GE(report->delegations_active, 1) << "seed " << options.seed;
  EXPECT_GE(report->delegations_historical, 1) << "seed " << options.seed;
  EXPECT_GE(report->jobs_failed, 1) << "seed " << options.seed;
  EXPECT_GE(report->builds_cancelled, 1) << "seed " << options.seed;
  EXPECT_GE(report->invalidations, 1) << "seed " << options.seed;
  EXPECT_GE(report->builds_completed, 1) << "seed " << options.seed;

  // Job runs took real time: the log stamped their RUNNING and their end in separate commits.
  Query metrics;
  metrics.mutable_job_metrics()->set_job_label("//sales:daily");
  auto sales = coord.query(metrics, report->last_idx).job_metrics();
  if (sales.runs_by_status().count("JOB_COMPLETED") > 0) {
    EXPECT_GT(sales.avg_duration_ns(), 0);
  }

  // The views and a full scan agree at the end.
  Query activity;
  activity.mutable_activity();
  auto from_view = coord.query(activity, report->last_idx);
  auto from_scan = coord.query(activity, report->last_idx, /*fallback=*/true);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(from_view, from_scan))
      << from_view.DebugString() << "\n---\n"
      << from_scan.DebugString();
}

// One line per event, with the run id taken out of every id.
std::map<std::string, std::vector<std::string>> signatures(const std::vector<BuildEvent>& events,
                                                           const std::string& run_id) {
  auto strip = [&](std::string s) {
    for (const std::string prefix : {"br-", "jr-"}) {
      const std::string with_run = prefix + run_id + "-";
      for (size_t at; (at = s.find(with_run)) != std::string::npos;) {
        s.replace(at, with_run.size(), prefix);
      }
    }
    return s;
  };
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& e : events) {
    std::string line;
    switch (e.event_type_case()) {
      case BuildEvent::kBuildRequestEvent:
        line = "request " + e.build_request_event().status_name();
        break;
      case BuildEvent::kPartitionEvent:
        line = "partition " + e.partition_event().partition_ref().str() + " " +
               e.partition_event().status_name() + " " + e.partition_event().job_run_id();
        break;
      case BuildEvent::kJobEvent:
        line = "job " + e.job_event().job_run_id() + " " + e.job_event().job_label().label() + " " +
               e.job_event().status_name();
        break;
      case BuildEvent::kDelegationEvent:
        line = "delegation " + e.delegation_event().partition_ref().str() + " to " +
               e.delegation_event().delegated_to_build_request_id();
        break;
      case BuildEvent::kJobGraphEvent:
        line = "graph " + std::to_string(e.job_graph_event().job_graph().nodes_size());
        break;
      case BuildEvent::kPartitionInvalidationEvent:
        line = "invalidation " + e.partition_invalidation_event().partition_ref().str();
        break;
      case BuildEvent::kJobRunCancelEvent:
        line = "job run cancel " + e.job_run_cancel_event().job_run_id();
        break;
      case BuildEvent::kBuildCancelEvent:
        line = "cancel";
        break;
      case BuildEvent::EVENT_TYPE_NOT_SET:
        line = "?";
        break;
    }
    out[strip(e.build_request_id())].push_back(strip(line));
  }
  return out;
}

TEST(SimulatorTest, SameSeedOnOneWorkerLogsTheSameEventsPerBuild) {
  SimulationOptions options;
  options.seed = 5;
  options.workers = 1;
  options.window = 1;
  options.builds = 25;
  options.failure_rate = 0.2;
  options.cancel_rate = 0.2;
  options.invalidate_rate = 0.3;
  std::map<std::string, std::vector<std::string>> runs[2];
  const std::string run_ids[2] = {"first", "second"};
  for (int i = 0; i < 2; ++i) {
    TestCoordinator coord;
    options.run_id = run_ids[i];
    auto report = run_simulation(coord.system(), coord.api(), options, kRunTimeout);
    ASSERT_TRUE(report.ok()) << report.error().to_string();
    EXPECT_EQ(report->errors, 0) << errors_of(*report);
    expect_report_matches_log(coord, *report);
    runs[i] = signatures(coord.events(), run_ids[i]);
  }
  ASSERT_EQ(runs[0].size(), 25u);
  for (const auto& [build, lines] : runs[0]) {
    EXPECT_EQ(lines, runs[1][build]) << build;
  }
}

TEST(SimulatorTest, PlanIsAFunctionOfTheSeed) {
  SimulationOptions options;
  options.seed = 42;
  auto same = [](const PlannedBuild& a, const PlannedBuild& b) {
    if (a.build_request_id != b.build_request_id ||
        a.requested_partitions != b.requested_partitions || a.cancel_wave != b.cancel_wave ||
        a.partitions.size() != b.partitions.size()) {
      return false;
    }
    for (size_t i = 0; i < a.partitions.size(); ++i) {
      const auto &x = a.partitions[i], &y = b.partitions[i];
      if (x.ref != y.ref || x.job_fails != y.job_fails || x.run_ns != y.run_ns ||
          x.upstream != y.upstream || x.wave != y.wave) {
        return false;
      }
    }
    return true;
  };
  int differ = 0;
  for (int64_t n = 1; n <= 30; ++n) {
    auto a = plan_build(options, "r", n);
    EXPECT_TRUE(same(a, plan_build(options, "r", n))) << n;
    ASSERT_FALSE(a.requested_partitions.empty()) << n;
    // Upstream first: every partition's upstream comes before it, in an earlier wave.
    for (size_t i = 0; i < a.partitions.size(); ++i) {
      for (size_t u : a.partitions[i].upstream) {
        EXPECT_LT(u, i);
        EXPECT_LT(a.partitions[u].wave, a.partitions[i].wave);
      }
    }
    SimulationOptions other = options;
    other.seed = 43;
    if (!same(a, plan_build(other, "r", n))) ++differ;
  }
  EXPECT_GT(differ, 0);
  auto first = plan_build(options, "r", 1);
  EXPECT_EQ(first.build_request_id, "br-r-000001");
  EXPECT_EQ(first.partitions.front().ref.substr(first.partitions.front().ref.size() - 10),
            "2026-11-21");
}

// Four workers running `builds` build requests, retrying a refused request every millisecond and
// many times over, for the retry tests.
SimulationOptions retrying(uint64_t seed, int builds, const std::string& run_id) {
  SimulationOptions options;
  options.seed = seed;
  options.workers = 4;
  options.builds = builds;
  options.run_id = run_id;
  options.retry_delay = std::chrono::milliseconds(1);
  options.max_retries = 60;
  return options;
}

TEST(SimulatorTest, OverloadedAppendsAreRetried) {
  actors::CoordinatorOptions tight;
  // Above the largest batch the simulation sends (a batch above the limit is refused whole).
  tight.supervisor.storage.max_pending_events = 24;
  TestCoordinator coord(tight);
  auto report = run_simulation(coord.system(), coord.api(), retrying(9, 20, "ov"), kRunTimeout);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->errors, 0) << errors_of(*report);
  EXPECT_GT(coord.stats().overloaded(), 0);
  expect_report_matches_log(coord, *report);
}

// A log that refuses commits for a while (a PostgreSQL server restarting, say): the appends it
// refused are retried, and every build ends as it would have.
TEST(SimulatorTest, AppendsTheLogRefusesForAWhileAreRetried) {
  actors::CoordinatorOptions flaky;
  auto commits = std::make_shared<std::atomic<int>>(0);
  flaky.storage.fault_hook = [commits](storage::FaultPoint point) -> Status {
    if (point == storage::FaultPoint::commit && ++*commits % 3 == 0) {
      return make_error(ErrorCode::storage_unavailable, "injected: the server is restarting");
    }
    return ok_status();
  };
  TestCoordinator coord(flaky);
  auto report = run_simulation(coord.system(), coord.api(), retrying(11, 12, "fl"), kRunTimeout);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->errors, 0) << errors_of(*report);
  EXPECT_EQ(builds_ended(*report), 12);
  const auto by_code = coord.stats().rejected_by_code();
  EXPECT_GT(by_code.count("storage_unavailable") ? by_code.at("storage_unavailable") : 0, 0);
  expect_report_matches_log(coord, *report);
}

TEST(SimulatorTest, AnErrorEndsOneBuildAndTheOthersCarryOn) {
  TestCoordinator coord;
  // A build request of an earlier run already holds the id the simulation's first one gets.
  BuildEvent taken;
  taken.set_build_request_id("br-dup-000001");
  taken.mutable_build_request_event()->set_status_code(v1::BUILD_REQUEST_RECEIVED);
  BuildEvent done = taken;
  done.mutable_build_request_event()->set_status_code(v1::BUILD_REQUEST_COMPLETED);
  auto acks = coord.append({taken, done});
  EXPECT_TRUE(acks.ok()) << acks.error().to_string();
  SimulationOptions options;
  options.seed = 3;
  options.workers = 2;
  options.builds = 6;
  options.run_id = "dup";
  auto report = run_simulation(coord.system(), coord.api(), options, kRunTimeout);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->errors, 1) << errors_of(*report);
  ASSERT_EQ(report->error_messages.size(), 1u);
  EXPECT_NE(report->error_messages[0].find("invalid_transition"), std::string::npos)
      << report->error_messages[0];
  EXPECT_NE(report->error_messages[0].find("br-dup-000001"), std::string::npos)
      << report->error_messages[0];
  EXPECT_EQ(builds_ended(*report), 6);
  EXPECT_GE(report->builds_failed, 1);
}

// An operator cancels a job run of one build the workers drive and another build whole: the
// workers stop those builds' steps (the first ends FAILED naming its run, the second stays
// CANCELLED) and count no error; the report still counts each build as the log ended it.
TEST(SimulatorTest, AnOperatorsCancelsStopTheirBuildsWithoutAnError) {
  TestCoordinator coord;
  SimulationOptions options;
  options.seed = 5;
  options.workers = 1;
  options.builds = 6;
  options.rate = 300;  // paced, so the builds are open while this test looks for one
  options.run_id = "op";
  auto started = start_reported(coord, options);
  auto& sim = started.sim;
  auto& finished = started.finished;
  ASSERT_TRUE(sim.ok()) << sim.error().to_string();
  std::string run_cancelled;    // its build request
  std::string build_cancelled;  // the build request cancelled whole
  auto running = [&] {
    return finished.wait_for(std::chrono::seconds(0)) != std::future_status::ready;
  };
  while (running() && (run_cancelled.empty() || build_cancelled.empty())) {
    if (run_cancelled.empty()) {
      Query open_runs;
      open_runs.mutable_job_runs_list()->add_status_filter(v1::JOB_SCHEDULED);
      open_runs.mutable_job_runs_list()->add_status_filter(v1::JOB_RUNNING);
      const QueryResult runs = coord.query(open_runs, 0);
      for (const auto& r : runs.job_runs_list().job_runs()) {
        BuildEvent cancel;
        cancel.set_build_request_id(r.build_request_id());
        cancel.mutable_job_run_cancel_event()->set_job_run_id(r.job_run_id());
        cancel.mutable_job_run_cancel_event()->set_reason("operator: wrong config");
        // Refused when the run ended meanwhile: the next one, then.
        if (coord.append({cancel}).ok()) {
          run_cancelled = r.build_request_id();
          break;
        }
      }
      continue;
    }
    Query open_builds;
    for (auto s : {v1::BUILD_REQUEST_RECEIVED, v1::BUILD_REQUEST_PLANNING,
                   v1::BUILD_REQUEST_EXECUTING, v1::BUILD_REQUEST_ANALYSIS_COMPLETED}) {
      open_builds.mutable_builds_list()->add_status_filter(s);
    }
    const QueryResult builds = coord.query(open_builds, 0);
    for (const auto& b : builds.builds_list().builds()) {
      if (b.build_request_id() == run_cancelled) continue;
      BuildEvent cancel;
      cancel.set_build_request_id(b.build_request_id());
      cancel.mutable_build_cancel_event()->set_reason("operator: not needed");
      if (coord.append({cancel}).ok()) {
        build_cancelled = b.build_request_id();
        break;
      }
    }
  }
  ASSERT_FALSE(run_cancelled.empty()) << "the simulation ended before a job run could be cancelled";
  ASSERT_FALSE(build_cancelled.empty()) << "the simulation ended before a build could be cancelled";
  ASSERT_EQ(finished.wait_for(kTimeout), std::future_status::ready);
  const SimulationReport report = finished.get();
  EXPECT_EQ(report.errors, 0) << errors_of(report);
  EXPECT_EQ(builds_ended(report), 6);
  Query summary;
  summary.mutable_build_summary()->set_build_request_id(run_cancelled);
  const auto ended = coord.query(summary, report.last_idx).build_summary();
  EXPECT_EQ(ended.status_code(), v1::BUILD_REQUEST_FAILED) << ended.message();
  EXPECT_NE(ended.message().find("was cancelled"), std::string::npos) << ended.message();
  summary.mutable_build_summary()->set_build_request_id(build_cancelled);
  EXPECT_EQ(coord.query(summary, report.last_idx).build_summary().status_code(),
            v1::BUILD_REQUEST_CANCELLED);
  // The report counts each build by how it ended in the log; the log holds the operator's two
  // events beside the workers'.
  Query builds;
  builds.mutable_builds_list()->set_limit(1000);
  const QueryResult list = coord.query(builds, report.last_idx);
  std::map<BuildRequestStatus, int64_t> by_status;
  for (const auto& b : list.builds_list().builds()) ++by_status[b.status_code()];
  EXPECT_EQ(by_status[v1::BUILD_REQUEST_COMPLETED], report.builds_completed);
  EXPECT_EQ(by_status[v1::BUILD_REQUEST_FAILED], report.builds_failed);
  EXPECT_EQ(by_status[v1::BUILD_REQUEST_CANCELLED], report.builds_cancelled);
  Query activity;
  activity.mutable_activity();
  EXPECT_EQ(coord.query(activity, report.last_idx).activity().event_count(),
            report.events_appended + 2);
}

// A worker finds its build request ended by an operator from the refusal of its next append,
// whichever it is: an event of a job run (one wording of the rules) or the request's own final
// status (the other, which once went uncounted: an error, and a FAILED appended in vain). The
// messages come from the transition rules themselves.
TEST(SimulatorTest, ABuildEndedElsewhereIsReadFromEitherWordingOfItsRefusal) {
  write::TransitionState rules;
  for (const auto& e : {request_event("br-1", v1::BUILD_REQUEST_RECEIVED, {"p/1"}),
                        request_event("br-1", v1::BUILD_REQUEST_EXECUTING),
                        build_cancel_event("br-1", "operator: not needed"),
                        request_event("br-10", v1::BUILD_REQUEST_RECEIVED, {"p/1"}),
                        request_event("br-10", v1::BUILD_REQUEST_FAILED)}) {
    ASSERT_TRUE(rules.apply(e).ok()) << e.DebugString();
  }
  const auto own = rules.apply(request_event("br-1", v1::BUILD_REQUEST_COMPLETED));
  const auto run = rules.apply(job_event("br-1", "jr-1", "//a:job", v1::JOB_SCHEDULED, {"p/1"}));
  const auto failed = rules.apply(request_event("br-10", v1::BUILD_REQUEST_COMPLETED));
  const auto backwards = rules.apply(request_event("br-2", v1::BUILD_REQUEST_RECEIVED, {"p/1"}));
  ASSERT_FALSE(own.ok());
  ASSERT_FALSE(run.ok());
  ASSERT_FALSE(failed.ok());
  ASSERT_TRUE(backwards.ok());
  const auto forward_only = rules.apply(request_event("br-2", v1::BUILD_REQUEST_RECEIVED));
  ASSERT_FALSE(forward_only.ok());
  EXPECT_EQ(worker::ended_build_status(own.error().message, "br-1"), "BUILD_REQUEST_CANCELLED")
      << own.error().message;
  EXPECT_EQ(worker::ended_build_status(run.error().message, "br-1"), "BUILD_REQUEST_CANCELLED")
      << run.error().message;
  EXPECT_EQ(worker::ended_build_status(failed.error().message, "br-10"), "BUILD_REQUEST_FAILED")
      << failed.error().message;
  // Another request's refusal, or one that is not about an ended request, says nothing.
  EXPECT_EQ(worker::ended_build_status(failed.error().message, "br-1"), "");
  EXPECT_EQ(worker::ended_build_status(forward_only.error().message, "br-2"), "")
      << forward_only.error().message;
}

TEST(SimulatorTest, StopFinishesTheBuildsUnderWay) {
  TestCoordinator coord;
  SimulationOptions options;
  options.seed = 77;
  options.builds = 0;  // until stopped
  options.run_id = "st";
  auto started = start_reported(coord, options);
  auto& sim = started.sim;
  auto& finished = started.finished;
  ASSERT_TRUE(sim.ok()) << sim.error().to_string();
  // Wait (on answers, not on a clock) until a few build requests have ended.
  ASSERT_TRUE(
      poll_until(coord, *sim, [](const SimulationReport& r) { return builds_ended(r) >= 8; }));
  caf::anon_send(*sim, stop_atom::value);
  ASSERT_EQ(finished.wait_for(kTimeout), std::future_status::ready);
  auto report = finished.get();
  EXPECT_EQ(report.errors, 0) << errors_of(report);
  EXPECT_GE(builds_ended(report), 8);
  expect_report_matches_log(coord, report);
}

// At a rate so slow that the builds under way would take hours to finish paced, a stop still
// finishes them: the workers drop their pace once the simulation stops.
TEST(SimulatorTest, AStopFinishesTheBuildsUnderWayWithoutTheirPace) {
  TestCoordinator coord;
  SimulationOptions options;
  options.seed = 78;
  options.workers = 2;
  options.builds = 0;
  options.rate = 0.001;  // one event per 1000 s, shared by the workers
  options.run_id = "sl";
  auto started = start_reported(coord, options);
  auto& sim = started.sim;
  auto& finished = started.finished;
  ASSERT_TRUE(sim.ok()) << sim.error().to_string();
  // Each worker's first batch goes at once; wait (on answers) until one is in the log.
  ASSERT_TRUE(poll_until(coord, *sim,
                         [&](const SimulationReport&) { return coord.stats().last_idx() >= 1; }));
  caf::anon_send(*sim, stop_atom::value);
  const bool stopped = finished.wait_for(kTimeout) == std::future_status::ready;
  // Else ended with its workers, which would keep the actor system (and the test) waiting.
  if (!stopped) {
    caf::scoped_actor self{coord.system()};
    self->send_exit(*sim, caf::make_error(caf::sec::request_timeout));
  }
  ASSERT_TRUE(stopped) << "the stopped simulation still waits for its pace";
  auto report = finished.get();
  EXPECT_EQ(report.errors, 0) << errors_of(report);
  EXPECT_GE(builds_ended(report), 1);
  expect_report_matches_log(coord, report);
}

TEST(SimulatorTest, ExitMessageStopsLikeStop) {
  TestCoordinator coord;
  SimulationOptions options;
  options.builds = 0;
  options.run_id = "ex";
  auto started = start_reported(coord, options);
  auto& sim = started.sim;
  auto& finished = started.finished;
  ASSERT_TRUE(sim.ok()) << sim.error().to_string();
  caf::anon_send_exit(*sim, caf::exit_reason::user_shutdown);
  ASSERT_EQ(finished.wait_for(kTimeout), std::future_status::ready);
  auto report = finished.get();
  EXPECT_EQ(report.errors, 0) << errors_of(report);
  expect_report_matches_log(coord, report);
}

// Any other exit reason ends the simulation at once, its workers with it: paced so slowly that
// each would drive its build request for hours, none is left running. The simulation runs on an
// actor system of its own, so that CAF's count of running actors there is its own alone.
TEST(SimulatorTest, AnotherExitReasonEndsTheSimulationWithItsWorkers) {
  TestCoordinator coord;
  caf::actor_system_config config;
  caf::actor_system system{actors::configure_actor_system(config)};
  caf::scoped_actor self{system};
  const size_t before = system.registry().running();
  SimulationOptions options;
  options.builds = 0;
  options.workers = 3;
  options.rate = SimulationOptions::kMinRate;
  options.run_id = "ab";
  auto sim = start_simulation(system, coord.api(), options);
  ASSERT_TRUE(sim.ok()) << sim.error().to_string();
  // Once it answers, it has spawned its workers.
  self->request(*sim, kTimeout, report_atom::value)
      .receive([](const SimulationReport&) {},
               [&](const caf::error& e) { FAIL() << caf::to_string(e); });
  ASSERT_EQ(system.registry().running(), before + 1 + 3);
  self->monitor(*sim);
  self->send_exit(*sim, caf::make_error(caf::sec::request_timeout));
  self->receive([&](const caf::down_msg& down) { EXPECT_EQ(down.source, sim->address()); });
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (system.registry().running() > before && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(system.registry().running(), before);
}

TEST(SimulatorTest, CoordinatorGoingDownStopsTheSimulation) {
  TestCoordinator coord;
  SimulationOptions options;
  options.builds = 0;
  options.run_id = "dn";
  auto started = start_reported(coord, options);
  auto& sim = started.sim;
  auto& finished = started.finished;
  ASSERT_TRUE(sim.ok()) << sim.error().to_string();
  actors::stop_coordinator(coord.api());
  ASSERT_EQ(finished.wait_for(kTimeout), std::future_status::ready);
  auto report = finished.get();
  EXPECT_GE(report.errors, 1);
  // Requests already on their way fail as the coordinator stops (it may answer some before its
  // own down message arrives).
  for (const auto& m : report.error_messages) {
    EXPECT_TRUE(m.find("coordinator went down") != std::string::npos ||
                m.find("storage_unavailable") != std::string::npos)
        << m;
  }
}

// Real time: every event is stamped by the log's clock within the run, never going back along
// idx (so no producer's events go back in time).
TEST(SimulatorTest, EventsCarryTheRealTimeOfTheRunAndNeverGoBack) {
  TestCoordinator coord;
  SimulationOptions options;
  options.builds = 5;
  options.run_id = "clk";
  const auto now_ns = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t before = now_ns();
  auto report = run_simulation(coord.system(), coord.api(), options, kRunTimeout);
  const int64_t after = now_ns();
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  auto events = coord.events();
  ASSERT_FALSE(events.empty());
  int64_t previous = 0;
  for (const auto& e : events) {
    EXPECT_GE(e.timestamp(), before) << e.idx();
    EXPECT_LE(e.timestamp(), after) << e.idx();
    EXPECT_GE(e.timestamp(), previous) << e.idx();
    previous = e.timestamp();
    // A job's manifest says when it really ran: within the run too.
    for (const auto& m : e.job_event().manifests()) {
      EXPECT_GE(m.start_time(), before) << e.idx();
      EXPECT_LE(m.start_time(), m.end_time()) << e.idx();
      EXPECT_LE(m.end_time(), after) << e.idx();
    }
  }
}

// The pace, on a clock the test sets: a batch goes once the events before it have had their
// time at the rate; time left unused is not banked into a burst.
TEST(SimulatorPaceTest, BatchesGoAtTheRateAndIdleTimeIsNotBanked) {
  using std::chrono::milliseconds;
  const worker::Pace::Clock::time_point t0{};
  worker::Pace pace(10);                                 // events per second
  EXPECT_EQ(pace.admit(t0, 5), t0);                      // the first batch goes at once
  EXPECT_EQ(pace.admit(t0, 5), t0 + milliseconds(500));  // after the first one's 0.5 s
  EXPECT_EQ(pace.admit(t0 + milliseconds(100), 1), t0 + milliseconds(1000));
  EXPECT_EQ(pace.admit(t0 + milliseconds(5000), 2), t0 + milliseconds(5000));  // idle: at once
  EXPECT_EQ(pace.admit(t0 + milliseconds(5000), 1), t0 + milliseconds(5200));  // not a burst

  worker::Pace none;  // no pace: always now
  EXPECT_EQ(none.admit(t0 + milliseconds(7), 1000000), t0 + milliseconds(7));
}

// The plan of a build request depends on the seed and its number, not on the workers.
TEST(SimulatorTest, TheSameSeedPlansTheSameBuildsWhateverTheWorkers) {
  SimulationOptions one;
  one.seed = 9;
  one.workers = 1;
  SimulationOptions many = one;
  many.workers = 8;
  for (int64_t n = 1; n <= 50; ++n) {
    const PlannedBuild a = plan_build(one, "run", n);
    const PlannedBuild b = plan_build(many, "run", n);
    EXPECT_EQ(a.build_request_id, b.build_request_id);
    ASSERT_EQ(a.partitions.size(), b.partitions.size()) << n;
    for (size_t i = 0; i < a.partitions.size(); ++i) {
      EXPECT_EQ(a.partitions[i].ref, b.partitions[i].ref);
      EXPECT_EQ(a.partitions[i].job_fails, b.partitions[i].job_fails);
    }
    EXPECT_EQ(a.cancel_wave, b.cancel_wave);
  }
}

TEST(SimulatorTest, BadOptionsAreInvalidArguments) {
  TestCoordinator coord;
  auto expect_invalid = [&](SimulationOptions o, const char* what) {
    auto r = run_simulation(coord.system(), coord.api(), o, kRunTimeout);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument) << what;
    EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message;
  };
  SimulationOptions o;
  o.workers = 0;
  expect_invalid(o, "workers");
  o = {};
  o.window = 0;
  expect_invalid(o, "window");
  o = {};
  o.failure_rate = 1.5;
  expect_invalid(o, "failure_rate");
  o = SimulationOptions{};
  o.rate = -1;
  expect_invalid(o, "rate");
  o = {};
  o.rate = 1e-10;  // no pace at all once its share of time overflowed
  expect_invalid(o, "rate");
  EXPECT_TRUE(rate_in_range(0));
  EXPECT_TRUE(rate_in_range(SimulationOptions::kMinRate));
  EXPECT_FALSE(rate_in_range(SimulationOptions::kMinRate / 2));
  o = {};
  o.run_id = "a/b";
  expect_invalid(o, "run_id");
  o = {};
  o.builds = 0;
  expect_invalid(o, "builds > 0");
}

}  // namespace
}  // namespace bel::sim
