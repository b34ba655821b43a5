#include "actors/sim/workload.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "actors/write/event_structure.h"
#include "actors/write/transition_rules.h"

namespace bel::sim {
namespace {

using google::protobuf::util::MessageDifferencer;

// The adversarial stream as the property tests use it (tests/support/random_stream.h).
WorkloadOptions adversarial(uint64_t seed, int concurrent, int space) {
  WorkloadOptions o;
  o.seed = seed;
  o.mode = WorkloadMode::adversarial;
  o.concurrent_builds = concurrent;
  o.partitions = space;
  o.set_idx = true;
  return o;
}

WorkloadOptions realistic(uint64_t seed, int64_t partitions = 400) {
  WorkloadOptions o;
  o.seed = seed;
  o.partitions = partitions;
  return o;
}

void expect_same(const std::vector<BuildEvent>& a, const std::vector<BuildEvent>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(MessageDifferencer::Equals(a[i], b[i])) << "event " << i;
  }
}

size_t count_different(const std::vector<BuildEvent>& a, const std::vector<BuildEvent>& b) {
  size_t differ = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    differ += !MessageDifferencer::Equals(a[i], b[i]);
  }
  return differ;
}

// Applies `events` (as appended: idx 0) to strict rules; fails naming the first rejected one.
// Operator invalidations are checked against SPEC section 2 instead (their build_request_id is
// never received), as the rules do not know them yet.
void expect_strictly_valid(const std::vector<BuildEvent>& events) {
  write::TransitionState rules(write::ValidationMode::strict);
  for (size_t i = 0; i < events.size(); ++i) {
    BuildEvent e = events[i];
    e.set_idx(0);
    auto structure = write::check_structure(e);
    ASSERT_TRUE(structure.ok()) << "event " << i << ": " << structure.error().to_string();
    if (e.build_request_id().rfind("operator:", 0) == 0) {
      ASSERT_TRUE(e.has_partition_invalidation_event()) << e.ShortDebugString();
      ASSERT_FALSE(rules.build_request_status(e.build_request_id()).has_value());
      continue;
    }
    auto transition = rules.apply(e);
    ASSERT_TRUE(transition.ok()) << "event " << i << ": " << transition.error().to_string() << "\n"
                                 << e.ShortDebugString();
  }
}

// Counts of event types and statuses, by name.
std::map<std::string, int> census(const std::vector<BuildEvent>& events) {
  std::map<std::string, int> seen;
  for (const auto& e : events) {
    switch (e.event_type_case()) {
      case BuildEvent::kBuildRequestEvent:
        ++seen[e.build_request_event().status_name()];
        break;
      case BuildEvent::kPartitionEvent:
        ++seen[e.partition_event().status_name()];
        break;
      case BuildEvent::kJobEvent:
        ++seen[e.job_event().status_name()];
        break;
      case BuildEvent::kDelegationEvent:
        ++seen["delegation_event"];
        break;
      case BuildEvent::kJobGraphEvent:
        ++seen["job_graph_event"];
        break;
      case BuildEvent::kPartitionInvalidationEvent:
        ++seen["partition_invalidation_event"];
        break;
      case BuildEvent::kJobRunCancelEvent:
        ++seen["job_run_cancel_event"];
        break;
      case BuildEvent::kBuildCancelEvent:
        ++seen["build_cancel_event"];
        break;
      case BuildEvent::EVENT_TYPE_NOT_SET:
        ++seen["none"];
        break;
    }
  }
  return seen;
}

const char* const kEveryKind[] = {"BUILD_REQUEST_RECEIVED",
                                  "BUILD_REQUEST_PLANNING",
                                  "BUILD_REQUEST_ANALYSIS_COMPLETED",
                                  "BUILD_REQUEST_EXECUTING",
                                  "BUILD_REQUEST_COMPLETED",
                                  "BUILD_REQUEST_FAILED",
                                  "PARTITION_REQUESTED",
                                  "PARTITION_SCHEDULED",
                                  "PARTITION_BUILDING",
                                  "PARTITION_AVAILABLE",
                                  "PARTITION_FAILED",
                                  "PARTITION_DELEGATED",
                                  "JOB_SCHEDULED",
                                  "JOB_RUNNING",
                                  "JOB_COMPLETED",
                                  "JOB_FAILED",
                                  "JOB_SKIPPED",
                                  "delegation_event",
                                  "job_graph_event",
                                  "partition_invalidation_event",
                                  "job_run_cancel_event",
                                  "build_cancel_event"};

