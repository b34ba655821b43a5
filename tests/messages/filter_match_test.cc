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

// A value no stored event can hold is refused, naming the field, the value's place and the byte:
// it would match nothing, and a filter carrying it could not reach a coordinator (protobuf strings
// are UTF-8).
TEST(FilterCheckTest, EveryValueMustBeNonEmptyUtf8) {
  EXPECT_TRUE(check_filter(EventFilter{}).ok());
  const auto refused = [](EventFilter f, const std::string& message) {
    Status checked = check_filter(f);
    ASSERT_FALSE(checked.ok()) << message;
    EXPECT_EQ(checked.error().code, ErrorCode::invalid_argument);
    EXPECT_EQ(checked.error().message, message);
  };
  EventFilter refs;
  refs.add_partition_refs("data/a");
  refs.add_partition_refs("data/\xc3\xa9");
  refs.add_partition_refs("data/\\xff");  // an escape typed as text is a valid string
  EXPECT_TRUE(check_filter(refs).ok());
  refs.set_partition_refs(2,
                          "ab\xff"
                          "c");
  refused(refs, "filter partition_refs[2] is not valid UTF-8: byte 0xff at offset 2");
  refs.set_partition_refs(2, "");
  refused(refs, "filter partition_refs[2] is empty");

  EventFilter each;
  each.add_job_labels("\xc0\xaf");  // overlong '/'
  refused(each, "filter job_labels[0] is not valid UTF-8: byte 0xc0 at offset 0");
  each.Clear();
  each.add_job_run_ids("run-\xed\xa0\x80");  // a surrogate
  refused(each, "filter job_run_ids[0] is not valid UTF-8: byte 0xed at offset 4");
  each.Clear();
  each.add_build_request_ids("br-1");
  each.add_build_request_ids("br-\xe2\x82");  // truncated
  refused(each, "filter build_request_ids[1] is not valid UTF-8: byte 0xe2 at offset 3");
  each.Clear();
  each.add_partition_patterns("data/*\x80");
  refused(each, "filter partition_patterns[0] is not valid UTF-8: byte 0x80 at offset 6");
}

}  // namespace
}  // namespace bel
