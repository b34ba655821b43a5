// PartitionStatusView: the status of every partition, the build requests actively building each
// one, and the partitions list (SPEC section 4, "Partition status", "Active builds for a
// partition", "List partitions").
//
//   bel::projections::PartitionStatusView view;
//   for (const auto& e : events) view.apply(e);      // ascending idx
//   PartitionStatusResponse s = view.status("data/sales/2024-05-01");
//   auto page = view.list(request);                   // Result: invalid_argument on a bad limit
//   std::string bytes = view.serialize();
//   auto copy = bel::projections::PartitionStatusView::restore(bytes);
//
// Definitions, all from the events applied so far (any ascending-idx sequence, not only a whole
// log):
//  - A partition's status is PartitionStatusFold's (partition_status_fold.h: the latest
//    PartitionEvent or invalidation, with in-flight claims ending with their owner);
//    PARTITION_UNKNOWN when nothing set one.
//  - A build request's own status for a partition is its latest PartitionEvent for that ref (any
//    status) or DelegationEvent for it (= DELEGATED). It is active for the partition while that
//    status is REQUESTED, SCHEDULED or BUILDING and the request is not terminal: its latest
//    BuildRequestEvent / BuildCancelEvent (= CANCELLED) status is COMPLETED, FAILED or CANCELLED.
// Memory: the fold's (partition_status_fold.h); per ref an 8-byte RefState and a 2-byte count of
// its claim events (claim_checkpoints()); per build request its
// status in a vector indexed by the fold's build id; per (request, ref) pair in progress a node
// of the ref's chain. A request's active refs are not kept apart: active_builds() reads the
// ref's chain and skips terminal requests, so a request ending costs nothing here.
//
// Not thread-safe; one owner (the projection actor). Pure code: no I/O, no clock, no logging.
#ifndef BEL_PROJECTIONS_PARTITION_STATUS_VIEW_H_
#define BEL_PROJECTIONS_PARTITION_STATUS_VIEW_H_

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "messages/error.h"
#include "messages/types.h"
#include "projections/partition_status_fold.h"
#include "projections/views.h"

namespace bel::projections {

// A partition with a long history and the build requests whose own latest status for it is in
// progress (claim_checkpoints()).
struct ClaimCheckpoint {
  std::string partition_ref;
  std::vector<std::string> in_progress;  // build request ids, ascending
};

class PartitionStatusView : public ViewPosition {
 public:
  static constexpr const char* kName = "partition_status";
  // 2: in-flight claims end with their owner; 3: each partition's count of claim events
  static constexpr int kVersion = 4;  // 4: job runs the claims rule keeps (ClaimRuns)
  // claim_checkpoints(): the partitions with at least this many claim events, at most this many
  // of them, and at most this many build request ids in all.
  static constexpr uint32_t kCheckpointMinEvents = 256;
  static constexpr size_t kCheckpointMaxRefs = 1024;
  static constexpr size_t kCheckpointMaxIds = 16384;

  // Folds `event` in. REQUIRES (not checked): event.idx() above every idx applied before.
  // Never throws on a valid event; tolerates invalid ones (they fold by the same definitions).
  void apply(const BuildEvent& event);

  // The status of `ref`; a ref without one gets PARTITION_UNKNOWN with only partition_ref and
  // as_of_idx set.
  PartitionStatusResponse status(const std::string& ref) const;

  // The build requests active for `ref`, ascending.
  ActiveBuildsResponse active_builds(const std::string& ref) const;

  // Claim checkpoints, which the stored answers carry (stored_answers.h): for the partitions with
  // the most claim events (PartitionEvents and DelegationEvents folded while the partition had a
  // status), at least `min_events` of them, the build requests whose own latest status for the
  // partition is in progress, terminal requests included (a lenient log may reopen one). With
  // it, a scan for the partition's active builds as of a later idx reads its claim events after
  // as_of_idx() only (ActiveBuildsFromCheckpoint, queries.h), not its whole history. Most claim
  // events first, ties by ref; at most kCheckpointMaxRefs partitions and kCheckpointMaxIds ids
  // (a partition that would pass it is left out).
  std::vector<ClaimCheckpoint> claim_checkpoints(uint32_t min_events = kCheckpointMinEvents) const;

