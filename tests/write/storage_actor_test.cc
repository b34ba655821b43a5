// The storage actor: acks after COMMIT, group commit under concurrent writers, atomic batches,
// failed COMMITs, publication order, overload and shutdown.
#include "actors/write/storage_actor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "storage/snapshot_codec.h"
#include "storage/storage_factory.h"
#include "tests/support/events.h"
#include "tests/support/run_command.h"

namespace bel::actors {
namespace {

using namespace bel::testing;
using namespace bel::v1;

constexpr auto kRequestTimeout = std::chrono::seconds(30);

class StorageActorTest : public ::testing::Test {
 protected:
  StorageActorTest() {
    config_.set("scheduler.max-threads", 2);
    add_error_category(config_);
    system_ = std::make_unique<caf::actor_system>(config_);
  }
  ~StorageActorTest() override {
    if (log_) caf::anon_send_exit(log_, caf::exit_reason::user_shutdown);
    system_->await_all_actors_done();
  }

  // Spawns the storage actor over a fresh log at `uri`; keeps a reader onto the same log.
  void start(storage::StorageOptions options = {}, StorageActorConfig config = {},
             const std::string& uri = "memory://") {
    auto storage = storage::open_storage(uri, options);
    ASSERT_TRUE(storage.ok());
    auto reader = (*storage)->open_reader();
    ASSERT_TRUE(reader.ok());
    reader_ = std::move(*reader);
    auto writer = LogWriter::open(std::move(*storage), {});
    ASSERT_TRUE(writer.ok());
    log_ = spawn_storage_actor(*system_, std::move(*writer), config);
  }

  // start() with a pending limit of `events`, and the build request "br" appended.
  void start_with_pending_limit(caf::scoped_actor& self, size_t events) {
    StorageActorConfig config;
    config.max_pending_events = events;
    start({}, config);
    ASSERT_TRUE(append(self, request_event("br", BUILD_REQUEST_RECEIVED)).ok());
  }

  Result<AppendAck> append(caf::scoped_actor& self, BuildEvent event) {
    Result<AppendAck> out = make_error(ErrorCode::internal, "no answer");
    self->request(log_, kRequestTimeout, append_atom::value, std::move(event))
        .receive([&](const AppendAck& ack) { out = ack; },
                 [&](const caf::error& e) { out = from_caf_error(e); });
    return out;
  }

  Result<AppendAcks> append_batch(caf::scoped_actor& self, std::vector<BuildEvent> batch) {
    Result<AppendAcks> out = make_error(ErrorCode::internal, "no answer");
    self->request(log_, kRequestTimeout, append_atom::value, std::move(batch))
        .receive([&](const AppendAcks& acks) { out = acks; },
                 [&](const caf::error& e) { out = from_caf_error(e); });
    return out;
  }

