// LogWriter::stage_group, the storage actor's way to validate one mailbox drain: one idempotency
// lookup for the whole group, and every batch judged exactly as if staged alone and in order
// (SPEC section 2: a retried event_id with the same content is a duplicate ack, with different
// content an error, whether the first is committed or still pending in the same group).
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "actors/write/log_writer.h"
#include "storage/storage_factory.h"
#include "tests/support/events.h"

namespace bel::actors {
namespace {

using namespace bel::testing;
using namespace bel::v1;

constexpr int64_t kStagingNow = 1'700'000'000'000'000'000;

// A storage that counts find_by_event_ids calls and forwards everything to a memory:// log.
class CountingStorage final : public storage::Storage {
 public:
  explicit CountingStorage(std::unique_ptr<storage::Storage> inner) : inner_(std::move(inner)) {}
  int lookups = 0;
  std::optional<Error> failing_lookups;  // when set, every lookup fails with it

  const std::string& uri() const override { return inner_->uri(); }
  Status initialize() override { return inner_->initialize(); }
  Result<std::vector<int64_t>> append_batch(const std::vector<BuildEvent>& events) override {
    return inner_->append_batch(events);
  }
  Result<EventPage> list_events(int64_t since_idx, const EventFilter& filter, int limit) override {
    return inner_->list_events(since_idx, filter, limit);
  }
  Result<EventPage> list_events_backward(int64_t before_idx, const EventFilter& filter,
                                         int limit) override {
    return inner_->list_events_backward(before_idx, filter, limit);
  }
  Result<std::vector<storage::StoredEvent>> find_by_event_ids(
      const std::vector<std::string>& event_ids) override {
    ++lookups;
    if (failing_lookups) return *failing_lookups;
    return inner_->find_by_event_ids(event_ids);
  }
  Result<int64_t> last_idx() override { return inner_->last_idx(); }
  Result<std::optional<std::string>> get_meta(const std::string& key) override {
    return inner_->get_meta(key);
  }
  Status set_meta(const std::string& key, const std::string& value) override {
    return inner_->set_meta(key, value);
  }
  Status save_snapshot(const storage::Snapshot& snapshot) override {
    return inner_->save_snapshot(snapshot);
  }
  Result<std::optional<storage::Snapshot>> load_snapshot(const std::string& view,
                                                         int version) override {
    return inner_->load_snapshot(view, version);
  }
  storage::StorageCounters counters() const override { return inner_->counters(); }
  Result<std::unique_ptr<storage::Storage>> open_reader() override { return inner_->open_reader(); }

