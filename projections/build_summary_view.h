// BuildSummaryView: a BuildRequestSummary per build request and the build requests list (SPEC
// section 4, "Build request summary", "List build requests"). BuildSummaryState, the fold of one
// build request's events, is reused by ActivityView for its recent builds (RecentBuildSummaries).
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
// Memory (a 1M-event log keeps ~33k builds with ~190k partitions and ~190k job runs): the strings
// are in the view's BuildStrings (build_strings.h): refs, labels, build ids and messages as pool
// ids, kept once however often named; job run ids and messages as plain copies, which need no
// hash table entry. A build costs no allocation per string. It keeps three vectors: its
// partitions, its job runs, and `refs`, the ref ids its requested partitions and each run's
// targets are spans of (each is set once). Its job run counts by status are counted from the runs
// when asked, not kept. Lookups scan these small vectors; a hash index is added only past
// kIndexedFrom entries.
//
// Not thread-safe; one owner. Pure code: no I/O, no clock, no logging.
#ifndef BEL_PROJECTIONS_BUILD_SUMMARY_VIEW_H_
#define BEL_PROJECTIONS_BUILD_SUMMARY_VIEW_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "messages/error.h"
#include "messages/types.h"
#include "projections/build_strings.h"
#include "projections/string_pool.h"
#include "projections/views.h"

namespace bel::snapshots::v1 {
class BuildState;
}

namespace bel::projections {

// The summary of one build request, folded from its own events. Its strings live in a
// BuildStrings the owner keeps and passes to each call (the same one for the state's whole life):
// pool ids, kept run ids and shared messages, draft slots (see JobRun); the id kNone
// stands for the empty string.
struct BuildSummaryState {
  using Id = StringPool::Id;
  static constexpr Id kNone = StringPool::kNone;

  struct Partition {
    Id ref = kNone;
    PartitionStatus status = v1::PARTITION_UNKNOWN;
    Id delegated_to_build_request_id = kNone;
  };
  struct JobRun {
    const char* id_data = nullptr;  // the job run id, kept by BuildStrings::keep()
    // The message. While is_terminal_job_status(status): message_size bytes at message_data, from
    // BuildStrings::share(). Before: message_size is the draft slot holding it (kNone: none).
    const char* message_data = nullptr;
    uint32_t id_size = 0;
    uint32_t message_size = kNone;
    Id job_label = kNone;
    JobStatus status = v1::JOB_UNKNOWN;
    uint32_t targets_begin = 0;  // target_partitions: refs[targets_begin, + targets_count)
    uint32_t targets_count = 0;
    int64_t ended_idx = 0;  // the move to a terminal status; 0 while not terminal

    std::string_view id() const { return {id_data, id_size}; }
    // The message, whichever form it is held in; `strings` the state's.
    std::string_view message(const BuildStrings& strings) const;
  };

  static constexpr int kMaxFailures = 20;
  static constexpr size_t kIndexedFrom = 16;

  Id build_request_id = kNone;
  BuildRequestStatus status = v1::BUILD_REQUEST_UNKNOWN;
  uint32_t requested_begin = 0;  // requested_partitions: refs[requested_begin, + requested_count)
  uint32_t requested_count = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  int64_t first_idx = 0;
  int64_t last_idx = 0;
  int64_t event_count = 0;
  Id cancel_reason = kNone;
  Id message = kNone;
  std::vector<Partition> partitions;  // in order of first appearance
  std::vector<JobRun> job_runs;       // in order of first event
  std::vector<Id> refs;               // the spans above, in the order they were set

  // A state for the build request `id` (a pool id of the owner's strings) with no event yet.
  explicit BuildSummaryState(Id id = kNone) : build_request_id(id) {}

  // Folds `event` in, its strings put in `strings`. REQUIRES: event.build_request_id() is
  // the string of build_request_id; ascending idx.
  void apply(BuildStrings& strings, const BuildEvent& event);

  // The position of `ref` in partitions, partitions.size() when absent; adds it (last) when
  // `add` is set.
  size_t partition_index(Id ref, bool add);
  // The run `id`, nullptr when absent.
  const JobRun* job_run(std::string_view id) const;
  JobRun* job_run(std::string_view id);
  // Adds the run `id` (kept in `strings`), which must be absent, with no event yet.
  JobRun& add_job_run(BuildStrings& strings, std::string_view id);

