// Delivery of committed events with credit (storage_actor.h, projection_actor.h): a subscriber
// that does not keep up never has more than its credit of committed events queued (plus one
// commit), whatever the number of commits, and a view whose commits were withheld reads them from
// the log, so it still applies every event exactly once, in idx order.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/coordinator.h"
#include "actors/read/projection_actor.h"
#include "actors/read/reader_actor.h"
#include "actors/write/storage_actor.h"
#include "projections/partition_status_view.h"
#include "storage/storage_factory.h"
#include "tests/actors/query_checks.h"
#include "tests/support/random_stream.h"
#include "tests/support/reference_fold.h"

namespace bel::actors {
namespace {

using namespace query_checks;

// While closed, SlowPartitionView::apply waits (up to a bound) until the gate opens: a view that
// falls behind the log. Shared with the view actor's thread.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = true;
  std::atomic<int> waiting{0};
  void set(bool value) {
    std::lock_guard<std::mutex> lock(mu);
    open = value;
    cv.notify_all();
  }
  void pass() {
    std::unique_lock<std::mutex> lock(mu);
    ++waiting;
    cv.wait_for(lock, kTimeout, [&] { return open; });
    --waiting;
  }
};

Gate& gate() {
  static Gate g;
  return g;
}

class SlowPartitionView {
 public:
  static constexpr const char* kName = "slow_partition_status";
  static constexpr int kVersion = projections::PartitionStatusView::kVersion;
  void apply(const BuildEvent& event) {
    gate().pass();
    inner_.apply(event);
  }
  std::string serialize(projections::SnapshotTarget target = {}) const {
    return inner_.serialize(std::move(target));
  }
  static Result<SlowPartitionView> restore(const std::string&) {
    return make_error(ErrorCode::storage_corrupt, "not used");
  }
  const projections::PartitionStatusView& inner() const { return inner_; }

 private:
  projections::PartitionStatusView inner_;
};

Result<QueryResult> answer(const SlowPartitionView& view, const Query& query) {
  return projections::answer(view.inner(), query);
}

class ViewDeliveryTest : public ::testing::Test {
 protected:
  ViewDeliveryTest() {
    configure_actor_system(config_);
    system_ = std::make_unique<caf::actor_system>(config_);
    self_ = std::make_unique<caf::scoped_actor>(*system_);
  }
  ~ViewDeliveryTest() override {
    gate().set(true);
    for (auto it = spawned_.rbegin(); it != spawned_.rend(); ++it) {
      caf::anon_send_exit(*it, caf::exit_reason::user_shutdown);
    }
    self_.reset();
    system_->await_all_actors_done();
  }

  template <class Handle>
  Handle keep(Handle h) {
    spawned_.push_back(caf::actor_cast<caf::actor>(h));
    return h;
  }

  // The storage actor's settings here: every commit sent on its own (no publish_interval), so
  // that the credit is what decides which commits reach a subscriber.
  static StorageActorConfig each_commit_published() {
    StorageActorConfig config;
    config.publish_interval = std::chrono::microseconds(0);
    return config;
  }

  // A storage actor over a fresh in-memory log, and `subscriber` subscribed to it with `credit`
  // events (the log is empty, so the answer is idx 0).
  void start_storage_with_subscriber(caf::scoped_actor& subscriber, int32_t credit,
                                     StorageActor* storage) {
    auto log = storage::open_storage("memory://", {});
    ASSERT_TRUE(log.ok());
    auto writer = LogWriter::open(std::move(*log), {});
    ASSERT_TRUE(writer.ok());
    *storage = keep(spawn_storage_actor(*system_, std::move(*writer), each_commit_published()));
    auto subscribed = request_value<int64_t>(subscriber, *storage, subscribe_atom::value,
                                             caf::actor_cast<CommitSubscriber>(subscriber), credit);
    ASSERT_TRUE(subscribed.ok());
    EXPECT_EQ(*subscribed, 0);
  }

  // One commit per event: each append waits for its ack before the next is sent.
  void append_each(caf::scoped_actor& self, const StorageActor& storage,
                   const std::vector<BuildEvent>& events, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      BuildEvent e = events[i];
      e.set_idx(0);
      auto ack = request_value<AppendAck>(self, storage, append_atom::value, e);
      ASSERT_TRUE(ack.ok()) << ack.error().to_string();
      ASSERT_EQ(ack->idx(), events[i].idx());
    }
  }

