// The supervisor checks each append's structure on its own thread (admit_append) and the storage
// actor then skips those checks (LogWriter::check_event, `checked_atom`). Whichever way it goes,
// a malformed append is refused with the same error as when the storage actor checks it itself,
// nothing of it is stored, and the coordinator counts it as rejected.
#include "actors/write/append_admission.h"

#include <gtest/gtest.h>

#include <new>
#include <string>
#include <vector>

#include "actors/coordinator.h"
#include "actors/coordinator_options.h"
#include "actors/write/event_structure.h"
#include "actors/write/log_writer.h"
#include "actors/write/storage_actor.h"
#include "storage/storage_factory.h"
#include "tests/actors/query_checks.h"
#include "tests/support/events.h"
#include "tests/support/run_command.h"

namespace bel::actors {
namespace {

using namespace bel::testing;  // NOLINT: test helpers
using namespace bel::v1;       // NOLINT: enum values

using query_checks::request_value;

// An event of 1 MiB with its status name empty, over 1 MiB once the name is filled (as every
// append's is before its size is checked): the size that counts is the filled event's, whoever
// measures it.
BuildEvent under_the_size_limit_until_named() {
  BuildEvent e = job_event("br-6", "jr-6", "//big", JOB_SCHEDULED);
  e.mutable_job_event()->clear_status_name();
  auto* args = e.mutable_job_event()->mutable_config()->mutable_args();
  while (e.ByteSizeLong() < write::kMaxEventBytes - 60000) args->Add(std::string(60000, 'a'));
  // The last argument's length: make the event exactly 1 MiB (its length prefix may grow).
  args->Add(std::string());
  while (e.ByteSizeLong() < write::kMaxEventBytes) args->rbegin()->push_back('a');
  EXPECT_EQ(e.ByteSizeLong(), write::kMaxEventBytes);
  return e;
}

// Appends that the structure checks refuse, one or several events, the bad one anywhere.
std::vector<std::vector<BuildEvent>> malformed_appends() {
  std::vector<std::vector<BuildEvent>> out;
  out.push_back({job_event("", "jr-1", "//a", JOB_RUNNING)});  // no build_request_id
  out.push_back({request_event("br-1", BUILD_REQUEST_RECEIVED),
                 partition_event("br-1", "", PARTITION_REQUESTED)});  // #2: empty partition ref
  out.push_back({request_event(std::string("br\x01x"), BUILD_REQUEST_RECEIVED)});
  BuildEvent with_idx = request_event("br-2", BUILD_REQUEST_RECEIVED);
  with_idx.set_idx(7);
  out.push_back({request_event("br-3", BUILD_REQUEST_RECEIVED), with_idx});
  BuildEvent misnamed = request_event("br-4", BUILD_REQUEST_RECEIVED);
  misnamed.mutable_build_request_event()->set_status_name("BUILD_REQUEST_COMPLETED");
  out.push_back({misnamed});
  BuildEvent out_of_range = job_event("br-5", "jr-5", "//e", JOB_RUNNING);
  out_of_range.mutable_job_event()->set_status_code(static_cast<JobStatus>(999));
  out.push_back({request_event("br-5", BUILD_REQUEST_RECEIVED), out_of_range});
  out.push_back({under_the_size_limit_until_named()});
  return out;
}

class AppendAdmissionTest : public ::testing::Test {
 protected:
  AppendAdmissionTest() {
    configure_actor_system(config_);
    system_ = std::make_unique<caf::actor_system>(config_);
  }
  ~AppendAdmissionTest() override { system_->await_all_actors_done(); }

  // The error `target` answers `batch` with, sent as a batch or, for one event, as one event.
  template <class Handle>
  Error refusal(const Handle& target, const std::vector<BuildEvent>& batch) {
    const Error accepted{ErrorCode::internal, "accepted"};
    caf::scoped_actor self{*system_};
    if (batch.size() == 1) {
      auto one = request_value<AppendAck>(self, target, append_atom::value, batch.front());
      return one.ok() ? accepted : one.error();
    }
    auto all = request_value<AppendAcks>(self, target, append_atom::value, batch);
    return all.ok() ? accepted : all.error();
  }

