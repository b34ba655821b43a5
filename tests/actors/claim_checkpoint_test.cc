// A partition's active builds from a scan (actors/read/reader_actor.h, answer_from_scan) start at
// the claim checkpoint that the partition status view stores with its answers
// (PartitionStatusView::claim_checkpoints): they agree with the reference fold at every later
// prefix of random streams, a lenient log's reopened requests included; the scan does not read
// the partition's history before the checkpoint; answers without a usable checkpoint fold the
// whole history as before. The property runs on every backend's filtered reads (PostgreSQL's when
// BEL_TEST_PG names a server: scripts/with-postgres).
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "actors/read/reader_actor.h"
#include "messages/status_names.h"
#include "projections/partition_status_view.h"
#include "projections/stored_answers.h"
#include "storage/storage_factory.h"
#include "tests/support/memory_log.h"
#include "tests/support/postgres.h"
#include "tests/support/queries.h"
#include "tests/support/random_stream.h"
#include "tests/support/reference_fold.h"
#include "tests/support/run_command.h"

namespace bel::actors::checkpoint_scan {
namespace {

using google::protobuf::util::MessageDifferencer;
using projections::PartitionStatusView;
using testing::ReferenceFold;
using testing::StreamBuilder;

using testing::memory_log;

void append(storage::Storage& log, std::vector<BuildEvent> events) {
  testing::append_stream(log, std::move(events));
}

// Saves, as the partition status view does beside a snapshot, answers as of `idx` carrying
// these claim checkpoints.
void save_checkpoints(storage::Storage& log, int64_t idx,
                      const std::vector<projections::ClaimCheckpoint>& checkpoints) {
  storage::Snapshot s;
  s.view = projections::answers_name(PartitionStatusView::kName);
  s.version = PartitionStatusView::kVersion;
  s.applied_idx = idx;
  s.data = projections::encode_answers(PartitionStatusView::kName, PartitionStatusView::kVersion,
                                       idx, {}, checkpoints);
  auto saved = log.save_snapshot(s);
  ASSERT_TRUE(saved.ok()) << saved.error().to_string();
}

std::vector<std::string> active(storage::Storage& log, const std::string& ref) {
  ReaderOptions options;
  options.page_size = 4;  // several pages per phase
  auto got = answer_from_scan(log, testing::active_builds_query(ref), options);
  EXPECT_TRUE(got.ok()) << ref << ": " << got.error().to_string();
  if (!got.ok()) return {};
  const auto& ids = got->active_builds().build_request_ids();
  return {ids.begin(), ids.end()};
}

std::vector<std::string> ids_of(const ActiveBuildsResponse& r) {
  return {r.build_request_ids().begin(), r.build_request_ids().end()};
}

// `events` with, after some build requests' terminal events, what only a lenient log holds: the
// request reopened (EXECUTING) and, at times, a new claim of it on a partition it claimed before.
// idx renumbered 1, 2, ...
std::vector<BuildEvent> with_reopenings(const std::vector<BuildEvent>& events, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<BuildEvent> out;
  std::map<std::string, std::string> claimed;  // request -> a partition it claimed
  std::vector<std::string> ended;
  int added = 0;
  for (const auto& e : events) {
    out.push_back(e);
    if (e.has_partition_event()) {
      claimed[e.build_request_id()] = e.partition_event().partition_ref().str();
    }
    if (e.has_build_cancel_event() ||
        (e.has_build_request_event() &&
         is_terminal_build_status(e.build_request_event().status_code()))) {
      ended.push_back(e.build_request_id());
    }
    if (ended.empty() || rng() % 25 != 0) continue;
    const std::string id = ended[rng() % ended.size()];
    StreamBuilder lenient;
    lenient.build(id, v1::BUILD_REQUEST_EXECUTING);
    if (claimed.count(id) > 0 && rng() % 2 == 0) {
      lenient.partition(id, claimed[id], v1::PARTITION_SCHEDULED);
    }
    for (BuildEvent extra : lenient.events()) {
      extra.set_event_id("lenient-" + std::to_string(++added));
      extra.set_timestamp(e.timestamp());
      out.push_back(std::move(extra));
    }
  }
  testing::assign_idx(out);
  return out;
}

TEST(ClaimCheckpointTest, TheScanStartsAtTheCheckpointNotAtThePartitionsFirstEvent) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a", "data/b"})
      .partition("br-1", "data/a", v1::PARTITION_REQUESTED)
      .partition("br-1", "data/b", v1::PARTITION_REQUESTED);
  auto log = memory_log();
  append(*log, s.events());
  // A checkpoint that is not the log's truth (br-1 left out, br-9 never logged): only a scan
  // that starts from it answers with it.
  save_checkpoints(*log, 3, {{"data/a", {"br-9"}}});
  s.build("br-2", v1::BUILD_REQUEST_RECEIVED, {"data/a", "data/b"})
      .partition("br-2", "data/a", v1::PARTITION_SCHEDULED)
      .partition("br-2", "data/b", v1::PARTITION_SCHEDULED);
  append(*log, std::vector<BuildEvent>(s.events().begin() + 3, s.events().end()));
  EXPECT_EQ(active(*log, "data/a"), (std::vector<std::string>{"br-2", "br-9"}));
  // data/b has no checkpoint: its whole history.
  EXPECT_EQ(active(*log, "data/b"), (std::vector<std::string>{"br-1", "br-2"}));
}

TEST(ClaimCheckpointTest, ARequestThatEndedBeforeTheCheckpointAndReopensAfterItIsActive) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a"})
      .partition("br-1", "data/a", v1::PARTITION_BUILDING)
      .build("br-1", v1::BUILD_REQUEST_FAILED);
  auto log = memory_log();
  append(*log, s.events());
  const auto view = testing::fold_stream<PartitionStatusView>(s);
  save_checkpoints(*log, 3, view.claim_checkpoints(1));
  EXPECT_TRUE(active(*log, "data/a").empty());
  s.build("br-1", v1::BUILD_REQUEST_EXECUTING);  // a lenient log's reopening
  append(*log, {s.last()});
  EXPECT_EQ(active(*log, "data/a"), (std::vector<std::string>{"br-1"}));
  const ReferenceFold oracle(s.events());
  EXPECT_EQ(active(*log, "data/a"), ids_of(oracle.active_builds("data/a")));
}