  // Commits `events[from, to)` in atomic batches of `size` events (one commit each).
  void append_batches(caf::scoped_actor& self, const StorageActor& storage,
                      const std::vector<BuildEvent>& events, size_t from, size_t to, size_t size) {
    for (size_t i = from; i < to; i += size) {
      std::vector<BuildEvent> batch;
      for (size_t k = i; k < std::min(to, i + size); ++k) {
        batch.push_back(events[k]);
        batch.back().set_idx(0);
      }
      auto acks = request_value<AppendAcks>(self, storage, append_atom::value, batch);
      ASSERT_TRUE(acks.ok()) << acks.error().to_string();
      ASSERT_EQ(acks->acks(0).idx(), events[i].idx());
    }
  }

  // Empties `subscriber`'s mailbox of committed messages: each one's idx, in arrival order.
  static std::vector<std::vector<int64_t>> drain_commits(caf::scoped_actor& subscriber) {
    std::vector<std::vector<int64_t>> commits;
    bool more = true;
    while (more) {
      subscriber->receive(
          [&](committed_atom, const std::vector<BuildEvent>& batch) {
            commits.emplace_back();
            for (const auto& e : batch) commits.back().push_back(e.idx());
          },
          caf::after(std::chrono::seconds(0)) >> [&] { more = false; });
    }
    return commits;
  }

  // A storage actor over a fresh in-memory log (`storage_config`) and a SlowPartitionView
  // subscribed to it with `credit` events, its queries parked (not sent to the fallback) for up to
  // 30 s; returns once events[0], committed, is applied.
  void start_slow_view(int32_t credit, const std::vector<BuildEvent>& events, StorageActor* storage,
                       ViewActor* view,
                       const StorageActorConfig& storage_config = each_commit_published()) {
    auto log = storage::open_storage("memory://", {});
    ASSERT_TRUE(log.ok());
    auto reader_handle = (*log)->open_reader();
    auto scan_handle = (*log)->open_reader();
    ASSERT_TRUE(reader_handle.ok() && scan_handle.ok());
    ReaderActor reader = keep(spawn_reader_actor(*system_, std::move(*reader_handle)));
    ReaderActor scan = keep(spawn_reader_actor(*system_, std::move(*scan_handle)));
    auto writer = LogWriter::open(std::move(*log), {});
    ASSERT_TRUE(writer.ok());
    *storage = keep(spawn_storage_actor(*system_, std::move(*writer), storage_config));
    ViewActorConfig config;
    config.snapshot_every_events = 0;
    config.snapshot_interval = std::chrono::milliseconds(0);
    config.wait_budget = std::chrono::milliseconds(30000);
    config.delivery_credit = credit;
    *view = keep(spawn_projection_actor<SlowPartitionView>(
        *system_, ViewDeps{*storage, reader, caf::actor_cast<FallbackActor>(scan), {}}, config));
    append_each(*self_, *storage, events, 0, 1);
    Query first;
    first.set_min_idx(1);
    first.mutable_partition_status()->set_partition_ref("x");
    ASSERT_TRUE(request_value<QueryResult>(*self_, *view, query_atom::value, first).ok());
  }

  // Closes the gate and commits events[at, at + size) at once: returns once the view waits inside
  // its apply.
  void stall_view_on(const StorageActor& storage, const std::vector<BuildEvent>& events,
                     size_t at, size_t size) {
    gate().set(false);
    append_batches(*self_, storage, events, at, at + size, size);
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (gate().waiting.load() == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    ASSERT_EQ(gate().waiting.load(), 1) << "the view never reached apply";
  }

  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  std::unique_ptr<caf::scoped_actor> self_;
  std::vector<caf::actor> spawned_;
};

RandomStreamOptions stream_of(int n) { return testing::stream_options(n, 4, 10); }

TEST_F(ViewDeliveryTest, SubscriberThatDoesNotReadHoldsAtMostItsCredit) {
  const auto events = random_stream(5, stream_of(130));
  constexpr int32_t kCredit = 3;
  caf::scoped_actor slow{*system_};
  StorageActor storage;
  ASSERT_NO_FATAL_FAILURE(start_storage_with_subscriber(slow, kCredit, &storage));

  caf::scoped_actor appender{*system_};
  append_each(appender, storage, events, 0, 100);  // 100 commits
  // Handled after the last commit's publication: the slow mailbox is final.
  ASSERT_TRUE(request_value<StorageStats>(appender, storage, stats_atom::value).ok());

  auto drain = [&](std::vector<int64_t>* idx) {
    const auto commits = drain_commits(slow);
    for (const auto& commit : commits) idx->insert(idx->end(), commit.begin(), commit.end());
    return static_cast<int>(commits.size());
  };
  std::vector<int64_t> seen;
  EXPECT_EQ(drain(&seen), kCredit) << "queued for the subscriber beyond its credit";
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3}));

  // Acknowledging one names what was withheld (idx 4..100 were not sent) and returns credit.
  auto withheld = request_value<int64_t>(slow, storage, delivered_atom::value,
                                         caf::actor_cast<CommitSubscriber>(slow), int32_t{1});
  ASSERT_TRUE(withheld.ok());
  EXPECT_EQ(*withheld, 100);
  append_each(appender, storage, events, 100, 110);
  ASSERT_TRUE(request_value<StorageStats>(appender, storage, stats_atom::value).ok());
  seen.clear();
  EXPECT_EQ(drain(&seen), 1);  // one credit back: one message, the next commit
  EXPECT_EQ(seen, (std::vector<int64_t>{101}));
  // Nothing was withheld since the last answer but idx 102..110.
  withheld = request_value<int64_t>(slow, storage, delivered_atom::value,
                                    caf::actor_cast<CommitSubscriber>(slow), int32_t{1});
  ASSERT_TRUE(withheld.ok());
  EXPECT_EQ(*withheld, 110);

  // Acknowledging several at once returns that much credit: three messages, the next commits.
  append_each(appender, storage, events, 110, 120);
  ASSERT_TRUE(request_value<StorageStats>(appender, storage, stats_atom::value).ok());
  seen.clear();
  EXPECT_EQ(drain(&seen), 1);  // the one credit the last acknowledgement gave back
  EXPECT_EQ(seen, (std::vector<int64_t>{111}));
  seen.clear();
  withheld = request_value<int64_t>(slow, storage, delivered_atom::value,
                                    caf::actor_cast<CommitSubscriber>(slow), int32_t{3});
  ASSERT_TRUE(withheld.ok());
  EXPECT_EQ(*withheld, 120);
  append_each(appender, storage, events, 120, 130);
  ASSERT_TRUE(request_value<StorageStats>(appender, storage, stats_atom::value).ok());
  EXPECT_EQ(drain(&seen), kCredit);
  EXPECT_EQ(seen, (std::vector<int64_t>{121, 122, 123}));
}