// ---- Both modes --------------------------------------------------------------------------

TEST(WorkloadTest, SameOptionsGiveTheSameEvents) {
  expect_same(generate_events(adversarial(7, 6, 20), 1500),
              generate_events(adversarial(7, 6, 20), 1500));
  expect_same(generate_events(realistic(7), 3000), generate_events(realistic(7), 3000));
}

TEST(WorkloadTest, DifferentSeedsGiveDifferentEvents) {
  EXPECT_GT(count_different(generate_events(adversarial(1, 4, 10), 300),
                            generate_events(adversarial(2, 4, 10), 300)),
            0u);
  EXPECT_GT(count_different(generate_events(realistic(1), 300), generate_events(realistic(2), 300)),
            0u);
}

TEST(WorkloadTest, IdxIsContiguousFromOneAndTimestampsAscend) {
  for (auto mode : {WorkloadMode::adversarial, WorkloadMode::realistic}) {
    WorkloadOptions o = adversarial(3, 8, 30);
    o.mode = mode;
    const auto events = generate_events(o, 2500);
    ASSERT_EQ(events.size(), 2500u);
    std::set<std::string> ids;
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].idx(), static_cast<int64_t>(i + 1));
      if (i > 0) {
        EXPECT_GT(events[i].timestamp(), events[i - 1].timestamp());
      }
      EXPECT_TRUE(ids.insert(events[i].event_id()).second) << events[i].event_id();
    }
    EXPECT_EQ(events.front().event_id(), "ev-3-1");
  }
}

TEST(WorkloadTest, ExactlyTheRequestedNumberOfEvents) {
  EXPECT_EQ(generate_events(adversarial(5, 3, 5), 0).size(), 0u);
  EXPECT_EQ(generate_events(adversarial(5, 3, 5), 1).size(), 1u);
  EXPECT_EQ(generate_events(adversarial(5, 1, 1), 777).size(), 777u);
  EXPECT_EQ(generate_events(realistic(5, 1), 777).size(), 777u);
}

TEST(WorkloadTest, StreamingGivesTheSameEventsAsAVector) {
  const WorkloadOptions o = realistic(9);
  const auto all = generate_events(o, 1000);
  Workload workload(o);
  std::vector<BuildEvent> batches;
  workload.next_batch(300, batches);
  workload.next_batch(0, batches);
  for (int i = 0; i < 200; ++i) batches.push_back(workload.next());
  workload.next_batch(500, batches);
  EXPECT_EQ(workload.produced(), 1000);
  expect_same(all, batches);
  std::vector<BuildEvent> called;
  generate(o, 1000, [&](const BuildEvent& e) { called.push_back(e); });
  expect_same(all, called);
}

TEST(WorkloadTest, ASuppliedClockStampsEveryEventAndChangesNothingElse) {
  WorkloadOptions o = realistic(4);
  auto simulated = generate_events(o, 800);
  int64_t now = 42;
  o.clock = [&now] { return now += 10; };
  auto clocked = generate_events(o, 800);
  for (size_t i = 0; i < clocked.size(); ++i) {
    EXPECT_EQ(clocked[i].timestamp(), 52 + 10 * static_cast<int64_t>(i));
    clocked[i].set_timestamp(0);
    simulated[i].set_timestamp(0);
    // Manifests carry the job's times, which come from the clock too.
    for (auto* list : {&clocked[i], &simulated[i]}) {
      if (list->has_job_event()) list->mutable_job_event()->clear_manifests();
    }
  }
  expect_same(simulated, clocked);
}

TEST(WorkloadTest, EventIdsAreAbsentSequentialOrUuidShaped) {
  WorkloadOptions o = realistic(6);
  o.event_ids = EventIds::none;
  for (const auto& e : generate_events(o, 100)) {
    EXPECT_TRUE(e.event_id().empty());
    EXPECT_EQ(e.idx(), 0);  // as appended
  }
  o.event_ids = EventIds::uuid;
  std::set<std::string> ids;
  for (const auto& e : generate_events(o, 2000)) {
    EXPECT_EQ(e.event_id().size(), 36u) << e.event_id();
    EXPECT_TRUE(ids.insert(e.event_id()).second) << e.event_id();
  }
}