TEST(ClaimCheckpointTest, AnswersThatCannotBeReadAreLeftForTheWholeHistory) {
  StreamBuilder s;
  s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a"})
      .partition("br-1", "data/a", v1::PARTITION_BUILDING);
  auto log = memory_log();
  append(*log, s.events());
  storage::Snapshot garbage;
  garbage.view = projections::answers_name(PartitionStatusView::kName);
  garbage.version = PartitionStatusView::kVersion;
  garbage.applied_idx = 2;
  garbage.data = "not answers";
  ASSERT_TRUE(log->save_snapshot(garbage).ok());
  EXPECT_EQ(active(*log, "data/a"), (std::vector<std::string>{"br-1"}));
}

// The backends whose filtered reads the scans run on.
enum class Backend { memory, sqlite, postgres };

class ClaimCheckpointOnEveryBackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  // A fresh empty log of the backend; nullptr (the test skipped) for PostgreSQL without a server.
  std::unique_ptr<storage::Storage> fresh_log() {
    std::string uri = "memory://";
    if (GetParam() == Backend::sqlite) {
      uri = "sqlite://" + dir_.path() + "/log-" + std::to_string(++logs_) + ".db";
    } else if (GetParam() == Backend::postgres) {
      auto pg = testing::fresh_postgres_uri();
      if (!pg) return nullptr;
      uri = *pg;
    }
    auto log = storage::open_storage(uri, {});
    EXPECT_TRUE(log.ok()) << uri << ": " << log.error().to_string();
    return log.ok() ? std::move(*log) : nullptr;
  }

 private:
  testing::TempDir dir_;
  int logs_ = 0;
};

TEST_P(ClaimCheckpointOnEveryBackendTest, EqualsTheReferenceFoldAtEveryLaterPrefixOfRandomStreams) {
  if (GetParam() == Backend::postgres && std::getenv("BEL_TEST_PG") == nullptr) {
    GTEST_SKIP() << "BEL_TEST_PG is not set (run through scripts/with-postgres)";
  }
  int from_checkpoint = 0, reopened = 0, non_empty = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto events =
        with_reopenings(testing::random_stream(seed, testing::few_busy_partitions(600)), seed);
    for (const auto& e : events) reopened += e.event_id().rfind("lenient-", 0) == 0 ? 1 : 0;
    auto log = fresh_log();
    ASSERT_NE(log, nullptr);
    PartitionStatusView view;
    std::map<std::string, int64_t> checkpointed;         // ref -> the idx of its newest checkpoint
    const uint32_t min_events = seed % 2 == 0 ? 1 : 12;  // all partitions, or the busy ones
    for (size_t from = 0; from < events.size(); from += 40) {
      const size_t to = std::min(events.size(), from + 40);
      const std::vector<BuildEvent> chunk(events.begin() + static_cast<long>(from),
                                          events.begin() + static_cast<long>(to));
      append(*log, chunk);
      for (const auto& e : chunk) view.apply(e);
      const std::vector<BuildEvent> prefix(events.begin(), events.begin() + static_cast<long>(to));
      const ReferenceFold oracle(prefix);
      for (const auto& ref : oracle.partition_refs()) {
        const auto want = ids_of(oracle.active_builds(ref));
        EXPECT_EQ(active(*log, ref), want) << ref << " at idx " << to;
        EXPECT_EQ(ids_of(view.active_builds(ref)), want) << ref << " at idx " << to;
        auto at = checkpointed.find(ref);
        if (at != checkpointed.end() && at->second < static_cast<int64_t>(to)) ++from_checkpoint;
        non_empty += want.empty() ? 0 : 1;
      }
      if ((from / 40) % 3 == 1) {  // a checkpoint every third chunk, the scans run on past it
        const auto checkpoints = view.claim_checkpoints(min_events);
        save_checkpoints(*log, view.as_of_idx(), checkpoints);
        checkpointed.clear();
        for (const auto& c : checkpoints) checkpointed[c.partition_ref] = view.as_of_idx();
      }
    }
  }
  EXPECT_GT(reopened, 20) << "too few lenient reopenings to test them";
  EXPECT_GT(from_checkpoint, 100) << "too few answers read past a checkpoint";
  EXPECT_GT(non_empty, 100) << "too few partitions with active builds";
}

INSTANTIATE_TEST_SUITE_P(Backends, ClaimCheckpointOnEveryBackendTest,
                         ::testing::Values(Backend::memory, Backend::sqlite, Backend::postgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           switch (info.param) {
                             case Backend::memory:
                               return "Memory";
                             case Backend::sqlite:
                               return "Sqlite";
                             case Backend::postgres:
                               break;
                           }
                           return "Postgres";
                         });

}  // namespace
}  // namespace bel::actors::checkpoint_scan