  // Partitions whose status is not UNKNOWN, newest first by last_idx, ties (one event ending
  // several claims) by partition_ref ascending. status_filter (any of) and
  // pattern (a glob, "" = all) select before offset and limit apply; total_count counts every
  // selected partition. invalid_argument for a bad limit, offset or pattern.
  Result<PartitionsListResponse> list(const PartitionsListRequest& request) const;

  // Partitions by status (UNKNOWN never counted) and their total.
  const StatusCounts& counts_by_status() const { return counts_; }
  int64_t total() const { return known_; }

  // The fold behind the statuses, and the refs whose status the last apply() changed (the
  // fold's Changes, in its order): what an ActivityView sharing this view's fold reads
  // (ActivityView::share_fold).
  const PartitionStatusFold& fold() const { return fold_; }
  const std::vector<PartitionStatusFold::Change>& last_changes() const { return changes_; }

  // The whole state; restore(serialize()) answers every query identically, with the same
  // as_of_idx. restore() returns storage_corrupt for bytes it cannot use. `target` (views.h): the
  // bytes returned, room reserved for the size expected; or handed to a function as they are made.
  std::string serialize(SnapshotTarget target = {}) const;
  static Result<PartitionStatusView> restore(const std::string& bytes);
  // The same, read once from `in` (snapshot_reader.h): from a stream, never held whole.
  static Result<PartitionStatusView> restore(SnapshotInput& in);
  // True when serialize() of this view and of `other` would give the same bytes, so that every
  // answer of the two is the same; found without serializing (same_state.cc). `bel check`
  // compares a view restored from its snapshot with the fold from idx 1 this way first.
  bool same_state(const PartitionStatusView& other) const;

 private:
  static constexpr uint32_t kStale = std::numeric_limits<uint32_t>::max();
  static constexpr uint32_t kNoPos = std::numeric_limits<uint32_t>::max();
  static constexpr uint32_t kNil = kNoNode;

  // What the view adds to the fold's slot of the same number.
  struct RefState {
    uint32_t order_pos = kNoPos;  // where this ref sits in order_ while it has a status
    uint32_t in_progress = kNil;  // chain of the requests with this ref in progress
  };
  // A request with a ref in progress: a node of that ref's chain.
  struct Pair {
    uint32_t build;  // the fold's build id
    uint32_t next;   // kNil ends the chain; the next free node when free
  };
  // By the fold's build id; ids the fold named without a request event here are not known.
  struct RequestState {
    BuildRequestStatus status = v1::BUILD_REQUEST_UNKNOWN;
    bool known = false;
  };

  uint32_t slot_of(const std::string& ref);
  // The request's state, created (not known) if new.
  RequestState& request(uint32_t build);
  // Moves slot (whose status was `before`) to the end of order_ and updates the counts.
  void on_status_change(uint32_t slot, PartitionStatus before);
  void set_pair_status(uint32_t build, uint32_t slot, PartitionStatus status);
  // Counts a claim event of `slot`'s ref when the ref has a status (so that the count is part of
  // its snapshot entry).
  void count_claim_event(uint32_t slot);
  uint32_t claim_events(uint32_t slot) const {
    return slot < claim_events_.size() ? claim_events_[slot] : 0;
  }
  // Where the ref's chain names the build (at the pointer), or nullptr.
  uint32_t* find_pair(uint32_t slot, uint32_t build);
  void add_pair(uint32_t slot, uint32_t build);
  void compact_order();

  PartitionStatusFold fold_;
  std::vector<RefState> refs_;                        // by the fold's slot
  std::vector<PartitionStatusFold::Change> changes_;  // scratch for apply()
  // Slots of refs with a status, by ascending last_idx, ties by descending ref (the list order,
  // read backwards). A ref
  // whose status changes is appended again and its old entry set to kStale; compact_order()
  // drops stale entries once they are the majority.
  std::vector<uint32_t> order_;
  size_t stale_ = 0;
  std::vector<Pair> pairs_;
  uint32_t free_pairs_ = kNil;
  std::vector<RequestState> requests_;  // by the fold's build id
  std::vector<uint16_t> claim_events_;  // by the fold's slot, saturating; grown on first count
  StatusCounts counts_;
  int64_t known_ = 0;
};

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_PARTITION_STATUS_VIEW_H_
