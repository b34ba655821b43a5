// An event's keys (messages/event_keys.h): keys_of, which the filters and every backend's key
// index follow (SPEC 3.2).
#include "messages/event_keys.h"

#include <gtest/gtest.h>

#include <string>
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

}  // namespace
}  // namespace bel
