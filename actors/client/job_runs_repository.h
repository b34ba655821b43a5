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
// Every read takes an optional `min_idx` (read-your-writes, SPEC section 4): the answer reflects
// at least that idx; pass the idx of an ack to see your own write. 0 asks for no particular idx.
// Every method checks its arguments first and fails with invalid_argument naming the field
// ("job_run_id is empty", "min_idx -1 is negative"); other errors are the ApiClient's.
//
// Thread-safe as its ApiClient. Does not own the client, which must outlive it.
#ifndef BEL_ACTORS_CLIENT_JOB_RUNS_REPOSITORY_H_
#define BEL_ACTORS_CLIENT_JOB_RUNS_REPOSITORY_H_

#include <cstdint>
#include <string>

#include "actors/client/api_client.h"
#include "messages/error.h"
#include "messages/types.h"

namespace bel::actors {

// The event that cancels job run `job_run_id` of build request `build_request_id` (the run's
// own: the log rejects any other) with `reason`. event_id empty lets the log assign one;
// timestamp 0 lets the log assign "now". invalid_argument, naming the field, for an empty
// build_request_id, job_run_id or reason.
Result<BuildEvent> make_job_run_cancel_event(const std::string& build_request_id,
                                             const std::string& job_run_id,
                                             const std::string& reason,
                                             const std::string& event_id = "");

class JobRunsRepository {
 public:
  explicit JobRunsRepository(ApiClient& api) : api_(api) {}

  // One page of job runs (SPEC section 4), optionally of one job label and some statuses.
  // request.limit 0 means 50; a bad limit, offset or status is invalid_argument. The answer
  // reflects at least the larger of `min_idx` and request.min_idx.
  Result<JobRunsListResponse> list(const JobRunsListRequest& request, int64_t min_idx = 0) const;

  // The job run's summary. not_found for a run the log (as of the answer) has never seen; a
  // caller that just wrote the run should pass its ack's idx as `min_idx`.
  Result<JobRunSummary> show(const std::string& job_run_id, int64_t min_idx = 0) const;

  // Up to `limit` events of the job run with idx > `since_idx`, ascending; continue from
  // next_idx while has_more. limit 0 means 1000; the maximum is 10000. An unknown id is not an
  // error: an empty page. The page reads the log itself, which holds every acknowledged event,
  // so it always reflects `min_idx` (checked only: a negative value is invalid_argument).
  Result<EventPage> events(const std::string& job_run_id, int64_t since_idx = 0, int limit = 0,
                           int64_t min_idx = 0) const;

  // Looks the run up (reflecting at least `min_idx`) for its build request, then appends a
  // JobRunCancelEvent: the run becomes JOB_CANCELLED with `reason` as its message, as seen by
  // reads with min_idx = the ack's idx. not_found for a run unknown to the lookup (pass the idx
  // of the run's own last write when it is fresh). The log rejects cancelling a terminal run, or
  // a run of a terminal build request, with invalid_transition and stores nothing. Pass a fixed
  // `event_id` to retry safely: a retry of the same call is acked with the first append's idx
  // and duplicate = true, even though the run is cancelled by then.
  Result<AppendAck> cancel(const std::string& job_run_id, const std::string& reason,
                           int64_t min_idx = 0, const std::string& event_id = "") const;

 private:
  ApiClient& api_;
};

}  // namespace bel::actors

#endif  // BEL_ACTORS_CLIENT_JOB_RUNS_REPOSITORY_H_