  BuildRequestSummary to_summary(const BuildStrings& strings, int64_t as_of_idx) const;
  // Appends the failures (see above), newest first, at most kMaxFailures.
  void add_failures(const BuildStrings& strings,
                    google::protobuf::RepeatedPtrField<BuildFailure>* out) const;

  void to_snapshot(const BuildStrings& strings, snapshots::v1::BuildState* out) const;
  // True when to_snapshot() of this state and of `other` (whose strings are `other_strings`)
  // write the same entry.
  bool same_as(const BuildStrings& strings, const BuildSummaryState& other,
               const BuildStrings& other_strings) const;
  // storage_corrupt when the snapshot contradicts itself (a ref or job run twice). Puts the
  // snapshot's strings in `strings`.
  static Result<BuildSummaryState> from_snapshot(BuildStrings& strings,
                                                 const snapshots::v1::BuildState& in);

  // Copies every string of this state from `from` into `to`, for an owner that replaces its
  // strings; afterwards the state's strings are those of `to`.
  void move_strings(const BuildStrings& from, BuildStrings& to);
  // Frees the drafts this state holds in `strings`, for an owner that drops the state and keeps
  // `strings`.
  void free_drafts(BuildStrings& strings) const;

 private:
  // Position by id for a build past kIndexedFrom partitions or job runs; null below (nearly all).
  struct Index {
    std::unordered_map<Id, uint32_t> partitions;
    std::unordered_map<std::string_view, uint32_t> job_runs;
  };
  void index_new_entry(bool partition);
  std::unique_ptr<Index> index_;
};

// ActivityView's recent builds: the summaries of the kRecentCount build requests with the highest
// first_idx, newest first, with the BuildStrings their strings are in. Build requests keep
// passing through, so those strings are rebuilt from the kept summaries once they have grown well
// past what they were after the last rebuild: they stay few, and rebuilds cost O(1) per string.
class RecentBuildSummaries {
 public:
  // A new build request `id`, about to get its first event: the newest. The oldest past
  // kRecentCount is dropped; it never returns, because first_idx never changes.
  void add_newest(std::string_view id);
  // Folds `event` into the summary of its build request when kept; other events are ignored.
  void apply(const BuildEvent& event);

  bool empty() const { return builds_.empty(); }
  size_t size() const { return builds_.size(); }
  // REQUIRES: !empty().
  const BuildSummaryState& oldest() const { return builds_.back(); }
  bool contains(std::string_view id) const;

  // Appends the summaries, newest first.
  void add_summaries(google::protobuf::RepeatedPtrField<BuildRequestSummary>* out,
                     int64_t as_of_idx) const;
  // Writes the summaries, newest first, as the BuildState entries of field `number`.
  void write(int number, SnapshotWriter* out) const;
  // True when write() of these and of `other` write the same entries.
  bool same_as(const RecentBuildSummaries& other) const;

  // A summary read from `in`, its strings interned here, for push_oldest() once the caller has
  // checked it; storage_corrupt as BuildSummaryState::from_snapshot.
  Result<BuildSummaryState> from_snapshot(const snapshots::v1::BuildState& in);
  // Appends `state` (of from_snapshot) as the oldest. REQUIRES: size() < kRecentCount.
  void push_oldest(BuildSummaryState state) { builds_.push_back(std::move(state)); }

 private:
  static constexpr size_t kRebuildAbove = 4096;  // strings held past those after the last rebuild

  BuildStrings strings_;
  size_t held_after_rebuild_ = 0;
  std::deque<BuildSummaryState> builds_;  // newest first
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

  std::string serialize(SnapshotTarget target = {}) const;  // as PartitionStatusView's
  static Result<BuildSummaryView> restore(const std::string& bytes);
  // The same, read once from `in` (snapshot_reader.h): from a stream, never held whole.
  static Result<BuildSummaryView> restore(SnapshotInput& in);
  bool same_state(const BuildSummaryView& other) const;  // as PartitionStatusView's

 private:
  static constexpr uint32_t kNoBuild = StringPool::kNone;

  // The position in builds_ of the build request `id`, kNoBuild when it has none.
  uint32_t position(std::string_view id) const;
  void set_position(StringPool::Id id, uint32_t position);

  BuildStrings strings_;                   // every string of every build
  std::vector<BuildSummaryState> builds_;  // ascending first_idx
  std::vector<uint32_t> index_;            // by pool id: position in builds_, or kNoBuild
  StatusCounts counts_;
};

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_BUILD_SUMMARY_VIEW_H_