  StorageStats stats(caf::scoped_actor& self) {
    StorageStats out;
    self->request(log_, kRequestTimeout, stats_atom::value)
        .receive([&](const StorageStats& s) { out = s; },
                 [&](const caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
    return out;
  }

  // Receives the next (committed_atom, events) message published to `self`.
  std::vector<BuildEvent> next_published(caf::scoped_actor& self) {
    std::vector<BuildEvent> out;
    self->receive([&](committed_atom, const std::vector<BuildEvent>& events) { out = events; },
                  caf::after(kRequestTimeout) >> [&] { ADD_FAILURE() << "nothing published"; });
    return out;
  }

  // start() with commits held back until `at_once` events are held or a subscriber asks for
  // them: publish_interval is never up within a test.
  void start_holding(size_t at_once) {
    StorageActorConfig config;
    config.publish_interval = std::chrono::hours(1);
    config.publish_at_once_events = at_once;
    start({}, config);
  }

  // Subscribes `self` to the commits (with no credit).
  void subscribe(caf::scoped_actor& self) {
    self->request(log_, kRequestTimeout, subscribe_atom::value,
                  caf::actor_cast<CommitSubscriber>(self))
        .receive([](int64_t) {}, [](const caf::error& e) { FAIL() << caf::to_string(e); });
  }

  // Whether a (committed_atom, events) message is in `self`'s mailbox now (it is taken).
  static bool published_now(caf::scoped_actor& self) {
    bool published = false;
    self->receive([&](committed_atom, const std::vector<BuildEvent>&) { published = true; },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    return published;
  }

  static std::vector<int64_t> idxs(const std::vector<BuildEvent>& events) {
    std::vector<int64_t> out;
    for (const auto& e : events) out.push_back(e.idx());
    return out;
  }

  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  StorageActor log_;
  std::unique_ptr<storage::Storage> reader_;
};

TEST_F(StorageActorTest, AcknowledgesWithIdxOnlyAfterCommit) {
  start();
  caf::scoped_actor self{*system_};
  auto ack = append(self, request_event("br-1", BUILD_REQUEST_RECEIVED));
  ASSERT_TRUE(ack.ok()) << ack.error().to_string();
  EXPECT_EQ(ack->idx(), 1);
  // By the time the ack arrived, the event was committed and visible to any reader.
  auto last = reader_->last_idx();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 1);
}

TEST_F(StorageActorTest, StatsTimeItsGroupsAndIndexBatchesAndCountTheUnindexedTail) {
  const TempDir dir;
  StorageActorConfig config;
  config.index_batch_events = 10;  // a batch once 10 committed events are unindexed
  config.max_index_events = 10;
  config.index_idle_delay = std::chrono::hours(1);  // a shorter tail stays unindexed here
  start({}, config, "sqlite://" + dir.path() + "/log.db");
  caf::scoped_actor self{*system_};
  const StorageStats before = stats(self);
  EXPECT_EQ(before.commit_seconds(), 0);
  EXPECT_EQ(before.index_seconds(), 0);
  EXPECT_EQ(before.index_batches(), 0);
  EXPECT_EQ(before.unindexed_events(), 0);
  // Two batches of 10: each commit leaves 10 unindexed, so it sends the actor an index message
  // before its ack, ahead of the next append. Then 5 single events, each short of a batch, which
  // wait for the idle delay.
  int next = 0;
  for (int batch = 0; batch < 2; ++batch) {
    std::vector<BuildEvent> events;
    for (int k = 0; k < 10; ++k) {
      events.push_back(request_event("br-" + std::to_string(++next), BUILD_REQUEST_RECEIVED));
    }
    auto acks = append_batch(self, std::move(events));
    ASSERT_TRUE(acks.ok()) << acks.error().to_string();
  }
  for (int k = 0; k < 5; ++k) {
    auto ack = append(self, request_event("br-" + std::to_string(++next), BUILD_REQUEST_RECEIVED));
    ASSERT_TRUE(ack.ok()) << ack.error().to_string();
  }
  const StorageStats after = stats(self);
  EXPECT_EQ(after.commits(), 7);
  EXPECT_GT(after.commit_seconds(), 0);  // each commit waited for its fsync, at least
  EXPECT_EQ(after.index_batches(), 2);
  EXPECT_GT(after.index_seconds(), 0);
  EXPECT_EQ(after.unindexed_events(), 5);
}

TEST_F(StorageActorTest, ConcurrentWritersShareCommitsAndEachGetsItsIdx) {
  start();
  {
    caf::scoped_actor setup{*system_};
    ASSERT_TRUE(append(setup, request_event("br", BUILD_REQUEST_RECEIVED)).ok());
  }
  constexpr int kWriters = 8;
  constexpr int kPerWriter = 250;
  std::vector<std::vector<int64_t>> idxs(kWriters);
  std::atomic<int> not_yet_committed{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      caf::scoped_actor self{*system_};
      auto reader = reader_->open_reader();
      ASSERT_TRUE(reader.ok());
      // Pipelined: every append is in flight before the first answer is read. Answers to plain
      // sends come back as ordinary messages.
      for (int i = 0; i < kPerWriter; ++i) {
        self->send(log_, append_atom::value,
                   partition_event("br", "p/" + std::to_string(w) + "/" + std::to_string(i),
                                      PARTITION_REQUESTED));
      }
      for (int i = 0; i < kPerWriter; ++i) {
        self->receive(
            [&](const AppendAck& ack) {
              idxs[w].push_back(ack.idx());
              auto last = (*reader)->last_idx();
              if (!last.ok() || *last < ack.idx()) ++not_yet_committed;
            },
            [&](const caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
      }
    });
  }
  for (auto& t : writers) t.join();

  std::set<int64_t> all;
  for (const auto& v : idxs) {
    EXPECT_EQ(v.size(), static_cast<size_t>(kPerWriter));
    all.insert(v.begin(), v.end());
  }
  constexpr int kEvents = kWriters * kPerWriter;
  ASSERT_EQ(all.size(), static_cast<size_t>(kEvents));  // every writer got its own idx
  EXPECT_EQ(*all.begin(), 2);
  EXPECT_EQ(*all.rbegin(), kEvents + 1);  // contiguous after the setup event
  EXPECT_EQ(not_yet_committed.load(), 0);  // no ack ran ahead of its commit

  caf::scoped_actor self{*system_};
  auto s = stats(self);
  EXPECT_EQ(s.events_appended(), kEvents + 1);
  EXPECT_LT(s.commits(), kEvents);  // group commit: fewer transactions than events
  EXPECT_GT(s.max_group_events(), 1);
}

// Pipelined appends share a group (one idempotency lookup); each is still answered as if alone:
// a resent event_id with the same content is a duplicate of the first, with other content an
// error, whether the first is in the same group or an earlier one.
TEST_F(StorageActorTest, PipelinedRetriesAreDuplicatesAndConflictsAreRejected) {
  start();
  caf::scoped_actor self{*system_};
  ASSERT_TRUE(append(self, request_event("br", BUILD_REQUEST_RECEIVED)).ok());
  constexpr int kEvents = 200;
  auto event = [](int i, const std::string& ref) {
    return with_id(partition_event("br", ref, PARTITION_REQUESTED), "ev-" + std::to_string(i));
  };
  // Each id three times in a row: the event, its retry, and a conflicting event with that id.
  for (int i = 0; i < kEvents; ++i) {
    const std::string ref = "p/" + std::to_string(i);
    self->send(log_, append_atom::value, event(i, ref));
    self->send(log_, append_atom::value, event(i, ref));
    self->send(log_, append_atom::value, event(i, ref + "/other"));
  }
  // A rejection is answered when the group is staged, before the acks of its commit: count the
  // answers per id (an error names its id).
  struct Answers {
    int64_t idx = 0;
    int stored = 0, duplicates = 0, conflicts = 0;
    bool same_idx = true;
  };
  std::map<std::string, Answers> by_id;
  for (int n = 0; n < 3 * kEvents; ++n) {
    self->receive(
        [&](const AppendAck& ack) {
          Answers& a = by_id[ack.event_id()];
          if (a.idx != 0 && a.idx != ack.idx()) a.same_idx = false;
          a.idx = ack.idx();
          ++(ack.duplicate() ? a.duplicates : a.stored);
        },
        [&](const caf::error& e) {
          const Error error = from_caf_error(e);
          EXPECT_EQ(error.code, ErrorCode::duplicate_event_id) << error.to_string();
          const auto open = error.message.find("event_id \"");
          ASSERT_NE(open, std::string::npos) << error.message;
          const auto start = open + 10;
          ++by_id[error.message.substr(start, error.message.find('"', start) - start)].conflicts;
        },
        caf::after(kRequestTimeout) >> [&] { FAIL() << "an append got no answer"; });
  }
  ASSERT_EQ(by_id.size(), static_cast<size_t>(kEvents));
  for (const auto& [id, a] : by_id) {
    EXPECT_EQ(a.stored, 1) << id;
    EXPECT_EQ(a.duplicates, 1) << id;
    EXPECT_EQ(a.conflicts, 1) << id;
    EXPECT_TRUE(a.same_idx) << id;
  }
  // Retried once more, now that every first append is committed: duplicates again.
  for (int i = 0; i < kEvents; i += 20) {
    auto again = append(self, event(i, "p/" + std::to_string(i)));
    ASSERT_TRUE(again.ok()) << again.error().to_string();
    EXPECT_TRUE(again->duplicate());
  }
  EXPECT_EQ(*reader_->last_idx(), 1 + kEvents);
  auto s = stats(self);
  EXPECT_EQ(s.duplicates(), kEvents + kEvents / 20);
  EXPECT_EQ(s.rejected(), kEvents);
}

TEST_F(StorageActorTest, BatchWithOneInvalidEventStoresNothing) {
  start();
  caf::scoped_actor self{*system_};
  auto acks = append_batch(self, {request_event("br-1", BUILD_REQUEST_RECEIVED),
                                  request_event("br-1", BUILD_REQUEST_PLANNING),
                                  partition_event("br-1", "", PARTITION_REQUESTED)});
  ASSERT_FALSE(acks.ok());
  EXPECT_EQ(acks.error().code, ErrorCode::invalid_event);
  EXPECT_NE(acks.error().message.find("append #3"), std::string::npos) << acks.error().message;
  EXPECT_NE(acks.error().message.find("partition_ref"), std::string::npos);
  auto last = reader_->last_idx();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 0);

  auto good = append_batch(self, {request_event("br-1", BUILD_REQUEST_RECEIVED),
                                  request_event("br-1", BUILD_REQUEST_PLANNING)});
  ASSERT_TRUE(good.ok()) << good.error().to_string();
  ASSERT_EQ(good->acks_size(), 2);
  EXPECT_EQ(good->acks(0).idx(), 1);
  EXPECT_EQ(good->acks(1).idx(), 2);
}

TEST_F(StorageActorTest, FailedCommitFailsTheBatchPublishesNothingAndTheNextBatchTakesTheNextIdx) {
  auto fail_next_commit = std::make_shared<std::atomic<bool>>(false);
  storage::StorageOptions options;
  options.fault_hook = [fail_next_commit](storage::FaultPoint p) -> Status {
    if (p == storage::FaultPoint::commit && fail_next_commit->exchange(false)) {
      return make_error(ErrorCode::storage_unavailable, "injected COMMIT failure");
    }
    return ok_status();
  };
  start(options);
  caf::scoped_actor self{*system_};
  self->request(log_, kRequestTimeout, subscribe_atom::value,
                caf::actor_cast<CommitSubscriber>(self))
      .receive([](int64_t) {}, [](const caf::error& e) { FAIL() << caf::to_string(e); });

  auto first = append(self, request_event("br-1", BUILD_REQUEST_RECEIVED));
  ASSERT_TRUE(first.ok());
  auto published = next_published(self);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].idx(), 1);

