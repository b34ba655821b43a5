// ActivityView: the overview of SPEC section 4 "Activity" (ActivityResponse), self-contained so
// that it needs no other view.
//
//   bel::projections::ActivityView view;
//   for (const auto& e : events) view.apply(e);   // ascending idx
//   ActivityResponse a = view.activity();
//
// Definitions (over the events applied so far):
//  - A build request exists from its first event of any type; its status is that of its latest
//    BuildRequestEvent or BuildCancelEvent (= CANCELLED), BUILD_REQUEST_UNKNOWN before any.
//    total_build_requests counts them; build_requests_by_status counts them by status name
//    (UNKNOWN included); active_builds_count counts those whose status is not COMPLETED, FAILED
//    or CANCELLED.
//  - Partition statuses are PartitionStatusFold's, as in PartitionStatusView; total_partitions
//    and partitions_by_status count refs whose status is not UNKNOWN.
//  - recent_builds: the kRecentCount build requests with the highest first_idx, newest first, as
//    full BuildRequestSummary (the same fold as BuildSummaryView). recent_partitions: the
//    kRecentCount partitions with the highest last_idx, newest first, ties (one event ending
//    several claims) by partition_ref ascending.
//  - event_count: the number of events applied.
// Memory: one status per build request id, the partition status fold (none when it shares a
// PartitionStatusView's: share_fold), and the recent entries. Build request ids are its own
// fold's (partition_status_fold.h), so a build's status is a vector entry indexed by that fold's
// build id.
//
// Not thread-safe; one owner. Pure code: no I/O, no clock, no logging.
#ifndef BEL_PROJECTIONS_ACTIVITY_VIEW_H_
#define BEL_PROJECTIONS_ACTIVITY_VIEW_H_

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "messages/error.h"
#include "messages/types.h"
#include "projections/build_summary_view.h"
#include "projections/partition_status_fold.h"
#include "projections/partition_status_view.h"
#include "projections/views.h"

namespace bel::projections {

class ActivityView : public ViewPosition {
 public:
  static constexpr const char* kName = "activity";
  static constexpr int kVersion = 3;  // 2: in-flight claims end with their owner; 3: ClaimRuns

  // Folds `event` in. REQUIRES (not checked): event.idx() above every idx applied before.
  // Never throws; tolerates invalid events.
  void apply(const BuildEvent& event);

  ActivityResponse activity() const;

  // Reads the partition statuses from `partitions` instead of folding them a second time: a
  // rebuild or a check that folds both views folds the statuses once (they are the same fold,
  // partition_status_fold.h). From then on each event goes to partitions->apply() and then,
  // before any other event, to this view's apply(). Shares only while neither view has applied
  // or restored anything (as_of_idx 0 both), and says whether it did; otherwise this view keeps
  // folding on its own. REQUIRES: `partitions` stays where it is and outlives this view's last
  // use (answers, serialize, same_state); moving this view keeps the sharing.
  bool share_fold(const PartitionStatusView* partitions);

  std::string serialize(SnapshotTarget target = {}) const;  // as PartitionStatusView's
  static Result<ActivityView> restore(const std::string& bytes);
  // The same, read once from `in` (snapshot_reader.h): from a stream, never held whole.
  static Result<ActivityView> restore(SnapshotInput& in);
  bool same_state(const ActivityView& other) const;  // as PartitionStatusView's

 private:
  // The build request side of apply(): counts, statuses and the recent builds. `build_id`: the
  // event's build request id in the fold's build_ids().
  void apply_to_build(const BuildEvent& event, uint32_t build_id);
  // A build request's status, by the fold's build id; ids the fold named for events that make
  // no build request here (an operator's invalidation) are not known.
  struct BuildState {
    BuildRequestStatus status = v1::BUILD_REQUEST_UNKNOWN;
    bool known = false;
  };
  // The state of build `id` (a fold build id, or a string interned there), created (not known)
  // if new.
  BuildState& build_state(uint32_t id);
  BuildState& build_state(std::string_view id);
  // The known build request `id`, or nullptr.
  const BuildState* find_build(std::string_view id) const;
  // The build status `id` has reached; BUILD_REQUEST_UNKNOWN when it has none.
  BuildRequestStatus build_status(const std::string& id) const;

  // The fold the partition statuses come from: the shared view's, else this view's own.
  const PartitionStatusFold& fold() const {
    return shared_ != nullptr ? shared_->fold() : own_fold_;
  }

  int64_t event_count_ = 0;
  std::vector<BuildState> builds_;  // by the fold's build id
  int64_t known_builds_ = 0;
  StatusCounts build_counts_;
  // The statuses when no fold is shared; its build ids name the build requests either way.
  PartitionStatusFold own_fold_;
  const PartitionStatusView* shared_ = nullptr;       // share_fold()
  std::vector<PartitionStatusFold::Change> changes_;  // scratch for apply()
  StatusCounts partition_counts_;
  int64_t known_partitions_ = 0;                 // refs whose status is not UNKNOWN
  RecentBuildSummaries recent_builds_;           // newest first
  std::deque<uint32_t> recent_partitions_;       // fold slots, newest first
};

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_ACTIVITY_VIEW_H_
