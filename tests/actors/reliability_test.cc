// The coordinator's reliability promises through its library API (SPEC section 9):
// R7 one writer per log file (start_coordinator takes the lock), R5 the pending limit (events and
// bytes, refused at once, nothing acknowledged lost) and R9 every request answered when an actor
// fails or the log is being reopened.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <stdexcept>
#include <thread>

#include "actors/client/api_client.h"
#include "actors/client/session.h"
#include "actors/coordinator.h"
#include "actors/coordinator_options.h"
#include "actors/supervisor.h"
#include "storage/storage_factory.h"
#include "tests/support/events.h"
#include "tests/support/run_command.h"

namespace bel::actors {
namespace {

using namespace bel::testing;  // NOLINT: test helpers
using namespace bel::v1;       // NOLINT: enum values

constexpr auto kReliabilityTimeout = std::chrono::seconds(30);

// A build request and `partitions` partition events of it: a batch the transition rules accept.
std::vector<BuildEvent> build_batch(const std::string& build, int partitions) {
  std::vector<BuildEvent> batch{request_event(build, BUILD_REQUEST_RECEIVED)};
  for (int i = 0; i < partitions; ++i) {
    batch.push_back(partition_event(build, build + "/p" + std::to_string(i), PARTITION_REQUESTED));
  }
  return batch;
}

class ReliabilityTest : public ::testing::Test {
 protected:
  ReliabilityTest() {
    configure_actor_system(config_);
    system_ = std::make_unique<caf::actor_system>(config_);
  }
  ~ReliabilityTest() override {
    for (auto& api : apis_) stop_coordinator(api);
    system_->await_all_actors_done();
  }

  Result<BelApi> start(const std::string& uri, CoordinatorOptions options = {}) {
    auto api = start_coordinator(*system_, uri, std::move(options));
    if (api.ok()) apis_.push_back(*api);
    return api;
  }

  Result<AppendAcks> append(const BelApi& api, std::vector<BuildEvent> batch) {
    caf::scoped_actor self{*system_};
    Result<AppendAcks> out = make_error(ErrorCode::internal, "no answer");
    self->request(api, kReliabilityTimeout, append_atom::value, std::move(batch))
        .receive([&](const AppendAcks& acks) { out = acks; },
                 [&](const caf::error& e) { out = from_caf_error(e); });
    return out;
  }

