#include "actors/read/projection_actor.h"

#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <limits>

#include "actors/component_log.h"
#include "projections/activity_view.h"
#include "projections/build_summary_view.h"
#include "projections/job_runs_view.h"
#include "projections/partition_status_view.h"

namespace bel::actors {

namespace detail {
std::shared_ptr<spdlog::logger> view_log() {
  static const ComponentLog logger("view");
  return logger.get();
}

void return_free_memory() {
  // The bel binary's jemalloc keeps freed buffers under its threshold (app/main.cc) for reuse a
  // while: purging every arena (4096: MALLCTL_ARENAS_ALL) returns them now. glibc's malloc_trim
  // would find nothing to return in a process that allocates through jemalloc.
  using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);
  static const auto mallctl = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"));
  if (mallctl != nullptr) {
    mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
    return;
  }
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

caf::error answer_error(const Error& error, const char* name, int64_t applied_idx) {
  if (error.code == ErrorCode::not_found || error.code == ErrorCode::invalid_argument) {
    return to_caf_error(error);
  }
  return to_caf_error(error.with_context(std::string(name) + " view (applied_idx " +
                                         std::to_string(applied_idx) + ")"));
}
}  // namespace detail

int64_t snapshot_due_after(const ViewActorConfig& config, int64_t snapshot_bytes) {
  if (config.snapshot_every_events <= 0) return std::numeric_limits<int64_t>::max();
  int64_t due = config.snapshot_every_events;
  if (config.snapshot_bytes_per_event > 0) {
    due = std::max(due, snapshot_bytes / config.snapshot_bytes_per_event);
  }
  return due;
}

ViewActor spawn_view_actor(caf::actor_system& system, projections::ViewKind kind,
                           const ViewDeps& deps, const ViewActorConfig& config) {
  using projections::ViewKind;
  switch (kind) {
    case ViewKind::partition_status:
      return spawn_projection_actor<projections::PartitionStatusView>(system, deps, config);
    case ViewKind::build_summary:
      return spawn_projection_actor<projections::BuildSummaryView>(system, deps, config);
    case ViewKind::job_runs:
      return spawn_projection_actor<projections::JobRunsView>(system, deps, config);
    case ViewKind::activity:
      break;
  }
  return spawn_projection_actor<projections::ActivityView>(system, deps, config);
}

}  // namespace bel::actors