 private:
  std::unique_ptr<storage::Storage> inner_;
};

struct CountedWriter {
  std::unique_ptr<LogWriter> writer;
  CountingStorage* storage = nullptr;  // owned by the writer
};

CountedWriter open_counted_writer() {
  auto inner = storage::open_storage("memory://", {});
  EXPECT_TRUE(inner.ok());
  auto counting = std::make_unique<CountingStorage>(std::move(*inner));
  CountingStorage* raw = counting.get();
  LogWriterOptions options;
  options.now = [] { return kStagingNow; };
  auto writer = LogWriter::open(std::move(counting), options);
  EXPECT_TRUE(writer.ok());
  return {std::move(*writer), raw};
}

// Stages `batches` as one group; returns each batch's ticket or error.
std::vector<Result<LogWriter::Ticket>> stage_group(LogWriter& w,
                                                   std::vector<std::vector<BuildEvent>> batches) {
  std::vector<BuildEvent> events;
  std::vector<size_t> sizes;
  for (auto& b : batches) {
    sizes.push_back(b.size());
    events.insert(events.end(), b.begin(), b.end());
  }
  return w.stage_group(events, sizes);
}

// The answer of ticket `t` in `result`.
const Result<std::vector<AppendAck>>& answer(const LogWriter::CommitResult& result,
                                             LogWriter::Ticket t) {
  for (const auto& [ticket, acks] : result.tickets) {
    if (ticket == t) return acks;
  }
  ADD_FAILURE() << "no answer for ticket " << t;
  static const Result<std::vector<AppendAck>> none = make_error(ErrorCode::internal, "none");
  return none;
}

std::vector<BuildEvent> staged_log(LogWriter& w) {
  auto page = w.storage().list_events(0, EventFilter(), storage::kMaxListLimit);
  EXPECT_TRUE(page.ok());
  return {page->events().begin(), page->events().end()};
}

const BuildEvent kStagingReceived = with_id(request_event("br-1", BUILD_REQUEST_RECEIVED), "ev-r");

TEST(GroupedStagingTest, OneLookupServesTheWholeGroup) {
  auto [w, counting] = open_counted_writer();
  std::vector<std::vector<BuildEvent>> batches = {{kStagingReceived}};
  for (int i = 0; i < 50; ++i) {
    batches.push_back(
        {with_id(partition_event("br-1", "p/" + std::to_string(i), PARTITION_REQUESTED),
                 "ev-" + std::to_string(i))});
  }
  const int before = counting->lookups;
  auto tickets = stage_group(*w, batches);
  EXPECT_EQ(counting->lookups - before, 1);
  for (const auto& t : tickets) ASSERT_TRUE(t.ok()) << t.error().to_string();
  auto result = w->commit();
  EXPECT_EQ(result.committed.size(), 51u);
  EXPECT_EQ(staged_log(*w).size(), 51u);
}

// A lookup that fails (a server gone) refuses the batches that needed it, saying that nothing was
// written: a producer that sets its own ids is not sent to look for them in the log.
TEST(GroupedStagingTest, ALookupThatFailsRefusesItsBatchesSayingNothingWasWritten) {
  auto [w, counting] = open_counted_writer();
  counting->failing_lookups =
      make_error(ErrorCode::storage_unavailable, "db: find_by_event_ids: the server closed");
  auto tickets = stage_group(*w, {{kStagingReceived}});
  ASSERT_EQ(tickets.size(), 1u);
  ASSERT_FALSE(tickets[0].ok());
  EXPECT_EQ(tickets[0].error().code, ErrorCode::storage_unavailable);
  EXPECT_EQ(tickets[0].error().message,
            "db: find_by_event_ids: the server closed; nothing was written, a retry is safe");
  EXPECT_TRUE(staged_log(*w).empty());
  // A corrupt log's error stands as it is: no retry heals it.
  counting->failing_lookups = make_error(ErrorCode::storage_corrupt, "db: idx 7 does not parse");
  tickets = stage_group(*w, {{kStagingReceived}});
  ASSERT_EQ(tickets.size(), 1u);
  ASSERT_FALSE(tickets[0].ok());
  EXPECT_EQ(tickets[0].error().message, "db: idx 7 does not parse");
}

TEST(GroupedStagingTest, SameIdTwiceInAGroupIsADuplicateOfTheFirst) {
  auto [w, counting] = open_counted_writer();
  auto p = with_id(partition_event("br-1", "p/1", PARTITION_REQUESTED), "ev-p");
  auto tickets = stage_group(*w, {{kStagingReceived}, {p}, {p}});
  for (const auto& t : tickets) ASSERT_TRUE(t.ok()) << t.error().to_string();
  auto result = w->commit();
  const auto& first = answer(result, *tickets[1]);
  const auto& again = answer(result, *tickets[2]);
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ((*first)[0].idx(), 2);
  EXPECT_FALSE((*first)[0].duplicate());
  EXPECT_EQ((*again)[0].idx(), 2);
  EXPECT_TRUE((*again)[0].duplicate());
  EXPECT_EQ((*again)[0].event_id(), "ev-p");
  EXPECT_EQ(staged_log(*w).size(), 2u);
  EXPECT_EQ(w->stats().duplicates(), 1);
}

TEST(GroupedStagingTest, SameIdWithOtherContentInAGroupIsRejectedAndTheFirstKept) {
  auto [w, counting] = open_counted_writer();
  auto p = with_id(partition_event("br-1", "p/1", PARTITION_REQUESTED), "ev-p");
  auto other = with_id(partition_event("br-1", "p/2", PARTITION_REQUESTED), "ev-p");
  auto tickets = stage_group(*w, {{kStagingReceived}, {p}, {other}});
  ASSERT_TRUE(tickets[1].ok());
  ASSERT_FALSE(tickets[2].ok());
  EXPECT_EQ(tickets[2].error().code, ErrorCode::duplicate_event_id);
  EXPECT_NE(tickets[2].error().message.find("already pending"), std::string::npos)
      << tickets[2].error().message;
  w->commit();
  auto events = staged_log(*w);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].partition_event().partition_ref().str(), "p/1");
}