  *fail_next_commit = true;
  auto failed = append_batch(self, {request_event("br-1", BUILD_REQUEST_PLANNING),
                                    request_event("br-2", BUILD_REQUEST_RECEIVED)});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::storage_unavailable);

  // The same transitions are accepted again (the failed group was rolled back) at idx 2.
  auto next = append(self, request_event("br-1", BUILD_REQUEST_PLANNING));
  ASSERT_TRUE(next.ok()) << next.error().to_string();
  EXPECT_EQ(next->idx(), 2);
  // The next publication is that event: nothing of the failed batch was published.
  published = next_published(self);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].idx(), 2);
  EXPECT_EQ(published[0].build_request_event().status_code(), BUILD_REQUEST_PLANNING);
  EXPECT_EQ(stats(self).failed_commits(), 1);
}

TEST_F(StorageActorTest, SubscribersSeeEveryCommittedEventOnceInIdxOrder) {
  start();
  caf::scoped_actor self{*system_};
  self->request(log_, kRequestTimeout, subscribe_atom::value,
                caf::actor_cast<CommitSubscriber>(self))
      .receive([](int64_t) {}, [](const caf::error& e) { FAIL() << caf::to_string(e); });
  ASSERT_TRUE(append(self, request_event("br", BUILD_REQUEST_RECEIVED)).ok());
  constexpr int kEvents = 300;
  for (int i = 0; i < kEvents; ++i) {
    self->send(log_, append_atom::value,
               partition_event("br", "p/" + std::to_string(i), PARTITION_REQUESTED));
  }
  int64_t expected = 1;
  int acks = 0;
  // Acks and publications interleave; read until every event was both acked and published.
  while (acks < kEvents || expected <= kEvents + 1) {
    self->receive([&](const AppendAck&) { ++acks; },
                  [&](committed_atom, const std::vector<BuildEvent>& events) {
                    for (const auto& e : events) EXPECT_EQ(e.idx(), expected++);
                  },
                  [&](const caf::error& e) { FAIL() << caf::to_string(e); },
                  caf::after(kRequestTimeout) >> [&] { FAIL() << "timed out"; });
  }
  EXPECT_EQ(expected, kEvents + 2);
}

