// PartitionStatusFold: the status of every partition under SPEC section 4's "Partition status"
// and "In-flight claims end with their owner" rules, shared by PartitionStatusView and
// ActivityView so that both give the same statuses.
//
//   bel::projections::PartitionStatusFold fold;
//   std::vector<PartitionStatusFold::Change> changes;
//   for (const auto& e : events) {                      // ascending idx
//     changes.clear();
//     fold.apply(e, &changes);                           // the refs whose status changed at e
//     for (const auto& c : changes) count(c.before, fold.status(c.slot));
//   }
//   std::optional<uint32_t> slot = fold.find("data/a");
//
// Definitions (decisions the SPEC leaves open are in docs/query-tier.md):
//  - A partition's status is set by its latest PartitionEvent whose status is neither DELEGATED
//    nor UNKNOWN, or its latest PartitionInvalidationEvent, or the claims rule below, whichever
//    came last.
//  - A request's claim on a ref: its latest PartitionEvent or DelegationEvent (= DELEGATED) for
//    the ref, when that status is REQUESTED, SCHEDULED or BUILDING. It is live from that event
//    unless the job run it names has already ended FAILED or CANCELLED (ClaimRuns, after the job
//    runs view's status), and ends at the first later event that is a terminal BuildRequestEvent
//    or a BuildCancelEvent of its request, a JobEvent FAILED / CANCELLED or JobRunCancelEvent of
//    the job run it names, or the end of that run's build request while the run is open (which
//    cancels the run).
//  - A status set by a claim that was not live (its run had ended) is still tied to it: it ends
//    at the same events as a live claim's would.
//  - An in-flight status stays tied to the claim it came from (its build request and job run)
//    even after that request delegated the ref. When that claim ends at event E, the status
//    becomes that of the live claim with the highest idx (with its build_request_id, job_run_id
//    and message), or else FAILED keeping the ended claim's ids with a message saying what ended
//    it; last_idx / last_updated are E's either way.
// Memory: per ref its status and its live claims; the open job runs, and those that ended FAILED
// or CANCELLED (ClaimRuns: each its id and ~45 bytes); per build request and job run the refs they
// hold claims on (or are the live source of), erased when those end. The layout, for a 1M-event
// log's ~60k refs, ~33k build requests, ~190k job runs and ~240k distinct messages:
//  - refs and build request ids live in StringPools (both are kept for good: every ref has a
//    status and the views keep every build request's status), so a ref's slot is its pool id and
//    per-build data are vectors indexed by the build's pool id;
//  - a status's or claim's job run id and message are one TextArena record (they are nearly
//    always new and die with the status; interned they would cost as much again in hash
//    entries); job run ids that a live claim or live source names are also interned in a
//    CountedStringPool, freed when the last such use ends, to find the refs a job run ends;
//  - claims and the per-build / per-job-run slot sets are chains of small nodes in shared
//    vectors with free lists: most refs have no live claim and most build requests no slot, so
//    an empty one costs a 4-byte head, and folding an event allocates nothing once the vectors
//    have grown. A set's members are doubly linked and counted by their users (the ref's claims
//    and live source naming that build or job run, each keeping its member's node), so that
//    joining or leaving a set costs the same however many refs a build or job run holds.
//
// Not thread-safe; one owner. Pure code: no I/O, no clock, no logging.
#ifndef BEL_PROJECTIONS_PARTITION_STATUS_FOLD_H_
#define BEL_PROJECTIONS_PARTITION_STATUS_FOLD_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "messages/error.h"
#include "messages/types.h"
#include "projections/claim_runs.h"
#include "projections/counted_string_pool.h"
#include "projections/free_nodes.h"
#include "projections/string_pool.h"
#include "projections/text_arena.h"

namespace bel::snapshots::v1 {
class ClaimRun;
class PartitionStatusEntry;
}

