#include "actors/client/job_runs_repository.h"

#include <optional>
#include <utility>

#include "messages/status_names.h"
#include "projections/queries.h"

namespace bel::actors {

Result<AppendAck> JobRunsRepository::cancel(const std::string& job_run_id,
                                            const std::string& reason, int64_t min_idx,
                                            const std::string& event_id) const {
  // The reason is checked before the lookup (which checks the id and min_idx itself), so bad
  // input never costs a round trip.
  BEL_RETURN_IF_ERROR(projections::check_required("reason", reason));
  auto run = show(job_run_id, min_idx);
  if (!run.ok() && run.error().code == ErrorCode::not_found) {
    return Error{ErrorCode::not_found, run.error().message + "; nothing was changed"};
  }
  if (!run.ok()) return run.error();
  auto event = make_job_run_cancel_event(run->build_request_id(), job_run_id, reason, event_id);
  if (!event.ok()) return event.error();
  return append_unless_ended(std::move(*event), job_run_id, min_idx,
                             [&](const JobRunSummary& now) -> std::optional<std::string> {
                               if (!is_terminal_job_status(now.status_code())) return std::nullopt;
                               return "job run " + job_run_id + " already " +
                                      short_status_name(now.status_name());
                             });
}

}  // namespace bel::actors
