// ReferenceFold: the test oracle for the query views. It answers every SPEC section 4 query
// straight from a list of events by rescanning them, written plainly from the SPEC text (and the
// decisions recorded in docs/) and sharing no code with projections/. Slow on purpose; only for
// tests.
//
//   bel::testing::ReferenceFold oracle(events);          // events: ascending idx, kept by reference
//   PartitionStatusResponse want = oracle.partition_status("data/sales/2024-05-01");
//   EXPECT_TRUE(MessageDifferencer::Equals(want, view.status("data/sales/2024-05-01")));
//   Result<QueryResult> any = oracle.answer(query);      // any Query, as the query tier answers
//
// The events may be any ascending-idx sequence (a whole log, a prefix, a filtered subset, or a
// lenient log with invalid transitions); each answer is defined over exactly these events.
#ifndef BEL_TESTS_SUPPORT_REFERENCE_FOLD_H_
#define BEL_TESTS_SUPPORT_REFERENCE_FOLD_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "messages/error.h"
#include "messages/types.h"

namespace bel::testing {

class ReferenceFold {
 public:
  // Keeps a reference to `events`, which must outlive this object and not change.
  explicit ReferenceFold(const std::vector<BuildEvent>& events);

  // The idx of the last event, 0 when there are none.
  int64_t as_of_idx() const;

  PartitionStatusResponse partition_status(const std::string& ref) const;
  ActiveBuildsResponse active_builds(const std::string& ref) const;
  Result<PartitionsListResponse> list_partitions(const PartitionsListRequest& request) const;

  Result<BuildRequestSummary> build_summary(const std::string& build_request_id) const;
  Result<BuildsListResponse> list_builds(const BuildsListRequest& request) const;

  Result<JobRunSummary> job_run(const std::string& job_run_id) const;
  Result<JobRunsListResponse> list_job_runs(const JobRunsListRequest& request) const;
  Result<JobMetrics> job_metrics(const std::string& job_label) const;
  JobMetricsList all_job_metrics() const;

  ActivityResponse activity() const;

  // The answer to any Query of SPEC section 4, from the events: the per-question method above
  // that the query's question names, in the QueryResult field named like it
  // (query.build_summary -> result.build_summary), with that method's errors (not_found,
  // invalid_argument for a bad limit, offset or pattern, ...). A query with no question set is
  // invalid_argument. The query's min_idx is ignored: the answer reflects exactly these events.
  Result<QueryResult> answer(const Query& query) const;

  // What the events name, ascending, for enumerating queries: every partition ref named anywhere
  // (SPEC 3.2), build request id, job run id (JobEvent or JobRunCancelEvent) and job label.
  std::vector<std::string> partition_refs() const;
  std::vector<std::string> build_request_ids() const;
  std::vector<std::string> job_run_ids() const;
  std::vector<std::string> job_labels() const;

 private:
  using Bucket = std::vector<const BuildEvent*>;

  BuildRequestStatus build_status(const std::string& id) const;
  // Every partition's status after the last event: the claims rule needs the whole history, so
  // it is replayed once, event by event, in the constructor.
  void replay_partition_statuses();
  // Whether a claim made at `since` by `build` naming `job` ("" = none) is not live at `upto`
  // (inclusive): the job had ended FAILED or CANCELLED at `since` (its status as job_run()
  // gives it), or after `since` came a terminal event of the build or an end of the job
  // (FAILED, CANCELLED, a JobRunCancelEvent, or its build request's end while it was open).
  bool claim_ended(const std::string& build, const std::string& job, int64_t since,
                   int64_t upto) const;
  // Whether `e`, a terminal event of a build request, cancels job run `job` (it is that run's
  // build request and the run is SCHEDULED or RUNNING just before e).
  bool cancels_open_run(const BuildEvent& e, const std::string& job) const;
  // The run's events from its first JobEvent on and, after that, its build request's terminal
  // events, in idx order; empty when it has no JobEvent.
  std::vector<const BuildEvent*> run_timeline(const std::string& job_run_id) const;
  // The run's status after its events up to `upto` (UNKNOWN before its first JobEvent).
  JobStatus run_status_at(const std::string& job_run_id, int64_t upto) const;
  std::vector<std::string> runs_with_job_event() const;
  const Bucket& bucket(const std::map<std::string, Bucket>& m, const std::string& key) const;

  const std::vector<BuildEvent>& events_;
  // The events of each build request id, of each job run id (JobEvent, JobRunCancelEvent), and
  // of each partition ref (PartitionEvent, DelegationEvent, PartitionInvalidationEvent), in order.
  std::map<std::string, Bucket> by_build_;
  std::map<std::string, Bucket> by_run_;
  std::map<std::string, Bucket> by_ref_;
  std::map<std::string, PartitionStatusResponse> statuses_;  // refs with a status
};

}  // namespace bel::testing

#endif  // BEL_TESTS_SUPPORT_REFERENCE_FOLD_H_