// publish_interval: a small commit that comes within the interval of the subscribers' previous
// message waits for the commits after it, and goes with them once they reach
// publish_at_once_events or a subscriber asks for them; a large commit goes at once.
TEST_F(StorageActorTest, SmallCommitsSoonAfterAPublicationReachSubscribersTogether) {
  start_holding(5);
  caf::scoped_actor self{*system_};
  subscribe(self);
  // The first commit after a quiet spell goes at once.
  ASSERT_TRUE(append(self, request_event("br", BUILD_REQUEST_RECEIVED)).ok());
  EXPECT_EQ(idxs(next_published(self)), (std::vector<int64_t>{1}));
  // Two single-event commits right after it are held. A commit's message is sent after its ack,
  // and messages from one actor arrive in order, so had idx 2 been sent it would be here now.
  ASSERT_TRUE(append(self, partition_event("br", "p/1", PARTITION_REQUESTED)).ok());
  ASSERT_TRUE(append(self, partition_event("br", "p/2", PARTITION_REQUESTED)).ok());
  EXPECT_FALSE(published_now(self)) << "a commit within publish_interval went at once";
  // A batch of publish_at_once_events goes at once, after the held commits, in one message.
  std::vector<BuildEvent> batch;
  for (int i = 3; i <= 7; ++i) {
    batch.push_back(partition_event("br", "p/" + std::to_string(i), PARTITION_REQUESTED));
  }
  ASSERT_TRUE(append_batch(self, std::move(batch)).ok());
  EXPECT_EQ(idxs(next_published(self)), (std::vector<int64_t>{2, 3, 4, 5, 6, 7, 8}));
  // Held again; a subscriber waiting for idx 9 asks for it.
  ASSERT_TRUE(append(self, partition_event("br", "p/8", PARTITION_REQUESTED)).ok());
  self->send(log_, publish_atom::value, int64_t{9});
  EXPECT_EQ(idxs(next_published(self)), (std::vector<int64_t>{9}));
}

