// The query actor's bound on fallback scans (actors/read/query_actor.h): at most
// max_fallbacks_in_flight reach the readers, up to max_waiting_fallbacks more wait in order, and
// one more is answered `overloaded` at once; a slot freed by an answer goes to the oldest waiting
// scan.
#include "actors/read/query_actor.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "actors/coordinator.h"

namespace bel::actors {
namespace {

using open_atom = caf::atom_constant<caf::atom("open")>;
using count_atom = caf::atom_constant<caf::atom("count")>;

// A reader that holds every fallback until `open`, then answers each with the partition ref it
// asked about (from the third `open` on, it answers at once); `count` says how many fallbacks
// reached it.
using HeldReader =
    ReaderActor::extend<caf::reacts_to<open_atom>, caf::replies_to<count_atom>::with<int32_t>>;

struct HeldReaderState {
  std::vector<std::pair<Query, caf::typed_response_promise<QueryResult>>> held;
  int32_t received = 0;
  int opened = 0;  // from the third `open` on, fallbacks are answered at once
};

QueryResult answer_for(const Query& query) {
  QueryResult out;
  out.mutable_partition_status()->set_partition_ref(query.partition_status().partition_ref());
  return out;
}

HeldReader::behavior_type held_reader(HeldReader::stateful_pointer<HeldReaderState> self) {
  return {
      [](list_atom, const ListEventsRequest&) -> caf::result<EventPage> { return EventPage{}; },
      [](scan_atom, int64_t, int32_t) -> caf::result<SharedPage> {
        return SharedPage(std::make_shared<EventPage>());
      },
      [=](fallback_atom, const Query& query) -> caf::result<QueryResult> {
        ++self->state.received;
        if (self->state.opened >= 3) return answer_for(query);
        auto rp = self->make_response_promise<QueryResult>();
        self->state.held.emplace_back(query, rp);
        return rp;
      },
      [](load_atom, const std::string&, int32_t) -> caf::result<ViewSnapshot> {
        return ViewSnapshot{};
      },
      [](last_idx_atom) -> caf::result<int64_t> { return int64_t{0}; },
      [=](open_atom) {
        ++self->state.opened;
        for (auto& [query, rp] : self->state.held) rp.deliver(answer_for(query));
        self->state.held.clear();
      },
      [=](count_atom) -> int32_t { return self->state.received; },
  };
}

Query status_query(const std::string& ref) {
  Query q;
  q.mutable_partition_status()->set_partition_ref(ref);
  return q;
}

// A held reader (every fallback waits until `open`) and the actor system the tests run in.
class QueryActorTest : public ::testing::Test {
 protected:
  static caf::actor_system_config& configured(caf::actor_system_config& config) {
    configure_actor_system(config);
    return config;
  }
  // How many fallbacks reached the reader.
  int32_t count() {
    int32_t n = -1;
    self_->request(reader_, caf::infinite, count_atom::value)
        .receive([&](int32_t got) { n = got; }, [&](const caf::error&) {});
    return n;
  }

