// The coordinator end to end in one process: appends through bel_api, queries answered from the
// views with read-your-writes, and the same answers from the fallback scan.
#include "actors/coordinator.h"

#include <future>

#include <gtest/gtest.h>
#include <google/protobuf/util/message_differencer.h>

#include "tests/support/random_stream.h"
#include "tests/support/run_command.h"

namespace bel::actors {
namespace {

constexpr auto kTimeout = std::chrono::seconds(30);

TEST(CoordinatorSmokeTest, ViewAnswersEqualFallbackAfterAppends) {
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system system{cfg};
  auto api = start_coordinator(system, "memory://");
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  caf::scoped_actor self{system};
  testing::RandomStreamOptions options;
  options.num_events = 300;
  auto events = testing::random_stream(7, options);
  int64_t last = 0;
  for (auto& e : events) {
    e.set_idx(0);
    self->request(*api, kTimeout, append_atom::value, e)
        .receive([&](const AppendAck& ack) { last = ack.idx(); },
                 [&](const caf::error& err) { FAIL() << from_caf_error(err).to_string(); });
  }
  ASSERT_EQ(last, 300);
  Query q;
  q.set_min_idx(last);
  q.mutable_activity();
  QueryResult from_view, from_scan;
  self->request(*api, kTimeout, query_atom::value, q)
      .receive([&](const QueryResult& r) { from_view = r; },
               [&](const caf::error& err) { FAIL() << from_caf_error(err).to_string(); });
  self->request(*api, kTimeout, fallback_atom::value, q)
      .receive([&](const QueryResult& r) { from_scan = r; },
               [&](const caf::error& err) { FAIL() << from_caf_error(err).to_string(); });
  EXPECT_EQ(from_view.activity().as_of_idx(), 300);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(from_view, from_scan))
      << from_view.DebugString() << "\n---\n" << from_scan.DebugString();
  // Every view reflects the last append once it answers a query with that min_idx.
  for (auto make : {+[](Query& x) { x.mutable_partition_status()->set_partition_ref("any"); },
                    +[](Query& x) { x.mutable_builds_list(); },
                    +[](Query& x) { x.mutable_job_metrics_list(); }}) {
    Query each;
    each.set_min_idx(last);
    make(each);
    self->request(*api, kTimeout, query_atom::value, each)
        .receive([&](const QueryResult&) {},
                 [&](const caf::error& err) { FAIL() << from_caf_error(err).to_string(); });
  }
  ViewsStatus views;
  self->request(*api, kTimeout, views_atom::value)
      .receive([&](const ViewsStatus& s) { views = s; },
               [&](const caf::error& err) { FAIL() << from_caf_error(err).to_string(); });
  ASSERT_EQ(views.views_size(), 4);
  for (const auto& v : views.views()) {
    EXPECT_EQ(v.state(), v1::VIEW_HEALTHY) << v.view();
    EXPECT_EQ(v.applied_idx(), 300) << v.view();
  }
  stop_coordinator(*api);
}

TEST(CoordinatorSmokeTest, KillingTheSupervisorStopsEveryActorAndAppendsCommittedStayCommitted) {
  const testing::TempDir dir;  // removed even when an ASSERT below fails
  const std::string uri = "sqlite://" + dir.path() + "/bel.db";
  {
    caf::actor_system_config cfg;
    configure_actor_system(cfg);
    caf::actor_system system{cfg};
    auto api = start_coordinator(system, uri);
    ASSERT_TRUE(api.ok()) << api.error().to_string();
    {
      caf::scoped_actor self{system};  // itself an actor: gone before the wait below
      auto events = testing::random_stream(3, testing::RandomStreamOptions{50, 3, 8});
      std::vector<BuildEvent> batch(events.begin(), events.end());
      for (auto& e : batch) e.set_idx(0);
      self->request(*api, kTimeout, append_atom::value, batch)
          .receive([&](const AppendAcks& acks) { EXPECT_EQ(acks.acks_size(), 50); },
                   [&](const caf::error& err) { FAIL() << from_caf_error(err).to_string(); });
    }
    caf::anon_send_exit(*api, caf::exit_reason::kill);
    // Every child stops with the supervisor: the system can shut down.
    auto done = std::async(std::launch::async, [&] { system.await_all_actors_done(); });
    ASSERT_EQ(done.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  }
  // What was acknowledged is in the log.
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system system{cfg};
  auto api = start_coordinator(system, uri);
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  {
    caf::scoped_actor self{system};
    self->request(*api, kTimeout, stats_atom::value)
        .receive([&](const StorageStats& s) { EXPECT_EQ(s.last_idx(), 50); },
                 [&](const caf::error& err) { FAIL() << from_caf_error(err).to_string(); });
  }
  stop_coordinator(*api);
  system.await_all_actors_done();
}

// An embedder that stops its coordinator and starts one again on the same log, in the same
// actor system: once stop_coordinator_and_wait returns true the log's writer lock is free, every
// time, and what was appended before is there.
TEST(CoordinatorSmokeTest, AfterStopAndWaitTheSameLogStartsAgainAtOnce) {
  const testing::TempDir dir;
  const std::string uri = "sqlite://" + dir.path() + "/bel.db";
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system system{cfg};
  for (int round = 0; round < 10; ++round) {
    auto api = start_coordinator(system, uri);
    ASSERT_TRUE(api.ok()) << "round " << round << ": " << api.error().to_string();
    {
      caf::scoped_actor self{system};
      BuildEvent event;
      event.set_build_request_id("br-" + std::to_string(round));
      event.mutable_build_request_event()->set_status_code(v1::BUILD_REQUEST_RECEIVED);
      self->request(*api, kTimeout, append_atom::value, event)
          .receive([&](const AppendAck& ack) { EXPECT_EQ(ack.idx(), round + 1); },
                   [&](const caf::error& err) { FAIL() << from_caf_error(err).to_string(); });
    }
    ASSERT_TRUE(stop_coordinator_and_wait(system, *api, std::chrono::seconds(30)))
        << "round " << round;
  }
  system.await_all_actors_done();
}

// A program stops on every path, a failed start's too: a handle that holds no coordinator is
// stopped (and waited for) at once, not dereferenced.
TEST(CoordinatorSmokeTest, StoppingAHandleThatHoldsNoCoordinatorReturnsAtOnce) {
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  caf::actor_system system{cfg};
  BelApi none;
  stop_coordinator(none);
  EXPECT_TRUE(stop_coordinator_and_wait(system, none, std::chrono::seconds(30)));
  system.await_all_actors_done();
}

}  // namespace
}  // namespace bel::actors

namespace bel::actors {
namespace {

// configure_actor_system tunes the scheduler for bel unless the program chose its own.
TEST(CoordinatorSmokeTest, TheProgramsOwnSchedulerSettingsStand) {
  caf::actor_system_config tuned;
  configure_actor_system(tuned);
  EXPECT_EQ(caf::get_or(tuned, "scheduler.max-threads", size_t{0}), 2u);
  EXPECT_EQ(caf::get_or(tuned, "work-stealing.moderate-poll-attempts", size_t{99}), 0u);

  caf::actor_system_config own;
  own.set("scheduler.max-threads", 3);
  own.set("work-stealing.moderate-poll-attempts", 7);
  configure_actor_system(own);
  EXPECT_EQ(caf::get_or(own, "work-stealing.moderate-poll-attempts", size_t{0}), 7u);
  caf::actor_system system{own};
  EXPECT_EQ(system.scheduler().num_workers(), 3u);
  auto api = start_coordinator(system, "memory://");
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  stop_coordinator(*api);
}

}  // namespace
}  // namespace bel::actors