// The first holder of an id is rejected (an invalid transition): staged alone and in order, the
// second append with that id would be judged afresh, so it is stored, not a duplicate.
TEST(GroupedStagingTest, IdOfARejectedAppendIsFreeForALaterOneInTheGroup) {
  auto [w, counting] = open_counted_writer();
  auto bad = with_id(partition_event("br-9", "p/1", PARTITION_REQUESTED), "ev-x");  // no br-9
  auto good = with_id(partition_event("br-1", "p/1", PARTITION_REQUESTED), "ev-x");
  auto tickets = stage_group(*w, {{kStagingReceived}, {bad}, {good}});
  ASSERT_FALSE(tickets[1].ok());
  EXPECT_EQ(tickets[1].error().code, ErrorCode::invalid_transition);
  ASSERT_TRUE(tickets[2].ok()) << tickets[2].error().to_string();
  auto result = w->commit();
  const auto& acks = answer(result, *tickets[2]);
  ASSERT_TRUE(acks.ok());
  EXPECT_EQ((*acks)[0].idx(), 2);
  EXPECT_FALSE((*acks)[0].duplicate());
  EXPECT_EQ(w->stats().rejected(), 1);
}

TEST(GroupedStagingTest, IdsCommittedByAnEarlierGroupAreDuplicatesOrConflicts) {
  auto [w, counting] = open_counted_writer();
  auto p = with_id(partition_event("br-1", "p/1", PARTITION_REQUESTED), "ev-p");
  auto first = stage_group(*w, {{kStagingReceived}, {p}});
  ASSERT_TRUE(first[0].ok() && first[1].ok());
  w->commit();

  auto retry = p;
  retry.set_timestamp(0);  // as retried: the log assigned the timestamp the first time
  auto conflict = with_id(partition_event("br-1", "p/2", PARTITION_REQUESTED), "ev-p");
  auto fresh = with_id(partition_event("br-1", "p/3", PARTITION_REQUESTED), "ev-q");
  auto tickets = stage_group(*w, {{retry}, {conflict}, {fresh, kStagingReceived}});
  ASSERT_TRUE(tickets[0].ok()) << tickets[0].error().to_string();
  ASSERT_FALSE(tickets[1].ok());
  EXPECT_EQ(tickets[1].error().code, ErrorCode::duplicate_event_id);
  EXPECT_NE(tickets[1].error().message.find("already in the log (idx 2)"), std::string::npos)
      << tickets[1].error().message;
  ASSERT_TRUE(tickets[2].ok()) << tickets[2].error().to_string();
  auto result = w->commit();
  const auto& dup = answer(result, *tickets[0]);
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ((*dup)[0].idx(), 2);
  EXPECT_TRUE((*dup)[0].duplicate());
  const auto& mixed = answer(result, *tickets[2]);
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ((*mixed)[0].idx(), 3);
  EXPECT_FALSE((*mixed)[0].duplicate());
  EXPECT_EQ((*mixed)[1].idx(), 1);  // kStagingReceived again, within a batch
  EXPECT_TRUE((*mixed)[1].duplicate());
  EXPECT_EQ(staged_log(*w).size(), 3u);
}

