// JobRunsView: a JobRunSummary per job run, the job runs list, and JobMetrics per job label
// (SPEC section 4, "Job runs", "job metrics").
//
//   bel::projections::JobRunsView view;
//   for (const auto& e : events) view.apply(e);     // ascending idx
//   auto run = view.job_run("jr-7");                   // Result: not_found for an unknown id
//   auto m = view.metrics("//jobs:ingest");            // Result: not_found for an unseen label
//   JobMetricsList all = view.all_metrics();           // labels ascending
//
// Definitions (over the events applied so far):
//  - A job run exists from its first JobEvent; that event fixes its job_label, build_request_id
//    and first idx (list order). A JobRunCancelEvent for a run without a JobEvent yet is ignored.
//  - target_partitions: from the first JobEvent that lists any.
//  - status: of the latest JobEvent, or JOB_CANCELLED after a JobRunCancelEvent (keyed by
//    job_run_id alone), whichever came last; or JOB_CANCELLED when, while the run is SCHEDULED or
//    RUNNING, its build request (build_request_id above) reaches a terminal status by a
//    BuildRequestEvent or BuildCancelEvent (SPEC section 4, "In-flight claims end with their
//    owner"): ended_at is that event's timestamp and message says why.
//  - scheduled_at / started_at: timestamp of the first JOB_SCHEDULED / JOB_RUNNING event.
//  - ended_at: timestamp of the event that moved the run from a non-terminal status (or none) to
//    a terminal one (COMPLETED, FAILED, CANCELLED, SKIPPED); 0 while the status is not terminal.
//  - message: the latest non-empty JobEvent message or JobRunCancelEvent reason, or the text
//    of the build request's end that cancelled it.
//  - Metrics per label: total_runs; runs_by_status (name -> count); success_rate = completed /
//    (completed + failed), 0 when both are 0; avg_duration_ns = the mean of (ended_at -
//    started_at) over COMPLETED runs that had a JOB_RUNNING event, truncated toward zero
//    (integer division), 0 when there are none; last_run = the run with the highest first idx.
//
// Not thread-safe; one owner. Pure code: no I/O, no clock, no logging.
#ifndef BEL_PROJECTIONS_JOB_RUNS_VIEW_H_
#define BEL_PROJECTIONS_JOB_RUNS_VIEW_H_

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "messages/error.h"
#include "messages/types.h"
#include "projections/views.h"

namespace bel::projections {

class JobRunsView : public ViewPosition {
 public:
  static constexpr const char* kName = "job_runs";
  static constexpr int kVersion = 2;  // 2: a build's end cancels its open job runs

  // Folds `event` in. REQUIRES (not checked): event.idx() above every idx applied before.
  // Never throws; tolerates invalid events.
  void apply(const BuildEvent& event);

  // not_found, naming the id, for a run without a JobEvent.
  Result<JobRunSummary> job_run(const std::string& job_run_id) const;

  // Newest first by the idx of each run's first event; job_label (exact, "" = any),
  // build_request_id (exact, "" = any) and status_filter (any of) select before offset and limit.
  // invalid_argument for a bad limit or offset.
  Result<JobRunsListResponse> list(const JobRunsListRequest& request) const;

  // not_found for a label no run has.
  Result<JobMetrics> metrics(const std::string& job_label) const;
  // Every label's metrics, labels ascending.
  JobMetricsList all_metrics() const;

  std::string serialize() const;
  static Result<JobRunsView> restore(const std::string& bytes);

 private:
  struct Run {
    std::string job_run_id;
    std::string job_label;
    std::string build_request_id;
    std::vector<std::string> target_partitions;
    JobStatus status = v1::JOB_UNKNOWN;
    bool has_scheduled = false;
    bool has_running = false;
    int64_t scheduled_at = 0;
    int64_t started_at = 0;
    int64_t ended_at = 0;
    std::string message;
    int64_t first_idx = 0;
  };
  struct Label {
    std::vector<uint32_t> runs;  // positions in runs_, ascending first idx
    StatusCounts by_status;
    __int128 duration_sum = 0;   // over COMPLETED runs with a RUNNING event
    int64_t duration_count = 0;
  };

  // Moves run `pos` to `status` at `event` (timestamps and its label's metrics follow).
  void set_status(uint32_t pos, JobStatus status, const BuildEvent& event);
  // Adds (sign 1) or removes (sign -1) the run's share of its label's duration mean.
  void count_duration(const Run& run, Label& label, int sign);
  JobRunSummary to_summary(const Run& run) const;
  JobMetrics to_metrics(const std::string& label, const Label& stats) const;
  // Adds a run; returns its position in runs_.
  uint32_t add_run(Run run);
  // The build request's terminal `event`: its SCHEDULED / RUNNING runs become CANCELLED.
  void cancel_open_runs(const BuildEvent& event);

  std::vector<Run> runs_;                         // ascending first idx
  std::unordered_map<std::string, uint32_t> index_;
  // Build request id -> positions of its runs, ascending. A build's runs are few, so its end
  // looks through them for the open ones.
  std::unordered_map<std::string, std::vector<uint32_t>> by_build_;
  std::map<std::string, Label> labels_;
  StatusCounts by_status_;                        // every run
};

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_JOB_RUNS_VIEW_H_
