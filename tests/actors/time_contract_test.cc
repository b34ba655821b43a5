// The time-based contract of the coordinator (SPEC section 5), driven by CAF's test coordinator
// instead of the wall clock: every actor runs on the test's thread when the test says so, and
// time moves only when the test advances it. So each test states exactly when a timer fires:
//  - the wait budget: a query the view does not reflect yet is answered by the view when the
//    events arrive in time, and handed to the fallback scan when the budget runs out;
//  - the snapshot timer: a view writes a snapshot each interval in which it applied something;
//  - the restart window: the supervisor restarts a crashed view up to max_restarts times within
//    restart_window, then gives up on it; restarts older than the window no longer count.
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/coordinator.h"
#include "actors/coordinator_options.h"
#include "tests/support/events.h"

namespace bel::actors {
namespace {

using namespace std::chrono_literals;
using projections::ViewKind;

BuildEvent received() {
  return testing::request_event("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a"});
}
BuildEvent scheduled() {
  return testing::partition_event("br-1", "data/a", v1::PARTITION_SCHEDULED);
}

class TimeContractTest : public ::testing::Test {
 protected:
  // Starts a coordinator on a fresh memory:// log with `options`, every actor on the test
  // coordinator (no detached storage or reader threads).
  void start(CoordinatorOptions options = {}) {
    configure_actor_system(config_);
    config_.set("scheduler.policy", caf::atom("testing"));
    system_ = std::make_unique<caf::actor_system>(config_);
    sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(system_->scheduler());
    options.supervisor.storage.detached = false;
    options.supervisor.reader.detached = false;
    // Every commit reaches the views as it is made: the storage actor's publish_interval is a
    // timer of its own, not part of this contract (storage_actor_test.cc, view_delivery_test.cc).
    options.supervisor.storage.publish_interval = std::chrono::microseconds(0);
    options.supervisor.on_view_started = [this](ViewKind kind, const ViewActor& view) {
      if (kind == ViewKind::partition_status) partition_views_.push_back(view);
    };
    auto api = start_coordinator(*system_, "memory://", std::move(options));
    ASSERT_TRUE(api.ok()) << api.error().to_string();
    api_ = *api;
    sched_->run();
  }

  ~TimeContractTest() override {
    if (!system_) return;
    caf::anon_send_exit(api_, caf::exit_reason::user_shutdown);
    sched_->run();
  }

  // Sends a request to the API from a helper actor; the answer (or error) lands in the returned
  // slot once the scheduler has run the actors involved.
  template <class T, class... Ts>
  std::shared_ptr<std::optional<Result<T>>> ask(Ts... xs) {
    auto out = std::make_shared<std::optional<Result<T>>>();
    auto api = api_;
    system_->spawn([=](caf::event_based_actor* self) {
      self->request(api, caf::infinite, xs...)
          .then([=](const T& value) { out->emplace(value); },
                [=](const caf::error& e) { out->emplace(from_caf_error(e)); });
    });
    return out;
  }

  // Appends `event` and runs the actors until it is committed and delivered.
  void append(const BuildEvent& event) {
    auto ack = ask<AppendAck>(append_atom::value, event);
    sched_->run();
    ASSERT_TRUE(ack->has_value() && (*ack)->ok());
  }

  // Starts with snapshots written by the timer alone, every `interval`, and two events applied.
  void start_with_snapshot_timer(std::chrono::milliseconds interval) {
    CoordinatorOptions options;
    options.supervisor.views.snapshot_every_events = 0;
    options.supervisor.views.snapshot_interval = interval;
    start(options);
    append(received());
    append(scheduled());
  }

  ViewStatus view_status(const std::string& name) {
    auto status = ask<ViewsStatus>(views_atom::value);
    sched_->run();
    EXPECT_TRUE(status->has_value() && (*status)->ok());
    for (const auto& v : (*status)->value().views()) {
      if (v.view() == name) return v;
    }
    ADD_FAILURE() << "no " << name << " view in the views status";
    return {};
  }

  ViewStatus partition_view_status() { return view_status("partition_status"); }