// The credit counts events, not messages: a commit of several events takes that much of it, and
// acknowledging a count of events returns that much.
TEST_F(ViewDeliveryTest, CreditCountsTheEventsOfEachCommit) {
  const auto events = random_stream(9, stream_of(60));
  constexpr int32_t kCredit = 5;
  caf::scoped_actor slow{*system_};
  StorageActor storage;
  ASSERT_NO_FATAL_FAILURE(start_storage_with_subscriber(slow, kCredit, &storage));
  auto settle = [&] {
    ASSERT_TRUE(request_value<StorageStats>(slow, storage, stats_atom::value).ok());
  };

  caf::scoped_actor appender{*system_};
  append_batches(appender, storage, events, 0, 30, 3);  // ten commits of three events
  settle();
  auto seen = drain_commits(slow);
  // Sent while fewer than five events were unacknowledged: the first two commits, six events
  // (at most the credit plus one commit); the other eight were withheld.
  EXPECT_EQ(seen, (std::vector<std::vector<int64_t>>{{1, 2, 3}, {4, 5, 6}}));

  // Three events acknowledged: three of six remain unacknowledged, so the next commit is sent and
  // the one after it is not.
  auto withheld = request_value<int64_t>(slow, storage, delivered_atom::value,
                                         caf::actor_cast<CommitSubscriber>(slow), int32_t{3});
  ASSERT_TRUE(withheld.ok());
  EXPECT_EQ(*withheld, 30);
  append_batches(appender, storage, events, 30, 36, 3);
  settle();
  seen = drain_commits(slow);
  EXPECT_EQ(seen, (std::vector<std::vector<int64_t>>{{31, 32, 33}}));

  // The six unacknowledged acknowledged: a single-event commit and a batch of five are both sent
  // (the first leaves one event unacknowledged), the next is not.
  withheld = request_value<int64_t>(slow, storage, delivered_atom::value,
                                    caf::actor_cast<CommitSubscriber>(slow), int32_t{6});
  ASSERT_TRUE(withheld.ok());
  EXPECT_EQ(*withheld, 36);
  append_batches(appender, storage, events, 36, 37, 1);
  append_batches(appender, storage, events, 37, 42, 5);
  append_batches(appender, storage, events, 42, 43, 1);
  settle();
  seen = drain_commits(slow);
  EXPECT_EQ(seen, (std::vector<std::vector<int64_t>>{{37}, {38, 39, 40, 41, 42}}));
}

// Single-event commits: with credit 1 the view acknowledges each; with 3 and 4, two at a time;
// with 8, four; with the default (16384), none within these 200 events.
class SlowViewDeliveryTest : public ViewDeliveryTest,
                             public ::testing::WithParamInterface<int32_t> {};

INSTANTIATE_TEST_SUITE_P(Credit, SlowViewDeliveryTest,
                         ::testing::Values(1, 3, 4, 8, ViewActorConfig{}.delivery_credit));