  template <class Handle>
  StorageStats stats(const Handle& target) {
    caf::scoped_actor self{*system_};
    auto answered = request_value<StorageStats>(self, target, stats_atom::value);
    EXPECT_TRUE(answered.ok()) << answered.error().to_string();
    return answered.ok() ? *answered : StorageStats{};
  }

  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  TempDir tmp_;
};

TEST_F(AppendAdmissionTest, TheSupervisorRefusesWhatTheStorageActorWouldWithTheSameError) {
  auto api = start_coordinator(*system_, "sqlite://" + tmp_.path() + "/coordinator.db", {});
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  auto log = storage::open_storage("sqlite://" + tmp_.path() + "/direct.db", {});
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  auto writer = LogWriter::open(std::move(*log), {});
  ASSERT_TRUE(writer.ok()) << writer.error().to_string();
  StorageActor direct = spawn_storage_actor(*system_, std::move(*writer));

  const auto appends = malformed_appends();
  for (const auto& batch : appends) {
    const Error through_supervisor = refusal(*api, batch);
    const Error from_storage_actor = refusal(direct, batch);
    EXPECT_EQ(from_storage_actor.code, ErrorCode::invalid_event) << from_storage_actor.message;
    EXPECT_EQ(through_supervisor.code, from_storage_actor.code);
    // The storage actor writes every append as a batch and names the event's place in it; the
    // coordinator tells an event appended alone as such, with no place.
    std::string expected = from_storage_actor.message;
    if (batch.size() == 1) {
      ASSERT_EQ(expected.rfind("append #1: ", 0), 0u) << expected;
      expected.erase(0, std::string("append #1: ").size());
    }
    EXPECT_EQ(through_supervisor.message, expected);
  }
  const StorageStats coordinator = stats(*api);
  EXPECT_EQ(coordinator.last_idx(), 0);
  EXPECT_EQ(coordinator.rejected(), static_cast<int64_t>(appends.size()));
  EXPECT_EQ(stats(direct).last_idx(), 0);

  // A well-formed append after them goes through, checked once, with its status name filled.
  ASSERT_EQ(refusal(*api, {request_event("br-ok", BUILD_REQUEST_RECEIVED)}).message, "accepted");
  EXPECT_EQ(stats(*api).last_idx(), 1);
  caf::anon_send_exit(direct, caf::exit_reason::user_shutdown);
  stop_coordinator(*api);
}

// Appends sent without waiting reach the log in the order they were sent, one by one or as a
// batch: the supervisor sends the single events of one turn together, and a batch only after
// them. Each batch here is valid only after the single append sent just before it, and each
// single after it depends on the batch.
TEST_F(AppendAdmissionTest, AppendsSentWithoutWaitingAreStoredInTheOrderSent) {
  auto api = start_coordinator(*system_, "sqlite://" + tmp_.path() + "/order.db", {});
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  caf::scoped_actor self{*system_};
  constexpr int kRounds = 40;
  self->send(*api, append_atom::value, request_event("br-o", BUILD_REQUEST_RECEIVED));
  for (int r = 0; r < kRounds; ++r) {
    const std::string ref = "p/" + std::to_string(r);
    self->send(*api, append_atom::value, partition_event("br-o", ref, PARTITION_REQUESTED));
    self->send(*api, append_atom::value,
               std::vector<BuildEvent>{partition_event("br-o", ref, PARTITION_SCHEDULED),
                                       partition_event("br-o", ref, PARTITION_BUILDING)});
    self->send(*api, append_atom::value, partition_event("br-o", ref, PARTITION_AVAILABLE));
  }
  int64_t expected = 1;
  const auto receive_one = [&](int64_t count) {
    bool got = false;
    self->receive(
        [&](const AppendAck& ack) {
          got = true;
          EXPECT_EQ(count, 1);
          EXPECT_EQ(ack.idx(), expected);
        },
        [&](const AppendAcks& acks) {
          got = true;
          ASSERT_EQ(acks.acks_size(), count);
          for (int k = 0; k < count; ++k) EXPECT_EQ(acks.acks(k).idx(), expected + k);
        },
        [&](const caf::error& e) { ADD_FAILURE() << from_caf_error(e).to_string(); },
        caf::after(std::chrono::seconds(30)) >> [] {});
    ASSERT_TRUE(got) << "no answer for idx " << expected;
    expected += count;
  };
  receive_one(1);
  for (int r = 0; r < kRounds && !HasFatalFailure(); ++r) {
    receive_one(1);
    receive_one(2);
    receive_one(1);
  }
  EXPECT_EQ(stats(*api).last_idx(), 1 + 4 * kRounds);
  EXPECT_EQ(stats(*api).rejected(), 0);
  stop_coordinator(*api);
}

// R9 for several single-event appends in one message: should admitting them throw part way (out
// of memory), every event still gets an outcome. Those held before the throw are answered by
// fail_all, as the supervisor's failure handler calls it; the rest by admit_each itself.
TEST_F(AppendAdmissionTest, SeveralAppendsInOneMessageAreEachAnsweredWhenAdmittingThrows) {
  constexpr size_t kThrowAt = 2;  // the third event's hand-over throws, after it is held
  auto admitting = system_->spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {
        [self](append_atom, each_atom,
               std::vector<BuildEvent>& events) -> caf::result<AppendOutcomes> {
          AppendAdmission admission;
          auto rp = self->make_response_promise<AppendOutcomes>();
          size_t handed = 0;
          try {
            admission.admit_each(events, self->clock().now(), rp, [&](uint64_t, BuildEvent&) {
              if (handed++ == kThrowAt) throw std::bad_alloc();
            });
            ADD_FAILURE() << "admit_each did not pass the exception on";
          } catch (const std::bad_alloc&) {
            EXPECT_EQ(admission.in_flight(), kThrowAt + 1);
            admission.fail_all(to_caf_error(Error{ErrorCode::storage_unavailable, "failed"}));
          }
          return rp;
        },
    };
  });
  std::vector<BuildEvent> events;
  for (int k = 0; k < 5; ++k) {
    events.push_back(request_event("br-" + std::to_string(k), BUILD_REQUEST_RECEIVED));
  }
  caf::scoped_actor self{*system_};
  auto outcomes =
      request_value<AppendOutcomes>(self, admitting, append_atom::value, each_atom::value, events);
  ASSERT_TRUE(outcomes.ok()) << outcomes.error().to_string();
  ASSERT_EQ(outcomes->size(), events.size());
  for (size_t k = 0; k < events.size(); ++k) {
    SCOPED_TRACE(k);
    const Error error = from_caf_error((*outcomes)[k].error);
    // Held before the throw: fail_all's error; the one that threw and those after: admit_each's.
    EXPECT_EQ(error.code, k < kThrowAt ? ErrorCode::storage_unavailable : ErrorCode::internal)
        << error.to_string();
  }
  caf::anon_send_exit(admitting, caf::exit_reason::user_shutdown);
}

}  // namespace
}  // namespace bel::actors