namespace bel::projections {

// The event that set a partition's status; status UNKNOWN when none did. Its strings are views
// into the fold that holds them, valid until that fold next changes.
struct PartitionStatusEntry {
  PartitionStatus status = v1::PARTITION_UNKNOWN;
  int64_t last_updated = 0;  // the event's timestamp
  int64_t last_idx = 0;      // the event's idx
  std::string_view build_request_id;
  std::string_view job_run_id;  // empty for an invalidation
  std::string_view message;     // PartitionEvent.message, the invalidation reason, or the rule's
};

// The response for `ref` with status `entry`. An entry with status UNKNOWN gives only
// partition_ref and as_of_idx.
PartitionStatusResponse to_partition_status_response(std::string_view ref,
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

  // The ids of an event's build request and ref, when its caller has looked them up already
  // (each lookup hashes the string): kNone is "not looked up".
  struct Ids {
    uint32_t build = StringPool::kNone;  // build_ids().intern(event.build_request_id())
    uint32_t slot = StringPool::kNone;   // slot_of(the event's partition_ref)
  };

  // Folds `event` in and appends the changed refs to `*changes`: one event ending several claims
  // lists its refs by descending ref, so that appending them to a list read newest-first gives
  // the ties ascending. REQUIRES: ascending idx; `ids` as described. Tolerates invalid events.
  void apply(const BuildEvent& event, std::vector<Change>* changes, Ids ids);
  void apply(const BuildEvent& event, std::vector<Change>* changes);

  // The slot of `ref`, created (status UNKNOWN) if new. Slots are 0, 1, 2, ... and never move.
  uint32_t slot_of(std::string_view ref);
  std::optional<uint32_t> find(std::string_view ref) const;
  size_t size() const { return refs_.size(); }
  // Makes room for `refs` refs and `builds` build request ids (a snapshot's counts), so that a
  // restore grows no table while the old one is still held.
  void reserve(size_t refs, size_t builds);
  // Slot's ref; valid as long as the fold (and across its moves).
  std::string_view ref(uint32_t slot) const { return ref_ids_.str(slot); }
  PartitionStatus status(uint32_t slot) const { return refs_[slot].status; }
  int64_t last_idx(uint32_t slot) const { return refs_[slot].last_idx; }
  // Slot's status entry, its strings viewed in place (copied only into an answer).
  PartitionStatusEntry entry(uint32_t slot) const;
  // to_partition_status_response(ref(slot), entry(slot), as_of_idx).
  PartitionStatusResponse response(uint32_t slot, int64_t as_of_idx) const;

  // The build request ids the fold has named, shared with the views so that a view keeps per
  // build request data in vectors indexed by the same ids. Views may intern more ids.
  StringPool& build_ids() { return build_ids_; }
  const StringPool& build_ids() const { return build_ids_; }

  // Writes slot's status and claims; restore_entry() reads them back into a fresh slot
  // (storage_corrupt for a ref seen twice or without a status).
  void to_snapshot(uint32_t slot, snapshots::v1::PartitionStatusEntry* out) const;
  Result<uint32_t> restore_entry(const snapshots::v1::PartitionStatusEntry& in);
  // True when to_snapshot(slot) and other.to_snapshot(other_slot) write the same entry.
  bool same_entry(uint32_t slot, const PartitionStatusFold& other, uint32_t other_slot) const;
  // The job runs the fold keeps (ClaimRuns), ascending id; restore_run() reads one back
  // (storage_corrupt for a run seen twice); same_runs() compares them by their strings.
  std::vector<snapshots::v1::ClaimRun> runs_to_snapshot() const;
  Status restore_run(const snapshots::v1::ClaimRun& in);
  bool same_runs(const PartitionStatusFold& other) const;

 private:
  static constexpr uint32_t kNil = kNoNode;  // end of a chain, an empty free list
  static constexpr uint32_t kNoRun = CountedStringPool::kNone;            // no job run id
  // Ref::source when the status is not a live claim's.
  static constexpr uint32_t kNotLive = std::numeric_limits<uint32_t>::max() - 1;
  using Text = TextArena::Handle;  // a job run id and a message

  // A live claim: a node of its ref's chain, newest first (ascending idx read backwards).
  struct Claim {
    int64_t idx = 0;
    Text text = TextArena::kNone;  // job run id, message; kNone when the node is free
    PartitionStatus status = v1::PARTITION_UNKNOWN;
    uint32_t build = 0;          // build_ids_
    uint32_t run = kNoRun;       // runs_, holding a reference
    uint32_t next = kNil;        // the next older claim; the next free node when free
    uint32_t build_link = kNil;  // its member node in build's set
    uint32_t run_link = kNil;    // its member node in run's set; kNil for kNoRun
  };
  // The event that set the ref's status (PartitionStatusEntry, its strings as ids).
  struct Ref {
    int64_t last_updated = 0;
    int64_t last_idx = 0;
    Text text = TextArena::kNone;  // job run id, message
    PartitionStatus status = v1::PARTITION_UNKNOWN;
    uint32_t build = 0;      // build_ids_; meaningless while status is UNKNOWN
    uint32_t claims = kNil;  // the newest live claim; at most one per request
    // kNotLive, or (the status is in flight and the claim it came from is live) its job run:
    // a runs_ id holding a reference, or kNoRun.
    uint32_t source = kNotLive;
    uint32_t source_build_link = kNil;  // while live: its member node in build's set
    uint32_t source_run_link = kNil;    // while live with a job run: in that run's set
  };
  // A member of a build's or job run's slot set, shared by the ref's users of that set.
  struct Link {
    uint32_t slot;
    uint32_t prev;  // kNil for the set's first member
    uint32_t next;  // kNil ends the set; the next free node when free
    uint32_t uses;  // the ref's claims and live source naming the set's build or job run
  };
  // The fields of a new status; set_current takes over text.
  struct Current {
    PartitionStatus status;
    int64_t last_updated;
    int64_t last_idx;
    uint32_t build;
    Text text;
  };

  void on_partition_event(const BuildEvent& event, Ids ids, std::vector<Change>* changes);
  void on_invalidation(const BuildEvent& event, Ids ids, std::vector<Change>* changes);
  // The request's claim on the ref ends without the rule firing (it logged a newer status).
  void drop_claim(uint32_t slot, uint32_t build);
  // Ends every claim (and live source) held by the build request (and its open job runs, which
  // it cancels) / job run at `event`.
  void end_build(const std::string& id, uint32_t build, const BuildEvent& event,
                 std::vector<Change>* changes);
  void end_job_run(const std::string& id, JobStatus status, const BuildEvent& event,
                   std::vector<Change>* changes);
  // Ends the claims (and live sources) held by build request `build` (StringPool::kNone: none)
  // or by one of the job runs ending_ names (runs_ ids) at `event`. A partition left with no
  // live claim gets the message `build_why` (its claim's build ended) or "job run <id>
  // <run_what> before the partition was built".
  void end_claims(uint32_t build, const BuildEvent& event, const std::string& build_why,
                  const char* run_what, std::vector<Change>* changes);
  // The claims rule for a ref whose live source ended at `event`.
  void fire(uint32_t slot, const BuildEvent& event, const std::string& why,
            std::vector<Change>* changes);
  // Sets slot's status; `source` (Ref::source) brings its own reference.
  void set_current(uint32_t slot, const Current& next, uint32_t source);
  void push_claim(uint32_t slot, const Claim& claim);
  void free_claim(uint32_t node);
  // Room for `bytes` more in texts_, compacting it (which moves every Text) when a quarter of
  // it is dead, else growing it. Views into texts_ are invalid afterwards.
  void make_room(size_t bytes);
  // The member node for a new user of build's / run's set in slot: the node of another user in
  // the same ref, or a new member. use_run(kNoRun) is kNil.
  uint32_t use_build(uint32_t slot, uint32_t build);
  uint32_t use_run(uint32_t slot, uint32_t run);
  uint32_t use(uint32_t* head, uint32_t shared, uint32_t slot);
  // A user of the set at *head leaves it; the member goes with its last user. kNil: nothing.
  void unuse(uint32_t* head, uint32_t node);
  uint32_t* run_head(uint32_t run);
  // The set at *head appended to taken_; the set is emptied, its nodes kept in taken_links_
  // (their users may still name them) until free_taken().
  void take_slots(uint32_t* head);
  void free_taken();

  StringPool ref_ids_;  // slot -> ref
  StringPool build_ids_;
  TextArena texts_;
  CountedStringPool runs_;     // job run ids of live claims and live sources
  std::vector<Ref> refs_;      // by slot
  std::vector<Claim> claims_;  // chain nodes
  uint32_t free_claims_ = kNil;
  std::vector<Link> links_;  // set nodes
  uint32_t free_links_ = kNil;
  std::vector<uint32_t> by_build_;     // by build id: set head
  std::vector<uint32_t> by_job_run_;   // by runs_ id: set head
  std::vector<uint32_t> taken_;        // scratch for end_claims
  std::vector<uint32_t> taken_links_;  // scratch for end_claims
  ClaimRuns job_runs_;                 // open job runs, and those ended FAILED / CANCELLED
  std::vector<ClaimRuns::Id> ended_runs_;  // scratch for end_build
  std::vector<uint32_t> ending_;           // end_claims's job runs (runs_ ids)
  std::vector<bool> is_ending_;            // by runs_ id: in ending_
};

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_PARTITION_STATUS_FOLD_H_
