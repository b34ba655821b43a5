#include "actors/write/event_structure.h"
#include "actors/write/transition_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/events.h"

namespace bel::write {
namespace {

using ::testing::HasSubstr;

// ---- Builders ------------------------------------------------------------------------------

// bel::testing's builders make the events these tests need (no event_id, timestamp or status
// name set). Its delegation_event takes the delegated-to request explicitly (the tests' default
// is "br-other"), its build_cancel_event the reason (the tests use "user").
using bel::testing::build_cancel_event;
using bel::testing::delegation_event;
using bel::testing::job_event;
using bel::testing::partition_event;
using bel::testing::request_event;

BuildEvent base(const std::string& br) {
  BuildEvent e;
  e.set_build_request_id(br);
  return e;
}

// Not in bel::testing: a job graph, and invalidations and job run cancels without a reason (its
// invalidation_event and job_run_cancel_event always take one).
BuildEvent invalidation_event(const std::string& br, const std::string& ref) {
  BuildEvent e = base(br);
  e.mutable_partition_invalidation_event()->mutable_partition_ref()->set_str(ref);
  return e;
}

BuildEvent job_graph_event(const std::string& br, const std::vector<std::string>& outputs = {}) {
  BuildEvent e = base(br);
  auto* g = e.mutable_job_graph_event()->mutable_job_graph();
  g->set_label("graph");
  for (const auto& ref : outputs) g->add_outputs()->set_str(ref);
  return e;
}

BuildEvent job_cancel_event(const std::string& br, const std::string& run) {
  BuildEvent e = base(br);
  e.mutable_job_run_cancel_event()->set_job_run_id(run);
  return e;
}

// Succeeds when `status` failed with `code` and a message containing `fragment`.
::testing::AssertionResult Fails(const Status& status, ErrorCode code,
                                 const std::string& fragment) {
  if (status.ok()) return ::testing::AssertionFailure() << "succeeded";
  if (status.error().code != code || status.error().message.find(fragment) == std::string::npos) {
    return ::testing::AssertionFailure() << "got " << status.error().to_string() << ", expected "
                                         << to_string(code) << " containing \"" << fragment << "\"";
  }
  return ::testing::AssertionSuccess();
}

// Succeeds when `status` failed with `code` and exactly `message`.
::testing::AssertionResult FailsWith(const Status& status, ErrorCode code,
                                     const std::string& message) {
  if (status.ok()) return ::testing::AssertionFailure() << "succeeded";
  if (status.error().code != code || status.error().message != message) {
    return ::testing::AssertionFailure() << "got " << status.error().to_string() << ", expected "
                                         << to_string(code) << ": " << message;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult Ok(const Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status.error().to_string();
}

::testing::AssertionResult Invalid(const BuildEvent& e, const std::string& message) {
  return FailsWith(check_structure(e), ErrorCode::invalid_event, message);
}

// A TransitionState with the build requests `ids` RECEIVED and committed.
TransitionState with_requests(const std::vector<std::string>& ids,
                              ValidationMode mode = ValidationMode::strict) {
  TransitionState state(mode);
  for (const auto& id : ids) {
    EXPECT_TRUE(Ok(state.apply(request_event(id, v1::BUILD_REQUEST_RECEIVED))));
  }
  state.commit();
  return state;
}

// ---- Validation mode -----------------------------------------------------------------------

TEST(ValidationModeTest, NamesRoundTrip) {
  for (auto mode : {ValidationMode::strict, ValidationMode::lenient}) {
    EXPECT_EQ(parse_validation_mode(to_string(mode)), mode);
  }
  EXPECT_EQ(to_string(ValidationMode::strict), "strict");
  EXPECT_EQ(to_string(ValidationMode::lenient), "lenient");
}

TEST(ValidationModeTest, UnknownNameIsNotParsed) {
  EXPECT_EQ(parse_validation_mode("loose"), std::nullopt);
  EXPECT_EQ(parse_validation_mode(""), std::nullopt);
}

TEST(ValidationModeTest, DefaultModeIsStrict) {
  EXPECT_EQ(TransitionState().mode(), ValidationMode::strict);
}

// ---- Structure -----------------------------------------------------------------------------

TEST(StructureTest, WellFormedEventsOfEveryTypePass) {
  EXPECT_TRUE(Ok(check_structure(request_event("br-1", v1::BUILD_REQUEST_RECEIVED, {"a", "b"}))));
  EXPECT_TRUE(Ok(check_structure(partition_event("br-1", "a", v1::PARTITION_AVAILABLE, "jr-1"))));
  EXPECT_TRUE(Ok(check_structure(job_event("br-1", "jr-1", "//job", v1::JOB_RUNNING, {"a"}))));
  EXPECT_TRUE(Ok(check_structure(delegation_event("br-1", "a", "br-other"))));
  EXPECT_TRUE(Ok(check_structure(job_graph_event("br-1", {"a"}))));
  EXPECT_TRUE(Ok(check_structure(invalidation_event("br-1", "a"))));
  EXPECT_TRUE(Ok(check_structure(job_cancel_event("br-1", "jr-1"))));
  EXPECT_TRUE(Ok(check_structure(build_cancel_event("br-1", "user"))));
}

TEST(StructureTest, EmptyBuildRequestIdIsRejected) {
  EXPECT_TRUE(Invalid(build_cancel_event("", "user"), "build_request_id is empty"));
}

TEST(StructureTest, EventWithoutTypeIsRejected) {
  BuildEvent e = base("br-1");
  EXPECT_TRUE(Fails(check_structure(e), ErrorCode::invalid_event,
                    "no event type is set (expected one of build_request_event, partition_event, "
                    "job_event, delegation_event, job_graph_event, partition_invalidation_event, "
                    "job_run_cancel_event, build_cancel_event)"));
}

TEST(StructureTest, NonZeroIdxIsRejected) {
  BuildEvent e = build_cancel_event("br-1", "user");
  e.set_idx(5);
  EXPECT_TRUE(Invalid(e, "idx must be 0 on append (the log assigns it), got 5"));
}

TEST(StructureTest, NegativeTimestampIsRejected) {
  BuildEvent e = build_cancel_event("br-1", "user");
  e.set_timestamp(-1);
  EXPECT_TRUE(Invalid(e, "timestamp is negative"));
}

TEST(StructureTest, EmptyEventIdIsAccepted) {
  BuildEvent e = build_cancel_event("br-1", "user");
  e.set_event_id("");
  EXPECT_TRUE(Ok(check_structure(e)));
}

TEST(StructureTest, EventIdOfMaxLengthIsAccepted) {
  BuildEvent e = build_cancel_event("br-1", "user");
  e.set_event_id(std::string(kMaxEventIdBytes, 'e'));
  EXPECT_TRUE(Ok(check_structure(e)));
}

TEST(StructureTest, OverlongEventIdIsRejected) {
  BuildEvent e = build_cancel_event("br-1", "user");
  e.set_event_id(std::string(kMaxEventIdBytes + 1, 'e'));
  EXPECT_TRUE(Invalid(e, "event_id is 257 bytes (max 256)"));
}

TEST(StructureTest, EventIdWithControlCharacterIsRejected) {
  BuildEvent e = build_cancel_event("br-1", "user");
  e.set_event_id("ab\tc");
  EXPECT_TRUE(Invalid(e, "event_id contains control character 0x09 at offset 2"));
}

TEST(StructureTest, EmptyPartitionRefInPartitionEventIsRejected) {
  EXPECT_TRUE(Invalid(partition_event("br-1", "", v1::PARTITION_AVAILABLE),
                      "partition_event.partition_ref is empty"));
}

TEST(StructureTest, MissingPartitionRefInPartitionEventIsRejected) {
  BuildEvent e = partition_event("br-1", "a", v1::PARTITION_AVAILABLE);
  e.mutable_partition_event()->clear_partition_ref();
  EXPECT_TRUE(Invalid(e, "partition_event.partition_ref is empty"));
}

TEST(StructureTest, EmptyJobRunIdInJobEventIsRejected) {
  EXPECT_TRUE(
      Invalid(job_event("br-1", "", "//job", v1::JOB_SCHEDULED), "job_event.job_run_id is empty"));
}

TEST(StructureTest, EmptyJobLabelInJobEventIsRejected) {
  EXPECT_TRUE(
      Invalid(job_event("br-1", "jr-1", "", v1::JOB_SCHEDULED), "job_event.job_label is empty"));
}

TEST(StructureTest, EmptyPartitionRefInDelegationIsRejected) {
  EXPECT_TRUE(
      Invalid(delegation_event("br-1", "", "br-other"), "delegation_event.partition_ref is empty"));
}

TEST(StructureTest, DelegationWithoutTargetIsRejected) {
  EXPECT_TRUE(Invalid(delegation_event("br-1", "a", ""),
                      "delegation_event.delegated_to_build_request_id is empty"));
}

TEST(StructureTest, EmptyPartitionRefInInvalidationIsRejected) {
  EXPECT_TRUE(Invalid(invalidation_event("br-1", ""),
                      "partition_invalidation_event.partition_ref is empty"));
}

TEST(StructureTest, EmptyJobRunIdInJobRunCancelIsRejected) {
  EXPECT_TRUE(Invalid(job_cancel_event("br-1", ""), "job_run_cancel_event.job_run_id is empty"));
}

TEST(StructureTest, EmptyPartitionRefInTargetPartitionsIsRejected) {
  EXPECT_TRUE(Invalid(job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED, {"a", "b", ""}),
                      "job_event.target_partitions[2] is empty"));
}

TEST(StructureTest, EmptyPartitionRefInRequestedPartitionsIsRejected) {
  EXPECT_TRUE(Invalid(request_event("br-1", v1::BUILD_REQUEST_RECEIVED, {"", "a"}),
                      "build_request_event.requested_partitions[0] is empty"));
}

TEST(StructureTest, EmptyPartitionRefInJobGraphOutputsIsRejected) {
  EXPECT_TRUE(
      Invalid(job_graph_event("br-1", {"a", ""}), "job_graph_event.job_graph.outputs[1] is empty"));
}

TEST(StructureTest, EmptyPartitionRefInTaskConfigIsRejected) {
  BuildEvent outputs = job_graph_event("br-1", {"a"});
  auto* task = outputs.mutable_job_graph_event()->mutable_job_graph()->add_nodes();
  task->mutable_job()->set_label("//job");
  task->mutable_config()->add_outputs()->set_str("");
  EXPECT_TRUE(Invalid(outputs, "job_graph_event.job_graph.nodes[0].config.outputs[0] is empty"));

  BuildEvent inputs = job_graph_event("br-1", {"a"});
  auto* dep = inputs.mutable_job_graph_event()
                  ->mutable_job_graph()
                  ->add_nodes()
                  ->mutable_config()
                  ->add_inputs();
  dep->mutable_partition_ref()->set_str("");
  EXPECT_TRUE(Invalid(
      inputs, "job_graph_event.job_graph.nodes[0].config.inputs[0].partition_ref is empty"));
}

TEST(StructureTest, DataDepWithoutPartitionRefIsRejected) {
  BuildEvent e = job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED);
  e.mutable_job_event()->mutable_config()->add_inputs()->set_dep_type_code(v1::MATERIALIZE);
  EXPECT_TRUE(Invalid(e, "job_event.config.inputs[0].partition_ref is empty"));
}

TEST(StructureTest, EmptyPartitionRefInManifestIsRejected) {
  BuildEvent e = job_event("br-1", "jr-1", "//job", v1::JOB_COMPLETED);
  auto* m = e.mutable_job_event()->add_manifests();
  m->add_outputs()->set_str("a");
  m->add_outputs()->set_str("");
  EXPECT_TRUE(Invalid(e, "job_event.manifests[0].outputs[1] is empty"));
}

TEST(StructureTest, ControlCharacterInPartitionRefIsRejected) {
  EXPECT_TRUE(Invalid(partition_event("br-1", "abc\ndef", v1::PARTITION_AVAILABLE),
                      "partition_event.partition_ref contains control character 0x0a at offset 3"));
}

TEST(StructureTest, DeleteCharacterInNestedPartitionRefIsRejected) {
  EXPECT_TRUE(
      Invalid(job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED, {"a", "b\x7f"}),
              "job_event.target_partitions[1] contains control character 0x7f at offset 1"));
}

// C1 control characters (U+0080..U+009F) are control characters too, though not single bytes.
TEST(StructureTest, C1ControlCharacterInPartitionRefOrIdIsRejected) {
  EXPECT_TRUE(
      Invalid(partition_event("br-1",
                              "a\xc2\x85"
                              "b",
                              v1::PARTITION_AVAILABLE),
              "partition_event.partition_ref contains control character U+0085 at offset 1"));
  EXPECT_TRUE(Invalid(build_cancel_event("br\xc2\x9f", "user"),
                      "build_request_id contains control character U+009F at offset 2"));
  // The neighbours of C1 in UTF-8 are letters and signs: U+00A0 (no-break space), U+00E9.
  EXPECT_TRUE(Ok(check_structure(partition_event("br-1",
                                                 "a\xc2\xa0"
                                                 "b\xc3\xa9",
                                                 v1::PARTITION_AVAILABLE))));
}

TEST(StructureTest, NonAsciiPartitionRefIsAccepted) {
  EXPECT_TRUE(Ok(check_structure(partition_event("br-1", "daten/größe", v1::PARTITION_AVAILABLE))));
}

TEST(StructureTest, ControlCharacterInIdsIsRejected) {
  EXPECT_TRUE(Invalid(build_cancel_event("br\x01", "user"),
                      "build_request_id contains control character 0x01 at offset 2"));
  EXPECT_TRUE(Invalid(job_event("br-1", "jr\r", "//job", v1::JOB_SCHEDULED),
                      "job_event.job_run_id contains control character 0x0d at offset 2"));
  EXPECT_TRUE(Invalid(job_event("br-1", "jr-1", "//j\tob", v1::JOB_SCHEDULED),
                      "job_event.job_label contains control character 0x09 at offset 3"));
  EXPECT_TRUE(Invalid(delegation_event("br-1", "a", "br\n2"),
                      "delegation_event.delegated_to_build_request_id contains control character "
                      "0x0a at offset 2"));
  EXPECT_TRUE(
      Invalid(job_cancel_event("br-1", "\x1fjr"),
              "job_run_cancel_event.job_run_id contains control character 0x1f at offset 0"));
}

TEST(StructureTest, StatusCodeOutOfRangeIsRejected) {
  EXPECT_TRUE(Invalid(partition_event("br-1", "a", static_cast<PartitionStatus>(42)),
                      "partition_event.status_code 42 is out of range"));
  EXPECT_TRUE(Invalid(job_event("br-1", "jr-1", "//job", static_cast<JobStatus>(-3)),
                      "job_event.status_code -3 is out of range"));
  EXPECT_TRUE(Invalid(request_event("br-1", static_cast<BuildRequestStatus>(8)),
                      "build_request_event.status_code 8 is out of range"));
}

TEST(StructureTest, UnknownStatusIsRejected) {
  EXPECT_TRUE(Invalid(partition_event("br-1", "a", v1::PARTITION_UNKNOWN),
                      "partition_event.status_code is PARTITION_UNKNOWN"));
  EXPECT_TRUE(Invalid(job_event("br-1", "jr-1", "//job", v1::JOB_UNKNOWN),
                      "job_event.status_code is JOB_UNKNOWN"));
  EXPECT_TRUE(Invalid(request_event("br-1", v1::BUILD_REQUEST_UNKNOWN),
                      "build_request_event.status_code is BUILD_REQUEST_UNKNOWN"));
}

TEST(StructureTest, DepTypeOutOfRangeIsRejected) {
  BuildEvent e = job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED);
  auto* dep = e.mutable_job_event()->mutable_config()->add_inputs();
  dep->mutable_partition_ref()->set_str("a");
  dep->set_dep_type_code(static_cast<v1::DepType>(9));
  EXPECT_TRUE(Invalid(e, "job_event.config.inputs[0].dep_type_code 9 is out of range"));
}