  caf::actor_system_config config_;
  caf::actor_system system_{configured(config_)};
  caf::scoped_actor self_{system_};
  HeldReader reader_ = system_.spawn(held_reader);
};

TEST_F(QueryActorTest, FallbackScansAreBoundedAndTheExcessIsOverloaded) {
  QueryActorOptions options;
  options.max_fallbacks_in_flight = 2;
  options.max_waiting_fallbacks = 1;
  QueryActor query = spawn_query_actor(system_, {caf::actor_cast<ReaderActor>(reader_)}, options);

  // No view is set: every query is a fallback. Two run, one waits, the fourth is refused.
  auto first = self_->request(query, caf::infinite, query_atom::value, status_query("data/1"));
  auto second = self_->request(query, caf::infinite, fallback_atom::value, status_query("data/2"));
  auto third = self_->request(query, caf::infinite, query_atom::value, status_query("data/3"));
  bool refused = false;
  self_->request(query, caf::infinite, query_atom::value, status_query("data/4"))
      .receive([&](const QueryResult& r) { ADD_FAILURE() << "answered " << r.ShortDebugString(); },
               [&](const caf::error& e) {
                 const Error err = from_caf_error(e);
                 EXPECT_EQ(err.code, ErrorCode::overloaded) << err.to_string();
                 EXPECT_NE(err.message.find("partition_status(data/4)"), std::string::npos)
                     << err.message;
                 refused = true;
               });
  EXPECT_TRUE(refused);
  EXPECT_EQ(count(), 2) << "only max_fallbacks_in_flight scans reach the reader";

  // Opening the reader answers the two; their slots go to the waiting one.
  self_->send(reader_, open_atom::value);
  std::vector<std::string> answered;
  auto take = [&](const QueryResult& r) {
    answered.push_back(r.partition_status().partition_ref());
  };
  auto failed = [&](const caf::error& e) { ADD_FAILURE() << system_.render(e); };
  first.receive(take, failed);
  second.receive(take, failed);
  EXPECT_EQ(count(), 3);
  self_->send(reader_, open_atom::value);
  third.receive(take, failed);
  EXPECT_EQ(answered, (std::vector<std::string>{"data/1", "data/2", "data/3"}));

  // Free again: a new fallback runs at once (the reader now answers as scans come).
  self_->send(reader_, open_atom::value);
  self_->request(query, caf::infinite, query_atom::value, status_query("data/5"))
      .receive(take, failed);
  EXPECT_EQ(answered.back(), "data/5");
  EXPECT_EQ(count(), 4);

  int64_t fallbacks = -1;
  self_->request(query, caf::infinite, fallbacks_atom::value)
      .receive([&](int64_t n) { fallbacks = n; }, failed);
  EXPECT_EQ(fallbacks, 4) << "the refused one is not counted";
  self_->send_exit(query, caf::exit_reason::user_shutdown);
}

// Many questions in one message are asked kQueriesInFlightPerMessage at a time: as many
// fallback scans as that take no more than the query actor's bound, so a message of questions
// for views that have no actor (each a fallback) is answered whole, in order, none `overloaded`.
TEST_F(QueryActorTest, QuestionsInOneMessageStayWithinTheFallbackBound) {
  for (int i = 0; i < 3; ++i) self_->send(reader_, open_atom::value);  // answers at once
  QueryActorOptions options;
  options.max_fallbacks_in_flight = 2;
  options.max_waiting_fallbacks = kQueriesInFlightPerMessage - 2;
  QueryActor query = spawn_query_actor(system_, {caf::actor_cast<ReaderActor>(reader_)}, options);

  std::vector<Query> questions;
  for (int i = 0; i < 60; ++i) questions.push_back(status_query("data/" + std::to_string(i)));
  questions[7] = status_query("");  // refused alone: invalid_argument
  QueryOutcomes outcomes;
  self_->request(query, caf::infinite, query_atom::value, each_atom::value, questions)
      .receive([&](QueryOutcomes& got) { outcomes = std::move(got); },
               [&](const caf::error& e) { ADD_FAILURE() << system_.render(e); });
  ASSERT_EQ(outcomes.size(), questions.size());
  for (size_t i = 0; i < questions.size(); ++i) {
    if (i == 7) {
      EXPECT_EQ(from_caf_error(outcomes[i].error).code, ErrorCode::invalid_argument);
      continue;
    }
    EXPECT_FALSE(outcomes[i].error) << i << ": " << system_.render(outcomes[i].error);
    EXPECT_EQ(outcomes[i].answer.partition_status().partition_ref(),
              questions[i].partition_status().partition_ref());
  }

  // An empty message is answered with no outcomes; one past the limit is refused whole.
  self_->request(query, caf::infinite, query_atom::value, each_atom::value, std::vector<Query>{})
      .receive([&](const QueryOutcomes& got) { EXPECT_TRUE(got.empty()); },
               [&](const caf::error& e) { ADD_FAILURE() << system_.render(e); });
  bool refused = false;
  self_
      ->request(query, caf::infinite, query_atom::value, each_atom::value,
                std::vector<Query>(kMaxQueriesPerMessage + 1, questions[0]))
      .receive([&](const QueryOutcomes&) { ADD_FAILURE() << "answered"; },
               [&](const caf::error& e) {
                 refused = from_caf_error(e).code == ErrorCode::invalid_argument;
               });
  EXPECT_TRUE(refused);
  self_->send_exit(query, caf::exit_reason::user_shutdown);
}

// A query actor that stops with questions of a message still unanswered (its fallback scans
// held by a reader) never answers them: the message is answered at once, each of those
// questions storage_unavailable, rather than never.
TEST_F(QueryActorTest, AMessageWhoseQueryActorStopsIsAnsweredAtOnce) {
  QueryActor query = spawn_query_actor(system_, {caf::actor_cast<ReaderActor>(reader_)});
  const std::vector<Query> questions = {status_query("data/1"), status_query(""),
                                        status_query("data/3")};
  auto asked = self_->request(query, std::chrono::seconds(60), query_atom::value, each_atom::value,
                              questions);
  // Both scans have reached the reader (and the bad question is answered) before the stop.
  while (count() < 2) {
  }
  self_->send_exit(query, caf::exit_reason::kill);
  QueryOutcomes outcomes;
  asked.receive([&](QueryOutcomes& got) { outcomes = std::move(got); },
                [&](const caf::error& e) { ADD_FAILURE() << system_.render(e); });
  ASSERT_EQ(outcomes.size(), 3u);
  for (size_t i : {size_t{0}, size_t{2}}) {
    const Error error = from_caf_error(outcomes[i].error);
    EXPECT_EQ(error.code, ErrorCode::storage_unavailable) << error.to_string();
    EXPECT_NE(error.message.find("query actor stopped before answering partition_status(data/" +
                                 std::to_string(i + 1) + ")"),
              std::string::npos)
        << error.message;
  }
  EXPECT_EQ(from_caf_error(outcomes[1].error).code, ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace bel::actors
