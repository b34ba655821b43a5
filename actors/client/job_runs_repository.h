// bel::actors::JobRunsRepository: the questions and the one command about job runs that the
// console (`bel job-runs ...`), the coordinator and build workers use — list, show, events and
// cancel — over an ApiClient.
//
//   bel::actors::ApiClient client(system, api);
//   bel::actors::JobRunsRepository runs(client);
//   auto ack = runs.cancel("jr-12", "worker lost", scheduled_ack.idx());
//   if (!ack.ok()) return ack.error();          // not_found, invalid_transition, ...
//   auto run = runs.show("jr-12", ack->idx());   // run->status_code() == JOB_CANCELLED
//
// list, show and events are KeyedRepository's (repository.h: min_idx, argument checks,
// errors), keyed by job_run_id; a list request may name one job label and some statuses.
#ifndef BEL_ACTORS_CLIENT_JOB_RUNS_REPOSITORY_H_
#define BEL_ACTORS_CLIENT_JOB_RUNS_REPOSITORY_H_

#include <cstdint>
#include <string>

#include "actors/client/api_client.h"
#include "actors/client/command_events.h"
#include "actors/client/repository.h"
#include "messages/error.h"
#include "messages/types.h"

namespace bel::actors {

// The questions of JobRunsRepository's list, show (a job run's summary) and events.
struct JobRunsQuestions {
  static constexpr auto kList = &Query::mutable_job_runs_list;
  static constexpr auto kListAnswer = &QueryResult::mutable_job_runs_list;
  static constexpr std::string* (EventFilter::*kEventsKey)() = &EventFilter::add_job_run_ids;
  static constexpr auto kShow = &Query::mutable_job_run;
  static constexpr auto kShowKey = &JobRunRequest::mutable_job_run_id;
  static constexpr auto kShowAnswer = &QueryResult::mutable_job_run;
};

class JobRunsRepository : public KeyedRepository<JobRunsQuestions> {
 public:
  using KeyedRepository::KeyedRepository;

  // Looks the run up (reflecting at least `min_idx`) for its build request, then appends a
  // JobRunCancelEvent: the run becomes JOB_CANCELLED with `reason` as its message, as seen by
  // reads with min_idx = the ack's idx. not_found for a run unknown to the lookup (pass the idx
  // of the run's own last write when it is fresh). The log rejects cancelling a terminal run, or
  // a run of a terminal build request, with invalid_transition and stores nothing. Pass a fixed
  // `event_id` to retry safely: a retry of the same call is acked with the first append's idx
  // and duplicate = true, even though the run is cancelled by then.
  Result<AppendAck> cancel(const std::string& job_run_id, const std::string& reason,
                           int64_t min_idx = 0, const std::string& event_id = "") const;
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_CLIENT_JOB_RUNS_REPOSITORY_H_