TEST(StructureTest, QueryDepTypeIsAccepted) {
  BuildEvent e = job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED);
  auto* dep = e.mutable_job_event()->mutable_config()->add_inputs();
  dep->mutable_partition_ref()->set_str("a");
  dep->set_dep_type_code(v1::QUERY);
  dep->set_dep_type_name("QUERY");
  EXPECT_TRUE(Ok(check_structure(e)));
}

TEST(StructureTest, MismatchedStatusNameIsRejected) {
  BuildEvent e = partition_event("br-1", "a", v1::PARTITION_AVAILABLE);
  e.mutable_partition_event()->set_status_name("AVAILABLE");
  EXPECT_TRUE(Invalid(
      e,
      "partition_event.status_name \"AVAILABLE\" does not match status_code PARTITION_AVAILABLE"));

  BuildEvent j = job_event("br-1", "jr-1", "//job", v1::JOB_RUNNING);
  j.mutable_job_event()->set_status_name("JOB_COMPLETED");
  EXPECT_TRUE(Fails(check_structure(j), ErrorCode::invalid_event, "job_event.status_name"));

  BuildEvent r = request_event("br-1", v1::BUILD_REQUEST_RECEIVED);
  r.mutable_build_request_event()->set_status_name("received");
  EXPECT_TRUE(
      Fails(check_structure(r), ErrorCode::invalid_event, "build_request_event.status_name"));
}