  StorageStats stats(const BelApi& api) {
    caf::scoped_actor self{*system_};
    StorageStats out;
    self->request(api, kReliabilityTimeout, stats_atom::value)
        .receive([&](const StorageStats& s) { out = s; },
                 [&](const caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
    return out;
  }

  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  std::vector<BelApi> apis_;
  TempDir tmp_;
};

// ---- R7 ------------------------------------------------------------------------------------

TEST_F(ReliabilityTest, ASecondCoordinatorOnTheSameFileIsRefusedWhateverPathNamesIt) {
  const std::string path = tmp_.path() + "/c.db";
  auto first = start("sqlite://" + path);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  std::filesystem::create_symlink(path, tmp_.path() + "/link.db");
  std::filesystem::create_hard_link(path, tmp_.path() + "/hard.db");
  for (const std::string name : {"link.db", "hard.db", "c.db"}) {
    const std::string uri = "sqlite://" + tmp_.path() + "/" + name;
    auto second = start(uri);
    ASSERT_FALSE(second.ok()) << uri << ": a second coordinator started on a written log";
    EXPECT_EQ(second.error().code, ErrorCode::storage_unavailable);
    EXPECT_TRUE(contains(second.error().message, "already writes this log file"))
        << second.error().message;
    EXPECT_TRUE(contains(second.error().message, "pid " + std::to_string(::getpid())))
        << second.error().message;
  }
  // open_storage for writing meets the same lock; a read-only coordinator does not take it.
  auto writer = storage::open_storage("sqlite://" + tmp_.path() + "/link.db", {});
  EXPECT_FALSE(writer.ok());
  CoordinatorOptions read_only;
  read_only.read_only = true;
  auto reader = start("sqlite://" + tmp_.path() + "/link.db", read_only);
  EXPECT_TRUE(reader.ok()) << reader.error().to_string();
  // Stopped, the first coordinator releases it (once its storage actor has closed the log: the
  // next writer waits for that).
  stop_coordinator(*first);
  apis_.erase(apis_.begin());
  CoordinatorOptions waiting;
  waiting.storage.writer_lock_wait = kReliabilityTimeout;
  auto next = start("sqlite://" + tmp_.path() + "/link.db", waiting);
  EXPECT_TRUE(next.ok()) << next.error().to_string();
}

TEST(SessionReliabilityTest, AWritingSessionInitialisesAnEmptyLogLeftByAnInterruptedCreation) {
  TempDir tmp;
  const std::string path = tmp.path() + "/empty.db";
  { std::ofstream touch(path); }
  SessionOptions options;
  options.log_uri = "sqlite://" + path;
  options.write = true;
  options.create_log = true;
  auto session = Session::open(options);
  ASSERT_TRUE(session.ok()) << session.error().to_string();
  auto acks = (*session)->client().append(build_batch("br-empty", 1));
  ASSERT_TRUE(acks.ok()) << acks.error().to_string();
  EXPECT_EQ(acks->size(), 2u);
}

// ---- R5 ------------------------------------------------------------------------------------

TEST_F(ReliabilityTest, ABatchAboveThePendingLimitIsRefusedOverloadedAndStoresNothing) {
  auto api = start("memory://");
  ASSERT_TRUE(api.ok());
  constexpr int kEvents = 150000;  // the default limit is 100,000 pending events
  auto result = append(*api, build_batch("br-big", kEvents - 1));
  ASSERT_FALSE(result.ok()) << "a " << kEvents << "-event batch was accepted";
  EXPECT_EQ(result.error().code, ErrorCode::overloaded);
  EXPECT_TRUE(contains(result.error().message, "batch of 150000 events")) << result.error().message;
  EXPECT_TRUE(contains(result.error().message, "split it")) << result.error().message;
  auto s = stats(*api);
  EXPECT_EQ(s.last_idx(), 0);
  EXPECT_EQ(s.overloaded(), 1);
  // Bytes count too: a batch under the event limit but over the byte limit is refused alike.
  CoordinatorOptions small;
  small.supervisor.storage.max_pending_bytes = 4096;
  auto bytes_api = start("memory://", small);
  ASSERT_TRUE(bytes_api.ok());
  auto by_bytes = append(*bytes_api, build_batch("br-bytes", 200));
  ASSERT_FALSE(by_bytes.ok());
  EXPECT_EQ(by_bytes.error().code, ErrorCode::overloaded);
  EXPECT_TRUE(append(*bytes_api, build_batch("br-small", 3)).ok());
  // An event counts an eighth of its decoded bytes where that is more than its encoded ones: 20
  // 000 empty manifests are 40 KB encoded and megabytes decoded.
  CoordinatorOptions decoded;
  decoded.supervisor.storage.max_pending_bytes = 128 * 1024;
  auto decoded_api = start("memory://", decoded);
  ASSERT_TRUE(decoded_api.ok());
  BuildEvent manifests = job_event("br-m", "jr-m", "//pkg:m", JOB_SCHEDULED, {"m/a"});
  for (int i = 0; i < 20000; ++i) manifests.mutable_job_event()->add_manifests();
  ASSERT_LT(manifests.ByteSizeLong(), 128u * 1024);
  auto by_decoded =
      append(*decoded_api, {request_event("br-m", BUILD_REQUEST_RECEIVED), manifests});
  ASSERT_FALSE(by_decoded.ok());
  EXPECT_EQ(by_decoded.error().code, ErrorCode::overloaded) << by_decoded.error().to_string();
  EXPECT_TRUE(contains(by_decoded.error().message, "split it")) << by_decoded.error().message;
}

TEST_F(ReliabilityTest, ExcessAppendsAreRefusedAtOnceWhileTheStorageIsBusy) {
  // The storage stalls in its first commit until the gate opens: every answer received before
  // that was given at once, without waiting for the storage.
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  CoordinatorOptions options;
  options.storage.fault_hook = [opened](storage::FaultPoint point) {
    if (point == storage::FaultPoint::begin) opened.wait();
    return ok_status();
  };
  options.supervisor.storage.max_pending_events = 100;
  auto api = start("memory://", options);
  ASSERT_TRUE(api.ok());
  caf::scoped_actor self{*system_};
  auto first = build_batch("br-a", 59);  // 60 events: admitted, then held by the storage
  self->send(*api, append_atom::value, first);
  auto second = append(*api, build_batch("br-b", 59));  // 120 pending > 100
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::overloaded) << second.error().to_string();
  EXPECT_TRUE(contains(second.error().message, "60 events")) << second.error().message;
  auto too_big = append(*api, build_batch("br-c", 100));
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code, ErrorCode::overloaded);
  gate.set_value();
  self->receive([&](const AppendAcks& acks) { EXPECT_EQ(acks.acks_size(), 60); },
                [&](const caf::error& e) { ADD_FAILURE() << caf::to_string(e); },
                caf::after(kReliabilityTimeout) >>
                    [] { ADD_FAILURE() << "the admitted batch got no answer"; });
  auto s = stats(*api);
  EXPECT_EQ(s.last_idx(), 60);
  EXPECT_EQ(s.overloaded(), 2);
  EXPECT_EQ(s.pending_bytes(), 0);
}

// R3: while the storage actor's thread is held up in a commit (a lock another process holds, a
// frozen disk), a console's read point comes from its last stats and the highest idx answered
// since, and the views answer: queries need no write. (The client waits 5 s, under the 10 s the
// supervisor gives the storage actor for everything else.)
TEST_F(ReliabilityTest, QueriesAreAnsweredWhileACommitIsHeldUp) {
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  auto hold = std::make_shared<std::atomic<bool>>(false);
  auto entered = std::make_shared<std::promise<void>>();
  CoordinatorOptions options;
  options.storage.fault_hook = [opened, hold, entered](storage::FaultPoint point) {
    if (point == storage::FaultPoint::begin && hold->exchange(false)) {
      entered->set_value();
      opened.wait();
    }
    return ok_status();
  };
  auto api = start("memory://", options);
  ASSERT_TRUE(api.ok());
  ApiClient client(*system_, *api, std::chrono::seconds(5));
  ASSERT_TRUE(client.stats().ok());
  ASSERT_TRUE(append(*api, build_batch("br-a", 3)).ok());  // idx 1..4, answered
  hold->store(true);
  caf::scoped_actor self{*system_};
  self->send(*api, append_atom::value, build_batch("br-b", 1));  // held in its BEGIN
  entered->get_future().wait();
  auto read_point = client.stats();
  ASSERT_TRUE(read_point.ok()) << read_point.error().to_string();
  EXPECT_EQ(read_point->last_idx(), 4);
  Query q;
  q.set_min_idx(read_point->last_idx());
  q.mutable_partition_status()->set_partition_ref("br-a/p0");
  auto status = client.query(q);
  ASSERT_TRUE(status.ok()) << status.error().to_string();
  EXPECT_EQ(status->partition_status().status_code(), PARTITION_REQUESTED);
  gate.set_value();
  self->receive([&](const AppendAcks& acks) { EXPECT_EQ(acks.acks_size(), 2); },
                [&](const caf::error& e) { ADD_FAILURE() << caf::to_string(e); },
                caf::after(kReliabilityTimeout) >> [] { ADD_FAILURE() << "no answer"; });
  EXPECT_EQ(stats(*api).last_idx(), 6);
}

TEST_F(ReliabilityTest, ConcurrentBigBatchesAreAckedOrOverloadedNeverTimedOutAndNothingIsLost) {
  const size_t batch_bytes = [] {
    size_t bytes = 0;
    for (const auto& e : build_batch("br-00-0", 99)) bytes += e.ByteSizeLong();
    return bytes;
  }();
  CoordinatorOptions options;
  options.supervisor.storage.max_pending_bytes = 3 * batch_bytes + batch_bytes / 2;
  auto api = start("memory://", options);
  ASSERT_TRUE(api.ok());
  constexpr int kSenders = 8;
  constexpr int kBatchesEach = 5;
  std::atomic<int64_t> acked_events{0};
  std::atomic<int> acked{0}, overloaded{0}, other{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < kSenders; ++t) {
    senders.emplace_back([&, t] {
      caf::scoped_actor self{*system_};
      for (int b = 0; b < kBatchesEach; ++b) {
        self->send(*api, append_atom::value,
                   build_batch("br-" + std::to_string(10 + t) + "-" + std::to_string(b), 99));
      }
      for (int b = 0; b < kBatchesEach; ++b) {
        self->receive(
            [&](const AppendAcks& acks) {
              ++acked;
              acked_events += acks.acks_size();
            },
            [&](const caf::error& e) {
              if (from_caf_error(e).code == ErrorCode::overloaded) {
                ++overloaded;
              } else {
                ++other;
                ADD_FAILURE() << caf::to_string(e);
              }
            },
            caf::after(kReliabilityTimeout) >>
                [&] {
                  ++other;
                  ADD_FAILURE() << "no answer: a client would have timed out";
                });
      }
    });
  }
  for (auto& t : senders) t.join();
  EXPECT_EQ(acked + overloaded, kSenders * kBatchesEach);
  EXPECT_EQ(other, 0);
  EXPECT_GT(acked, 0);
  auto s = stats(*api);
  EXPECT_LE(s.peak_pending_bytes(), static_cast<int64_t>(options.supervisor.storage.max_pending_bytes));
  EXPECT_GT(s.peak_pending_bytes(), 0);
  EXPECT_EQ(s.pending_bytes(), 0);
  EXPECT_EQ(s.last_idx(), acked_events.load());  // every acked event stored, nothing else
  EXPECT_EQ(s.overloaded(), overloaded.load());
  // The same answers, as /metrics exports them: each refusal under its code, each ack timed.
  const auto& by_code = s.rejected_by_code();
  EXPECT_EQ(by_code.count("overloaded") ? by_code.at("overloaded") : 0, overloaded.load());
  EXPECT_EQ(by_code.size(), overloaded > 0 ? 1u : 0u);
  EXPECT_EQ(s.append_latency_seconds().count(), acked.load());
}

// ---- R9 ------------------------------------------------------------------------------------

TEST_F(ReliabilityTest, AStorageThatThrowsAnswersEveryPendingAppend) {
  auto armed = std::make_shared<std::atomic<bool>>(false);
  CoordinatorOptions options;
  options.storage.fault_hook = [armed](storage::FaultPoint point) -> Status {
    if (*armed && point == storage::FaultPoint::commit) throw std::runtime_error("injected throw");
    return ok_status();
  };
  auto api = start("memory://", options);
  ASSERT_TRUE(api.ok());
  ASSERT_TRUE(append(*api, build_batch("br-before", 2)).ok());
  *armed = true;
  caf::scoped_actor self{*system_};
  constexpr int kAppends = 20;
  for (int i = 0; i < kAppends; ++i) {
    self->send(*api, append_atom::value, build_batch("br-" + std::to_string(i), 1));
  }
  int failed_by_throw = 0;
  for (int i = 0; i < kAppends; ++i) {
    self->receive(
        [&](const AppendAcks&) { ADD_FAILURE() << "acked although every commit throws"; },
        [&](const caf::error& e) {
          const Error err = from_caf_error(e);
          EXPECT_EQ(err.code, ErrorCode::storage_unavailable) << err.to_string();
          if (contains(err.message, "injected throw")) ++failed_by_throw;
        },
        caf::after(kReliabilityTimeout) >> [] { ADD_FAILURE() << "an append got no answer"; });
  }
  EXPECT_GT(failed_by_throw, 0);
  // memory:// cannot be reopened: later appends are refused at once, queries still answer.
  auto after = append(*api, build_batch("br-after", 1));
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::storage_unavailable);
}

TEST_F(ReliabilityTest, AppendsAreAnsweredWhileTheLogIsReopenedAfterAFailure) {
  // The supervisor directly, with a reopen that waits for the test: while it waits, appends are
  // answered storage_unavailable (the supervisor's thread is not blocked by the reopen).
  const std::string uri = "sqlite://" + tmp_.path() + "/r.db";
  auto armed = std::make_shared<std::atomic<bool>>(false);
  storage::StorageOptions first_options;
  first_options.fault_hook = [armed](storage::FaultPoint point) -> Status {
    if (*armed && point == storage::FaultPoint::commit) throw std::runtime_error("injected throw");
    return ok_status();
  };
  auto log = storage::open_storage(uri, first_options);
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  auto reader_root = std::shared_ptr<storage::Storage>(std::move(*(*log)->open_reader()));
  auto writer = LogWriter::open(std::move(*log), {});
  ASSERT_TRUE(writer.ok());
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  SupervisorConfig config;
  config.log_uri = uri;
  config.open_reader = [reader_root] { return reader_root->open_reader(); };
  config.open_writer = [uri, opened]() -> Result<std::unique_ptr<LogWriter>> {
    opened.wait();
    storage::StorageOptions options;
    options.writer_lock_wait = std::chrono::seconds(10);
    auto reopened = storage::open_storage(uri, options);
    if (!reopened.ok()) return reopened.error();
    return LogWriter::open(std::move(*reopened), {});
  };
  auto api = spawn_supervisor(*system_, std::move(*writer), std::move(config));
  apis_.push_back(api);
  ASSERT_TRUE(append(api, build_batch("br-1", 2)).ok());
  *armed = true;
  auto failed = append(api, build_batch("br-2", 1));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::storage_unavailable);
  // Until the supervisor has seen the storage actor stop, an append may still reach the dead
  // actor (answered "down"); from then on, while the reopen waits on the gate, every append is
  // answered at once "restarting": the reopen does not hold the supervisor's thread.
  const auto append_until = [&](const std::string& tag, auto done) {
    Result<AppendAcks> last = make_error(ErrorCode::internal, "not tried");
    const auto deadline = std::chrono::steady_clock::now() + kReliabilityTimeout;
    for (int attempt = 0; std::chrono::steady_clock::now() < deadline; ++attempt) {
      last = append(api, build_batch(tag + std::to_string(attempt), 1));
      if (done(last)) break;
      EXPECT_EQ(last.error().code, ErrorCode::storage_unavailable) << last.error().to_string();
      std::this_thread::yield();
    }
    return last;
  };
  auto meanwhile = append_until("br-3-", [](const Result<AppendAcks>& r) {
    return r.ok() || contains(r.error().message, "restarting");
  });
  ASSERT_FALSE(meanwhile.ok()) << "appended while the reopen was held";
  EXPECT_TRUE(contains(meanwhile.error().message, "restarting")) << meanwhile.error().message;
  gate.set_value();
  // Reopened: appends are stored again (the new storage has no fault hook).
  auto again = append_until("br-4-", [](const Result<AppendAcks>& r) { return r.ok(); });
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(again->acks(0).idx(), 4);  // br-1's three events, then this one
}

}  // namespace
}  // namespace bel::actors
