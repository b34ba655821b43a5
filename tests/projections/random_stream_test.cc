#include "tests/support/random_stream.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "actors/write/event_structure.h"
#include "actors/write/transition_rules.h"

namespace bel::testing {
namespace {

using google::protobuf::util::MessageDifferencer;

RandomStreamOptions options(int events, int concurrent, int space) {
  RandomStreamOptions o;
  o.num_events = events;
  o.concurrent_builds = concurrent;
  o.partition_space = space;
  return o;
}

TEST(RandomStreamTest, SameSeedGivesTheSameStream) {
  const auto a = random_stream(7, options(1500, 6, 20));
  const auto b = random_stream(7, options(1500, 6, 20));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(MessageDifferencer::Equals(a[i], b[i])) << "event " << i;
  }
}

TEST(RandomStreamTest, DifferentSeedsGiveDifferentStreams) {
  const auto a = random_stream(1, options(300, 4, 10));
  const auto b = random_stream(2, options(300, 4, 10));
  size_t differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += !MessageDifferencer::Equals(a[i], b[i]);
  EXPECT_GT(differ, 0u);
}

TEST(RandomStreamTest, IdxIsContiguousFromOneAndTimestampsAscend) {
  const auto events = random_stream(3, options(2500, 8, 30));
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

TEST(RandomStreamTest, ExactlyTheRequestedNumberOfEvents) {
  EXPECT_EQ(random_stream(5, options(0, 3, 5)).size(), 0u);
  EXPECT_EQ(random_stream(5, options(1, 3, 5)).size(), 1u);
  EXPECT_EQ(random_stream(5, options(777, 1, 1)).size(), 777u);
}

// The stream is meant to exercise every rule of the views: check that it does.
TEST(RandomStreamTest, CoversEveryEventTypeAndStatus) {
  const auto events = random_stream(11, options(6000, 8, 20));
  std::map<std::string, int> seen;
  std::map<std::string, std::set<std::string>> builders;  // ref -> build requests with events
  bool delegation_first = false;
  bool partition_delegated_first = false;
  std::map<std::string, std::string> first_delegation_kind;  // request+ref -> first kind
  for (const auto& e : events) {
    switch (e.event_type_case()) {
      case BuildEvent::kBuildRequestEvent:
        ++seen[e.build_request_event().status_name()];
        break;
      case BuildEvent::kPartitionEvent: {
        ++seen[e.partition_event().status_name()];
        const std::string& ref = e.partition_event().partition_ref().str();
        builders[ref].insert(e.build_request_id());
        EXPECT_NE(ref.find('/'), std::string::npos);
        if (e.partition_event().status_code() == v1::PARTITION_DELEGATED) {
          first_delegation_kind.emplace(e.build_request_id() + "\n" + ref, "partition_event");
        }
        break;
      }
      case BuildEvent::kJobEvent:
        ++seen[e.job_event().status_name()];
        break;
      case BuildEvent::kDelegationEvent:
        ++seen["delegation_event"];
        first_delegation_kind.emplace(
            e.build_request_id() + "\n" + e.delegation_event().partition_ref().str(),
            "delegation_event");
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
        ADD_FAILURE() << "event without a type";
        break;
    }
  }
  for (const auto& [key, kind] : first_delegation_kind) {
    delegation_first = delegation_first || kind == "delegation_event";
    partition_delegated_first = partition_delegated_first || kind == "partition_event";
  }
  for (const char* name :
       {"BUILD_REQUEST_RECEIVED", "BUILD_REQUEST_PLANNING", "BUILD_REQUEST_ANALYSIS_COMPLETED",
        "BUILD_REQUEST_EXECUTING", "BUILD_REQUEST_COMPLETED", "BUILD_REQUEST_FAILED",
        "PARTITION_REQUESTED", "PARTITION_SCHEDULED", "PARTITION_BUILDING", "PARTITION_AVAILABLE",
        "PARTITION_FAILED", "PARTITION_DELEGATED", "JOB_SCHEDULED", "JOB_RUNNING",
        "JOB_COMPLETED", "JOB_FAILED", "JOB_SKIPPED", "delegation_event", "job_graph_event",
        "partition_invalidation_event", "job_run_cancel_event", "build_cancel_event"}) {
    EXPECT_GT(seen[name], 0) << name;
  }
  EXPECT_TRUE(delegation_first);
  EXPECT_TRUE(partition_delegated_first);
  size_t shared = 0;
  for (const auto& [ref, ids] : builders) shared += ids.size() > 1;
  EXPECT_GT(shared, 5u) << "partitions should be built by several build requests";
}

// Every event passes the append validation: structure, and transitions in strict mode.
TEST(RandomStreamTest, EveryEventPassesStrictValidation) {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const int n = static_cast<int>(seed);
    const auto events = random_stream(seed, options(3000, 1 + n, 5 + 3 * n));
    write::TransitionState rules(write::ValidationMode::strict);
    for (BuildEvent e : events) {
      const int64_t idx = e.idx();
      e.set_idx(0);  // as appended: the log assigns idx
      auto structure = write::check_structure(e);
      ASSERT_TRUE(structure.ok()) << "idx " << idx << ": " << structure.error().to_string();
      auto transition = rules.apply(e);
      ASSERT_TRUE(transition.ok()) << "idx " << idx << ": " << transition.error().to_string()
                                   << "\n" << e.ShortDebugString();
    }
  }
}

}  // namespace
}  // namespace bel::testing