TEST(StructureTest, MatchingStatusNameIsAccepted) {
  BuildEvent e = partition_event("br-1", "a", v1::PARTITION_AVAILABLE);
  e.mutable_partition_event()->set_status_name("PARTITION_AVAILABLE");
  EXPECT_TRUE(Ok(check_structure(e)));
}

TEST(StructureTest, MismatchedDepTypeNameIsRejected) {
  BuildEvent e = job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED);
  auto* dep = e.mutable_job_event()->mutable_config()->add_inputs();
  dep->mutable_partition_ref()->set_str("a");
  dep->set_dep_type_code(v1::MATERIALIZE);
  dep->set_dep_type_name("QUERY");
  EXPECT_TRUE(Invalid(e,
                      "job_event.config.inputs[0].dep_type_name \"QUERY\" does not match "
                      "dep_type_code MATERIALIZE"));
}

TEST(StructureTest, OversizedStringInRepeatedFieldIsRejected) {
  BuildEvent e = job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED);
  auto* config = e.mutable_job_event()->mutable_config();
  for (int i = 0; i < 3; ++i) config->add_args("--flag");
  config->add_args(std::string(70000, 'x'));
  EXPECT_TRUE(Invalid(e, "job_event.config.args[3] is 70000 bytes (max 65536)"));
}

TEST(StructureTest, StringOfExactlyMaxLengthIsAccepted) {
  BuildEvent e = job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED);
  e.mutable_job_event()->set_message(std::string(kMaxStringBytes, 'x'));
  EXPECT_TRUE(Ok(check_structure(e)));
}

TEST(StructureTest, OversizedSingularStringIsRejected) {
  BuildEvent e = build_cancel_event("br-1", "user");
  e.mutable_build_cancel_event()->set_reason(std::string(kMaxStringBytes + 1, 'r'));
  EXPECT_TRUE(Invalid(e, "build_cancel_event.reason is 65537 bytes (max 65536)"));
}

// A protobuf string must hold UTF-8: one that does not is written as given by the serializer and
// then fails to parse on every read, which would leave the log unreadable from that event on.
TEST(StructureTest, StringsThatAreNotUtf8AreRejectedWithTheirField) {
  BuildEvent cancel = build_cancel_event("br-1", "user");
  cancel.mutable_build_cancel_event()->set_reason("bad \xff reason");
  EXPECT_TRUE(
      Invalid(cancel, "build_cancel_event.reason is not valid UTF-8: byte 0xff at offset 4"));

  EXPECT_TRUE(Invalid(partition_event("br-1", "raw/\xc3", v1::PARTITION_AVAILABLE),
                      "partition_event.partition_ref is not valid UTF-8: byte 0xc3 at offset 4"));

  BuildEvent request = request_event("br-\xed\xa0\x80", v1::BUILD_REQUEST_RECEIVED);  // a surrogate
  EXPECT_TRUE(Invalid(request, "build_request_id is not valid UTF-8: byte 0xed at offset 3"));

  BuildEvent job = job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED);
  (*job.mutable_job_event()->mutable_config()->mutable_env())["K\xc0\xaf"] = "v";  // overlong
  EXPECT_TRUE(Invalid(job, "job_event.config.env key is not valid UTF-8: byte 0xc0 at offset 1"));

  BuildEvent graph = job_graph_event("br-1", {"a"});
  graph.mutable_job_graph_event()->mutable_job_graph()->add_nodes()->mutable_config()->add_args(
      "long enough to be read eight bytes at a time \xf8");
  EXPECT_TRUE(Invalid(graph,
                      "job_graph_event.job_graph.nodes[0].config.args[0] is not valid UTF-8: "
                      "byte 0xf8 at offset 45"));
}

