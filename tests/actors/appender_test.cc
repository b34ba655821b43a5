// The client library's Appender (actors/client/appender.h) and the coordinator's independent
// appends in one message (bel_api.h, each_atom): every append is answered once, alone, as if sent
// by itself: its own ack or error, the log's order the order appended, idempotency per event, and
// an answer for each even when the coordinator stops (SPEC R9).
#include "actors/client/appender.h"

#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/coordinator.h"
#include "actors/coordinator_options.h"
#include "messages/event_id.h"
#include "storage/storage_factory.h"
#include "tests/actors/query_checks.h"
#include "tests/support/events.h"
#include "tests/support/run_command.h"

namespace bel::actors {
namespace {

using namespace bel::testing;  // NOLINT: test helpers
using namespace bel::v1;       // NOLINT: enum values

// What a producer got back, by the position of each append.
struct Answers {
  explicit Answers(size_t n) : got(n) {}
  std::vector<std::optional<Result<AppendAck>>> got;
  size_t answered = 0;
  size_t answered_twice = 0;
  int64_t messages_sent = 0;
  std::promise<void> done;
  // Called on the producer's actor when the first append is acknowledged, if set.
  std::function<void()> on_first_ack;
};

struct ProducerState {
  std::optional<Appender> appender;
  static inline const char* name = "bel.test.producer";
};

// Appends every event in one turn through an Appender, records each answer, and ends once each
// has one.
caf::behavior producer(caf::stateful_actor<ProducerState>* self, BelApi api,
                       std::vector<BuildEvent> events, std::shared_ptr<Answers> answers,
                       AppenderOptions options) {
  self->state.appender.emplace(self, api, options);
  for (size_t i = 0; i < events.size(); ++i) {
    self->state.appender->append(std::move(events[i]), [self, answers, i](Result<AppendAck> r) {
      if (answers->got[i].has_value()) {
        ++answers->answered_twice;
        return;
      }
      const bool first_ack = r.ok() && answers->on_first_ack;
      answers->got[i].emplace(std::move(r));
      if (first_ack) std::exchange(answers->on_first_ack, nullptr)();
      if (++answers->answered < answers->got.size()) return;
      answers->messages_sent = self->state.appender->messages_sent();
      answers->done.set_value();
      self->quit();
    });
  }
  return {[](tick_atom) {}};
}

class AppenderTest : public ::testing::Test {
 protected:
  AppenderTest() {
    configure_actor_system(config_);
    system_ = std::make_unique<caf::actor_system>(config_);
  }
  ~AppenderTest() override { system_->await_all_actors_done(); }

  // Starts a producer of `events` and waits for every answer.
  std::shared_ptr<Answers> append_all(const BelApi& api, std::vector<BuildEvent> events,
                                      AppenderOptions options = {}) {
    auto answers = std::make_shared<Answers>(events.size());
    auto done = answers->done.get_future();
    system_->spawn(producer, api, std::move(events), answers, options);
    done.wait();
    return answers;
  }

