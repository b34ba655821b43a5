// PartitionStatusFold: the status of every partition under SPEC section 4's "Partition status"
// and "In-flight claims end with their owner" rules, shared by PartitionStatusView and
// ActivityView so that both give the same statuses.
//
//   bel::projections::PartitionStatusFold fold;
//   std::vector<PartitionStatusFold::Change> changes;
//   for (const auto& e : events) {                      // ascending idx
//     changes.clear();
//     fold.apply(e, &changes);                           // the refs whose status changed at e
//     for (const auto& c : changes) count(c.before, fold.entry(c.slot).status);
//   }
//   std::optional<uint32_t> slot = fold.find("data/a");
//
// Definitions (decisions the SPEC leaves open are in docs/query-tier.md):
//  - A partition's status is set by its latest PartitionEvent whose status is neither DELEGATED
//    nor UNKNOWN, or its latest PartitionInvalidationEvent, or the claims rule below, whichever
//    came last.
//  - A request's claim on a ref: its latest PartitionEvent or DelegationEvent (= DELEGATED) for
//    the ref, when that status is REQUESTED, SCHEDULED or BUILDING. It ends at the first later
//    event that is a terminal BuildRequestEvent or a BuildCancelEvent of its request, or a
//    JobEvent FAILED / CANCELLED or JobRunCancelEvent of the job run it names.
//  - An in-flight status stays tied to the claim it came from (its build request and job run)
//    even after that request delegated the ref. When that claim ends at event E, the status
//    becomes that of the live claim with the highest idx (with its build_request_id, job_run_id
//    and message), or else FAILED keeping the ended claim's ids with a message saying what ended
//    it; last_idx / last_updated are E's either way.
// Memory: per ref its status and its live claims; per build request and job run the refs they
// hold claims on (or are the live source of), erased when those end.
//
// Not thread-safe; one owner. Pure code: no I/O, no clock, no logging.
#ifndef BEL_PROJECTIONS_PARTITION_STATUS_FOLD_H_
#define BEL_PROJECTIONS_PARTITION_STATUS_FOLD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "messages/error.h"
#include "messages/types.h"

namespace bel::snapshots::v1 {
class PartitionStatusEntry;
}

namespace bel::projections {

// The event that set a partition's status; status UNKNOWN when none did.
struct PartitionStatusEntry {
  PartitionStatus status = v1::PARTITION_UNKNOWN;
  int64_t last_updated = 0;  // the event's timestamp
  int64_t last_idx = 0;      // the event's idx
  std::string build_request_id;
  std::string job_run_id;  // empty for an invalidation
  std::string message;     // PartitionEvent.message, the invalidation reason, or the rule's
};

// The response for `ref` with status `entry`. An entry with status UNKNOWN gives only
// partition_ref and as_of_idx.
PartitionStatusResponse to_partition_status_response(const std::string& ref,
                                                     const PartitionStatusEntry& entry,
                                                     int64_t as_of_idx);

// Whether `event` sets partition `ref`'s status itself (the first rule above): a PartitionEvent
// for ref whose status is neither DELEGATED nor UNKNOWN, or a PartitionInvalidationEvent for ref.
// After the newest such event only the claims rule can change the status (when the status it set
// is in flight and the claim it came from ends).
bool sets_partition_status(const BuildEvent& event, const std::string& ref);

class PartitionStatusFold {
 public:
  // A ref whose status changed, and its status before.
  struct Change {
    uint32_t slot;
    PartitionStatus before;
  };

  // Folds `event` in and appends the changed refs to `*changes`: one event ending several claims
  // lists its refs by descending ref, so that appending them to a list read newest-first gives
  // the ties ascending. REQUIRES: ascending idx. Tolerates invalid events.
  void apply(const BuildEvent& event, std::vector<Change>* changes);

  // The slot of `ref`, created (status UNKNOWN) if new. Slots are 0, 1, 2, ... and never move.
  uint32_t slot_of(const std::string& ref);
  std::optional<uint32_t> find(const std::string& ref) const;
  size_t size() const { return refs_.size(); }
  const std::string& ref(uint32_t slot) const { return refs_[slot].ref; }
  const PartitionStatusEntry& entry(uint32_t slot) const { return refs_[slot].current; }

  // Writes slot's status and claims; restore_entry() reads them back into a fresh slot
  // (storage_corrupt for a ref seen twice or without a status).
  void to_snapshot(uint32_t slot, snapshots::v1::PartitionStatusEntry* out) const;
  Result<uint32_t> restore_entry(const snapshots::v1::PartitionStatusEntry& in);

 private:
  struct Claim {
    std::string build_request_id;
    std::string job_run_id;
    PartitionStatus status = v1::PARTITION_UNKNOWN;
    std::string message;
    int64_t idx = 0;
  };
  struct Ref {
    std::string ref;
    PartitionStatusEntry current;
    bool source_live = false;   // current is in flight and the claim it came from is live
    std::vector<Claim> claims;  // live claims, at most one per request, ascending idx
  };
  using Index = std::unordered_map<std::string, std::unordered_set<uint32_t>>;

  void on_partition_event(const BuildEvent& event, std::vector<Change>* changes);
  void on_invalidation(const BuildEvent& event, std::vector<Change>* changes);
  // The request's claim on the ref ends without the rule firing (it logged a newer status).
  void drop_claim(uint32_t slot, const std::string& build_request_id);
  // Ends every claim (and live source) held by the build request / job run at `event`.
  void end_build(const std::string& id, const BuildEvent& event, std::vector<Change>* changes);
  void end_job_run(const std::string& id, JobStatus status, const BuildEvent& event,
                   std::vector<Change>* changes);
  // Ends the claims (and live sources) held by build request `id` (by_build) or job run `id` at
  // `event`; `why` is the message of a partition left with no live claim.
  void end_claims(bool by_build, const std::string& id, const BuildEvent& event,
                  const std::string& why, std::vector<Change>* changes);
  // The claims rule for a ref whose live source ended at `event`.
  void fire(uint32_t slot, const BuildEvent& event, std::string why, std::vector<Change>* changes);
  void set_current(uint32_t slot, PartitionStatusEntry entry, bool source_live);
  void index(uint32_t slot, const std::string& build_request_id, const std::string& job_run_id);
  // Erases slot from the build's / job run's index unless a claim or the live source of the ref
  // still names it. nullptr skips that index.
  void unindex_unused(uint32_t slot, const std::string* build_request_id,
                      const std::string* job_run_id);
  // The indexed slots of `id`, by descending ref; the index entry is erased.
  std::vector<uint32_t> take_slots(Index& index, const std::string& id);

  std::vector<Ref> refs_;
  std::unordered_map<std::string, uint32_t> slots_;
  Index by_build_;
  Index by_job_run_;
};

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_PARTITION_STATUS_FOLD_H_