TEST(StructureTest, WellFormedUtf8InAnyFieldIsAccepted) {
  BuildEvent e = build_cancel_event("br-\xc3\xa9t\xc3\xa9", "user");  // "br-été"
  e.mutable_build_cancel_event()->set_reason("\xf0\x9f\x9a\x80 \xe6\x97\xa5\xe6\x9c\xac");
  EXPECT_TRUE(Ok(check_structure(e)));
  EXPECT_TRUE(Ok(check_structure(
      partition_event("br-1", "data/\xe2\x82\xac/2026-12-02", v1::PARTITION_AVAILABLE))));
}

// A field sent with a wire type its type does not take reaches bel as an unknown field of a known
// number: refused, naming the field. Fields 1-4 are kept in the log's columns, not its payload, so
// the log would have stored such an event without it, and the producer's retry of the same bytes
// would have been refused as different content. Fields of unknown numbers (a newer schema) stay.
TEST(StructureTest, AKnownFieldInAWireTypeItsTypeDoesNotUseIsRejected) {
  std::string bytes;
  ASSERT_TRUE(build_cancel_event("br-1", "user").SerializeToString(&bytes));
  auto parsed = [&](const std::string& extra) {
    BuildEvent e;
    EXPECT_TRUE(e.ParseFromString(bytes + extra));
    return e;
  };
  EXPECT_TRUE(Invalid(parsed(std::string("\x22\x00", 2)),
                      "idx (field 4) has wire type length-delimited, which its type int64 "
                      "does not use"));
  EXPECT_TRUE(
      Invalid(parsed(std::string("\x08\x01", 2)),
              "event_id (field 1) has wire type varint, which its type string does not use"));
  EXPECT_TRUE(Invalid(parsed(std::string("\x1d\x01\x02\x03\x04", 5)),
                      "build_request_id (field 3) has wire type 32-bit, which its type string does "
                      "not use"));
  EXPECT_TRUE(Ok(check_structure(parsed(std::string("\x98\x06\x01", 3)))));  // field 99
}

TEST(StructureTest, OversizedPartitionRefIsRejected) {
  EXPECT_TRUE(Invalid(partition_event("br-1", std::string(70000, 'p'), v1::PARTITION_AVAILABLE),
                      "partition_event.partition_ref is 70000 bytes (max 65536)"));
}

TEST(StructureTest, OversizedStringInNestedMessageIsRejected) {
  BuildEvent e = job_graph_event("br-1", {"a"});
  auto* task = e.mutable_job_graph_event()->mutable_job_graph()->add_nodes();
  task->mutable_job()->set_label("//job");
  task->mutable_config()->add_args("ok");
  task->mutable_config()->add_args(std::string(70000, 'x'));
  EXPECT_TRUE(Invalid(e,
                      "job_graph_event.job_graph.nodes[0].config.args[1] is 70000 bytes (max "
                      "65536)"));
}

TEST(StructureTest, OversizedMapValueIsRejected) {
  BuildEvent e = job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED);
  (*e.mutable_job_event()->mutable_config()->mutable_env())["HOME"] = std::string(70000, 'h');
  EXPECT_TRUE(Invalid(e, "job_event.config.env[\"HOME\"] is 70000 bytes (max 65536)"));
}

TEST(StructureTest, OversizedMapKeyIsRejected) {
  BuildEvent e = job_event("br-1", "jr-1", "//job", v1::JOB_COMPLETED);
  (*e.mutable_job_event()->add_manifests()->mutable_metadata())[std::string(70000, 'k')] = "v";
  EXPECT_TRUE(Fails(check_structure(e), ErrorCode::invalid_event,
                    "job_event.manifests[0].metadata key \"kkkk"));
  EXPECT_TRUE(Fails(check_structure(e), ErrorCode::invalid_event, "is 70000 bytes (max 65536)"));
}

TEST(StructureTest, MapProblemsAreReportedInKeyOrder) {
  BuildEvent e = job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED);
  auto& env = *e.mutable_job_event()->mutable_config()->mutable_env();
  for (const char* key : {"Z", "M", "B", "Q", "A2", "C"}) env[key] = std::string(70000, 'v');
  EXPECT_TRUE(Invalid(e, "job_event.config.env[\"A2\"] is 70000 bytes (max 65536)"));
}

TEST(StructureTest, OversizedEventIsRejected) {
  BuildEvent e = job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED);
  auto* config = e.mutable_job_event()->mutable_config();
  for (int i = 0; i < 20; ++i) config->add_args(std::string(60000, 'a'));  // each under 64 KiB
  const size_t bytes = e.ByteSizeLong();
  ASSERT_GT(bytes, kMaxEventBytes);
  EXPECT_TRUE(Invalid(e, "event is " + std::to_string(bytes) + " bytes (max 1048576)"));
}

TEST(StructureTest, FirstProblemInFieldOrderIsReported) {
  // Both the job label and a target partition are bad: the earlier field is named.
  EXPECT_TRUE(Invalid(job_event("br-1", "jr-1", "", v1::JOB_SCHEDULED, {""}),
                      "job_event.job_label is empty"));
}

// ---- Transitions: build requests -----------------------------------------------------------

TEST(TransitionTest, BuildRequestMustStartReceived) {
  TransitionState state;
  EXPECT_TRUE(Fails(state.apply(request_event("br-1", v1::BUILD_REQUEST_PLANNING)),
                    ErrorCode::invalid_transition,
                    "build request br-1: first status must be BUILD_REQUEST_RECEIVED, got "
                    "BUILD_REQUEST_PLANNING"));
  EXPECT_TRUE(Ok(state.apply(request_event("br-1", v1::BUILD_REQUEST_RECEIVED))));
  EXPECT_EQ(state.build_request_status("br-1"), v1::BUILD_REQUEST_RECEIVED);
}

TEST(TransitionTest, BuildRequestMovesForwardThroughEveryStatus) {
  TransitionState state = with_requests({"br-1"});
  for (auto s : {v1::BUILD_REQUEST_PLANNING, v1::BUILD_REQUEST_ANALYSIS_COMPLETED,
                 v1::BUILD_REQUEST_EXECUTING, v1::BUILD_REQUEST_COMPLETED}) {
    EXPECT_TRUE(Ok(state.apply(request_event("br-1", s))));
    EXPECT_EQ(state.build_request_status("br-1"), s);
  }
}