// A subscriber may ask for an idx before it is committed (its view saw the append's ack first,
// or on a log with other writers the commit is not followed yet): the commit that reaches that
// idx goes at once, with what is held before it, not when publish_interval is up.
TEST_F(StorageActorTest, ACommitASubscriberAskedForBeforeItWasMadeGoesAtOnce) {
  start_holding(100);
  caf::scoped_actor self{*system_};
  subscribe(self);
  ASSERT_TRUE(append(self, request_event("br", BUILD_REQUEST_RECEIVED)).ok());
  EXPECT_EQ(idxs(next_published(self)), (std::vector<int64_t>{1}));
  // Idx 3 is asked for while the log ends at 1; idx 2 is held, as it would be without the ask.
  self->send(log_, publish_atom::value, int64_t{3});
  ASSERT_TRUE(append(self, partition_event("br", "p/1", PARTITION_REQUESTED)).ok());
  EXPECT_FALSE(published_now(self)) << "a commit below the idx asked for went at once";
  // Idx 3 goes as soon as it is committed, with idx 2 before it.
  ASSERT_TRUE(append(self, partition_event("br", "p/2", PARTITION_REQUESTED)).ok());
  EXPECT_EQ(idxs(next_published(self)), (std::vector<int64_t>{2, 3}));
  // The ask is spent: the next small commit is held again.
  ASSERT_TRUE(append(self, partition_event("br", "p/3", PARTITION_REQUESTED)).ok());
  EXPECT_FALSE(published_now(self)) << "a commit after the one asked for went at once";
}

// A subscriber added while commits are held back reads them from the log (its subscription
// answers their idx), so they go to the earlier subscribers first and never to it.
TEST_F(StorageActorTest, ASubscriberAddedWhileCommitsAreHeldBackIsSentOnlyLaterOnes) {
  start_holding(3);
  caf::scoped_actor early{*system_};
  caf::scoped_actor late{*system_};
  auto subscribe = [&](caf::scoped_actor& who) {
    int64_t answered = -1;
    who->request(log_, kRequestTimeout, subscribe_atom::value,
                 caf::actor_cast<CommitSubscriber>(who))
        .receive([&](int64_t idx) { answered = idx; },
                 [](const caf::error& e) { FAIL() << caf::to_string(e); });
    return answered;
  };
  EXPECT_EQ(subscribe(early), 0);
  ASSERT_TRUE(append(early, request_event("br", BUILD_REQUEST_RECEIVED)).ok());
  ASSERT_EQ(next_published(early).size(), 1u);
  ASSERT_TRUE(append(early, partition_event("br", "p/1", PARTITION_REQUESTED)).ok());  // held
  EXPECT_EQ(subscribe(late), 2);
  auto first = next_published(early);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].idx(), 2);
  ASSERT_TRUE(append_batch(late, {partition_event("br", "p/2", PARTITION_REQUESTED),
                                  partition_event("br", "p/3", PARTITION_REQUESTED),
                                  partition_event("br", "p/4", PARTITION_REQUESTED)})
                  .ok());
  for (caf::scoped_actor* who : {&early, &late}) {
    auto events = next_published(*who);
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events.front().idx(), 3);
  }
}

