// Several coordinators on one PostgreSQL log (SPEC 3.3, docs/scale-out.md): appends from all of
// them keep idx contiguous, strict validation judges every batch against what the others
// committed, and every coordinator's views converge to the answers of a full scan.
// Skipped without BEL_TEST_PG (scripts/with-postgres).
#include <gtest/gtest.h>

#include <atomic>
#include <caf/all.hpp>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/client/api_client.h"
#include "actors/coordinator.h"
#include "actors/sim/workload.h"
#include "actors/write/log_writer.h"
#include "storage/storage_factory.h"
#include "tests/actors/query_checks.h"
#include "tests/support/events.h"
#include "tests/support/postgres.h"
#include "tests/support/postgres_log.h"

namespace bel::actors {
namespace {

using namespace query_checks;  // NOLINT: test helpers

constexpr int kCoordinators = 3;

// One coordinator: its own actor system, storage connections, views and transition state.
struct PgCoordinator {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> system;
  BelApi api;

  explicit PgCoordinator(const std::string& uri) {
    configure_actor_system(cfg);
    system = std::make_unique<caf::actor_system>(cfg);
    auto started = start_coordinator(*system, uri);
    EXPECT_TRUE(started.ok()) << started.error().to_string();
    if (started.ok()) api = *started;
  }
  ~PgCoordinator() {
    if (api) stop_coordinator(api);
    system->await_all_actors_done();
  }
};

class PostgresCoordinatorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto uri = bel::testing::fresh_postgres_uri();
    if (!uri) GTEST_SKIP() << "BEL_TEST_PG is not set (run through scripts/with-postgres)";
    uri_ = *uri;
    for (int i = 0; i < kCoordinators; ++i) {
      coordinators_.push_back(std::make_unique<PgCoordinator>(uri_));
      ASSERT_TRUE(coordinators_.back()->api) << "coordinator " << i;
    }
  }

  ApiClient client(int i) { return ApiClient(*coordinators_[i]->system, coordinators_[i]->api); }

  // Every event of the log, as stored, read with a connection of its own.
  std::vector<BuildEvent> stored_events() {
    auto log = storage::open_storage(uri_, {});
    EXPECT_TRUE(log.ok());
    return log.ok() ? storage::testing::read_all_events(**log) : std::vector<BuildEvent>{};
  }

  std::string uri_;
  std::vector<std::unique_ptr<PgCoordinator>> coordinators_;
};

// A coordinator's commit watcher waits for notifications in short slices: a stop is not held
// for its interval (an hour here; one second by default held every command on such a log).
TEST(PostgresCoordinatorStopTest, AStopDoesNotWaitOutTheCommitWatchersInterval) {
  auto uri = bel::testing::fresh_postgres_uri();
  if (!uri) GTEST_SKIP() << "BEL_TEST_PG is not set (run through scripts/with-postgres)";
  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  auto system = std::make_unique<caf::actor_system>(cfg);
  CoordinatorOptions options;
  options.supervisor.storage.follow_interval = std::chrono::hours(1);
  auto api = start_coordinator(*system, *uri, options);
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  ASSERT_TRUE(ApiClient(*system, *api)
                  .append({testing::request_event("br-1", v1::BUILD_REQUEST_RECEIVED)})
                  .ok());
  // Stopped on a thread of its own: a stop that hangs fails the test at the deadline rather than
  // holding it for the hour (the thread and the actor system are then left to the process).
  auto done = std::make_shared<std::promise<void>>();
  auto stopped = done->get_future();
  std::thread stopper([sys = system.get(), coordinator = *api, done] {
    stop_coordinator(coordinator);
    sys->await_all_actors_done();
    done->set_value();
  });
  // A deadline, not a measure: without the slices the stop takes the whole hour.
  if (stopped.wait_for(std::chrono::minutes(2)) != std::future_status::ready) {
    stopper.detach();
    system.release();
    FAIL() << "the coordinator's stop waited for its commit watcher's interval";
  }
  stopper.join();
}

TEST_F(PostgresCoordinatorsTest, ConcurrentAppendsStayContiguousAndEveryCoordinatorConverges) {
  constexpr int kEventsPerCoordinator = 400;
  std::mutex mu;
  std::map<int64_t, std::string> acked;  // idx -> event_id
  int double_acks = 0;
  std::atomic<int> rejected{0};
  std::vector<std::thread> producers;
  for (int c = 0; c < kCoordinators; ++c) {
    producers.emplace_back([&, c] {
      // Each coordinator's producer runs its own flows (ids "br-c<k>-..."), over one shared
      // partition space, so their builds meet on the same partitions.
      sim::WorkloadOptions options;
      options.seed = 100 + c;
      options.partitions = 64;
      options.id_prefix = "c" + std::to_string(c);
      sim::Workload workload(options);
      ApiClient api = client(c);
      for (int i = 0; i < kEventsPerCoordinator; ++i) {
        BuildEvent event = workload.next();
        auto ack = api.append(event);
        if (!ack.ok()) {
          // A flow's step may meet another flow's state on a shared partition; the log judges.
          EXPECT_EQ(ack.error().code, ErrorCode::invalid_transition) << ack.error().to_string();
          ++rejected;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        if (!acked.emplace(ack->idx(), ack->event_id()).second) ++double_acks;
      }
    });
  }
  for (auto& t : producers) t.join();

  const auto events = stored_events();
  EXPECT_EQ(double_acks, 0);
  ASSERT_EQ(events.size(), acked.size()) << rejected << " rejected";
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i].idx(), static_cast<int64_t>(i) + 1);
    EXPECT_EQ(events[i].event_id(), acked[events[i].idx()]);
  }

  // Each coordinator reaches the last idx (by its own commits and by following the others') and
  // then answers every question as a fold of the whole log does.
  const int64_t last = static_cast<int64_t>(events.size());
  testing::ReferenceFold oracle(events);
  const auto queries = queries_for(oracle, last);
  for (int c = 0; c < kCoordinators; ++c) {
    caf::scoped_actor self{*coordinators_[c]->system};
    wait_for_views(self, coordinators_[c]->api,
                   [&](const ViewsStatus& s) { return all_healthy_at(s, last); });
    QueryComparer compare("coordinator " + std::to_string(c));
    const auto answers = ask_all(self, coordinators_[c]->api, query_atom::value, queries);
    for (size_t i = 0; i < queries.size(); ++i) {
      compare.same(oracle.answer(queries[i]), answers[i], queries[i], "views");
    }
  }
}