TEST(TransitionTest, BuildRequestMaySkipForward) {
  TransitionState state = with_requests({"br-1", "br-2"});
  EXPECT_TRUE(Ok(state.apply(request_event("br-1", v1::BUILD_REQUEST_EXECUTING))));
  EXPECT_TRUE(Ok(state.apply(request_event("br-2", v1::BUILD_REQUEST_FAILED))));
  EXPECT_EQ(state.build_request_status("br-2"), v1::BUILD_REQUEST_FAILED);
}

TEST(TransitionTest, BuildRequestCannotMoveBackwards) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(request_event("br-1", v1::BUILD_REQUEST_EXECUTING))));
  EXPECT_TRUE(Fails(state.apply(request_event("br-1", v1::BUILD_REQUEST_ANALYSIS_COMPLETED)),
                    ErrorCode::invalid_transition,
                    "build request br-1: BUILD_REQUEST_EXECUTING -> "
                    "BUILD_REQUEST_ANALYSIS_COMPLETED is not allowed"));
  EXPECT_EQ(state.build_request_status("br-1"), v1::BUILD_REQUEST_EXECUTING);
}

TEST(TransitionTest, BuildRequestCannotRepeatAStatus) {
  TransitionState state = with_requests({"br-1"});
  EXPECT_TRUE(Fails(state.apply(request_event("br-1", v1::BUILD_REQUEST_RECEIVED)),
                    ErrorCode::invalid_transition,
                    "BUILD_REQUEST_RECEIVED -> BUILD_REQUEST_RECEIVED is not allowed"));
}

TEST(TransitionTest, NothingFollowsATerminalBuildRequestStatus) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(request_event("br-1", v1::BUILD_REQUEST_COMPLETED))));
  EXPECT_TRUE(FailsWith(state.apply(request_event("br-1", v1::BUILD_REQUEST_PLANNING)),
                        ErrorCode::invalid_transition,
                        "build request br-1: BUILD_REQUEST_COMPLETED -> BUILD_REQUEST_PLANNING is "
                        "not allowed (terminal)"));
  EXPECT_TRUE(Fails(state.apply(request_event("br-1", v1::BUILD_REQUEST_FAILED)),
                    ErrorCode::invalid_transition, "(terminal)"));
}

TEST(TransitionTest, BuildCancelMovesAnOpenRequestToCancelled) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(request_event("br-1", v1::BUILD_REQUEST_EXECUTING))));
  EXPECT_TRUE(Ok(state.apply(build_cancel_event("br-1", "user"))));
  EXPECT_EQ(state.build_request_status("br-1"), v1::BUILD_REQUEST_CANCELLED);
}

TEST(TransitionTest, BuildCancelOfUnknownRequestIsRejected) {
  TransitionState state;
  EXPECT_TRUE(Fails(state.apply(build_cancel_event("br-9", "user")), ErrorCode::invalid_transition,
                    "build request br-9 does not exist"));
}

TEST(TransitionTest, BuildCancelAfterTerminalStatusIsRejected) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(request_event("br-1", v1::BUILD_REQUEST_COMPLETED))));
  EXPECT_TRUE(FailsWith(state.apply(build_cancel_event("br-1", "user")),
                        ErrorCode::invalid_transition,
                        "build request br-1: BUILD_REQUEST_COMPLETED -> BUILD_REQUEST_CANCELLED "
                        "is not allowed (terminal)"));
}

TEST(TransitionTest, EventsOfAnUnknownBuildRequestAreRejected) {
  const std::string message =
      "build request br-9 does not exist (its first event must be a build_request_event with "
      "BUILD_REQUEST_RECEIVED)";
  TransitionState state = with_requests({"br-1"});
  for (const BuildEvent& e : {partition_event("br-9", "a", v1::PARTITION_REQUESTED),
                              job_event("br-9", "jr-1", "//job", v1::JOB_SCHEDULED),
                              delegation_event("br-9", "a", "br-other"), job_graph_event("br-9"),
                              job_cancel_event("br-9", "jr")}) {
    EXPECT_TRUE(FailsWith(state.apply(e), ErrorCode::invalid_transition, message))
        << e.ShortDebugString();
  }
}

TEST(TransitionTest, EventsAfterATerminalBuildRequestAreRejected) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(request_event("br-1", v1::BUILD_REQUEST_FAILED))));
  EXPECT_TRUE(FailsWith(state.apply(job_graph_event("br-1")), ErrorCode::invalid_transition,
                        "build request br-1 is BUILD_REQUEST_FAILED (terminal): no "
                        "job_graph_event may follow"));
  EXPECT_TRUE(Fails(state.apply(invalidation_event("br-1", "a")), ErrorCode::invalid_transition,
                    "build request br-1 is BUILD_REQUEST_FAILED (terminal)"));
  EXPECT_TRUE(Fails(state.apply(partition_event("br-1", "a", v1::PARTITION_REQUESTED)),
                    ErrorCode::invalid_transition, "br-1 is BUILD_REQUEST_FAILED"));
}

// SPEC section 2: an invalidation by an id never received as a build request is an operator's
// action; it needs no build request and no prior event of the partition, in strict mode too.
TEST(TransitionTest, AnOperatorInvalidationNeedsNoBuildRequest) {
  TransitionState state = with_requests({"br-1"});
  EXPECT_TRUE(Ok(state.apply(invalidation_event("operator:alice", "never-seen"))));
  EXPECT_TRUE(Ok(state.apply(invalidation_event("operator:alice", "never-seen"))));
  EXPECT_EQ(state.build_request_status("operator:alice"), std::nullopt);  // no build request
  EXPECT_EQ(state.journal_size(), 0u);
  // A build request received later under that id is a build request like any other.
  ASSERT_TRUE(Ok(state.apply(request_event("operator:alice", v1::BUILD_REQUEST_RECEIVED))));
  ASSERT_TRUE(Ok(state.apply(request_event("operator:alice", v1::BUILD_REQUEST_COMPLETED))));
  EXPECT_TRUE(Fails(state.apply(invalidation_event("operator:alice", "a")),
                    ErrorCode::invalid_transition, "(terminal)"));
}

TEST(TransitionTest, JobGraphAndInvalidationNeedOnlyAnOpenRequest) {
  TransitionState state = with_requests({"br-1"});
  EXPECT_TRUE(Ok(state.apply(job_graph_event("br-1", {"a"}))));
  EXPECT_TRUE(Ok(state.apply(invalidation_event("br-1", "never-seen"))));
  EXPECT_EQ(state.journal_size(), 0u);  // neither changes any state
}

// ---- Transitions: job runs -----------------------------------------------------------------

