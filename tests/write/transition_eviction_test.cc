// The transition state with a bounded memory: entries dropped by sweep() come back from the source
// on a miss and give the decisions of a state that never dropped anything; the evicted-keys filter
// and the checkpoint codec.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "actors/write/evicted_keys.h"
#include "actors/write/transition_checkpoint.h"
#include "actors/write/transition_rules.h"
#include "tests/support/events.h"

namespace bel::write {
namespace {

using namespace bel::testing;
using namespace bel::v1;

// The committed log as a vector: what a LogSource reads from storage.
class VectorSource final : public TransitionSource {
 public:
  Status events_of_build_request(const std::string& id, std::vector<BuildEvent>& out) override {
    ++reads;
    for (const auto& e : log) {
      if (e.build_request_id() == id) out.push_back(e);
    }
    return ok_status();
  }
  Status events_of_job_run(const std::string& id, std::vector<BuildEvent>& out) override {
    ++reads;
    for (const auto& e : log) {
      if ((e.has_job_event() && e.job_event().job_run_id() == id) ||
          (e.has_job_run_cancel_event() && e.job_run_cancel_event().job_run_id() == id)) {
        out.push_back(e);
      }
    }
    return ok_status();
  }
  std::vector<BuildEvent> log;
  int reads = 0;
};

class FailingSource final : public TransitionSource {
 public:
  Status events_of_build_request(const std::string&, std::vector<BuildEvent>&) override {
    return make_error(ErrorCode::storage_unavailable, "disk gone");
  }
  Status events_of_job_run(const std::string&, std::vector<BuildEvent>&) override {
    return make_error(ErrorCode::storage_unavailable, "disk gone");
  }
};

// Applies `events` to both states and the source's log, committing each; both must agree.
void feed(const std::vector<BuildEvent>& events, TransitionState& bounded, TransitionState& whole,
          VectorSource& source) {
  for (const auto& e : events) {
    ASSERT_TRUE(bounded.apply(e).ok());
    ASSERT_TRUE(whole.apply(e).ok());
    bounded.commit();
    whole.commit();
    source.log.push_back(e);
  }
}

std::vector<BuildEvent> finished_build() {
  return {request_event("br-1", BUILD_REQUEST_RECEIVED, {"data/a"}),
          partition_event("br-1", "data/a", PARTITION_REQUESTED),
          job_event("br-1", "jr-1", "//jobs:a", JOB_SCHEDULED, {"data/a"}),
          partition_event("br-1", "data/a", PARTITION_SCHEDULED, "jr-1"),
          job_event("br-1", "jr-1", "//jobs:a", JOB_RUNNING, {"data/a"}),
          job_event("br-1", "jr-1", "//jobs:a", JOB_COMPLETED, {"data/a"}),
          partition_event("br-1", "data/a", PARTITION_AVAILABLE, "jr-1"),
          request_event("br-1", BUILD_REQUEST_COMPLETED)};
}

TEST(TransitionEvictionTest, SweepDropsFinishedWorkAndAMissReadsItBack) {
  VectorSource source;
  TransitionState bounded(ValidationMode::strict), whole(ValidationMode::strict);
  bounded.set_source(&source);
  bounded.set_sweep_floor(0);
  feed(finished_build(), bounded, whole, source);
  feed({request_event("br-2", BUILD_REQUEST_RECEIVED)}, bounded, whole, source);
  EXPECT_EQ(bounded.maybe_sweep(), 3u);  // br-1, jr-1, (br-1, data/a)
  EXPECT_EQ(bounded.resident(), 1u);     // br-2 is open
  EXPECT_EQ(source.reads, 0);

  // Every late event is judged as by the state that kept everything, with the same message.
  const std::vector<BuildEvent> late = {
      request_event("br-1", BUILD_REQUEST_EXECUTING),
      job_event("br-2", "jr-1", "//jobs:a", JOB_RUNNING),
      partition_event("br-1", "data/a", PARTITION_BUILDING),
  };
  for (const auto& e : late) {
    auto a = bounded.apply(e);
    auto b = whole.apply(e);
    ASSERT_FALSE(b.ok());
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error().code, ErrorCode::invalid_transition);
    EXPECT_EQ(a.error().message, b.error().message);
  }
  EXPECT_EQ(source.reads, 2);  // br-1 (with its partition) once, jr-1 once
  EXPECT_EQ(bounded.build_request_status("br-1"), BUILD_REQUEST_COMPLETED);
  EXPECT_EQ(bounded.job_run_summary("jr-1"), whole.job_run_summary("jr-1"));
  EXPECT_EQ(bounded.partition_status("br-1", "data/a"), PARTITION_AVAILABLE);
}

TEST(TransitionEvictionTest, LenientMissAppliesOnTopOfWhatTheLogHolds) {
  VectorSource source;
  TransitionState bounded(ValidationMode::lenient), whole(ValidationMode::lenient);
  bounded.set_source(&source);
  bounded.set_sweep_floor(0);
  feed(finished_build(), bounded, whole, source);
  bounded.maybe_sweep();
  ASSERT_EQ(bounded.resident(), 0u);
  // Lenient: a status going back is applied with a warning, on the state read back.
  const auto back = job_event("br-1", "jr-1", "//jobs:a", JOB_RUNNING);
  std::vector<std::string> wa, wb;
  ASSERT_TRUE(bounded.apply(back, &wa).ok());
  ASSERT_TRUE(whole.apply(back, &wb).ok());
  EXPECT_EQ(wa, wb);
  ASSERT_EQ(wa.size(), 1u);
  EXPECT_EQ(bounded.job_run_status("jr-1"), JOB_RUNNING);
  EXPECT_EQ(bounded.partition_status("br-1", "data/a"), whole.partition_status("br-1", "data/a"));
}

TEST(TransitionEvictionTest, RolledBackAppliesKeepWhatWasReadBack) {
  VectorSource source;
  TransitionState bounded(ValidationMode::strict);
  bounded.set_source(&source);
  bounded.set_sweep_floor(0);
  TransitionState whole(ValidationMode::strict);
  feed({request_event("br-1", BUILD_REQUEST_RECEIVED),
        job_event("br-1", "jr-1", "//jobs:a", JOB_SCHEDULED),
        job_event("br-1", "jr-1", "//jobs:a", JOB_COMPLETED)},
       bounded, whole, source);
  bounded.maybe_sweep();  // jr-1 is terminal: dropped; br-1 stays
  ASSERT_EQ(bounded.resident(), 1u);
  const auto mark = bounded.mark();
  ASSERT_TRUE(bounded.apply(request_event("br-1", BUILD_REQUEST_PLANNING)).ok());
  EXPECT_FALSE(bounded.apply(job_event("br-1", "jr-1", "//jobs:a", JOB_RUNNING)).ok());
  bounded.rollback(mark);
  EXPECT_EQ(bounded.build_request_status("br-1"), BUILD_REQUEST_RECEIVED);
  EXPECT_EQ(bounded.job_run_status("jr-1"), JOB_COMPLETED);
}

TEST(TransitionEvictionTest, NewKeysCostNoRead) {
  VectorSource source;
  TransitionState bounded(ValidationMode::strict), whole(ValidationMode::strict);
  bounded.set_source(&source);
  bounded.set_sweep_floor(0);
  feed(finished_build(), bounded, whole, source);
  bounded.maybe_sweep();
  for (int i = 0; i < 50; ++i) {
    const std::string br = "new-" + std::to_string(i);
    ASSERT_TRUE(bounded.apply(request_event(br, BUILD_REQUEST_RECEIVED)).ok());
    ASSERT_TRUE(bounded.apply(job_event(br, br + "-job", "//jobs:a", JOB_SCHEDULED)).ok());
  }
  EXPECT_EQ(bounded.source_reads(), 0);  // the filter holds only br-1 and jr-1
}

TEST(TransitionEvictionTest, ASourceErrorIsReturnedInEitherModeAndChangesNothing) {
  for (auto mode : {ValidationMode::strict, ValidationMode::lenient}) {
    VectorSource source;
    TransitionState state(mode), whole(mode);
    state.set_source(&source);
    state.set_sweep_floor(0);
    feed(finished_build(), state, whole, source);
    state.maybe_sweep();
    FailingSource failing;
    state.set_source(&failing);
    auto applied = state.apply(request_event("br-1", BUILD_REQUEST_PLANNING));
    ASSERT_FALSE(applied.ok());
    EXPECT_EQ(applied.error().code, ErrorCode::storage_unavailable);
    EXPECT_EQ(state.journal_size(), 0u);
    state.set_source(&source);
    EXPECT_EQ(state.build_request_status("br-1"), BUILD_REQUEST_COMPLETED);
  }
}

TEST(EvictedKeysTest, NeverForgetsAKeyAndRarelyClaimsANewOne) {
  EvictedKeys keys;
  const int n = 20000;  // several layers
  for (int i = 0; i < n; ++i) keys.add("j", "run-" + std::to_string(i));
  for (int i = 0; i < n; ++i) ASSERT_TRUE(keys.may_contain("j", "run-" + std::to_string(i)));
  int false_positives = 0;
  for (int i = 0; i < n; ++i) false_positives += keys.may_contain("b", "run-" + std::to_string(i));
  // About 0.0035% per full layer, and a probe meets every layer: 2 expected of 20000.
  EXPECT_LT(false_positives, n / 1000);

  std::string bytes;
  keys.encode(bytes);
  EvictedKeys back;
  std::string_view in = bytes;
  ASSERT_TRUE(back.decode(in, EvictedKeys::kFormat));
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(back.keys(), keys.keys());
  for (int i = 0; i < n; i += 97) EXPECT_TRUE(back.may_contain("j", "run-" + std::to_string(i)));
  std::string_view truncated = std::string_view(bytes).substr(0, bytes.size() - 3);
  EXPECT_FALSE(back.decode(truncated, EvictedKeys::kFormat));
}

// Format 1 (checkpoints of earlier bels): layers of 14 bits per key, not recorded. Two layers,
// the first empty, the second full of ones: every word is read and nothing is left over.
TEST(EvictedKeysTest, ReadsFormatOneLayersOfFourteenBitsPerKey) {
  std::string bytes;
  put_varint(bytes, 2);
  for (uint64_t capacity : {4096u, 8192u}) {
    const bool full = capacity == 8192u;
    put_varint(bytes, capacity);
    put_varint(bytes, full ? capacity : 0);
    bytes.append(capacity * 14 / 64 * 8, full ? '\xff' : '\0');
  }
  EvictedKeys keys;
  std::string_view in = bytes;
  ASSERT_TRUE(keys.decode(in, 1));
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(keys.keys(), 8192u);
  EXPECT_EQ(keys.bytes(), (4096u + 8192u) * 14 / 8);
  EXPECT_TRUE(keys.may_contain("j", "anything"));  // the second layer has every bit set

  // Read as format 2, the same bytes are malformed (the first word is taken as bits per key).
  EvictedKeys other;
  std::string_view again = bytes;
  EXPECT_FALSE(other.decode(again, EvictedKeys::kFormat));
}

TEST(TransitionCheckpointTest, RoundTripsAndRefusesCorruptOrOtherVersions) {
  VectorSource source;
  TransitionState state(ValidationMode::lenient), whole(ValidationMode::lenient);
  state.set_source(&source);
  state.set_sweep_floor(0);
  feed(finished_build(), state, whole, source);
  feed({request_event("br-2", BUILD_REQUEST_RECEIVED, {"data/b"}),
        delegation_event("br-2", "data/b", "br-9"),
        job_event("br-2", "jr-2", "//jobs:b", JOB_SCHEDULED)},
       state, whole, source);
  state.maybe_sweep();
  const std::string data = TransitionCheckpoint::encode(state);

  TransitionState restored(ValidationMode::strict);
  restored.set_source(&source);
  ASSERT_TRUE(TransitionCheckpoint::decode(data, restored).ok());
  EXPECT_EQ(restored.mode(), ValidationMode::strict);
  EXPECT_EQ(restored.resident(), state.resident());
  EXPECT_EQ(restored.job_run_summary("jr-2"), whole.job_run_summary("jr-2"));
  EXPECT_EQ(restored.partition_status("br-2", "data/b"), PARTITION_DELEGATED);
  EXPECT_EQ(restored.source_reads(), 0);
  // What was dropped before the checkpoint comes back after it.
  EXPECT_EQ(restored.job_run_summary("jr-1"), whole.job_run_summary("jr-1"));
  EXPECT_EQ(restored.source_reads(), 1);

  std::string flipped = data;
  flipped[flipped.size() / 2] ^= 0x20;
  std::string wrong_magic = data;
  wrong_magic[0] = 'x';
  const std::vector<std::pair<std::string, std::string>> bad = {
      {flipped, "checksum"},
      {wrong_magic, "belTS"},
      {data.substr(0, 7), "checksum"},
      {TransitionCheckpoint::encode_as_version(state, TransitionCheckpoint::kFormat + 1),
       "format version"},
  };
  for (const auto& [bytes, why] : bad) {
    TransitionState target(ValidationMode::strict);
    auto decoded = TransitionCheckpoint::decode(bytes, target);
    ASSERT_FALSE(decoded.ok()) << why;
    EXPECT_EQ(decoded.error().code, ErrorCode::storage_corrupt);
    EXPECT_NE(decoded.error().message.find(why), std::string::npos) << decoded.error().message;
    EXPECT_EQ(target.resident(), 0u);
  }
}

}  // namespace
}  // namespace bel::write