  StorageStats stats(const BelApi& api) {
    caf::scoped_actor self{*system_};
    auto answered = query_checks::request_value<StorageStats>(self, api, stats_atom::value);
    EXPECT_TRUE(answered.ok()) << answered.error().to_string();
    return answered.ok() ? *answered : StorageStats{};
  }

  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  TempDir tmp_;
};

TEST_F(AppenderTest, EachAppendIsAnsweredAloneAndStoredInTheOrderAppended) {
  auto api = start_coordinator(*system_, "sqlite://" + tmp_.path() + "/each.db", {});
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  // 100 build requests of 7 appends each: RECEIVED, five partitions, RECEIVED again (refused by
  // the transition rules); every tenth request's third partition has no ref (refused by the
  // structure checks). Each refused append is refused alone, the ones around it stored.
  std::vector<BuildEvent> events;
  std::vector<ErrorCode> expected;  // internal: stored
  for (int b = 0; b < 100; ++b) {
    const std::string build = "br-" + std::to_string(b);
    events.push_back(request_event(build, BUILD_REQUEST_RECEIVED));
    expected.push_back(ErrorCode::internal);
    for (int k = 0; k < 5; ++k) {
      const bool bad = b % 10 == 0 && k == 2;
      const std::string ref = bad ? "" : "p/" + std::to_string(b) + "/" + std::to_string(k);
      events.push_back(partition_event(build, ref, PARTITION_REQUESTED));
      expected.push_back(bad ? ErrorCode::invalid_event : ErrorCode::internal);
    }
    events.push_back(request_event(build, BUILD_REQUEST_RECEIVED));
    expected.push_back(ErrorCode::invalid_transition);
  }
  const auto answers = append_all(*api, events);
  EXPECT_EQ(answers->answered_twice, 0u);
  int64_t next_idx = 1;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& got = *answers->got[i];
    if (expected[i] == ErrorCode::internal) {
      ASSERT_TRUE(got.ok()) << "append #" << i << ": " << got.error().to_string();
      EXPECT_EQ(got->idx(), next_idx++) << "append #" << i;
      EXPECT_FALSE(got->duplicate());
      EXPECT_FALSE(got->event_id().empty());
    } else {
      ASSERT_FALSE(got.ok()) << "append #" << i << " was stored at " << got->idx();
      EXPECT_EQ(got.error().code, expected[i]) << got.error().to_string();
      // Told as if sent alone: no position in a batch (it is in none, and the message's
      // "append #1" would not even be its place there).
      EXPECT_NE(got.error().message.rfind("append #", 0), 0u) << got.error().to_string();
      if (expected[i] == ErrorCode::invalid_event) {
        EXPECT_EQ(got.error().message, "partition_event.partition_ref is empty");
      }
    }
  }
  EXPECT_EQ(stats(*api).last_idx(), next_idx - 1);
  // Carried several to a message: far fewer messages than appends.
  EXPECT_LT(answers->messages_sent, static_cast<int64_t>(events.size() / 10));
  stop_coordinator(*api);
}

TEST_F(AppenderTest, AnIdAppendedTwiceInOneMessageIsStoredOnce) {
  auto api = start_coordinator(*system_, "sqlite://" + tmp_.path() + "/dup.db", {});
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  const std::string id = new_event_id();
  const BuildEvent received = with_id(request_event("br-d", BUILD_REQUEST_RECEIVED), id);
  // One message only (a single message in flight and room for every append): the retry is in
  // the same message as the original.
  AppenderOptions options;
  options.max_messages_in_flight = 1;
  const auto answers = append_all(*api,
                                  {partition_event("br-x", "p/x", PARTITION_REQUESTED), received,
                                   received, partition_event("br-d", "p/d", PARTITION_REQUESTED)},
                                  options);
  ASSERT_TRUE(answers->got[1]->ok()) << answers->got[1]->error().to_string();
  ASSERT_TRUE(answers->got[2]->ok()) << answers->got[2]->error().to_string();
  EXPECT_FALSE((*answers->got[1])->duplicate());
  EXPECT_TRUE((*answers->got[2])->duplicate());
  EXPECT_EQ((*answers->got[2])->idx(), (*answers->got[1])->idx());
  EXPECT_EQ((*answers->got[2])->event_id(), id);
  ASSERT_TRUE(answers->got[3]->ok()) << answers->got[3]->error().to_string();
  EXPECT_EQ((*answers->got[3])->idx(), (*answers->got[1])->idx() + 1);
  EXPECT_EQ(answers->messages_sent, 2);  // the first alone, the rest together
  stop_coordinator(*api);
}

// A coordinator stopped while appends are in flight answers every one of them (R9): each is
// acknowledged and in the log, or refused with storage_unavailable and not. It is stopped from
// the producer's first acknowledgement, while the Appender holds the rest: the first messages are
// acknowledged, those it sends after the stop are refused.
TEST_F(AppenderTest, EveryAppendIsAnsweredWhenTheCoordinatorStops) {
  const std::string uri = "sqlite://" + tmp_.path() + "/stop.db";
  auto api = start_coordinator(*system_, uri, {});
  ASSERT_TRUE(api.ok()) << api.error().to_string();
  std::vector<BuildEvent> events;
  for (int b = 0; b < 500; ++b) {
    const std::string build = "br-" + std::to_string(b);
    events.push_back(request_event(build, BUILD_REQUEST_RECEIVED));
    for (int k = 0; k < 5; ++k) {
      events.push_back(partition_event(build, "p/" + std::to_string(b) + "/" + std::to_string(k),
                                       PARTITION_REQUESTED));
    }
  }
  auto answers = std::make_shared<Answers>(events.size());
  auto done = answers->done.get_future();
  answers->on_first_ack = [api = *api] { stop_coordinator(api); };
  system_->spawn(producer, *api, events, answers, AppenderOptions{});
  done.wait();
  EXPECT_EQ(answers->answered_twice, 0u);
  int64_t acked = 0;
  int64_t refused = 0;
  for (const auto& got : answers->got) {
    if (got->ok()) {
      EXPECT_EQ((*got)->idx(), ++acked);  // the acknowledged ones are the log's first events
    } else {
      ++refused;
      EXPECT_EQ(got->error().code, ErrorCode::storage_unavailable) << got->error().to_string();
    }
  }
  EXPECT_GT(acked, 0);
  EXPECT_GT(refused, 0);
  system_->await_all_actors_done();
  auto log = storage::open_storage(uri, {});
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  auto last = (*log)->last_idx();
  ASSERT_TRUE(last.ok()) << last.error().to_string();
  EXPECT_EQ(*last, acked);
}

// A coordinator that takes an Appender's message and never answers it (as one busy beyond the
// message's deadline): the promise is kept, undelivered, until the actor ends.
struct SilentState {
  std::vector<caf::response_promise> kept;
  static inline const char* name = "bel.test.silent";
};
caf::behavior silent_coordinator(caf::stateful_actor<SilentState>* self) {
  return {[self](append_atom, each_atom, const std::vector<BuildEvent>&) {
            self->state.kept.push_back(self->make_response_promise());
          },
          [self](tick_atom) { self->quit(); }};
}

// A message's deadline that passes names the call and the wait, as ApiClient's do.
TEST_F(AppenderTest, ADeadlineThatPassesNamesTheCallAndTheWait) {
  auto silent = system_->spawn(silent_coordinator);
  AppenderOptions options;
  options.timeout = caf::duration(std::chrono::milliseconds(20));
  const auto answers = append_all(caf::actor_cast<BelApi>(silent),
                                  {partition_event("br-t", "p/t", PARTITION_REQUESTED)}, options);
  const auto& got = *answers->got[0];
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::timeout);
  EXPECT_EQ(got.error().message,
            "bel_api append of 1 event (an Appender's message): no answer within 20ms");
  caf::anon_send(silent, tick_atom::value);
}

}  // namespace
}  // namespace bel::actors

