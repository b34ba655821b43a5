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
//  - A partition's status comes from its latest PartitionEvent whose status is neither DELEGATED
//    nor UNKNOWN, or its latest PartitionInvalidationEvent (PARTITION_INVALIDATED, message =
//    reason, no job_run_id), whichever has the higher idx. Otherwise it is PARTITION_UNKNOWN.
//  - A build request's own status for a partition is its latest PartitionEvent for that ref (any
//    status) or DelegationEvent for it (= DELEGATED). It is active for the partition while that
//    status is REQUESTED, SCHEDULED or BUILDING and the request is not terminal: its latest
//    BuildRequestEvent / BuildCancelEvent (= CANCELLED) status is COMPLETED, FAILED or CANCELLED.
//
// Not thread-safe; one owner (the projection actor). Pure code: no I/O, no clock, no logging.
#ifndef BEL_PROJECTIONS_PARTITION_STATUS_VIEW_H_
#define BEL_PROJECTIONS_PARTITION_STATUS_VIEW_H_

#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "messages/error.h"
#include "messages/types.h"
#include "projections/views.h"

namespace bel::projections {

// The event that set a partition's status; status UNKNOWN when none did.
struct PartitionStatusEntry {
  PartitionStatus status = v1::PARTITION_UNKNOWN;
  int64_t last_updated = 0;  // the event's timestamp
  int64_t last_idx = 0;      // the event's idx
  std::string build_request_id;
  std::string job_run_id;    // empty for an invalidation
  std::string message;       // PartitionEvent.message or the invalidation reason
};

// When `event` sets a partition's status (see above), returns the partition ref and fills
// `*entry`; otherwise returns nullptr and leaves `*entry` alone. The ref points into `event`.
const std::string* partition_status_update(const BuildEvent& event, PartitionStatusEntry* entry);

// The response for `ref` with status `entry`. An entry with status UNKNOWN gives only
// partition_ref and as_of_idx.
PartitionStatusResponse to_partition_status_response(const std::string& ref,
                                                     const PartitionStatusEntry& entry,
                                                     int64_t as_of_idx);

class PartitionStatusView : public ViewPosition {
 public:
  static constexpr const char* kName = "partition_status";
  static constexpr int kVersion = 1;

  // Folds `event` in. REQUIRES (not checked): event.idx() above every idx applied before.
  // Never throws on a valid event; tolerates invalid ones (they fold by the same definitions).
  void apply(const BuildEvent& event);

  // The status of `ref`; a ref without one gets PARTITION_UNKNOWN with only partition_ref and
  // as_of_idx set.
  PartitionStatusResponse status(const std::string& ref) const;

  // The build requests active for `ref`, ascending.
  ActiveBuildsResponse active_builds(const std::string& ref) const;

  // Partitions whose status is not UNKNOWN, newest first by last_idx. status_filter (any of) and
  // pattern (a glob, "" = all) select before offset and limit apply; total_count counts every
  // selected partition. invalid_argument for a bad limit, offset or pattern.
  Result<PartitionsListResponse> list(const PartitionsListRequest& request) const;

  // Partitions by status (UNKNOWN never counted) and their total.
  const StatusCounts& counts_by_status() const { return counts_; }
  int64_t total() const { return known_; }

  // The whole state; restore(serialize()) answers every query identically, with the same
  // as_of_idx. restore() returns storage_corrupt for bytes it cannot use.
  std::string serialize() const;
  static Result<PartitionStatusView> restore(const std::string& bytes);

 private:
  static constexpr uint32_t kStale = std::numeric_limits<uint32_t>::max();
  static constexpr size_t kNoPos = std::numeric_limits<size_t>::max();

  struct RefState {
    std::string ref;
    PartitionStatusEntry current;
    size_t order_pos = kNoPos;      // where this ref sits in order_ while it has a status
    std::set<std::string> active;   // request ids active for this ref (in progress, open)
  };
  struct RequestState {
    BuildRequestStatus status = v1::BUILD_REQUEST_UNKNOWN;
    std::unordered_set<uint32_t> in_progress;  // slots of refs in progress in this request
  };

  uint32_t slot_of(const std::string& ref);
  const RefState* find(const std::string& ref) const;
  void set_status(uint32_t slot, PartitionStatusEntry entry);
  void set_request_status(const std::string& id, BuildRequestStatus status);
  void set_pair_status(const std::string& id, uint32_t slot, PartitionStatus status);
  void compact_order();

  std::vector<RefState> refs_;
  std::unordered_map<std::string, uint32_t> slots_;
  // Slots of refs with a status, by ascending last_idx (the list order, read backwards). A ref
  // whose status changes is appended again and its old entry set to kStale; compact_order()
  // drops stale entries once they are the majority.
  std::vector<uint32_t> order_;
  size_t stale_ = 0;
  std::unordered_map<std::string, RequestState> requests_;
  StatusCounts counts_;
  int64_t known_ = 0;
};

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_PARTITION_STATUS_VIEW_H_