TEST(TransitionTest, JobRunMustStartScheduledOrSkipped) {
  TransitionState state = with_requests({"br-1"});
  EXPECT_TRUE(FailsWith(state.apply(job_event("br-1", "jr-7", "//job", v1::JOB_RUNNING)),
                        ErrorCode::invalid_transition,
                        "job run jr-7: first status must be JOB_SCHEDULED or JOB_SKIPPED, got "
                        "JOB_RUNNING"));
  EXPECT_TRUE(Ok(state.apply(job_event("br-1", "jr-7", "//job", v1::JOB_SCHEDULED))));
  EXPECT_TRUE(Ok(state.apply(job_event("br-1", "jr-8", "//job", v1::JOB_SKIPPED))));
  EXPECT_EQ(state.job_run_status("jr-8"), v1::JOB_SKIPPED);
}

TEST(TransitionTest, JobRunMovesForwardAndMaySkip) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED))));
  EXPECT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_RUNNING))));
  EXPECT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_FAILED))));
  ASSERT_TRUE(Ok(state.apply(job_event("br-1", "jr-2", "//job", v1::JOB_SCHEDULED))));
  EXPECT_TRUE(Ok(state.apply(job_event("br-1", "jr-2", "//job", v1::JOB_COMPLETED))));
  EXPECT_EQ(state.job_run_status("jr-2"), v1::JOB_COMPLETED);
}

TEST(TransitionTest, JobRunCannotMoveBackwardsOrRepeat) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED))));
  ASSERT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_RUNNING))));
  EXPECT_TRUE(Fails(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED)),
                    ErrorCode::invalid_transition,
                    "job run jr-1: JOB_RUNNING -> JOB_SCHEDULED is not allowed"));
  EXPECT_TRUE(Fails(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_RUNNING)),
                    ErrorCode::invalid_transition,
                    "job run jr-1: JOB_RUNNING -> JOB_RUNNING is not allowed"));
}

TEST(TransitionTest, NothingFollowsATerminalJobRunStatus) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED))));
  ASSERT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_COMPLETED))));
  EXPECT_TRUE(FailsWith(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_FAILED)),
                        ErrorCode::invalid_transition,
                        "job run jr-1: JOB_COMPLETED -> JOB_FAILED is not allowed (terminal)"));
}

TEST(TransitionTest, SkippedJobRunIsTerminal) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_SKIPPED))));
  EXPECT_TRUE(FailsWith(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_RUNNING)),
                        ErrorCode::invalid_transition,
                        "job run jr-1: JOB_SKIPPED -> JOB_RUNNING is not allowed (terminal)"));
}

TEST(TransitionTest, SkippedIsOnlyAFirstJobRunStatus) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED))));
  EXPECT_TRUE(Fails(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_SKIPPED)),
                    ErrorCode::invalid_transition,
                    "job run jr-1: JOB_SCHEDULED -> JOB_SKIPPED is not allowed"));
}

TEST(TransitionTest, JobRunCancelMovesAnOpenRunToCancelled) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED))));
  EXPECT_TRUE(Ok(state.apply(job_cancel_event("br-1", "jr-1"))));
  EXPECT_EQ(state.job_run_status("jr-1"), v1::JOB_CANCELLED);
}

TEST(TransitionTest, JobRunCancelOfUnknownRunIsRejected) {
  TransitionState state = with_requests({"br-1"});
  EXPECT_TRUE(Fails(state.apply(job_cancel_event("br-1", "jr-9")), ErrorCode::invalid_transition,
                    "job run jr-9 does not exist"));
  EXPECT_EQ(state.job_run_status("jr-9"), std::nullopt);
}

TEST(TransitionTest, JobRunCancelAfterTerminalStatusIsRejected) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_SKIPPED))));
  EXPECT_TRUE(FailsWith(state.apply(job_cancel_event("br-1", "jr-1")),
                        ErrorCode::invalid_transition,
                        "job run jr-1: JOB_SKIPPED -> JOB_CANCELLED is not allowed (terminal)"));
}

TEST(TransitionTest, JobRunBelongsToOneBuildRequest) {
  TransitionState state = with_requests({"br-1", "br-2"});
  ASSERT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED))));
  EXPECT_TRUE(FailsWith(state.apply(job_event("br-2", "jr-1", "//job", v1::JOB_RUNNING)),
                        ErrorCode::invalid_transition,
                        "job run jr-1 belongs to build request br-1, not br-2"));
  EXPECT_TRUE(FailsWith(state.apply(job_cancel_event("br-2", "jr-1")),
                        ErrorCode::invalid_transition,
                        "job run jr-1 belongs to build request br-1, not br-2"));
  EXPECT_EQ(state.job_run_status("jr-1"), v1::JOB_SCHEDULED);
}

TEST(TransitionTest, JobRunBelongsToOneJobLabel) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//a", v1::JOB_SCHEDULED))));
  EXPECT_TRUE(FailsWith(state.apply(job_event("br-1", "jr-1", "//b", v1::JOB_RUNNING)),
                        ErrorCode::invalid_transition, "job run jr-1 has job label //a, not //b"));
  EXPECT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//a", v1::JOB_RUNNING))));
}

TEST(TransitionTest, PartitionEventJobRunIdIsNotChecked) {
  TransitionState state = with_requests({"br-1"});
  EXPECT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_BUILDING, "jr-unknown"))));
  EXPECT_EQ(state.job_run_status("jr-unknown"), std::nullopt);
}

// ---- Transitions: partitions ---------------------------------------------------------------

TEST(TransitionTest, PartitionMovesForwardThroughEveryStatus) {
  TransitionState state = with_requests({"br-1"});
  for (auto s : {v1::PARTITION_REQUESTED, v1::PARTITION_SCHEDULED, v1::PARTITION_BUILDING,
                 v1::PARTITION_AVAILABLE}) {
    EXPECT_TRUE(Ok(state.apply(partition_event("br-1", "a", s))));
    EXPECT_EQ(state.partition_status("br-1", "a"), s);
  }
}

TEST(TransitionTest, PartitionMayStartAtAnyStatusAndSkipForward) {
  TransitionState state = with_requests({"br-1"});
  EXPECT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_BUILDING))));
  EXPECT_TRUE(Ok(state.apply(partition_event("br-1", "b", v1::PARTITION_REQUESTED))));
  EXPECT_TRUE(Ok(state.apply(partition_event("br-1", "b", v1::PARTITION_FAILED))));
  EXPECT_TRUE(Ok(state.apply(partition_event("br-1", "c", v1::PARTITION_AVAILABLE))));
}

TEST(TransitionTest, PartitionCannotMoveBackwardsOrRepeat) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_BUILDING))));
  EXPECT_TRUE(Fails(state.apply(partition_event("br-1", "a", v1::PARTITION_SCHEDULED)),
                    ErrorCode::invalid_transition,
                    "partition a in build request br-1: PARTITION_BUILDING -> PARTITION_SCHEDULED "
                    "is not allowed"));
  EXPECT_TRUE(Fails(state.apply(partition_event("br-1", "a", v1::PARTITION_BUILDING)),
                    ErrorCode::invalid_transition, "PARTITION_BUILDING -> PARTITION_BUILDING"));
}

