// BuildSummaryView: a BuildRequestSummary per build request and the build requests list (SPEC
// section 4, "Build request summary", "List build requests"). BuildSummaryState, the fold of one
// build request's events, is reused by ActivityView for its recent builds.
//
//   bel::projections::BuildSummaryView view;
//   for (const auto& e : events) view.apply(e);          // ascending idx
//   auto summary = view.summary("br-42");                  // Result: not_found for an unknown id
//   auto page = view.list(request);                        // newest first by first_idx
//
// A build request exists from its first event of any type. Its summary is the fold of the
// events carrying its build_request_id (and only those):
//  - status: from the latest BuildRequestEvent or BuildCancelEvent (= CANCELLED, cancel_reason =
//    its reason); BUILD_REQUEST_UNKNOWN before any (possible only in a lenient log or a partial
//    sequence). cancel_reason stays that of the latest BuildCancelEvent.
//  - requested_partitions: from the first BuildRequestEvent that lists any.
//  - created_at / updated_at, first_idx / last_idx: timestamp and idx of its first and last event;
//    event_count: how many events it has.
//  - partitions: one per ref it has a PartitionEvent or DelegationEvent for, in order of first
//    appearance; status = the latest of those (a DelegationEvent = DELEGATED);
//    delegated_to_build_request_id = that of its latest DelegationEvent for the ref, if any.
//  - job_runs_by_status: per job run named by one of its JobEvents, the run's status in this
//    request's events (latest JobEvent, or CANCELLED after a JobRunCancelEvent of this request for
//    a run it already has; CANCELLED when the request reaches a terminal status while the run is
//    SCHEDULED or RUNNING), as status name -> count.
//  - message: the latest non-empty BuildRequestEvent message or BuildCancelEvent reason.
//  - failures: its job runs (as in job_runs_by_status) whose status is FAILED or CANCELLED, newest
//    first by the idx of the event that ended them, ties by job_run_id ascending, at most
//    kMaxFailures; job_label from the run's first JobEvent, partition_refs from its first JobEvent
//    of this request that lists any, message the latest non-empty JobEvent message /
//    JobRunCancelEvent reason, or the text of the build's end that cancelled it.
//
// Not thread-safe; one owner. Pure code: no I/O, no clock, no logging.
#ifndef BEL_PROJECTIONS_BUILD_SUMMARY_VIEW_H_
#define BEL_PROJECTIONS_BUILD_SUMMARY_VIEW_H_

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "messages/error.h"
#include "messages/types.h"
#include "projections/views.h"

namespace bel::snapshots::v1 {
class BuildState;
}

namespace bel::projections {

// The summary of one build request, folded from its own events.
struct BuildSummaryState {
  struct Partition {
    std::string ref;
    PartitionStatus status = v1::PARTITION_UNKNOWN;
    std::string delegated_to_build_request_id;
  };
  struct JobRun {
    JobStatus status = v1::JOB_UNKNOWN;
    std::string job_label;
    std::vector<std::string> target_partitions;
    std::string message;
    int64_t ended_idx = 0;  // the move to a terminal status; 0 while not terminal
  };

  static constexpr int kMaxFailures = 20;

  std::string build_request_id;
  BuildRequestStatus status = v1::BUILD_REQUEST_UNKNOWN;
  std::vector<std::string> requested_partitions;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  int64_t first_idx = 0;
  int64_t last_idx = 0;
  int64_t event_count = 0;
  // Memory: 85k builds of a 1M-event log are kept, so a build's few partitions and job runs
  // sit in vectors searched in place; a hash index is added only past kIndexedFrom partitions.
  static constexpr size_t kIndexedFrom = 16;
  std::vector<Partition> partitions;                       // in order of first appearance
  std::unordered_map<std::string, size_t> partition_pos;   // ref -> index, past kIndexedFrom
  std::vector<std::pair<std::string, JobRun>> job_runs;    // by job run id, in order of first event
  StatusCounts job_runs_by_status;                         // maintained from job_runs
  std::string cancel_reason;
  std::string message;

  // A state for `id` with no event yet.
  explicit BuildSummaryState(std::string id = {}) : build_request_id(std::move(id)) {}

  // Folds `event` in. REQUIRES: event.build_request_id() == build_request_id, ascending idx.
  void apply(const BuildEvent& event);

  // The position of `ref` in partitions, partitions.size() when absent; adds it (last) when
  // `add` is set.
  size_t partition_index(const std::string& ref, bool add);
  // The run `id`, nullptr when absent.
  const JobRun* job_run(const std::string& id) const;
  JobRun* job_run(const std::string& id);

  BuildRequestSummary to_summary(int64_t as_of_idx) const;
  // Appends the failures (see above), newest first, at most kMaxFailures.
  void add_failures(google::protobuf::RepeatedPtrField<BuildFailure>* out) const;

  void to_snapshot(snapshots::v1::BuildState* out) const;
  // storage_corrupt when the snapshot contradicts itself (a ref or job run twice).
  static Result<BuildSummaryState> from_snapshot(const snapshots::v1::BuildState& in);
};

class BuildSummaryView : public ViewPosition {
 public:
  static constexpr const char* kName = "build_summary";
  static constexpr int kVersion = 2;  // 2: a build's end cancels its open job runs

  // Folds `event` in. REQUIRES (not checked): event.idx() above every idx applied before.
  // Never throws; tolerates invalid events.
  void apply(const BuildEvent& event);

  // not_found, naming the id, for a build request without events.
  Result<BuildRequestSummary> summary(const std::string& build_request_id) const;

  // Newest first by first_idx; status_filter (any of) selects before offset and limit.
  // invalid_argument for a bad limit or offset.
  Result<BuildsListResponse> list(const BuildsListRequest& request) const;

  // Build requests by status (UNKNOWN included) and their total.
  const StatusCounts& counts_by_status() const { return counts_; }
  int64_t total() const { return static_cast<int64_t>(builds_.size()); }

  std::string serialize() const;
  static Result<BuildSummaryView> restore(const std::string& bytes);

 private:
  std::vector<BuildSummaryState> builds_;              // ascending first_idx
  std::unordered_map<std::string, size_t> index_;      // id -> position in builds_
  StatusCounts counts_;
};

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_BUILD_SUMMARY_VIEW_H_