// ---- Adversarial mode (the property tests' streams) --------------------------------------

// The stream is meant to exercise every rule of the views: check that it does.
TEST(WorkloadTest, AdversarialCoversEveryEventTypeStatusAndEdgeOrder) {
  const auto events = generate_events(adversarial(11, 8, 20), 6000);
  std::map<std::string, std::set<std::string>> builders;     // ref -> build requests with events
  std::map<std::string, std::string> first_delegation_kind;  // request+ref -> first kind
  for (const auto& e : events) {
    if (e.has_partition_event()) {
      const std::string& ref = e.partition_event().partition_ref().str();
      builders[ref].insert(e.build_request_id());
      EXPECT_NE(ref.find('/'), std::string::npos);
      if (e.partition_event().status_code() == v1::PARTITION_DELEGATED) {
        first_delegation_kind.emplace(e.build_request_id() + "\n" + ref, "partition_event");
      }
    } else if (e.has_delegation_event()) {
      first_delegation_kind.emplace(
          e.build_request_id() + "\n" + e.delegation_event().partition_ref().str(),
          "delegation_event");
    }
  }
  auto seen = census(events);
  for (const char* name : kEveryKind) EXPECT_GT(seen[name], 0) << name;
  EXPECT_EQ(seen["none"], 0);
  bool delegation_first = false;
  bool partition_delegated_first = false;
  for (const auto& [key, kind] : first_delegation_kind) {
    delegation_first = delegation_first || kind == "delegation_event";
    partition_delegated_first = partition_delegated_first || kind == "partition_event";
  }
  EXPECT_TRUE(delegation_first);
  EXPECT_TRUE(partition_delegated_first);
  size_t shared = 0;
  for (const auto& [ref, ids] : builders) shared += ids.size() > 1;
  EXPECT_GT(shared, 5u) << "partitions should be built by several build requests";
}

// Every event passes the append validation: structure, and transitions in strict mode.
TEST(WorkloadTest, AdversarialEventsPassStrictValidation) {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const int n = static_cast<int>(seed);
    expect_strictly_valid(generate_events(adversarial(seed, 1 + n, 5 + 3 * n), 3000));
  }
}

TEST(WorkloadTest, OdditiesBreakTheStrictRulesAndALenientLogTakesThem) {
  WorkloadOptions o = adversarial(12, 6, 12);
  o.oddity_rate = 0.05;
  const auto events = generate_events(o, 3000);
  write::TransitionState strict(write::ValidationMode::strict);
  write::TransitionState lenient(write::ValidationMode::lenient);
  int rejected = 0;
  std::vector<std::string> warnings;
  for (BuildEvent e : events) {
    e.set_idx(0);
    ASSERT_TRUE(write::check_structure(e).ok()) << e.ShortDebugString();
    rejected += !strict.apply(e).ok();
    ASSERT_TRUE(lenient.apply(e, &warnings).ok());
  }
  EXPECT_GT(rejected, 50);
  EXPECT_EQ(warnings.size(), static_cast<size_t>(rejected));
  bool unknown_request = false, after_terminal = false, backwards = false, unknown_run = false;
  for (const auto& w : warnings) {
    unknown_request = unknown_request || w.find("does not exist") != std::string::npos;
    after_terminal = after_terminal || w.find("(terminal)") != std::string::npos;
    backwards = backwards || w.find("only move forward") != std::string::npos;
    unknown_run = unknown_run || w.find("first status must be JOB_SCHEDULED") != std::string::npos;
  }
  EXPECT_TRUE(unknown_request);
  EXPECT_TRUE(after_terminal);
  EXPECT_TRUE(backwards);
  EXPECT_TRUE(unknown_run);
}

// ---- Realistic mode ----------------------------------------------------------------------