TEST(TransitionTest, NothingFollowsATerminalPartitionStatusInTheSameRequest) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_AVAILABLE))));
  EXPECT_TRUE(FailsWith(state.apply(partition_event("br-1", "a", v1::PARTITION_REQUESTED)),
                        ErrorCode::invalid_transition,
                        "partition a in build request br-1: PARTITION_AVAILABLE -> "
                        "PARTITION_REQUESTED is not allowed (terminal)"));
  ASSERT_TRUE(Ok(state.apply(partition_event("br-1", "b", v1::PARTITION_FAILED))));
  EXPECT_TRUE(Fails(state.apply(partition_event("br-1", "b", v1::PARTITION_AVAILABLE)),
                    ErrorCode::invalid_transition, "(terminal)"));
}

TEST(TransitionTest, PartitionMayBeBuiltAgainInAnotherBuildRequest) {
  TransitionState state = with_requests({"br-1", "br-2"});
  ASSERT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_AVAILABLE))));
  EXPECT_TRUE(Ok(state.apply(partition_event("br-2", "a", v1::PARTITION_REQUESTED))));
  EXPECT_TRUE(Ok(state.apply(partition_event("br-2", "a", v1::PARTITION_AVAILABLE))));
  EXPECT_EQ(state.partition_status("br-1", "a"), v1::PARTITION_AVAILABLE);
  EXPECT_EQ(state.partition_status("br-2", "a"), v1::PARTITION_AVAILABLE);
}

TEST(TransitionTest, DelegatedMayBeFirstOrFollowRequestedOrScheduled) {
  TransitionState state = with_requests({"br-1"});
  EXPECT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_DELEGATED))));
  ASSERT_TRUE(Ok(state.apply(partition_event("br-1", "b", v1::PARTITION_REQUESTED))));
  EXPECT_TRUE(Ok(state.apply(delegation_event("br-1", "b", "br-other"))));
  ASSERT_TRUE(Ok(state.apply(partition_event("br-1", "c", v1::PARTITION_SCHEDULED))));
  EXPECT_TRUE(Ok(state.apply(partition_event("br-1", "c", v1::PARTITION_DELEGATED))));
  EXPECT_EQ(state.partition_status("br-1", "b"), v1::PARTITION_DELEGATED);
  EXPECT_EQ(state.partition_status("br-1", "c"), v1::PARTITION_DELEGATED);
}

TEST(TransitionTest, DelegatedAfterBuildingIsRejected) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_BUILDING))));
  EXPECT_TRUE(Fails(state.apply(partition_event("br-1", "a", v1::PARTITION_DELEGATED)),
                    ErrorCode::invalid_transition,
                    "partition a in build request br-1: PARTITION_BUILDING -> PARTITION_DELEGATED "
                    "is not allowed"));
  EXPECT_TRUE(Fails(state.apply(delegation_event("br-1", "a", "br-other")),
                    ErrorCode::invalid_transition,
                    "PARTITION_BUILDING -> PARTITION_DELEGATED is not allowed"));
  EXPECT_EQ(state.partition_status("br-1", "a"), v1::PARTITION_BUILDING);
}

TEST(TransitionTest, DelegatedAfterTerminalStatusIsRejected) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_AVAILABLE))));
  EXPECT_TRUE(Fails(state.apply(delegation_event("br-1", "a", "br-other")),
                    ErrorCode::invalid_transition,
                    "PARTITION_AVAILABLE -> PARTITION_DELEGATED is not allowed (terminal)"));
}

TEST(TransitionTest, DelegatedIsTerminalForTheRequest) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(delegation_event("br-1", "a", "br-other"))));
  EXPECT_TRUE(FailsWith(state.apply(partition_event("br-1", "a", v1::PARTITION_BUILDING)),
                        ErrorCode::invalid_transition,
                        "partition a in build request br-1: PARTITION_DELEGATED -> "
                        "PARTITION_BUILDING is not allowed (terminal)"));
}

TEST(TransitionTest, DelegationEventThenDelegatedPartitionEventArePaired) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_REQUESTED))));
  EXPECT_TRUE(Ok(state.apply(delegation_event("br-1", "a", "br-other"))));
  EXPECT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_DELEGATED))));
  EXPECT_EQ(state.partition_status("br-1", "a"), v1::PARTITION_DELEGATED);
}

TEST(TransitionTest, DelegatedPartitionEventThenDelegationEventArePaired) {
  TransitionState state = with_requests({"br-1"});
  EXPECT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_DELEGATED))));
  EXPECT_TRUE(Ok(state.apply(delegation_event("br-1", "a", "br-other"))));
  EXPECT_EQ(state.partition_status("br-1", "a"), v1::PARTITION_DELEGATED);
}

TEST(TransitionTest, ThirdDelegationIsRejected) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(delegation_event("br-1", "a", "br-other"))));
  ASSERT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_DELEGATED))));
  EXPECT_TRUE(Fails(state.apply(delegation_event("br-1", "a", "br-other")),
                    ErrorCode::invalid_transition,
                    "partition a in build request br-1: PARTITION_DELEGATED -> "
                    "PARTITION_DELEGATED is not allowed (already delegated by a "
                    "delegation_event)"));
  EXPECT_TRUE(Fails(state.apply(partition_event("br-1", "a", v1::PARTITION_DELEGATED)),
                    ErrorCode::invalid_transition, "already delegated by a partition_event"));
}

TEST(TransitionTest, RepeatedDelegationOfOneKindIsRejected) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(delegation_event("br-1", "a", "br-other"))));
  EXPECT_TRUE(Fails(state.apply(delegation_event("br-1", "a", "br-3")),
                    ErrorCode::invalid_transition, "already delegated by a delegation_event"));
  ASSERT_TRUE(Ok(state.apply(partition_event("br-1", "b", v1::PARTITION_DELEGATED))));
  EXPECT_TRUE(Fails(state.apply(partition_event("br-1", "b", v1::PARTITION_DELEGATED)),
                    ErrorCode::invalid_transition, "already delegated by a partition_event"));
}

TEST(TransitionTest, InvalidatedPartitionEventIsRejected) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_AVAILABLE))));
  auto status = state.apply(partition_event("br-1", "a", v1::PARTITION_INVALIDATED));
  EXPECT_TRUE(Fails(status, ErrorCode::invalid_transition,
                    "partition a in build request br-1: PARTITION_INVALIDATED"));
  EXPECT_TRUE(Fails(status, ErrorCode::invalid_transition, "partition_invalidation_event"));
  EXPECT_EQ(state.partition_status("br-1", "a"), v1::PARTITION_AVAILABLE);
}

// ---- Journal and modes ---------------------------------------------------------------------

TEST(TransitionTest, GettersReturnNothingForUnknownKeys) {
  TransitionState state = with_requests({"br-1"});
  EXPECT_EQ(state.build_request_status("br-2"), std::nullopt);
  EXPECT_EQ(state.job_run_status("jr-1"), std::nullopt);
  EXPECT_EQ(state.partition_status("br-1", "a"), std::nullopt);
}

