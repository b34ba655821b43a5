// Micro-benchmarks of the pieces under bel's write path (Google Benchmark). `bel bench` measures
// the figures of SPEC section 8; these say where the time of one append goes.
//
//   ./build/bench/bel_micro_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
//
//   BM_SerializeEvent          one workload event to protobuf bytes (what SqliteStorage stores)
//   BM_ParseEvent              those bytes back (what a scan or a view rebuild does per event)
//   BM_ToJson                  one event to its JSON line (the naive design's payload, P3)
//   BM_CheckStructure          write::check_structure of one event (what admitting an append
//                              and `bel check`'s idx contiguity check run per event)
//   BM_TransitionRules         write::TransitionState::apply of one event of a valid stream (the
//                              rules the storage actor's thread runs per append while staging)
//   BM_SqliteAppend/batch:N    Storage::append_batch of N events through storage::open_storage
//                              on a file (WAL, synchronous=FULL): one transaction, one fsync;
//                              event ids UUID-shaped and scattered, as in production
//   BM_SqliteAppendAscendingIds/batch:N   the same with ascending ids ("ev-1", "ev-2", ...):
//                              the difference is the cost of the event_id index's scattered keys
//   BM_GenerateWorkload/mode:M events of the workload generator, streamed (items/s = events/s)
// Events come from the default `bel bench` workload (default_workload(), bench/suites.h). Temporary
// files live in $TMPDIR (or /tmp) and are removed.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "actors/sim/workload.h"
#include "actors/write/event_structure.h"
#include "actors/write/transition_rules.h"
#include "bench/suites.h"
#include "messages/json.h"
#include "messages/status_names.h"
#include "storage/storage_factory.h"

namespace bel::bench {
namespace {

const std::vector<BuildEvent>& sample_events() {
  static const std::vector<BuildEvent> events = [] {
    return sim::generate_events(default_workload(), 4096);
  }();
  return events;
}

void BM_SerializeEvent(benchmark::State& state) {
  const auto& events = sample_events();
  std::string bytes;
  size_t i = 0;
  int64_t total = 0;
  for (auto _ : state) {
    events[i++ % events.size()].SerializeToString(&bytes);
    total += static_cast<int64_t>(bytes.size());
    benchmark::DoNotOptimize(bytes.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(total);
}
BENCHMARK(BM_SerializeEvent);

void BM_ParseEvent(benchmark::State& state) {
  std::vector<std::string> encoded;
  for (const auto& e : sample_events()) encoded.push_back(e.SerializeAsString());
  BuildEvent parsed;
  size_t i = 0;
  int64_t total = 0;
  for (auto _ : state) {
    const std::string& bytes = encoded[i++ % encoded.size()];
    if (!parsed.ParseFromString(bytes)) state.SkipWithError("parse failed");
    total += static_cast<int64_t>(bytes.size());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(total);
}
BENCHMARK(BM_ParseEvent);

void BM_CheckStructure(benchmark::State& state) {
  const auto& events = sample_events();
  size_t i = 0;
  for (auto _ : state) {
    if (!write::check_structure(events[i++ % events.size()]).ok()) {
      state.SkipWithError("an event of the workload failed check_structure");
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CheckStructure);

void BM_TransitionRules(benchmark::State& state) {
  // A valid stream long enough that one pass is many iterations; the state starts afresh at its
  // end (untimed). Committed every 400 events, about P1's group size.
  static const std::vector<BuildEvent> stream = [] {
    auto events = sim::generate_events(default_workload(), 200000);
    for (auto& e : events) fill_status_names(e);
    return events;
  }();
  auto rules = std::make_unique<write::TransitionState>();
  size_t i = 0;
  for (auto _ : state) {
    if (i == stream.size()) {
      state.PauseTiming();
      rules = std::make_unique<write::TransitionState>();
      i = 0;
      state.ResumeTiming();
    }
    if (!rules->apply(stream[i++]).ok()) state.SkipWithError("a workload event was refused");
    if (i % 400 == 0) rules->commit();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TransitionRules);

void BM_ToJson(benchmark::State& state) {
  const auto& events = sample_events();
  size_t i = 0;
  for (auto _ : state) {
    std::string json = to_json(events[i++ % events.size()]);
    benchmark::DoNotOptimize(json.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ToJson);

// The generator's speed: later benchmarks stream 1M- and 10M-event logs from it.
void BM_GenerateWorkload(benchmark::State& state) {
  sim::WorkloadOptions options = default_workload();
  options.mode =
      state.range(0) == 0 ? sim::WorkloadMode::realistic : sim::WorkloadMode::adversarial;
  sim::Workload workload(options);
  int64_t bytes = 0;
  for (auto _ : state) bytes += workload.next().ByteSizeLong();
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GenerateWorkload)->ArgName("mode")->Arg(0)->Arg(1);

// A fresh directory under $TMPDIR or /tmp, removed with this object.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/bel-micro-bench-XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A distinct id per n: UUID-shaped and scattered (what producers send, and what the log assigns),
// or ascending.
std::string event_id(int64_t n, bool scattered) {
  if (!scattered) return "ev-" + std::to_string(n);
  uint64_t x = static_cast<uint64_t>(n) + 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  x ^= x >> 31;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-8000-%012llx",
                static_cast<unsigned long long>(x >> 32),
                static_cast<unsigned long long>((x >> 16) & 0xFFFF),
                static_cast<unsigned long long>(x & 0xFFF), static_cast<unsigned long long>(n));
  return buf;
}

void sqlite_append(benchmark::State& state, bool scattered_ids) {
  const auto batch_size = static_cast<size_t>(state.range(0));
  TempDir dir;
  if (dir.path().empty()) return state.SkipWithError("cannot create a temporary directory");
  auto log = storage::open_storage("sqlite://" + dir.path() + "/bench.db", {});
  if (!log.ok()) return state.SkipWithError(log.error().to_string().c_str());
  const auto& events = sample_events();
  std::vector<BuildEvent> batch(batch_size);
  int64_t n = 0;
  for (auto _ : state) {
    // The storage tier checks nothing but event_id uniqueness: give each event a fresh id.
    for (auto& e : batch) {
      e = events[static_cast<size_t>(n) % events.size()];
      e.set_event_id(event_id(++n, scattered_ids));
    }
    auto idxs = (*log)->append_batch(batch);
    if (!idxs.ok()) return state.SkipWithError(idxs.error().to_string().c_str());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch_size));
}

void BM_SqliteAppend(benchmark::State& state) { sqlite_append(state, true); }
BENCHMARK(BM_SqliteAppend)->ArgName("batch")->Arg(1)->Arg(64)->Arg(1024)->UseRealTime();

void BM_SqliteAppendAscendingIds(benchmark::State& state) { sqlite_append(state, false); }
BENCHMARK(BM_SqliteAppendAscendingIds)->ArgName("batch")->Arg(64)->Arg(1024)->UseRealTime();

}  // namespace
}  // namespace bel::bench

BENCHMARK_MAIN();