TEST(WorkloadTest, RealisticEventsPassStrictValidationOnManySeeds) {
  for (uint64_t seed = 1; seed <= 24; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    WorkloadOptions o = realistic(seed, 8 << (seed % 8));
    o.concurrent_builds = 1 + static_cast<int>(seed % 12);
    o.failure_rate = 0.02 * static_cast<double>(seed % 6);
    o.cancel_rate = 0.02 * static_cast<double>(seed % 5);
    o.job_cancel_rate = 0.01 * static_cast<double>(seed % 4);
    o.invalidate_rate = 0.05 * static_cast<double>(seed % 3);
    o.operator_invalidation_rate = 0.003 * static_cast<double>(seed % 4);
    expect_strictly_valid(generate_events(o, 4000));
  }
}

TEST(WorkloadTest, RealisticCoversEveryFlow) {
  WorkloadOptions o = realistic(21, 200);
  o.operator_invalidation_rate = 0.005;
  const auto events = generate_events(o, 20000);
  auto seen = census(events);
  for (const char* name : kEveryKind) EXPECT_GT(seen[name], 0) << name;
  EXPECT_GT(seen["BUILD_REQUEST_COMPLETED"], seen["BUILD_REQUEST_FAILED"]);

  std::set<std::string> received, open;
  int active = 0, historical = 0, by_operator = 0, by_build = 0;
  for (const auto& e : events) {
    const std::string& id = e.build_request_id();
    if (e.has_build_request_event()) {
      const auto s = e.build_request_event().status_code();
      if (s == v1::BUILD_REQUEST_RECEIVED) {
        received.insert(id);
        open.insert(id);
      } else if (s == v1::BUILD_REQUEST_COMPLETED || s == v1::BUILD_REQUEST_FAILED) {
        open.erase(id);
      }
    } else if (e.has_build_cancel_event()) {
      open.erase(id);
    } else if (e.has_delegation_event()) {
      const std::string& to = e.delegation_event().delegated_to_build_request_id();
      EXPECT_TRUE(received.count(to)) << "delegated to an unknown build request " << to;
      EXPECT_LT(to, id) << "only to earlier build requests";
      ++(open.count(to) ? active : historical);
    } else if (e.has_partition_invalidation_event()) {
      if (id.rfind("operator:", 0) == 0) {
        EXPECT_FALSE(received.count(id));
        ++by_operator;
      } else {
        EXPECT_TRUE(open.count(id)) << id;
        ++by_build;
      }
    }
  }
  EXPECT_GT(active, 0);
  EXPECT_GT(historical, 0);
  EXPECT_GT(by_operator, 0);
  EXPECT_GT(by_build, 0);
}

// A few hot partitions are wanted over and over; a long tail is wanted once or never.
TEST(WorkloadTest, RealisticPartitionsAreSkewed) {
  Workload workload(realistic(5, 100000));
  std::map<std::string, int> wanted;  // ref -> build requests that want it
  int requests = 0;
  for (int i = 0; i < 100000; ++i) {
    const BuildEvent& e = workload.next();
    if (!e.has_build_request_event() ||
        e.build_request_event().status_code() != v1::BUILD_REQUEST_RECEIVED) {
      continue;
    }
    ++requests;
    for (const auto& ref : e.build_request_event().requested_partitions()) ++wanted[ref.str()];
  }
  std::vector<int> counts;
  for (const auto& [ref, n] : wanted) counts.push_back(n);
  std::sort(counts.rbegin(), counts.rend());
  int top = 0;
  for (size_t i = 0; i < std::min<size_t>(counts.size(), 100); ++i) top += counts[i];
  EXPECT_GT(wanted.size(), 1500u) << "a long tail of partitions";
  EXPECT_GT(top * 3, requests)
      << "the hottest 100 partitions are wanted by a third of the requests";
  EXPECT_EQ(counts.back(), 1) << "some partitions are wanted once";
}

TEST(WorkloadTest, RealisticRefsComeFromThePartitionSpace) {
  Workload workload(realistic(8, 64));
  std::set<std::string> space;
  for (int64_t n = 0; n < workload.partition_count(); ++n) space.insert(workload.partition_ref(n));
  EXPECT_EQ(space.size(), 64u);
  for (int i = 0; i < 5000; ++i) {
    const BuildEvent& e = workload.next();
    if (e.has_partition_event()) {
      EXPECT_TRUE(space.count(e.partition_event().partition_ref().str()))
          << e.partition_event().partition_ref().str();
    }
  }
}

}  // namespace
}  // namespace bel::sim
