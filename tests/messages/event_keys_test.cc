// An event's keys (messages/event_keys.h): keys_of and for_each_key, which the filters and every
// backend's key index follow (SPEC 3.2).
#include "messages/event_keys.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bel {
namespace {

BuildEvent job_event(const std::vector<std::string>& targets, const std::string& label,
                     const std::string& run) {
  BuildEvent e;
  auto* job = e.mutable_job_event();
  for (const auto& t : targets) job->add_target_partitions()->set_str(t);
  job->mutable_job_label()->set_label(label);
  job->set_job_run_id(run);
  return e;
}

TEST(EventKeysTest, KeysOfLeavesOutRepeatsAndEmptyValues) {
  const EventKeys keys = keys_of(job_event({"data/b", "data/a", "data/b", ""}, "daily", ""));
  EXPECT_EQ(keys.partitions, (std::vector<std::string>{"data/b", "data/a"}));
  EXPECT_EQ(keys.job_labels, (std::vector<std::string>{"daily"}));
  EXPECT_TRUE(keys.job_run_ids.empty());
}

TEST(EventKeysTest, EachEventTypeNamesItsKeys) {
  BuildEvent request;
  request.mutable_build_request_event()->add_requested_partitions()->set_str("out/1");
  EXPECT_EQ(keys_of(request).partitions, (std::vector<std::string>{"out/1"}));

  BuildEvent partition;
  partition.mutable_partition_event()->mutable_partition_ref()->set_str("out/2");
  partition.mutable_partition_event()->set_job_run_id("run-2");
  EXPECT_EQ(keys_of(partition).partitions, (std::vector<std::string>{"out/2"}));
  EXPECT_EQ(keys_of(partition).job_run_ids, (std::vector<std::string>{"run-2"}));

  BuildEvent graph;
  graph.mutable_job_graph_event()->mutable_job_graph()->add_outputs()->set_str("out/3");
  EXPECT_EQ(keys_of(graph).partitions, (std::vector<std::string>{"out/3"}));

  BuildEvent cancel;
  cancel.mutable_job_run_cancel_event()->set_job_run_id("run-4");
  EXPECT_EQ(keys_of(cancel).job_run_ids, (std::vector<std::string>{"run-4"}));
  EXPECT_TRUE(keys_of(cancel).partitions.empty());

  BuildEvent build_cancel;
  build_cancel.mutable_build_cancel_event();
  const EventKeys none = keys_of(build_cancel);
  EXPECT_TRUE(none.partitions.empty() && none.job_labels.empty() && none.job_run_ids.empty());
}

TEST(EventKeysTest, ForEachKeyVisitsKindByKindWithoutCopying) {
  const BuildEvent e = job_event({"data/b", "", "data/a", "data/b"}, "daily", "run-1");
  std::vector<std::pair<KeyKind, std::string_view>> seen;
  for_each_key(e, [&](KeyKind kind, std::string_view key) { seen.emplace_back(kind, key); });
  const std::vector<std::pair<KeyKind, std::string_view>> want = {{KeyKind::partition, "data/b"},
                                                                  {KeyKind::partition, "data/a"},
                                                                  {KeyKind::job_label, "daily"},
                                                                  {KeyKind::job_run_id, "run-1"}};
  EXPECT_EQ(seen, want);
  // Each key is a view of the event's own field, the first time the value appears.
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].second.data(), e.job_event().target_partitions(0).str().data());
  EXPECT_EQ(seen[1].second.data(), e.job_event().target_partitions(2).str().data());
  EXPECT_EQ(seen[3].second.data(), e.job_event().job_run_id().data());
}

TEST(EventKeysTest, ForEachKeyVisitsWhatKeysOfLists) {
  BuildEvent partition;
  partition.mutable_partition_event()->mutable_partition_ref()->set_str("out/2");
  partition.mutable_partition_event()->set_job_run_id("run-2");
  BuildEvent graph;
  for (const char* ref : {"g/1", "g/2", "g/1", "g/3", "g/2"}) {
    graph.mutable_job_graph_event()->mutable_job_graph()->add_outputs()->set_str(ref);
  }
  BuildEvent invalidation;
  invalidation.mutable_partition_invalidation_event()->mutable_partition_ref()->set_str("inv/1");
  for (const BuildEvent& e : {job_event({"x", "y"}, "", "r"), partition, graph, invalidation}) {
    EventKeys visited;
    for_each_key(e, [&](KeyKind kind, std::string_view key) {
      auto& list = kind == KeyKind::partition   ? visited.partitions
                   : kind == KeyKind::job_label ? visited.job_labels
                                                : visited.job_run_ids;
      list.emplace_back(key);
    });
    const EventKeys listed = keys_of(e);
    EXPECT_EQ(visited.partitions, listed.partitions) << e.ShortDebugString();
    EXPECT_EQ(visited.job_labels, listed.job_labels) << e.ShortDebugString();
    EXPECT_EQ(visited.job_run_ids, listed.job_run_ids) << e.ShortDebugString();
  }
  EXPECT_EQ(keys_of(graph).partitions, (std::vector<std::string>{"g/1", "g/2", "g/3"}));
}

}  // namespace
}  // namespace bel
