// The storage actor on its own (no supervisor in front): a batch above the pending limit is
// refused `overloaded` (SPEC R5), and a throw while appends wait answers each of them (R9).
#include <atomic>
#include <memory>
#include <stdexcept>

#include <gtest/gtest.h>

#include "actors/write/storage_actor.h"
#include "storage/storage_factory.h"
#include "tests/support/events.h"

namespace bel::actors {
namespace {

using namespace bel::testing;  // NOLINT: test helpers
using namespace bel::v1;       // NOLINT: enum values

constexpr auto kTimeout = std::chrono::seconds(30);

class StorageActorFailureTest : public ::testing::Test {
 protected:
  StorageActorFailureTest() {
    config_.set("scheduler.max-threads", 2);
    add_error_category(config_);
    system_ = std::make_unique<caf::actor_system>(config_);
  }
  ~StorageActorFailureTest() override {
    if (log_) caf::anon_send_exit(log_, caf::exit_reason::user_shutdown);
    system_->await_all_actors_done();
  }

  void start(storage::StorageOptions options = {}) {
    auto storage = storage::open_storage("memory://", options);
    ASSERT_TRUE(storage.ok());
    auto reader = (*storage)->open_reader();
    ASSERT_TRUE(reader.ok());
    reader_ = std::move(*reader);
    auto writer = LogWriter::open(std::move(*storage), {});
    ASSERT_TRUE(writer.ok());
    log_ = spawn_storage_actor(*system_, std::move(*writer), {});
  }

  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  std::unique_ptr<storage::Storage> reader_;
  StorageActor log_;
};

TEST_F(StorageActorFailureTest, ABatchAboveThePendingLimitIsRefusedWhole) {
  start();
  std::vector<BuildEvent> batch{request_event("br", BUILD_REQUEST_RECEIVED)};
  for (int i = 1; i < 150000; ++i) {
    batch.push_back(partition_event("br", "p/" + std::to_string(i), PARTITION_REQUESTED));
  }
  caf::scoped_actor self{*system_};
  Error err;
  self->request(log_, kTimeout, append_atom::value, std::move(batch))
      .receive([&](const AppendAcks&) { ADD_FAILURE() << "a 150,000-event batch was accepted"; },
               [&](const caf::error& e) { err = from_caf_error(e); });
  EXPECT_EQ(err.code, ErrorCode::overloaded) << err.to_string();
  EXPECT_NE(err.message.find("a batch of 150000 events"), std::string::npos) << err.message;
  EXPECT_EQ(*reader_->last_idx(), 0);
}

TEST_F(StorageActorFailureTest, AThrowAnswersEveryWaitingAppend) {
  auto armed = std::make_shared<std::atomic<bool>>(false);
  storage::StorageOptions options;
  options.fault_hook = [armed](storage::FaultPoint point) -> Status {
    if (*armed && point == storage::FaultPoint::commit) throw std::runtime_error("injected throw");
    return ok_status();
  };
  start(options);
  caf::scoped_actor self{*system_};
  *armed = true;
  constexpr int kAppends = 30;
  // Requested at once: the first commit finds several of them staged (group commit); those
  // still queued when the actor stops are bounced by CAF.
  using Handle = decltype(self->request(log_, kTimeout, append_atom::value, BuildEvent{}));
  std::vector<Handle> pending;
  for (int i = 0; i < kAppends; ++i) {
    pending.push_back(self->request(log_, kTimeout, append_atom::value,
                                    request_event("br-" + std::to_string(i), BUILD_REQUEST_RECEIVED)));
  }
  int by_throw = 0;
  for (auto& handle : pending) {
    handle.receive(
        [&](const AppendAck&) { ADD_FAILURE() << "acked although every commit throws"; },
        [&](const caf::error& e) {
          const Error err = from_caf_error(e);
          EXPECT_EQ(err.code, ErrorCode::storage_unavailable) << err.to_string();
          EXPECT_NE(err.code, ErrorCode::timeout) << "an append got no answer";
          if (err.message.find("the storage actor failed (injected throw)") != std::string::npos) {
            ++by_throw;
          }
        });
  }
  EXPECT_GT(by_throw, 0);
  EXPECT_EQ(*reader_->last_idx(), 0);
}

}  // namespace
}  // namespace bel::actors