TEST_F(StorageActorTest, AnswersOverloadedAbovePendingLimitAndKeepsWorking) {
  caf::scoped_actor self{*system_};
  ASSERT_NO_FATAL_FAILURE(start_with_pending_limit(self, 4));
  constexpr int kEvents = 200;
  for (int i = 0; i < kEvents; ++i) {
    self->send(log_, append_atom::value,
               partition_event("br", "p/" + std::to_string(i), PARTITION_REQUESTED));
  }
  int ok = 0, overloaded = 0;
  for (int i = 0; i < kEvents; ++i) {
    self->receive([&](const AppendAck&) { ++ok; },
                  [&](const caf::error& e) {
                    EXPECT_EQ(from_caf_error(e).code, ErrorCode::overloaded) << caf::to_string(e);
                    ++overloaded;
                  });
  }
  EXPECT_EQ(ok + overloaded, kEvents);
  EXPECT_GT(ok, 0);
  EXPECT_GT(overloaded, 0);
  auto last = reader_->last_idx();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 1 + ok);  // every acked event is in the log, nothing else
  EXPECT_EQ(stats(self).overloaded(), overloaded);
}

// Receives (answered_atom, answers) messages until `flights` appends of the flight form are
// answered; returns each flight's answer, and how many messages carried them.
struct Answered {
  std::map<uint64_t, FlightAnswer> by_flight;
  int messages = 0;
  int repeated = 0;  // flights answered more than once
};

Answered receive_answers(caf::scoped_actor& self, size_t flights) {
  Answered out;
  while (out.by_flight.size() < flights) {
    bool got = false;
    self->receive(
        [&](answered_atom, const std::vector<FlightAnswer>& answers) {
          got = true;
          ++out.messages;
          for (const auto& a : answers) {
            if (!out.by_flight.emplace(a.flight, a).second) ++out.repeated;
          }
        },
        caf::after(kRequestTimeout) >> [] {});
    if (!got) {
      ADD_FAILURE() << "flights unanswered: " << flights - out.by_flight.size();
      break;
    }
  }
  return out;
}

// The supervisor's form: appends sent (not requested) with a flight number are answered to their
// sender, each once, in one message per commit: acks in order for a batch, the error for an
// append the rules refuse.
TEST_F(StorageActorTest, FlightsAreAnsweredOnceEachToTheirSenderInOneMessagePerCommit) {
  start();
  caf::scoped_actor self{*system_};
  ASSERT_TRUE(append(self, request_event("br", BUILD_REQUEST_RECEIVED)).ok());
  const int64_t commits_before = stats(self).commits();
  constexpr uint64_t kSingles = 60;
  for (uint64_t f = 1; f <= kSingles; ++f) {
    self->send(log_, append_atom::value, checked_atom::value, f,
               partition_event("br", "p/" + std::to_string(f), PARTITION_REQUESTED));
  }
  const uint64_t batch = kSingles + 1;
  self->send(log_, append_atom::value, checked_atom::value, batch,
             std::vector<BuildEvent>{partition_event("br", "b/1", PARTITION_REQUESTED),
                                     partition_event("br", "b/2", PARTITION_REQUESTED),
                                     partition_event("br", "b/3", PARTITION_REQUESTED)});
  const uint64_t refused = kSingles + 2;  // a job run's first status must be SCHEDULED
  self->send(log_, append_atom::value, checked_atom::value, refused,
             job_event("br", "jr-1", "//job", JOB_RUNNING));

  const Answered got = receive_answers(self, kSingles + 2);
  EXPECT_EQ(got.repeated, 0);
  ASSERT_EQ(got.by_flight.size(), kSingles + 2);
  std::set<int64_t> idxs;
  for (uint64_t f = 1; f <= kSingles; ++f) {
    const FlightAnswer& a = got.by_flight.at(f);
    EXPECT_FALSE(a.error) << f << ": " << caf::to_string(a.error);
    ASSERT_EQ(a.acks.size(), 1u) << f;
    idxs.insert(a.acks[0].idx());
  }
  const FlightAnswer& b = got.by_flight.at(batch);
  ASSERT_EQ(b.acks.size(), 3u);
  EXPECT_EQ(b.acks[1].idx(), b.acks[0].idx() + 1);  // a batch is stored in order, contiguous
  EXPECT_EQ(b.acks[2].idx(), b.acks[0].idx() + 2);
  for (const auto& ack : b.acks) idxs.insert(ack.idx());
  EXPECT_EQ(idxs.size(), kSingles + 3);
  EXPECT_EQ(*idxs.begin(), 2);
  EXPECT_EQ(*idxs.rbegin(), static_cast<int64_t>(kSingles) + 4);
  const FlightAnswer& r = got.by_flight.at(refused);
  EXPECT_TRUE(r.acks.empty());
  EXPECT_EQ(from_caf_error(r.error).code, ErrorCode::invalid_transition) << caf::to_string(r.error);

  auto last = reader_->last_idx();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, static_cast<int64_t>(kSingles) + 4);
  // One message per commit, the refusal travelling with the commit of its group, or on its own
  // when the actor had taken every earlier flight before it arrived (a group with nothing to
  // commit is answered without a commit).
  const int64_t commits = stats(self).commits() - commits_before;
  EXPECT_LE(got.messages, commits + 1);
  EXPECT_LT(commits, static_cast<int64_t>(kSingles));  // the flights were grouped
}

