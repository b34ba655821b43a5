// What one view costs on a log: folds every event of the log into a fresh view of one kind and
// prints the fold's CPU per event (the page reads excluded), the heap the view holds afterwards
// and its snapshot's size and serialize time. Where P5's, P8's and P11's figures come from, one
// view at a time (docs/performance.md, "Compact view state").
//
//   ./build-rel/bench/bel_view_fold sqlite:///var/logs/bel.db build_summary
//   (views: partition_status, build_summary, job_runs, activity; the log is opened read-only)
//
// The heap figure is glibc's (mallinfo2: in use, small and mapped blocks) after the fold minus
// before, so it counts the view and nothing the pages left behind (they live on an arena).
#include <malloc.h>

#include <cstdio>
#include <string>

#include "bench/machine.h"
#include "projections/activity_view.h"
#include "projections/build_summary_view.h"
#include "projections/job_runs_view.h"
#include "projections/partition_status_view.h"
#include "storage/event_page_arena.h"
#include "storage/storage_factory.h"

namespace {

using namespace bel;

size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

template <class View>
int fold(storage::Storage& log) {
  storage::PageArena arena;
  const size_t heap_before = heap_in_use();
  View view;
  double cpu = 0;
  int64_t events = 0;
  for (int64_t since = 0;;) {
    EventPage* page = arena.fresh();
    if (auto read =
            log.list_events_into(since, EventFilter(), 1000, page, storage::EventDetail::views);
        !read.ok()) {
      std::fprintf(stderr, "bel_view_fold: %s\n", read.error().to_string().c_str());
      return 1;
    }
    const double start = bench::thread_cpu_seconds();
    for (const auto& event : page->events()) view.apply(event);
    cpu += bench::thread_cpu_seconds() - start;
    events += page->events_size();
    if (!page->has_more() || page->next_idx() == since) break;
    since = page->next_idx();
  }
  const double held_mb = (static_cast<double>(heap_in_use()) - heap_before) / 1e6;
  const double serialize_start = bench::thread_cpu_seconds();
  const std::string bytes = view.serialize();
  const double serialize = bench::thread_cpu_seconds() - serialize_start;
  std::printf(
      "%s: %lld events, fold %.3f us/event (%.2f s of CPU), heap held %.1f MB, "
      "snapshot %.1f MB serialized in %.2f s\n",
      View::kName, static_cast<long long>(events), events > 0 ? cpu * 1e6 / events : 0.0, cpu,
      held_mb, bytes.size() / 1e6, serialize);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string kinds = "partition_status, build_summary, job_runs or activity";
  if (argc != 3) {
    std::fprintf(
        stderr,
        "usage: bel_view_fold LOG_URI VIEW\n  LOG_URI: sqlite:///path.db, ...\n  VIEW: %s\n",
        kinds.c_str());
    return 2;
  }
  storage::StorageOptions options;
  options.read_only = true;
  auto log = storage::open_storage(argv[1], options);
  if (!log.ok()) {
    std::fprintf(stderr, "bel_view_fold: %s\n", log.error().to_string().c_str());
    return 1;
  }
  const std::string view = argv[2];
  if (view == projections::PartitionStatusView::kName) {
    return fold<projections::PartitionStatusView>(**log);
  }
  if (view == projections::BuildSummaryView::kName)
    return fold<projections::BuildSummaryView>(**log);
  if (view == projections::JobRunsView::kName) return fold<projections::JobRunsView>(**log);
  if (view == projections::ActivityView::kName) return fold<projections::ActivityView>(**log);
  std::fprintf(stderr, "bel_view_fold: unknown view '%s' (%s)\n", view.c_str(), kinds.c_str());
  return 2;
}
