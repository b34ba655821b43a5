#include "actors/read/projection_actor.h"

#include "actors/component_log.h"
#include "projections/activity_view.h"
#include "projections/build_summary_view.h"
#include "projections/job_runs_view.h"
#include "projections/partition_status_view.h"

namespace bel::actors {

namespace detail {
std::shared_ptr<spdlog::logger> view_log() {
  static const auto logger = component_log("view");
  return logger;
}
}  // namespace detail

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
