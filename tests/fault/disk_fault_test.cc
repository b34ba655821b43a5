// Storage faults injected below SQLite (SPEC section 9, R3), through a real coordinator on a real
// SQLite file: while the disk fails writes, fsyncs, is full or busy, appends fail with
// storage_unavailable and none is acknowledged; nothing unacknowledged becomes durable; queries
// keep working; appends resume when the fault clears; every acknowledged event is in the log
// exactly once at its acknowledged idx.
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <map>
#include <memory>

#include "actors/caf_support.h"
#include "actors/client/api_client.h"
#include "actors/coordinator.h"
#include "actors/coordinator_options.h"
#include "messages/event_id.h"
#include "storage/storage_factory.h"
#include "tests/support/events.h"
#include "tests/support/fault_vfs.h"
#include "tests/support/run_command.h"

namespace bel {
namespace {

using namespace bel::testing;
using namespace bel::v1;

class DiskFaultTest : public ::testing::TestWithParam<DiskFault> {
 protected:
  void SetUp() override {
    FaultVfs::install();
    FaultVfs::set(DiskFault::none);
    actors::configure_actor_system(config_);
    system_ = std::make_unique<caf::actor_system>(config_);
    actors::CoordinatorOptions options;
    options.storage.sqlite_vfs = FaultVfs::kName;
    auto api = actors::start_coordinator(*system_, uri(), std::move(options));
    ASSERT_TRUE(api.ok()) << api.error().to_string();
    api_ = *api;
    client_ = std::make_unique<actors::ApiClient>(*system_, api_, std::chrono::seconds(60));
  }
  void TearDown() override {
    FaultVfs::set(DiskFault::none);
    stop();
  }
  void stop() {
    if (!system_) return;
    client_.reset();
    if (api_) actors::stop_coordinator(api_);
    system_->await_all_actors_done();
    system_.reset();
  }

  std::string uri() const { return "sqlite://" + dir_.path() + "/bel.db"; }

  // An event with its own id, so that a failed append can be retried exactly.
  static BuildEvent own(BuildEvent e) {
    e.set_event_id(new_event_id());
    return e;
  }

  // Appends and records the acks; the error, if any.
  Status append(const std::vector<BuildEvent>& batch) {
    auto acks = client_->append(batch);
    if (!acks.ok()) return acks.error();
    EXPECT_EQ(acks->size(), batch.size());
    for (size_t i = 0; i < acks->size() && i < batch.size(); ++i) {
      const auto& a = (*acks)[i];
      EXPECT_EQ(a.event_id(), batch[i].event_id());
      EXPECT_FALSE(a.duplicate()) << "a failed append was stored after all: " << a.event_id();
      auto [it, fresh] = acked_.emplace(a.event_id(), a.idx());
      EXPECT_TRUE(fresh || it->second == a.idx());
    }
    return ok_status();
  }

  testing::TempDir dir_;
  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  actors::BelApi api_;
  std::unique_ptr<actors::ApiClient> client_;
  std::map<std::string, int64_t> acked_;  // event_id -> acked idx
};

TEST_P(DiskFaultTest, AppendsFailWhileTheDiskFailsAndResumeWithNothingLostOrDoubled) {
  ASSERT_TRUE(append({own(request_event("br-1", BUILD_REQUEST_RECEIVED, {"p/a", "p/b"})),
                      own(partition_event("br-1", "p/a", PARTITION_REQUESTED))})
                  .ok());
  const int64_t injected_before = FaultVfs::injected();

  FaultVfs::set(GetParam());
  const auto single = own(partition_event("br-1", "p/b", PARTITION_REQUESTED));
  const std::vector<BuildEvent> batch = {own(request_event("br-2", BUILD_REQUEST_RECEIVED)),
                                         own(partition_event("br-2", "p/c", PARTITION_REQUESTED))};
  for (const auto& attempt : {std::vector<BuildEvent>{single}, batch}) {
    auto failed = append(attempt);
    ASSERT_FALSE(failed.ok()) << "acknowledged during the fault";
    EXPECT_EQ(failed.error().code, ErrorCode::storage_unavailable) << failed.error().to_string();
  }
  EXPECT_GT(FaultVfs::injected(), injected_before) << "the fault was never reached";

  // Queries keep working: the views answer, and the log read directly holds only what was acked.
  Query q;
  q.mutable_build_summary()->set_build_request_id("br-1");
  auto summary = client_->query(q);
  ASSERT_TRUE(summary.ok()) << summary.error().to_string();
  EXPECT_TRUE(summary->has_build_summary());
  auto page = client_->events_page({}, 0, 100, 0);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  EXPECT_EQ(page->events_size(), 2);

  FaultVfs::set(DiskFault::none);
  // The failed appends are retried with the same ids: stored now, and not as duplicates (none
  // of them had become durable); the next idx follows on.
  ASSERT_TRUE(append({single}).ok());
  ASSERT_TRUE(append(batch).ok());
  ASSERT_TRUE(append({own(partition_event("br-2", "p/c", PARTITION_SCHEDULED))}).ok());
  EXPECT_EQ(acked_.at(single.event_id()), 3);
  stop();

  // Every acknowledged event exactly once, at its idx, in a contiguous log.
  auto log = storage::open_storage(uri(), {});
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  auto all = (*log)->list_events(0, {}, 1000);
  ASSERT_TRUE(all.ok()) << all.error().to_string();
  ASSERT_EQ(all->events_size(), static_cast<int>(acked_.size()));
  for (int i = 0; i < all->events_size(); ++i) {
    const auto& e = all->events(i);
    EXPECT_EQ(e.idx(), i + 1);
    auto it = acked_.find(e.event_id());
    ASSERT_NE(it, acked_.end()) << "unacknowledged event in the log: " << e.event_id();
    EXPECT_EQ(it->second, e.idx());
  }
}

INSTANTIATE_TEST_SUITE_P(Faults, DiskFaultTest,
                         ::testing::Values(DiskFault::write_error, DiskFault::disk_full,
                                           DiskFault::fsync_error, DiskFault::busy),
                         [](const ::testing::TestParamInfo<DiskFault>& info) {
                           switch (info.param) {
                             case DiskFault::write_error: return std::string("WriteError");
                             case DiskFault::disk_full: return std::string("DiskFull");
                             case DiskFault::fsync_error: return std::string("FsyncError");
                             case DiskFault::busy: return std::string("Busy");
                             case DiskFault::none: break;
                           }
                           return std::string("None");
                         });

}  // namespace
}  // namespace bel
