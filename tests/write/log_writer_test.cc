// The write path without actors: validation on append, idempotency, atomic batches, group
// commit bookkeeping and rollback after a failed COMMIT.
#include "actors/write/log_writer.h"

#include <regex>

#include <gtest/gtest.h>

#include "storage/storage_factory.h"
#include "tests/support/events.h"
#include "tests/support/run_command.h"

namespace bel::actors {
namespace {

using namespace bel::testing;
using namespace bel::v1;

constexpr int64_t kNow = 1'700'000'000'000'000'000;

std::unique_ptr<LogWriter> open_writer(storage::StorageOptions options = {}) {
  auto storage = storage::open_storage("memory://", options);
  EXPECT_TRUE(storage.ok());
  LogWriterOptions writer_options;
  writer_options.now = [] { return kNow; };
  auto writer = LogWriter::open(std::move(*storage), writer_options);
  EXPECT_TRUE(writer.ok());
  return std::move(*writer);
}

// Stages and commits `batch`; returns the acks of that batch or its error.
Result<std::vector<AppendAck>> append(LogWriter& w, std::vector<BuildEvent> batch) {
  auto ticket = w.stage(std::move(batch));
  if (!ticket.ok()) return ticket.error();
  auto result = w.commit();
  EXPECT_EQ(result.tickets.size(), 1u);
  return result.tickets.at(0).second;
}

std::vector<BuildEvent> all_events(LogWriter& w) {
  auto page = w.storage().list_events(0, EventFilter(), storage::kMaxListLimit);
  EXPECT_TRUE(page.ok());
  return {page->events().begin(), page->events().end()};
}

TEST(LogWriterTest, AssignsIdxEventIdTimestampAndStatusName) {
  auto w = open_writer();
  auto acks = append(*w, {request_event("br-1", BUILD_REQUEST_RECEIVED, {"p/1"})});
  ASSERT_TRUE(acks.ok()) << acks.error().to_string();
  ASSERT_EQ(acks->size(), 1u);
  EXPECT_EQ((*acks)[0].idx(), 1);
  EXPECT_FALSE((*acks)[0].duplicate());
  // A time-ordered UUID (version 7), so the log's id index grows at its end.
  EXPECT_TRUE(std::regex_match(
      (*acks)[0].event_id(),
      std::regex("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  auto events = all_events(*w);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_id(), (*acks)[0].event_id());
  EXPECT_EQ(events[0].timestamp(), kNow);
  EXPECT_EQ(events[0].build_request_event().status_name(), "BUILD_REQUEST_RECEIVED");
}

TEST(LogWriterTest, KeepsProducerTimestampAndEventId) {
  auto w = open_writer();
  auto e = with_id(request_event("br-1", BUILD_REQUEST_RECEIVED), "my-id");
  e.set_timestamp(42);
  ASSERT_TRUE(append(*w, {e}).ok());
  auto events = all_events(*w);
  EXPECT_EQ(events[0].event_id(), "my-id");
  EXPECT_EQ(events[0].timestamp(), 42);
}

// ---- every validation rule: the error code, and the log unchanged ------------------------------

struct RuleCase {
  const char* name;
  std::vector<BuildEvent> setup;  // committed first, must succeed
  BuildEvent bad;                 // appended as the second event of a batch
  ErrorCode code;
};

BuildEvent with_idx(BuildEvent e, int64_t idx) {
  e.set_idx(idx);
  return e;
}
BuildEvent big_message_event() {
  auto e = request_event("br-1", BUILD_REQUEST_PLANNING);
  e.mutable_build_request_event()->set_message(std::string(70 * 1024, 'x'));
  return e;
}
BuildEvent huge_event() {
  auto e = request_event("br-1", BUILD_REQUEST_PLANNING);
  for (int i = 0; i < 20; ++i) {
    e.mutable_build_request_event()->add_requested_partitions()->set_str(
        std::string(60 * 1024, 'a' + i));
  }
  return e;
}
BuildEvent no_type_event() {
  BuildEvent e;
  e.set_build_request_id("br-1");
  return e;
}
BuildEvent unnamed_build() {
  auto e = partition_event("br-1", "p/1", PARTITION_REQUESTED);
  e.clear_build_request_id();
  return e;
}
BuildEvent out_of_range_status() {
  auto e = partition_event("br-1", "p/1", PARTITION_REQUESTED);
  e.mutable_partition_event()->set_status_code(static_cast<PartitionStatus>(42));
  return e;
}
BuildEvent mismatched_name() {
  auto e = partition_event("br-1", "p/1", PARTITION_REQUESTED);
  e.mutable_partition_event()->set_status_name("PARTITION_AVAILABLE");
  return e;
}
BuildEvent job_without_label() {
  auto e = job_event("br-1", "jr-1", "", JOB_SCHEDULED);
  return e;
}

const BuildEvent kReceived = request_event("br-1", BUILD_REQUEST_RECEIVED, {"p/1"});

std::vector<RuleCase> rule_cases() {
  return {
      {"MissingBuildRequestId", {kReceived}, unnamed_build(), ErrorCode::invalid_event},
      {"NoEventType", {kReceived}, no_type_event(), ErrorCode::invalid_event},
      {"IdxNotZero", {kReceived}, with_idx(partition_event("br-1", "p/1", PARTITION_REQUESTED), 9),
       ErrorCode::invalid_event},
      {"EmptyPartitionRef", {kReceived}, partition_event("br-1", "", PARTITION_REQUESTED),
       ErrorCode::invalid_event},
      {"EmptyJobRunId", {kReceived}, job_event("br-1", "", "//j", JOB_SCHEDULED),
       ErrorCode::invalid_event},
      {"EmptyJobLabel", {kReceived}, job_without_label(), ErrorCode::invalid_event},
      {"EnumOutOfRange", {kReceived}, out_of_range_status(), ErrorCode::invalid_event},
      {"UnknownStatus", {kReceived}, partition_event("br-1", "p/1", PARTITION_UNKNOWN),
       ErrorCode::invalid_event},
      {"StatusNameMismatch", {kReceived}, mismatched_name(), ErrorCode::invalid_event},
      {"StringOver64KiB", {kReceived}, big_message_event(), ErrorCode::invalid_event},
      {"EventOver1MiB", {kReceived}, huge_event(), ErrorCode::invalid_event},
      {"ControlCharacterInRef", {kReceived}, partition_event("br-1", "p/\n1", PARTITION_REQUESTED),
       ErrorCode::invalid_event},
      {"FirstBuildStatusNotReceived", {kReceived}, request_event("br-2", BUILD_REQUEST_PLANNING),
       ErrorCode::invalid_transition},
      {"BuildStatusBackwards",
       {kReceived, request_event("br-1", BUILD_REQUEST_EXECUTING)},
       request_event("br-1", BUILD_REQUEST_PLANNING),
       ErrorCode::invalid_transition},
      {"EventAfterTerminalBuild",
       {kReceived, request_event("br-1", BUILD_REQUEST_COMPLETED)},
       partition_event("br-1", "p/1", PARTITION_REQUESTED),
       ErrorCode::invalid_transition},
      {"EventForUnknownBuild", {kReceived}, partition_event("br-9", "p/1", PARTITION_REQUESTED),
       ErrorCode::invalid_transition},
      {"CancelOfTerminalBuild",
       {kReceived, request_event("br-1", BUILD_REQUEST_FAILED)},
       build_cancel_event("br-1", "late"),
       ErrorCode::invalid_transition},
      {"JobRunFirstStatusRunning", {kReceived}, job_event("br-1", "jr-1", "//j", JOB_RUNNING),
       ErrorCode::invalid_transition},
      {"JobRunAfterSkipped",
       {kReceived, job_event("br-1", "jr-1", "//j", JOB_SKIPPED)},
       job_event("br-1", "jr-1", "//j", JOB_RUNNING),
       ErrorCode::invalid_transition},
      {"JobRunBackwards",
       {kReceived, job_event("br-1", "jr-1", "//j", JOB_SCHEDULED),
        job_event("br-1", "jr-1", "//j", JOB_RUNNING)},
       job_event("br-1", "jr-1", "//j", JOB_SCHEDULED),
       ErrorCode::invalid_transition},
      {"JobRunChangesLabel",
       {kReceived, job_event("br-1", "jr-1", "//j", JOB_SCHEDULED)},
       job_event("br-1", "jr-1", "//other", JOB_RUNNING),
       ErrorCode::invalid_transition},
      {"JobRunChangesBuild",
       {kReceived, request_event("br-2", BUILD_REQUEST_RECEIVED),
        job_event("br-1", "jr-1", "//j", JOB_SCHEDULED)},
       job_event("br-2", "jr-1", "//j", JOB_RUNNING),
       ErrorCode::invalid_transition},
      {"CancelOfFinishedJobRun",
       {kReceived, job_event("br-1", "jr-1", "//j", JOB_SCHEDULED),
        job_event("br-1", "jr-1", "//j", JOB_COMPLETED)},
       job_run_cancel_event("br-1", "jr-1", "late"),
       ErrorCode::invalid_transition},
      {"PartitionBackwards",
       {kReceived, partition_event("br-1", "p/1", PARTITION_BUILDING)},
       partition_event("br-1", "p/1", PARTITION_SCHEDULED),
       ErrorCode::invalid_transition},
      {"PartitionAfterAvailable",
       {kReceived, partition_event("br-1", "p/1", PARTITION_AVAILABLE)},
       partition_event("br-1", "p/1", PARTITION_FAILED),
       ErrorCode::invalid_transition},
      {"DelegationAfterBuilding",
       {kReceived, partition_event("br-1", "p/1", PARTITION_BUILDING)},
       delegation_event("br-1", "p/1", "br-0"),
       ErrorCode::invalid_transition},
      {"SecondDelegationEvent",
       {kReceived, delegation_event("br-1", "p/1", "br-0")},
       delegation_event("br-1", "p/1", "br-0"),
       ErrorCode::invalid_transition},
  };
}

class ValidationRuleTest : public ::testing::TestWithParam<RuleCase> {};

TEST_P(ValidationRuleTest, RejectsWithItsCodeAndLeavesTheLogUnchanged) {
  const RuleCase& c = GetParam();
  auto w = open_writer();
  auto setup = append(*w, c.setup);
  ASSERT_TRUE(setup.ok()) << setup.error().to_string();
  const auto before = all_events(*w);

  // A valid event first: the batch is rejected as a whole.
  auto ok_event = request_event("br-ok", BUILD_REQUEST_RECEIVED);
  auto ticket = w->stage({ok_event, c.bad});
  ASSERT_FALSE(ticket.ok());
  EXPECT_EQ(ticket.error().code, c.code) << ticket.error().to_string();
  EXPECT_NE(ticket.error().message.find("append #2: "), std::string::npos)
      << ticket.error().message;
  EXPECT_EQ(w->staged_events(), 0u);
  auto result = w->commit();
  EXPECT_TRUE(result.tickets.empty());

  const auto after = all_events(*w);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].SerializeAsString(), before[i].SerializeAsString());
  }
  // The rejected batch left no trace in the rules either: its valid event is still new.
  auto again = append(*w, {ok_event});
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ((*again)[0].idx(), static_cast<int64_t>(before.size()) + 1);
}

INSTANTIATE_TEST_SUITE_P(EveryRule, ValidationRuleTest, ::testing::ValuesIn(rule_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- idempotency ---------------------------------------------------------------------------------

TEST(LogWriterTest, IdenticalReappendReturnsTheSameIdxAsDuplicate) {
  auto w = open_writer();
  auto e = with_id(request_event("br-1", BUILD_REQUEST_RECEIVED), "ev-1");
  auto first = append(*w, {e});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(append(*w, {request_event("br-1", BUILD_REQUEST_PLANNING)}).ok());
  auto again = append(*w, {e});
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ((*again)[0].idx(), (*first)[0].idx());
  EXPECT_TRUE((*again)[0].duplicate());
  EXPECT_EQ(all_events(*w).size(), 2u);
  EXPECT_EQ(w->stats().duplicates(), 1);
}

TEST(LogWriterTest, RetryWithUnsetTimestampMatchesTheAssignedOne) {
  auto w = open_writer();
  auto e = with_id(request_event("br-1", BUILD_REQUEST_RECEIVED), "ev-1");
  ASSERT_TRUE(append(*w, {e}).ok());
  auto retry = append(*w, {e});  // timestamp still 0: the log assigned it the first time
  ASSERT_TRUE(retry.ok()) << retry.error().to_string();
  EXPECT_TRUE((*retry)[0].duplicate());
}

TEST(LogWriterTest, DifferingEventWithSameIdFailsWithDuplicateEventId) {
  auto w = open_writer();
  ASSERT_TRUE(append(*w, {with_id(request_event("br-1", BUILD_REQUEST_RECEIVED), "ev-1")}).ok());
  auto clash = append(*w, {with_id(request_event("br-2", BUILD_REQUEST_RECEIVED), "ev-1")});
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, ErrorCode::duplicate_event_id);
  EXPECT_NE(clash.error().message.find("ev-1"), std::string::npos);
  EXPECT_EQ(all_events(*w).size(), 1u);
}

TEST(LogWriterTest, DuplicateWithinOneBatchGetsTheFirstIdx) {
  auto w = open_writer();
  auto e = with_id(request_event("br-1", BUILD_REQUEST_RECEIVED), "ev-1");
  auto acks = append(*w, {e, e});
  ASSERT_TRUE(acks.ok()) << acks.error().to_string();
  EXPECT_EQ((*acks)[0].idx(), 1);
  EXPECT_FALSE((*acks)[0].duplicate());
  EXPECT_EQ((*acks)[1].idx(), 1);
  EXPECT_TRUE((*acks)[1].duplicate());
  EXPECT_EQ(all_events(*w).size(), 1u);
}

// An id used twice in one batch with different content: the error names the batch's event that
// holds it first, not the log (nothing of the batch is in the log).
TEST(LogWriterTest, ClashWithinOneBatchNamesTheEarlierEventOfTheBatch) {
  auto w = open_writer();
  ASSERT_TRUE(append(*w, {request_event("br-0", BUILD_REQUEST_RECEIVED)}).ok());
  auto first = with_id(request_event("br-1", BUILD_REQUEST_RECEIVED), "ev-1");
  auto other = with_id(request_event("br-2", BUILD_REQUEST_RECEIVED), "ev-1");
  auto clash = append(*w, {request_event("br-3", BUILD_REQUEST_RECEIVED), first, other});
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, ErrorCode::duplicate_event_id);
  EXPECT_EQ(clash.error().message,
            "append #3: event_id \"ev-1\" is already used by append #2 of this batch with "
            "different content");
  EXPECT_EQ(all_events(*w).size(), 1u);
}

TEST(LogWriterTest, DuplicateOfAnEventStagedInTheSameGroupResolvesAtCommit) {
  auto w = open_writer();
  auto e = with_id(request_event("br-1", BUILD_REQUEST_RECEIVED), "ev-1");
  auto t1 = w->stage({e});
  auto t2 = w->stage({e});
  ASSERT_TRUE(t1.ok());
  ASSERT_TRUE(t2.ok()) << t2.error().to_string();
  auto result = w->commit();
  ASSERT_EQ(result.tickets.size(), 2u);
  ASSERT_TRUE(result.tickets[1].second.ok());
  EXPECT_EQ((*result.tickets[1].second)[0].idx(), 1);
  EXPECT_TRUE((*result.tickets[1].second)[0].duplicate());
  EXPECT_EQ(result.committed.size(), 1u);
}

// ---- group commit and failures ------------------------------------------------------------------

TEST(LogWriterTest, StagedBatchesCommitInOneTransactionInOrder) {
  auto w = open_writer();
  ASSERT_TRUE(w->stage({request_event("br-1", BUILD_REQUEST_RECEIVED)}).ok());
  ASSERT_TRUE(w->stage({request_event("br-1", BUILD_REQUEST_PLANNING),
                        request_event("br-2", BUILD_REQUEST_RECEIVED)})
                  .ok());
  auto result = w->commit();
  ASSERT_EQ(result.tickets.size(), 2u);
  EXPECT_EQ((*result.tickets[0].second)[0].idx(), 1);
  EXPECT_EQ((*result.tickets[1].second)[0].idx(), 2);
  EXPECT_EQ((*result.tickets[1].second)[1].idx(), 3);
  ASSERT_EQ(result.committed.size(), 3u);
  EXPECT_EQ(result.committed[2].idx(), 3);
  EXPECT_EQ(w->stats().commits(), 1);
  EXPECT_EQ(w->stats().events_appended(), 3);
}

TEST(LogWriterTest, FailedCommitFailsEveryBatchAndRollsBackTheRules) {
  bool fail = false;
  storage::StorageOptions options;
  options.fault_hook = [&fail](storage::FaultPoint p) -> Status {
    if (fail && p == storage::FaultPoint::commit) {
      return make_error(ErrorCode::storage_unavailable, "injected: disk full");
    }
    return ok_status();
  };
  auto w = open_writer(options);
  ASSERT_TRUE(append(*w, {request_event("br-1", BUILD_REQUEST_RECEIVED)}).ok());

  fail = true;
  ASSERT_TRUE(w->stage({request_event("br-1", BUILD_REQUEST_PLANNING)}).ok());
  ASSERT_TRUE(w->stage({request_event("br-2", BUILD_REQUEST_RECEIVED)}).ok());
  auto failed = w->commit();
  ASSERT_EQ(failed.tickets.size(), 2u);
  for (const auto& [ticket, acks] : failed.tickets) {
    ASSERT_FALSE(acks.ok());
    EXPECT_EQ(acks.error().code, ErrorCode::storage_unavailable);
  }
  EXPECT_TRUE(failed.committed.empty());
  EXPECT_EQ(w->stats().failed_commits(), 1);

  // The transitions of the failed group were undone: the same events are valid again, and they
  // take the next idx.
  fail = false;
  auto retry = append(*w, {request_event("br-1", BUILD_REQUEST_PLANNING),
                           request_event("br-2", BUILD_REQUEST_RECEIVED)});
  ASSERT_TRUE(retry.ok()) << retry.error().to_string();
  EXPECT_EQ((*retry)[0].idx(), 2);
  EXPECT_EQ((*retry)[1].idx(), 3);
}

TEST(LogWriterTest, ReopenRebuildsTheTransitionStateFromTheLog) {
  const bel::testing::TempDir dir;  // removed even when an ASSERT below fails
  const std::string uri = "sqlite://" + dir.path() + "/log.db";
  {
    auto storage = storage::open_storage(uri, {});
    ASSERT_TRUE(storage.ok()) << storage.error().to_string();
    auto w = LogWriter::open(std::move(*storage), {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(append(**w, {request_event("br-1", BUILD_REQUEST_RECEIVED),
                             request_event("br-1", BUILD_REQUEST_COMPLETED)})
                    .ok());
  }
  auto storage = storage::open_storage(uri, {});
  ASSERT_TRUE(storage.ok());
  auto w = LogWriter::open(std::move(*storage), {});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->last_idx(), 2);
  auto late = append(**w, {request_event("br-1", BUILD_REQUEST_EXECUTING)});
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::invalid_transition);
  auto next = append(**w, {request_event("br-2", BUILD_REQUEST_RECEIVED)});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ((*next)[0].idx(), 3);
}

TEST(LogWriterTest, LenientLogRecordsAWarningInsteadOfRejecting) {
  auto w = open_writer();
  ASSERT_TRUE(w->set_mode(write::ValidationMode::lenient).ok());
  auto mode = w->storage().get_meta(kValidationModeKey);
  ASSERT_TRUE(mode.ok());
  EXPECT_EQ(mode->value_or(""), "lenient");
  std::vector<std::string> warnings;
  auto ticket = w->stage({request_event("br-1", BUILD_REQUEST_PLANNING)}, &warnings);
  ASSERT_TRUE(ticket.ok());
  EXPECT_EQ(warnings.size(), 1u);
  EXPECT_EQ(w->commit().committed.size(), 1u);
  // Structure is never lenient.
  auto bad = w->stage({partition_event("br-1", "", PARTITION_REQUESTED)});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_event);
}

TEST(LogWriterTest, EmptyBatchIsInvalidArgument) {
  auto w = open_writer();
  auto t = w->stage({});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace bel::actors
