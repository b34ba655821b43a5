// Not a test: the figures of docs/storage-and-write-path.md, "Write-side checkpoint" (writer open
// time and the heap its transition state holds, on a large log). Disabled; run by hand:
//
//   BEL_MEASURE_LOG=/tmp/m.db BEL_MEASURE_EVENTS=1000000 build-rel/tests/bel_write_tests
//     --gtest_also_run_disabled_tests --gtest_filter='*MeasureWriterOpen*'
//
// The log is generated once (realistic workload, appended straight to the storage) and reused.
#include <gtest/gtest.h>
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "actors/sim/workload.h"
#include "actors/write/log_writer.h"
#include "storage/storage_factory.h"

namespace bel::actors {
namespace {

size_t heap_in_use() { return mallinfo2().uordblks; }

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

sim::WorkloadOptions workload_options() {
  sim::WorkloadOptions o;
  o.seed = 42;
  o.partitions = 100000;
  return o;
}

void generate_log(const std::string& uri, int64_t n) {
  storage::StorageOptions options;
  options.durability_full = false;
  auto log = storage::open_storage(uri, options);
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  auto last = (*log)->last_idx();
  ASSERT_TRUE(last.ok());
  if (*last == n) return;
  ASSERT_EQ(*last, 0) << uri << " holds another log (a run appends to it): remove it";
  sim::Workload workload(workload_options());
  std::vector<BuildEvent> batch;
  for (int64_t done = 0; done < n;) {
    batch.clear();
    workload.next_batch(static_cast<size_t>(std::min<int64_t>(10000, n - done)), batch);
    ASSERT_TRUE((*log)->append_batch(batch).ok());
    done += static_cast<int64_t>(batch.size());
    while ((*log)->unindexed_events() > 0) ASSERT_TRUE((*log)->catch_up_indexes(50000).ok());
  }
}

struct Opened {
  double seconds = 0;
  size_t state_heap = 0;
  std::unique_ptr<LogWriter> writer;
};

Opened open_and_measure(const std::string& uri, LogWriterOptions options) {
  auto log = storage::open_storage(uri, {});
  EXPECT_TRUE(log.ok());
  // Warm SQLite's page cache to its limit first, so the heap delta is the state's.
  int64_t since = 0;
  for (;;) {
    auto page = (*log)->list_events(since, EventFilter(), storage::kMaxListLimit);
    EXPECT_TRUE(page.ok());
    if (!page->has_more()) break;
    since = page->next_idx();
  }
  Opened out;
  const size_t heap_before = heap_in_use();
  const auto start = std::chrono::steady_clock::now();
  auto writer = LogWriter::open(std::move(*log), std::move(options));
  out.seconds = seconds_since(start);
  EXPECT_TRUE(writer.ok());
  out.state_heap = heap_in_use() - heap_before;
  out.writer = std::move(*writer);
  return out;
}

TEST(MeasureWriterOpen, DISABLED_OnALargeLog) {
  const char* path = std::getenv("BEL_MEASURE_LOG");
  ASSERT_NE(path, nullptr) << "set BEL_MEASURE_LOG";
  const char* events = std::getenv("BEL_MEASURE_EVENTS");
  const int64_t n = events != nullptr ? std::atoll(events) : 1000000;
  const std::string uri = std::string("sqlite://") + path;
  auto start = std::chrono::steady_clock::now();
  generate_log(uri, n);
  std::printf("log: %lld events ready in %.1f s\n", static_cast<long long>(n),
              seconds_since(start));

  auto report = [](const char* what, const Opened& o) {
    std::printf(
        "%-44s open %.3f s  replayed %lld  reads %lld  state heap %.1f MB  resident entries %zu  "
        "filter %zu keys %.2f MB  RSS %.0f MB\n",
        what, o.seconds, static_cast<long long>(o.writer->open_report().replayed_events),
        static_cast<long long>(o.writer->transitions().source_reads()), o.state_heap / 1e6,
        o.writer->transitions().resident(), o.writer->transitions().evicted().keys(),
        o.writer->transitions().evicted().bytes() / 1e6, rss_kib() / 1024.0);
  };
  {
    LogWriterOptions before;  // the old algorithm: replay everything, keep everything
    before.use_checkpoint = false;
    before.sweep_floor = SIZE_MAX;
    before.checkpoint_on_close = false;
    report("full replay, nothing dropped (before)", open_and_measure(uri, before));
  }
  {
    LogWriterOptions full;
    full.use_checkpoint = false;
    full.checkpoint_on_close = false;
    report("full replay, finished work dropped", open_and_measure(uri, full));
  }
  {
    {  // a checkpoint from an earlier run would make this open cheap: spoil it
      auto log = storage::open_storage(uri, {});
      ASSERT_TRUE(log.ok());
      ASSERT_TRUE((*log)->save_snapshot({"write.transitions", 1, 0, "spoilt"}).ok());
    }
    LogWriterOptions first;  // writes the checkpoint at the end of its replay
    first.checkpoint_every = 1;
    Opened o = open_and_measure(uri, first);
    report("first open (full replay, then checkpoint)", o);
    auto snap = o.writer->storage().load_snapshot("write.transitions", 1);
    ASSERT_TRUE(snap.ok() && snap->has_value());
    std::printf("checkpoint: %zu bytes at idx %lld\n", (*snap)->data.size(),
                static_cast<long long>((*snap)->applied_idx));
  }
  {
    LogWriterOptions no_close;  // leaves the appends below as the next open's tail
    no_close.checkpoint_on_close = false;
    Opened o = open_and_measure(uri, no_close);
    report("open from the checkpoint (after)", o);
    EXPECT_EQ(o.writer->open_report().replayed_events, 0);

    // Appends after it: how many lookups the filter let through.
    sim::WorkloadOptions more = workload_options();
    more.seed = 43;
    more.id_prefix = "more";
    sim::Workload workload(more);
    std::vector<BuildEvent> batch;
    const auto append_start = std::chrono::steady_clock::now();
    for (int i = 0; i < 200; ++i) {
      batch.clear();
      workload.next_batch(100, batch);
      ASSERT_TRUE(o.writer->stage(batch).ok());
      o.writer->commit();
    }
    std::printf("20000 appends after open: %.2f s, %lld source reads\n",
                seconds_since(append_start),
                static_cast<long long>(o.writer->transitions().source_reads()));
  }
  {
    Opened o = open_and_measure(uri, {});
    report("open from the checkpoint, 20k-event tail", o);
  }
}

}  // namespace
}  // namespace bel::actors
