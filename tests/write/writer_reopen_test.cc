// A reopened writer's transition state equals a full replay (issue: write-side state). A writer
// whose state is swept after every commit and reopened at random points (from a checkpoint written
// at random points, or after a close without one) makes every accept/reject decision, warning and
// state answer of a writer that never forgets and never reopens; a corrupt, old-version or
// missing checkpoint falls back to a full replay.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "actors/write/log_writer.h"
#include "actors/write/transition_checkpoint.h"
#include "actors/write/write_checkpoint.h"
#include "storage/storage_factory.h"
#include "tests/support/events.h"
#include "tests/support/random_stream.h"
#include "tests/support/run_command.h"

namespace bel::actors {
namespace {

using namespace bel::testing;
using namespace bel::v1;

std::unique_ptr<LogWriter> open_at(const std::string& uri, LogWriterOptions options) {
  storage::StorageOptions storage_options;
  storage_options.durability_full = false;
  auto log = storage::open_storage(uri, storage_options);
  EXPECT_TRUE(log.ok()) << log.error().to_string();
  auto writer = LogWriter::open(std::move(*log), std::move(options));
  EXPECT_TRUE(writer.ok()) << writer.error().to_string();
  return writer.ok() ? std::move(*writer) : nullptr;
}

// Every key the offered events name, to ask both states about.
struct Keys {
  std::set<std::string> builds, job_runs;
  std::set<std::pair<std::string, std::string>> partitions;

  void note(const BuildEvent& e) {
    builds.insert(e.build_request_id());
    if (e.has_job_event()) job_runs.insert(e.job_event().job_run_id());
    if (e.has_job_run_cancel_event()) job_runs.insert(e.job_run_cancel_event().job_run_id());
    if (e.has_partition_event()) {
      partitions.emplace(e.build_request_id(), e.partition_event().partition_ref().str());
    }
    if (e.has_delegation_event()) {
      partitions.emplace(e.build_request_id(), e.delegation_event().partition_ref().str());
    }
  }
};

void expect_same_state(write::TransitionState& got, write::TransitionState& want, const Keys& keys,
                       const std::string& where) {
  for (const auto& id : keys.builds) {
    ASSERT_EQ(got.build_request_status(id), want.build_request_status(id)) << where << " " << id;
  }
  for (const auto& id : keys.job_runs) {
    ASSERT_EQ(got.job_run_summary(id), want.job_run_summary(id)) << where << " " << id;
  }
  for (const auto& [br, ref] : keys.partitions) {
    ASSERT_EQ(got.partition_status(br, ref), want.partition_status(br, ref))
        << where << " " << br << " " << ref;
  }
}

struct ReopenCase {
  write::ValidationMode mode;
  uint64_t seed;
};

class WriterReopenTest : public ::testing::TestWithParam<ReopenCase> {};

TEST_P(WriterReopenTest, ReopenedWriterDecidesAsAFullReplay) {
  const auto [mode, seed] = GetParam();
  std::mt19937_64 rng(seed);
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };

  sim::WorkloadOptions stream = random_stream_options(seed, {});
  stream.set_idx = false;
  // Events that break the rules: warned about, or rejected with their batch (and a strict log
  // then rejects much of that build request's later events, so fewer of them).
  stream.oddity_rate = mode == write::ValidationMode::strict ? 0.002 : 0.04;
  sim::Workload workload(stream);

  const TempDir dir;
  const std::string uri = "sqlite://" + dir.path() + "/log.db";
  LogWriterOptions subject_options;
  subject_options.now = [] { return int64_t{1}; };
  subject_options.sweep_floor = 0;  // forget finished work after every commit
  auto reopen_options = [&] {
    LogWriterOptions o = subject_options;
    o.checkpoint_every = std::uniform_int_distribution<int64_t>(1, 400)(rng);
    o.checkpoint_on_close = chance(0.5);
    return o;
  };
  auto subject = open_at(uri, reopen_options());
  ASSERT_NE(subject, nullptr);
  ASSERT_TRUE(subject->set_mode(mode).ok());

  LogWriterOptions reference_options;
  reference_options.now = subject_options.now;
  reference_options.sweep_floor = SIZE_MAX;  // never forgets
  auto reference = open_at("memory://", reference_options);
  ASSERT_NE(reference, nullptr);
  ASSERT_TRUE(reference->set_mode(mode).ok());