// Single-event flights sent together (the supervisor's form for the appends of one turn): each is
// judged as if it came alone, in order, so a refused one takes nothing from its neighbours, and a
// duplicate of an earlier one in the same message is answered with the earlier one's idx.
TEST_F(StorageActorTest, FlightsSentTogetherAreJudgedAndAnsweredEachAsIfAlone) {
  start();
  caf::scoped_actor self{*system_};
  ASSERT_TRUE(append(self, request_event("br", BUILD_REQUEST_RECEIVED)).ok());
  std::vector<uint64_t> flights;
  std::vector<BuildEvent> events;
  for (uint64_t f = 1; f <= 5; ++f) {
    flights.push_back(f * 10);
    events.push_back(partition_event("br", "p/" + std::to_string(f), PARTITION_REQUESTED));
  }
  flights.insert(flights.begin() + 2, 7);  // a job run's first status must be SCHEDULED
  events.insert(events.begin() + 2, job_event("br", "jr-1", "//job", JOB_RUNNING));
  events.front().set_event_id("p1-attempt");
  flights.push_back(99);  // the same event as flight 10: a retry
  events.push_back(events.front());
  self->send(log_, append_atom::value, checked_atom::value, flights, events);

  const Answered got = receive_answers(self, flights.size());
  EXPECT_EQ(got.repeated, 0);
  ASSERT_EQ(got.by_flight.size(), flights.size());
  const FlightAnswer& refused = got.by_flight.at(7);
  EXPECT_TRUE(refused.acks.empty());
  EXPECT_EQ(from_caf_error(refused.error).code, ErrorCode::invalid_transition)
      << caf::to_string(refused.error);
  int64_t expected_idx = 2;  // in the order sent, the refused one skipped
  for (uint64_t f = 1; f <= 5; ++f) {
    const FlightAnswer& a = got.by_flight.at(f * 10);
    EXPECT_FALSE(a.error) << f << ": " << caf::to_string(a.error);
    ASSERT_EQ(a.acks.size(), 1u) << f;
    EXPECT_EQ(a.acks[0].idx(), expected_idx++) << f;
  }
  const FlightAnswer& retry = got.by_flight.at(99);
  ASSERT_EQ(retry.acks.size(), 1u) << caf::to_string(retry.error);
  EXPECT_EQ(retry.acks[0].idx(), 2);
  EXPECT_TRUE(retry.acks[0].duplicate());
  auto last = reader_->last_idx();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 6);
}