  int64_t fallback_queries() {
    auto status = ask<ViewsStatus>(views_atom::value);
    sched_->run();
    EXPECT_TRUE(status->has_value() && (*status)->ok());
    return (*status)->value().fallback_queries();
  }

  // Time passes by `d`; the actors then handle every timer that came due.
  void advance(caf::timespan d) {
    sched_->advance_time(d);
    sched_->run();
  }

  Query partition_query(int64_t min_idx) {
    Query q;
    q.set_min_idx(min_idx);
    q.mutable_partition_status()->set_partition_ref("data/a");
    return q;
  }

  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  BelApi api_;
  std::vector<ViewActor> partition_views_;  // every partition_status view actor started, in order
};

TEST_F(TimeContractTest, QueryBeyondTheViewGoesToTheFallbackExactlyWhenTheBudgetRunsOut) {
  CoordinatorOptions options;
  options.supervisor.views.wait_budget = 500ms;
  start(options);
  append(received());
  const int64_t before = fallback_queries();

  // idx 2 is not committed: the view parks the query for its budget.
  auto answer = ask<QueryResult>(query_atom::value, partition_query(2));
  sched_->run();
  EXPECT_FALSE(answer->has_value());
  advance(499ms);
  EXPECT_FALSE(answer->has_value()) << "handed to the fallback before the budget ran out";
  EXPECT_EQ(fallback_queries(), before);

  advance(1ms);
  ASSERT_TRUE(answer->has_value()) << "still parked after the budget ran out";
  // The fallback scan cannot reflect idx 2 either: it answers timeout, naming what it waited for.
  ASSERT_FALSE((*answer)->ok());
  EXPECT_EQ((*answer)->error().code, ErrorCode::timeout);
  EXPECT_EQ(fallback_queries(), before + 1);
}

TEST_F(TimeContractTest, QueryParkedWithinTheBudgetIsAnsweredByTheViewWhenTheEventArrives) {
  CoordinatorOptions options;
  options.supervisor.views.wait_budget = 500ms;
  start(options);
  append(received());
  const int64_t before = fallback_queries();

  auto answer = ask<QueryResult>(query_atom::value, partition_query(2));
  advance(300ms);
  EXPECT_FALSE(answer->has_value());
  append(scheduled());  // idx 2, within the budget
  ASSERT_TRUE(answer->has_value());
  ASSERT_TRUE((*answer)->ok()) << (*answer)->error().to_string();
  EXPECT_EQ((*answer)->value().partition_status().status_code(), v1::PARTITION_SCHEDULED);
  EXPECT_GE((*answer)->value().partition_status().as_of_idx(), 2);

  // The expiry timer that was armed for it finds nothing left to hand over.
  advance(1s);
  EXPECT_EQ(fallback_queries(), before);
}

TEST_F(TimeContractTest, SnapshotTimerWritesOncePerIntervalWithNewEvents) {
  start_with_snapshot_timer(10s);
  EXPECT_EQ(partition_view_status().snapshots_written(), 0);

  advance(10s - 1ms);
  EXPECT_EQ(partition_view_status().snapshots_written(), 0) << "snapshot before the interval";
  advance(1ms);
  auto status = partition_view_status();
  EXPECT_EQ(status.snapshots_written(), 1);
  EXPECT_EQ(status.snapshot_idx(), 2);

  // An interval with nothing applied writes nothing.
  advance(10s);
  EXPECT_EQ(partition_view_status().snapshots_written(), 1);

  append(testing::partition_event("br-1", "data/a", v1::PARTITION_BUILDING));
  advance(10s);
  status = partition_view_status();
  EXPECT_EQ(status.snapshots_written(), 2);
  EXPECT_EQ(status.snapshot_idx(), 3);
}

// The views' timers run out of step, so that views started together do not each hold a
// snapshot at the same moment: view k of kAllViews first writes after 1 + k/4 intervals.
TEST_F(TimeContractTest, ViewsWriteTheirFirstTimedSnapshotsInTurn) {
  start_with_snapshot_timer(8s);
  std::vector<std::string> names;
  for (ViewKind kind : projections::kAllViews) names.emplace_back(projections::view_name(kind));

  advance(8s - 1ms);
  for (const auto& name : names) EXPECT_EQ(view_status(name).snapshots_written(), 0) << name;
  for (size_t k = 0; k < names.size(); ++k) {
    if (k > 0) advance(2s - 1ms);
    advance(1ms);  // 8 s + k * 2 s since the start
    for (size_t j = 0; j < names.size(); ++j) {
      EXPECT_EQ(view_status(names[j]).snapshots_written(), j <= k ? 1 : 0)
          << names[j] << " at 8 s + " << 2 * k << " s";
    }
  }
  // Each then keeps its own step: the next ones come an interval after its first.
  advance(8s - 2s * 3);  // 16 s: partition_status's second tick, nothing new applied
  EXPECT_EQ(view_status(names[0]).snapshots_written(), 1);
  append(testing::partition_event("br-1", "data/a", v1::PARTITION_BUILDING));
  advance(2s);  // 18 s: build_summary's second tick
  EXPECT_EQ(view_status(names[0]).snapshots_written(), 1);
  EXPECT_EQ(view_status(names[1]).snapshots_written(), 2);
  EXPECT_EQ(view_status(names[2]).snapshots_written(), 1);
}

TEST_F(TimeContractTest, SupervisorGivesUpAfterMaxRestartsWithinTheWindow) {
  CoordinatorOptions options;
  options.supervisor.max_restarts = 3;
  options.supervisor.restart_window = std::chrono::seconds(60);
  start(options);
  append(received());
  append(scheduled());
  ASSERT_EQ(partition_views_.size(), 1u);

  for (size_t i = 1; i <= 3; ++i) {
    caf::anon_send_exit(partition_views_.back(), caf::exit_reason::kill);
    advance(1s);
    ASSERT_EQ(partition_views_.size(), 1 + i) << "restart " << i << " of 3 did not happen";
  }
  EXPECT_EQ(partition_view_status().restarts(), 3);

  // A fourth crash within the window: no new view; queries still answered by the fallback.
  caf::anon_send_exit(partition_views_.back(), caf::exit_reason::kill);
  advance(1s);
  EXPECT_EQ(partition_views_.size(), 4u);
  EXPECT_NE(partition_view_status().last_error().find("restart limit"), std::string::npos);
  const int64_t before = fallback_queries();
  auto answer = ask<QueryResult>(query_atom::value, partition_query(2));
  sched_->run();
  ASSERT_TRUE(answer->has_value() && (*answer)->ok());
  EXPECT_EQ((*answer)->value().partition_status().status_code(), v1::PARTITION_SCHEDULED);
  EXPECT_EQ(fallback_queries(), before + 1);
}

TEST_F(TimeContractTest, RestartsOlderThanTheWindowNoLongerCount) {
  CoordinatorOptions options;
  options.supervisor.max_restarts = 2;
  options.supervisor.restart_window = std::chrono::seconds(60);
  start(options);
  ASSERT_EQ(partition_views_.size(), 1u);

  caf::anon_send_exit(partition_views_.back(), caf::exit_reason::kill);
  advance(1s);
  caf::anon_send_exit(partition_views_.back(), caf::exit_reason::kill);
  advance(1s);
  ASSERT_EQ(partition_views_.size(), 3u);

  // Both restarts are now more than 60 s old: a third crash is restarted again.
  advance(61s);
  caf::anon_send_exit(partition_views_.back(), caf::exit_reason::kill);
  advance(1s);
  EXPECT_EQ(partition_views_.size(), 4u) << "old restarts still counted against the window";

  // One more within the window is allowed (two in it), the next is refused.
  caf::anon_send_exit(partition_views_.back(), caf::exit_reason::kill);
  advance(1s);
  EXPECT_EQ(partition_views_.size(), 5u);
  caf::anon_send_exit(partition_views_.back(), caf::exit_reason::kill);
  advance(1s);
  EXPECT_EQ(partition_views_.size(), 5u) << "a third restart within the window";
}

}  // namespace
}  // namespace bel::actors