  Keys keys;
  int reopens = 0, from_checkpoint = 0, rejected = 0, warned = 0;
  int64_t reads = 0;  // of dropped entries, by every subject writer
  for (int step = 0; step < 700; ++step) {
    // One commit of one or two batches, each judged by both writers.
    const int tickets = chance(0.3) ? 2 : 1;
    for (int t = 0; t < tickets; ++t) {
      std::vector<BuildEvent> batch;
      workload.next_batch(std::uniform_int_distribution<size_t>(1, 6)(rng), batch);
      for (const auto& e : batch) keys.note(e);
      std::vector<std::string> got_warnings, want_warnings;
      auto got = subject->stage(batch, &got_warnings);
      auto want = reference->stage(batch, &want_warnings);
      ASSERT_EQ(got.ok(), want.ok()) << "step " << step;
      if (!want.ok()) {
        ASSERT_EQ(got.error().to_string(), want.error().to_string());
        ++rejected;
      }
      ASSERT_EQ(got_warnings, want_warnings);
      warned += !want_warnings.empty();
    }
    auto got = subject->commit();
    auto want = reference->commit();
    ASSERT_EQ(got.committed.size(), want.committed.size());
    ASSERT_EQ(subject->last_idx(), reference->last_idx());

    if (chance(0.02)) {
      ASSERT_TRUE(subject->write_checkpoint().ok());
    }
    if (chance(0.04)) {
      reads += subject->transitions().source_reads();
      subject.reset();
      subject = open_at(uri, reopen_options());
      ASSERT_NE(subject, nullptr);
      ++reopens;
      const auto& report = subject->open_report();
      from_checkpoint += report.checkpoint_idx > 0;
      EXPECT_EQ(report.checkpoint_idx + report.replayed_events, subject->last_idx());
      expect_same_state(subject->transitions(), reference->transitions(), keys,
                        "after reopen at step " + std::to_string(step));
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  EXPECT_GT(reopens, 5);
  EXPECT_GT(from_checkpoint, 0);
  EXPECT_GT(rejected + warned, 0);
  reads += subject->transitions().source_reads();
  EXPECT_GT(reads, 0);  // misses were read back

  // And a writer that replays the whole log agrees too.
  subject.reset();
  LogWriterOptions full = subject_options;
  full.use_checkpoint = false;
  auto replayed = open_at(uri, full);
  ASSERT_NE(replayed, nullptr);
  EXPECT_EQ(replayed->open_report().replayed_events, replayed->last_idx());
  expect_same_state(replayed->transitions(), reference->transitions(), keys, "full replay");
}

INSTANTIATE_TEST_SUITE_P(Streams, WriterReopenTest,
                         ::testing::Values(ReopenCase{write::ValidationMode::strict, 11},
                                           ReopenCase{write::ValidationMode::strict, 12},
                                           ReopenCase{write::ValidationMode::lenient, 13},
                                           ReopenCase{write::ValidationMode::lenient, 14}),
                         [](const ::testing::TestParamInfo<ReopenCase>& info) {
                           return std::string(write::to_string(info.param.mode)) +
                                  std::to_string(info.param.seed);
                         });

// A log of finished and open work, written by a writer that checkpointed at its close.
class CheckpointFallbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uri_ = "sqlite://" + dir_.path() + "/log.db";
    auto w = open_at(uri_, {});
    ASSERT_NE(w, nullptr);
    auto t = w->stage({request_event("br-1", BUILD_REQUEST_RECEIVED, {"data/a"}),
                       partition_event("br-1", "data/a", PARTITION_REQUESTED),
                       request_event("br-1", BUILD_REQUEST_COMPLETED),
                       request_event("br-2", BUILD_REQUEST_RECEIVED)});
    ASSERT_TRUE(t.ok());
    w->commit();
  }

  // Replaces the stored checkpoint's bytes (and idx).
  void store(const std::string& data, int64_t idx, int version) {
    auto log = storage::open_storage(uri_, {});
    ASSERT_TRUE(log.ok());
    storage::Snapshot s{write::TransitionCheckpoint::kName, version, idx, data};
    ASSERT_TRUE((*log)->save_snapshot(s).ok());
  }
  std::string stored() {
    auto log = storage::open_storage(uri_, {});
    auto s = (*log)->load_snapshot(write::TransitionCheckpoint::kName,
                                   write::TransitionCheckpoint::kVersion);
    EXPECT_TRUE(s.ok() && s->has_value());
    return (*s)->data;
  }

  // Opens and checks the state and one decision of each kind against the log.
  void expect_full_replay(const std::string& why) {
    auto w = open_at(uri_, {});
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->open_report().checkpoint_idx, 0);
    EXPECT_EQ(w->open_report().replayed_events, 4);
    EXPECT_NE(w->open_report().fallback_reason.find(why), std::string::npos)
        << w->open_report().fallback_reason;
    EXPECT_EQ(w->transitions().build_request_status("br-1"), BUILD_REQUEST_COMPLETED);
    EXPECT_EQ(w->transitions().partition_status("br-1", "data/a"), PARTITION_REQUESTED);
    EXPECT_FALSE(w->stage({request_event("br-1", BUILD_REQUEST_PLANNING)}).ok());
    EXPECT_TRUE(w->stage({request_event("br-2", BUILD_REQUEST_PLANNING)}).ok());
  }