namespace bel::actors {
namespace {

// The answer to a message of independent appends travels between processes as the other
// messages of BelApi do (add_bel_types): an ack and a refusal, through CAF's serializers.
TEST(AppendOutcomeTest, AnsweringAppendsTravelsThroughCafsSerializers) {
  caf::actor_system_config config;
  add_bel_types(config);
  caf::actor_system system{config};
  AppendOutcomes outcomes(2);
  outcomes[0].ack.set_idx(7);
  outcomes[0].ack.set_event_id("0190a0a0-0000-7000-8000-000000000001");
  outcomes[1].error = to_caf_error(Error{ErrorCode::invalid_transition, "append #1: refused"});
  std::vector<char> bytes;
  caf::binary_serializer sink{system, bytes};
  ASSERT_FALSE(sink(caf::make_message(outcomes))) << "AppendOutcomes is not registered";
  caf::message read;
  caf::binary_deserializer source{system, bytes};
  ASSERT_FALSE(source(read));
  ASSERT_TRUE(read.match_elements<AppendOutcomes>());
  const auto& back = read.get_as<AppendOutcomes>(0);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].ack.idx(), 7);
  EXPECT_EQ(back[0].ack.event_id(), "0190a0a0-0000-7000-8000-000000000001");
  EXPECT_FALSE(back[0].error);
  const Error refused = from_caf_error(back[1].error);
  EXPECT_EQ(refused.code, ErrorCode::invalid_transition);
  EXPECT_EQ(refused.message, "append #1: refused");
}

}  // namespace
}  // namespace bel::actors