TEST(TransitionTest, StrictRejectionLeavesStateUnchanged) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED))));
  ASSERT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_BUILDING))));
  const size_t journal = state.journal_size();

  std::vector<std::string> warnings;
  EXPECT_FALSE(state.apply(partition_event("br-1", "a", v1::PARTITION_REQUESTED), &warnings).ok());
  EXPECT_FALSE(state.apply(job_event("br-1", "jr-1", "//other", v1::JOB_RUNNING), &warnings).ok());
  EXPECT_FALSE(state.apply(job_event("br-1", "jr-2", "//job", v1::JOB_RUNNING), &warnings).ok());
  EXPECT_FALSE(state.apply(request_event("br-2", v1::BUILD_REQUEST_EXECUTING), &warnings).ok());

  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(state.journal_size(), journal);
  EXPECT_EQ(state.build_request_status("br-1"), v1::BUILD_REQUEST_RECEIVED);
  EXPECT_EQ(state.build_request_status("br-2"), std::nullopt);
  EXPECT_EQ(state.job_run_status("jr-1"), v1::JOB_SCHEDULED);
  EXPECT_EQ(state.job_run_status("jr-2"), std::nullopt);
  EXPECT_EQ(state.partition_status("br-1", "a"), v1::PARTITION_BUILDING);
  // The run kept its label: the first label is still the one accepted.
  EXPECT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_RUNNING))));
}

TEST(TransitionTest, RollbackRestoresAMultiEventBatch) {
  TransitionState state = with_requests({"br-1"});
  ASSERT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_REQUESTED))));
  state.commit();

  const auto m = state.mark();
  ASSERT_TRUE(Ok(state.apply(request_event("br-1", v1::BUILD_REQUEST_EXECUTING))));
  ASSERT_TRUE(Ok(state.apply(request_event("br-2", v1::BUILD_REQUEST_RECEIVED))));
  ASSERT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_SCHEDULED))));
  ASSERT_TRUE(Ok(state.apply(job_event("br-1", "jr-1", "//job", v1::JOB_RUNNING))));
  ASSERT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_BUILDING))));
  ASSERT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_AVAILABLE))));
  ASSERT_TRUE(Ok(state.apply(delegation_event("br-1", "b", "br-other"))));
  EXPECT_EQ(state.journal_size(), 7u);

  state.rollback(m);
  EXPECT_EQ(state.journal_size(), m);
  EXPECT_EQ(state.build_request_status("br-1"), v1::BUILD_REQUEST_RECEIVED);
  EXPECT_EQ(state.build_request_status("br-2"), std::nullopt);
  EXPECT_EQ(state.job_run_status("jr-1"), std::nullopt);
  EXPECT_EQ(state.partition_status("br-1", "a"), v1::PARTITION_REQUESTED);
  EXPECT_EQ(state.partition_status("br-1", "b"), std::nullopt);
  // The delegation flags went too: b may be delegated by a delegation_event again.
  EXPECT_TRUE(Ok(state.apply(delegation_event("br-1", "b", "br-other"))));
}

TEST(TransitionTest, RollbackToAnEarlierMarkUndoesLaterMarksToo) {
  TransitionState state = with_requests({"br-1"});
  const auto outer = state.mark();
  ASSERT_TRUE(Ok(state.apply(request_event("br-1", v1::BUILD_REQUEST_PLANNING))));
  const auto inner = state.mark();
  ASSERT_TRUE(Ok(state.apply(request_event("br-1", v1::BUILD_REQUEST_EXECUTING))));

  state.rollback(inner);
  EXPECT_EQ(state.build_request_status("br-1"), v1::BUILD_REQUEST_PLANNING);
  state.rollback(outer);
  EXPECT_EQ(state.build_request_status("br-1"), v1::BUILD_REQUEST_RECEIVED);
}

TEST(TransitionTest, CommitClearsTheJournalAndKeepsTheState) {
  TransitionState state;
  ASSERT_TRUE(Ok(state.apply(request_event("br-1", v1::BUILD_REQUEST_RECEIVED))));
  ASSERT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_REQUESTED))));
  EXPECT_EQ(state.journal_size(), 2u);
  state.commit();
  EXPECT_EQ(state.journal_size(), 0u);
  EXPECT_EQ(state.mark(), 0u);
  state.rollback(state.mark());
  EXPECT_EQ(state.build_request_status("br-1"), v1::BUILD_REQUEST_RECEIVED);
  EXPECT_EQ(state.partition_status("br-1", "a"), v1::PARTITION_REQUESTED);
}

TEST(TransitionTest, LenientModeAppliesAnIllegalEventWithAWarning) {
  const BuildEvent backwards = request_event("br-1", v1::BUILD_REQUEST_PLANNING);

  TransitionState strict = with_requests({"br-1"});
  ASSERT_TRUE(Ok(strict.apply(request_event("br-1", v1::BUILD_REQUEST_EXECUTING))));
  auto rejected = strict.apply(backwards);
  ASSERT_FALSE(rejected.ok());

  TransitionState lenient = with_requests({"br-1"}, ValidationMode::lenient);
  EXPECT_EQ(lenient.mode(), ValidationMode::lenient);
  ASSERT_TRUE(Ok(lenient.apply(request_event("br-1", v1::BUILD_REQUEST_EXECUTING))));
  std::vector<std::string> warnings;
  EXPECT_TRUE(Ok(lenient.apply(backwards, &warnings)));
  EXPECT_THAT(warnings, ::testing::ElementsAre(rejected.error().message));
  EXPECT_EQ(lenient.build_request_status("br-1"), v1::BUILD_REQUEST_PLANNING);
}

TEST(TransitionTest, LenientModeAppliesEventsOfUnknownKeys) {
  TransitionState state(ValidationMode::lenient);
  std::vector<std::string> warnings;
  EXPECT_TRUE(Ok(state.apply(job_event("br-9", "jr-1", "//job", v1::JOB_RUNNING), &warnings)));
  EXPECT_TRUE(Ok(state.apply(partition_event("br-9", "a", v1::PARTITION_BUILDING), nullptr)));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("build request br-9 does not exist"));
  EXPECT_EQ(state.job_run_status("jr-1"), v1::JOB_RUNNING);
  EXPECT_EQ(state.partition_status("br-9", "a"), v1::PARTITION_BUILDING);
  EXPECT_EQ(state.build_request_status("br-9"), std::nullopt);
}

TEST(TransitionTest, LenientModeWarnsNothingForLegalEvents) {
  TransitionState state = with_requests({"br-1"}, ValidationMode::lenient);
  std::vector<std::string> warnings;
  EXPECT_TRUE(Ok(state.apply(partition_event("br-1", "a", v1::PARTITION_REQUESTED), &warnings)));
  EXPECT_TRUE(warnings.empty());
}

}  // namespace
}  // namespace bel::write
