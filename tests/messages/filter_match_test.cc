// event_matches (messages/filter_match.h), the filter semantics of SPEC 3.2 that every read path
// and the property tests' references follow: fields AND together, the values of one field OR
// together, and partition refs and partition patterns are one field.
#include "messages/filter_match.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/events.h"

namespace bel {
namespace {

// A job event of build br-1 with these targets, label and run.
BuildEvent matching_job(const std::vector<std::string>& targets, const std::string& label,
                        const std::string& run) {
  return testing::job_event("br-1", run, label, v1::JOB_RUNNING, targets);
}

TEST(FilterMatchTest, AnyPartitionOfTheEventMatchesARefOrAPattern) {
  const BuildEvent e = matching_job({"data/a", "data/b/1"}, "daily", "run-1");
  EventFilter f;
  EXPECT_TRUE(event_matches(f, e));
  f.add_partition_refs("data/c");
  EXPECT_FALSE(event_matches(f, e));
  f.add_partition_refs("data/b/1");  // the event's second partition
  EXPECT_TRUE(event_matches(f, e));

  EventFilter by_pattern;
  by_pattern.add_partition_patterns("other/*");
  EXPECT_FALSE(event_matches(by_pattern, e));
  by_pattern.add_partition_patterns("data/b/*");
  EXPECT_TRUE(event_matches(by_pattern, e));
  // Refs and patterns are one field: either one hitting is enough.
  by_pattern.add_partition_refs("data/none");
  EXPECT_TRUE(event_matches(by_pattern, e));
}

TEST(FilterMatchTest, EveryFieldSetMustMatch) {
  const BuildEvent e = matching_job({"data/a"}, "daily", "run-1");
  EventFilter f;
  f.add_partition_refs("data/a");
  f.add_job_labels("daily");
  f.add_job_run_ids("run-1");
  EXPECT_TRUE(event_matches(f, e));

  EventFilter wrong_run = f;
  wrong_run.set_job_run_ids(0, "run-2");
  EXPECT_FALSE(event_matches(wrong_run, e));
  wrong_run.add_job_run_ids("run-1");  // a second value of the same field
  EXPECT_TRUE(event_matches(wrong_run, e));

  EventFilter wrong_label = f;
  wrong_label.set_job_labels(0, "hourly");
  EXPECT_FALSE(event_matches(wrong_label, e));

  EventFilter wrong_partition = f;
  wrong_partition.set_partition_refs(0, "data/z");
  EXPECT_FALSE(event_matches(wrong_partition, e));
}

TEST(FilterMatchTest, AnEventWithoutTheKindOfKeyDoesNotMatchAFilterOnIt) {
  BuildEvent cancel;
  cancel.set_build_request_id("br-1");
  cancel.mutable_job_run_cancel_event()->set_job_run_id("run-1");
  EventFilter by_run;
  by_run.add_job_run_ids("run-1");
  EXPECT_TRUE(event_matches(by_run, cancel));
  EventFilter by_label;
  by_label.add_job_labels("daily");
  EXPECT_FALSE(event_matches(by_label, cancel));
  EventFilter by_partition;
  by_partition.add_partition_patterns("*");
  EXPECT_FALSE(event_matches(by_partition, cancel));
}

}  // namespace
}  // namespace bel