TEST_P(SlowViewDeliveryTest, SlowViewWithCreditAppliesEveryEventOnceAfterCommitsWereWithheld) {
  const auto events = random_stream(17, stream_of(200));
  StorageActor storage;
  ViewActor view;
  ASSERT_NO_FATAL_FAILURE(start_slow_view(GetParam(), events, &storage, &view));
  auto& self = *self_;

  // The view stalls inside apply on the next event while 150 more commits happen.
  ASSERT_NO_FATAL_FAILURE(stall_view_on(storage, events, 1, 1));
  append_each(self, storage, events, 2, 150);
  gate().set(true);
  append_each(self, storage, events, 150, 200);

  ReferenceFold oracle(events);
  QueryComparer compare("seed 17");
  expect_answers(self, view, query_atom::value, partition_queries_for(oracle, 200), oracle, "view",
                 compare);
  EXPECT_EQ(compare.failures(), 0);
  auto s = request_value<ViewStatus>(self, view, status_atom::value);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->state(), v1::VIEW_HEALTHY);
  EXPECT_EQ(s->applied_idx(), 200);
  EXPECT_EQ(s->applies(), 200);  // every event exactly once
  EXPECT_EQ(s->fallbacks(), 0);
}

// Commits of several events, the last of them withheld, and nothing appended after: the view
// learns of them only from the answer to its acknowledgement, which it sends once it has handled
// half its credit in events (counting messages, it would wait for four commits that never come).
TEST_F(ViewDeliveryTest, SlowViewReadsTheWithheldLastCommitsWithNothingAppendedAfter) {
  constexpr size_t kBatch = 4;
  const auto events = random_stream(23, stream_of(1 + kBatch * 31));
  StorageActor storage;
  ViewActor view;
  ASSERT_NO_FATAL_FAILURE(start_slow_view(8, events, &storage, &view));
  auto& self = *self_;

  // Two commits of four reach the stalled view (its credit of eight); the next 29 are withheld.
  ASSERT_NO_FATAL_FAILURE(stall_view_on(storage, events, 1, kBatch));
  append_batches(self, storage, events, 1 + kBatch, events.size(), kBatch);
  gate().set(true);

  const auto last = static_cast<int64_t>(events.size());
  Result<ViewStatus> s = make_error(ErrorCode::internal, "no status yet");
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  do {
    s = request_value<ViewStatus>(self, view, status_atom::value);
    ASSERT_TRUE(s.ok());
  } while (s->applied_idx() < last && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(s->applied_idx(), last) << "the withheld commits were never read";
  EXPECT_EQ(s->applies(), last);  // every event exactly once
  EXPECT_EQ(s->state(), v1::VIEW_HEALTHY);

  ReferenceFold oracle(events);
  QueryComparer compare("seed 23");
  expect_answers(self, view, query_atom::value, partition_queries_for(oracle, last), oracle,
                 "view", compare);
  EXPECT_EQ(compare.failures(), 0);
}

// The storage actor holds small commits back from its subscribers for publish_interval; a query
// that waits for a held commit's idx (min_idx) does not wait for the interval: its view asks for
// the held commits and answers from them.
TEST_F(ViewDeliveryTest, AQueryWaitingForAHeldBackCommitIsAnsweredByTheViewAtOnce) {
  const auto events = random_stream(29, stream_of(6));
  StorageActorConfig held;
  held.publish_interval = std::chrono::hours(1);  // never up within this test
  StorageActor storage;
  ViewActor view;
  ASSERT_NO_FATAL_FAILURE(
      start_slow_view(ViewActorConfig{}.delivery_credit, events, &storage, &view, held));
  auto& self = *self_;
  ReferenceFold oracle(events);
  for (size_t i = 1; i < events.size(); ++i) {
    // Each commit comes within the interval of the last message: the storage actor holds it.
    append_each(self, storage, events, i, i + 1);
    const auto idx = static_cast<int64_t>(i + 1);
    Query query;
    query.set_min_idx(idx);
    query.mutable_partition_status()->set_partition_ref("x");
    auto got = request_value<QueryResult>(self, view, query_atom::value, query);
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    EXPECT_EQ(got->partition_status().as_of_idx(), idx);
  }
  auto s = request_value<ViewStatus>(self, view, status_atom::value);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->applied_idx(), static_cast<int64_t>(events.size()));
  EXPECT_EQ(s->applies(), static_cast<int64_t>(events.size()));  // every event exactly once
  EXPECT_EQ(s->fallbacks(), 0);  // each answer came from the view, not the fallback scan
  QueryComparer compare("seed 29");
  expect_answers(self, view, query_atom::value,
                 partition_queries_for(oracle, static_cast<int64_t>(events.size())), oracle, "view",
                 compare);
  EXPECT_EQ(compare.failures(), 0);
}

}  // namespace
}  // namespace bel::actors