TEST(GroupedStagingTest, StructureErrorsAndEmptyBatchesAreAnsweredWithoutALookup) {
  auto [w, counting] = open_counted_writer();
  auto unnamed = with_id(partition_event("br-1", "p/1", PARTITION_REQUESTED), "ev-u");
  unnamed.clear_build_request_id();
  std::vector<BuildEvent> events = {unnamed};
  const int before = counting->lookups;
  auto tickets = w->stage_group(events, {0, 1});
  EXPECT_EQ(counting->lookups, before);
  ASSERT_EQ(tickets.size(), 2u);
  EXPECT_EQ(tickets[0].error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(tickets[1].error().code, ErrorCode::invalid_event);
  EXPECT_NE(tickets[1].error().message.find("append #1: "), std::string::npos);
  EXPECT_EQ(w->staged_events(), 0u);
}

// A random group of appends, with ids reused within it and across groups (same content or not),
// events that break a transition rule, and multi-event batches, answers exactly as the same
// appends staged one by one with stage(): the same tickets ok or failed with the same error, the
// same acks, the same log.
TEST(GroupedStagingTest, RandomGroupsAnswerAsSequentialStaging) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    auto [grouped, c1] = open_counted_writer();
    auto [sequential, c2] = open_counted_writer();
    auto random_event = [&]() {
      const int id = static_cast<int>(rng() % 12);
      const int kind = static_cast<int>(rng() % 10);
      BuildEvent e;
      if (kind == 0) {
        e = request_event("br-" + std::to_string(rng() % 3), BUILD_REQUEST_RECEIVED);
      } else if (kind == 1) {
        e = partition_event("br-9", "p/x", PARTITION_REQUESTED);  // unknown build: rejected
      } else {
        e = partition_event("br-" + std::to_string(rng() % 3), "p/" + std::to_string(rng() % 3),
                            rng() % 2 ? PARTITION_REQUESTED : PARTITION_BUILDING);
      }
      return with_id(e, "ev-" + std::to_string(id));
    };
    for (int group = 0; group < 4; ++group) {
      std::vector<std::vector<BuildEvent>> batches;
      const int n = 1 + static_cast<int>(rng() % 15);
      for (int b = 0; b < n; ++b) {
        std::vector<BuildEvent> batch;
        const int size = rng() % 4 == 0 ? 2 : 1;
        for (int i = 0; i < size; ++i) batch.push_back(random_event());
        batches.push_back(batch);
      }
      auto got = stage_group(*grouped, batches);
      std::vector<Result<LogWriter::Ticket>> want;
      for (const auto& b : batches) want.push_back(sequential->stage(b));
      ASSERT_EQ(got.size(), want.size());
      auto got_result = grouped->commit();
      auto want_result = sequential->commit();
      for (size_t k = 0; k < got.size(); ++k) {
        ASSERT_EQ(got[k].ok(), want[k].ok()) << "batch " << k;
        if (!got[k].ok()) {
          EXPECT_EQ(got[k].error().to_string(), want[k].error().to_string());
          continue;
        }
        const auto& g = answer(got_result, *got[k]);
        const auto& s = answer(want_result, *want[k]);
        ASSERT_TRUE(g.ok() && s.ok());
        ASSERT_EQ(g->size(), s->size());
        for (size_t i = 0; i < g->size(); ++i) {
          EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals((*g)[i], (*s)[i]))
              << (*g)[i].ShortDebugString() << " vs " << (*s)[i].ShortDebugString();
        }
      }
      EXPECT_EQ(grouped->stats().rejected(), sequential->stats().rejected());
      EXPECT_EQ(grouped->stats().duplicates(), sequential->stats().duplicates());
    }
    const auto a = staged_log(*grouped);
    const auto b = staged_log(*sequential);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(a[i], b[i]));
    }
  }
}

}  // namespace
}  // namespace bel::actors