// A sender's bug (more flights than events) is answered, every flight named, with nothing stored.
TEST_F(StorageActorTest, FlightsThatDoNotMatchTheirEventsAreAllAnsweredInternal) {
  start();
  caf::scoped_actor self{*system_};
  ASSERT_TRUE(append(self, request_event("br", BUILD_REQUEST_RECEIVED)).ok());
  self->send(log_, append_atom::value, checked_atom::value, std::vector<uint64_t>{1, 2, 3},
             std::vector<BuildEvent>{partition_event("br", "p/1", PARTITION_REQUESTED)});
  const Answered got = receive_answers(self, 3);
  ASSERT_EQ(got.by_flight.size(), 3u);
  for (const auto& [flight, a] : got.by_flight) {
    EXPECT_TRUE(a.acks.empty()) << flight;
    const Error e = from_caf_error(a.error);
    EXPECT_EQ(e.code, ErrorCode::internal) << flight;
    EXPECT_NE(e.message.find("3 flights for 1 events"), std::string::npos) << e.message;
  }
  auto last = reader_->last_idx();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 1);
}

TEST_F(StorageActorTest, FlightsAboveThePendingLimitAreAnsweredOverloaded) {
  caf::scoped_actor self{*system_};
  ASSERT_NO_FATAL_FAILURE(start_with_pending_limit(self, 4));
  constexpr uint64_t kFlights = 200;
  for (uint64_t f = 1; f <= kFlights; ++f) {
    self->send(log_, append_atom::value, checked_atom::value, f,
               partition_event("br", "p/" + std::to_string(f), PARTITION_REQUESTED));
  }
  const Answered got = receive_answers(self, kFlights);
  EXPECT_EQ(got.repeated, 0);
  int64_t acked = 0, overloaded = 0;
  for (const auto& [flight, a] : got.by_flight) {
    if (a.error) {
      EXPECT_EQ(from_caf_error(a.error).code, ErrorCode::overloaded) << caf::to_string(a.error);
      EXPECT_TRUE(a.acks.empty());
      ++overloaded;
    } else {
      EXPECT_EQ(a.acks.size(), 1u);
      ++acked;
    }
  }
  EXPECT_GT(acked, 0);
  EXPECT_GT(overloaded, 0);
  auto last = reader_->last_idx();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 1 + acked);  // every acked event is in the log, nothing else
}

TEST_F(StorageActorTest, ShutdownAnswersEveryPendingAppend) {
  start();
  caf::scoped_actor self{*system_};
  ASSERT_TRUE(append(self, request_event("br", BUILD_REQUEST_RECEIVED)).ok());
  constexpr int kEvents = 100;
  for (int i = 0; i < kEvents; ++i) {
    self->send(log_, append_atom::value,
               partition_event("br", "p/" + std::to_string(i), PARTITION_REQUESTED));
  }
  caf::anon_send_exit(log_, caf::exit_reason::user_shutdown);
  int acked = 0, failed = 0;
  for (int i = 0; i < kEvents; ++i) {
    self->receive(
        [&](const AppendAck&) { ++acked; }, [&](const caf::error&) { ++failed; },
        caf::after(kRequestTimeout) >> [&] { FAIL() << "an append was dropped silently"; });
  }
  EXPECT_EQ(acked + failed, kEvents);
  auto last = reader_->last_idx();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 1 + acked);  // acknowledged means stored
  log_ = nullptr;
}

// A view compresses its snapshot before sending it (ViewSnapshot.data_encoded); when the storage
// actor saves it (logs without a snapshot store of their own, memory:// among them) it loads
// back as the plain bytes, for encoded and plain snapshots alike.
TEST_F(StorageActorTest, SnapshotsSavedThroughItLoadAsTheirPlainBytes) {
  start();
  caf::scoped_actor self{*system_};
  std::string state;
  for (int i = 0; state.size() < 100000; ++i) state += "partition/data/" + std::to_string(i % 50);
  auto encoded = storage::encode_snapshot_data(state);
  ASSERT_TRUE(encoded.ok());
  for (const bool compress : {true, false}) {
    ViewSnapshot snap;
    snap.set_view("job_runs");
    snap.set_version(2);
    snap.set_applied_idx(compress ? 7 : 8);
    snap.set_data(compress ? *encoded : state);
    snap.set_data_encoded(compress);
    self->request(log_, kRequestTimeout, snapshot_atom::value, std::move(snap))
        .receive([&](int64_t idx) { EXPECT_EQ(idx, compress ? 7 : 8); },
                 [&](const caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
    auto loaded = reader_->load_snapshot("job_runs", 2);
    ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
    ASSERT_TRUE(loaded->has_value());
    EXPECT_TRUE((*loaded)->data == state) << "compressed by the caller: " << compress;
  }
}

}  // namespace
}  // namespace bel::actors
