#include "actors/client/job_runs_repository.h"

#include <utility>

#include "messages/status_names.h"
#include "projections/queries.h"

namespace bel::actors {

Result<BuildEvent> make_job_run_cancel_event(const std::string& build_request_id,
                                             const std::string& job_run_id,
                                             const std::string& reason,
                                             const std::string& event_id) {
  BEL_RETURN_IF_ERROR(projections::check_required("build_request_id", build_request_id));
  BEL_RETURN_IF_ERROR(projections::check_required("job_run_id", job_run_id));
  BEL_RETURN_IF_ERROR(projections::check_required("reason", reason));
  BuildEvent event;
  event.set_event_id(event_id);
  event.set_build_request_id(build_request_id);
  auto* cancel = event.mutable_job_run_cancel_event();
  cancel->set_job_run_id(job_run_id);
  cancel->set_reason(reason);
  return event;
}

Result<JobRunsListResponse> JobRunsRepository::list(const JobRunsListRequest& request,
                                                    int64_t min_idx) const {
  return api_.ask_for(&Query::mutable_job_runs_list, request, min_idx,
                      &QueryResult::mutable_job_runs_list);
}

Result<JobRunSummary> JobRunsRepository::show(const std::string& job_run_id,
                                              int64_t min_idx) const {
  Query query;
  query.mutable_job_run()->set_job_run_id(job_run_id);
  return api_.ask_for(std::move(query), min_idx, &QueryResult::mutable_job_run);
}

Result<EventPage> JobRunsRepository::events(const std::string& job_run_id, int64_t since_idx,
                                            int limit, int64_t min_idx) const {
  EventFilter filter;  // ApiClient::list_events checks the id
  filter.add_job_run_ids(job_run_id);
  return api_.events_page(std::move(filter), since_idx, limit, min_idx);
}

Result<AppendAck> JobRunsRepository::cancel(const std::string& job_run_id,
                                            const std::string& reason, int64_t min_idx,
                                            const std::string& event_id) const {
  // The reason is checked before the lookup (which checks the id and min_idx itself), so bad
  // input never costs a round trip.
  BEL_RETURN_IF_ERROR(projections::check_required("reason", reason));
  auto run = show(job_run_id, min_idx);
  if (!run.ok()) return run.error();
  auto event = make_job_run_cancel_event(run->build_request_id(), job_run_id, reason, event_id);
  if (!event.ok()) return event.error();
  auto ack = api_.append(std::move(*event));
  if (ack.ok() || ack.error().code != ErrorCode::invalid_transition) return ack;
  // The rules' message speaks of transitions; say what the operator needs: the run had ended.
  auto stats = api_.stats();
  auto now = show(job_run_id, stats.ok() ? stats->last_idx() : min_idx);
  if (now.ok() && is_terminal_job_status(now->status_code())) {
    return Error{ErrorCode::invalid_transition, "job run " + job_run_id + " already " +
                                                    short_status_name(now->status_name()) +
                                                    "; nothing was changed"};
  }
  return ack;
}

}  // namespace bel::actors