  TempDir dir_;
  std::string uri_;
};

TEST_F(CheckpointFallbackTest, OpenRestoresTheCheckpointAndReplaysNothing) {
  auto w = open_at(uri_, {});
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->open_report().checkpoint_idx, 4);
  EXPECT_EQ(w->open_report().replayed_events, 0);
  EXPECT_EQ(w->open_report().fallback_reason, "");
  EXPECT_FALSE(w->stage({request_event("br-1", BUILD_REQUEST_PLANNING)}).ok());
  EXPECT_TRUE(w->stage({request_event("br-2", BUILD_REQUEST_PLANNING)}).ok());
}

TEST_F(CheckpointFallbackTest, CorruptCheckpointFallsBackToAFullReplay) {
  std::string data = stored();
  data[data.size() - 1] ^= 0x01;
  store(data, 4, write::TransitionCheckpoint::kVersion);
  expect_full_replay("checksum");
}

TEST_F(CheckpointFallbackTest, OldFormatVersionFallsBackToAFullReplay) {
  write::TransitionState empty;
  store(write::TransitionCheckpoint::encode_as_version(empty, 0), 4,
        write::TransitionCheckpoint::kVersion);
  expect_full_replay("format version 0");
}

TEST_F(CheckpointFallbackTest, CheckpointAheadOfTheLogFallsBackToAFullReplay) {
  store(stored(), 99, write::TransitionCheckpoint::kVersion);
  expect_full_replay("past the log's last idx 4");
}

TEST_F(CheckpointFallbackTest, ACheckpointOfAnotherVersionIsNotRead) {
  // Only the version this bel writes is read: a newer one is as good as missing.
  const std::string data = stored();
  store(data, 4, write::TransitionCheckpoint::kVersion + 1);
  store("garbage", 4, write::TransitionCheckpoint::kVersion);
  expect_full_replay("does not start with belTS");
}

// A read of a dropped key scans the log's unindexed tail event by event, and a writer alone (a
// generated log, no storage actor) never indexes otherwise: every such read would cost a pass over
// everything written since the writer opened. A read therefore indexes a long tail first, and
// leaves a short one to the storage actor's indexer.
TEST(WriterReadBackTest, ReadingADroppedKeyIndexesOnlyALongUnindexedTail) {
  const TempDir dir;
  LogWriterOptions options;
  options.sweep_floor = 0;  // br-done is dropped at its commit
  options.use_checkpoint = false;
  auto w = open_at("sqlite://" + dir.path() + "/log.db", options);
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->stage({request_event("br-done", BUILD_REQUEST_RECEIVED),
                        request_event("br-done", BUILD_REQUEST_COMPLETED)})
                  .ok());
  ASSERT_EQ(w->commit().committed.size(), 2u);
  auto append_open_requests = [&](int from, int n) {
    std::vector<BuildEvent> batch;
    for (int i = from; i < from + n; ++i) {
      batch.push_back(request_event("br-open-" + std::to_string(i), BUILD_REQUEST_RECEIVED));
    }
    ASSERT_TRUE(w->stage(std::move(batch)).ok());
    ASSERT_EQ(w->commit().committed.size(), static_cast<size_t>(n));
  };
  auto expect_terminal = [&] {
    auto again = w->stage({request_event("br-done", BUILD_REQUEST_EXECUTING)});
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.error().message.find("BUILD_REQUEST_COMPLETED -> BUILD_REQUEST_EXECUTING"),
              std::string::npos)
        << again.error().message;
  };

  append_open_requests(0, 100);
  const int64_t short_tail = w->storage().unindexed_events();
  ASSERT_GT(short_tail, 0);
  ASSERT_LE(short_tail, LogSource::kMaxScannedTail);
  expect_terminal();  // read back from the log, by scanning the short tail
  EXPECT_EQ(w->transitions().source_reads(), 1);
  EXPECT_EQ(w->storage().unindexed_events(), short_tail);

  append_open_requests(100, static_cast<int>(LogSource::kMaxScannedTail));
  ASSERT_GT(w->storage().unindexed_events(), LogSource::kMaxScannedTail);
  expect_terminal();  // the long tail is indexed, then read through the index
  EXPECT_EQ(w->transitions().source_reads(), 2);
  EXPECT_EQ(w->storage().unindexed_events(), 0);
  EXPECT_EQ(w->last_idx(), 2 + 100 + LogSource::kMaxScannedTail);
}

}  // namespace
}  // namespace bel::actors