TEST_F(PostgresCoordinatorsTest, ABuildRequestAcceptedByOneIsKnownToTheOthersAtOnce) {
  // No waiting in between: the second coordinator has not followed yet when the event arrives,
  // and must judge it against the log as it is, not refuse an unknown build request.
  ASSERT_TRUE(client(0).append(testing::request_event("br-1", v1::BUILD_REQUEST_RECEIVED,
                                                      {"data/a"}))
                  .ok());
  auto next = client(1).append(
      testing::request_event("br-1", v1::BUILD_REQUEST_PLANNING, {"data/a"}));
  ASSERT_TRUE(next.ok()) << next.error().to_string();
  auto cancel = client(2).append(testing::build_cancel_event("br-1", "stop"));
  ASSERT_TRUE(cancel.ok()) << cancel.error().to_string();
  // Cancelled at coordinator 2: coordinator 0 must refuse further steps of br-1.
  auto late = client(0).append(
      testing::request_event("br-1", v1::BUILD_REQUEST_EXECUTING, {"data/a"}));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::invalid_transition) << late.error().to_string();
}

// The validation mode is the log's (SPEC section 2: set per log): a mode set through one
// coordinator judges the next append through any other, which had judged by the mode before.
TEST_F(PostgresCoordinatorsTest, TheValidationModeSetThroughOneJudgesTheNextAppendThroughAny) {
  auto unknown_build = [](const std::string& id) {
    return testing::request_event(id, v1::BUILD_REQUEST_EXECUTING, {"data/" + id});
  };
  ASSERT_TRUE(client(0).set_meta(kValidationModeKey, "lenient").ok());
  auto lenient = client(1).append(unknown_build("br-ghost-1"));
  EXPECT_TRUE(lenient.ok()) << "appended through a coordinator that started strict: "
                            << lenient.error().to_string();

  ASSERT_TRUE(client(2).set_meta(kValidationModeKey, "strict").ok());
  auto strict = client(0).append(unknown_build("br-ghost-2"));
  ASSERT_FALSE(strict.ok()) << "appended through a coordinator that was lenient";
  EXPECT_EQ(strict.error().code, ErrorCode::invalid_transition) << strict.error().to_string();

  // A valid append through the second coordinator commits under the log's mode, which it now
  // reports too.
  ASSERT_TRUE(
      client(1)
          .append(testing::request_event("br-real", v1::BUILD_REQUEST_RECEIVED, {"data/real"}))
          .ok());
  auto stats = client(1).stats();
  ASSERT_TRUE(stats.ok()) << stats.error().to_string();
  EXPECT_EQ(stats->validation_mode(), "strict");
  const auto stored = stored_events();
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].build_request_id(), "br-ghost-1");
  EXPECT_EQ(stored[1].build_request_id(), "br-real");
}

TEST_F(PostgresCoordinatorsTest, RacingCancelsOfOneBuildAreAcceptedExactlyOnce) {
  constexpr int kBuilds = 30;
  for (int b = 0; b < kBuilds; ++b) {
    ASSERT_TRUE(client(b % kCoordinators)
                    .append(testing::request_event("br-" + std::to_string(b),
                                                   v1::BUILD_REQUEST_RECEIVED, {"data/x"}))
                    .ok());
  }
  std::vector<std::atomic<int>> accepted(kBuilds);
  std::atomic<int> other_errors{0};
  std::vector<std::thread> racers;
  for (int c = 0; c < kCoordinators; ++c) {
    racers.emplace_back([&, c] {
      ApiClient api = client(c);
      for (int b = 0; b < kBuilds; ++b) {
        auto ack = api.append(
            testing::build_cancel_event("br-" + std::to_string(b), "from " + std::to_string(c)));
        if (ack.ok()) {
          ++accepted[b];
        } else if (ack.error().code != ErrorCode::invalid_transition) {
          ++other_errors;
          ADD_FAILURE() << ack.error().to_string();
        }
      }
    });
  }
  for (auto& t : racers) t.join();
  EXPECT_EQ(other_errors.load(), 0);
  for (int b = 0; b < kBuilds; ++b) EXPECT_EQ(accepted[b].load(), 1) << "br-" << b;
}

}  // namespace
}  // namespace bel::actors
