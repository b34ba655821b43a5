// The transition rules of the log (SPEC section 2, "transitions"): what each build request, job
// run and (build request, partition) pair has reached, and which next status is legal. It is a
// projection of the log, journaled so that a rejected batch or a failed COMMIT can be undone.
// Structure (one event on its own) is checked first, by event_structure.h.
//
//   bel::write::TransitionState rules(bel::write::ValidationMode::strict);
//   auto mark = rules.mark();
//   for (const auto& e : batch) {
//     if (auto ok = rules.apply(e, &warnings); !ok.ok()) { rules.rollback(mark); return ...; }
//   }
//   ... after COMMIT: rules.commit(); after a failed COMMIT: rules.rollback(mark);
//
// Bounded memory. Given a TransitionSource (the log, read by key), the state keeps in memory only
// what open work needs: sweep() drops terminal build requests (with their partitions), terminal
// job runs and those of finished requests, and records each dropped key in an EvictedKeys
// filter. An event about a key not in memory that the filter may hold reads that key's events
// from the source and folds them, so every decision is the one a full replay would make. Without
// a source nothing is ever dropped.
//
// Pure code: no I/O, no clock, no CAF (the source is an interface the caller implements).
#ifndef BEL_ACTORS_WRITE_TRANSITION_RULES_H_
#define BEL_ACTORS_WRITE_TRANSITION_RULES_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actors/write/evicted_keys.h"
#include "messages/error.h"
#include "messages/types.h"

namespace bel::write {

enum class ValidationMode { strict, lenient };
std::string_view to_string(ValidationMode mode);
std::optional<ValidationMode> parse_validation_mode(std::string_view text);

// Where dropped entries come back from: the committed events of one key, idx ascending, with idx
// at most the last committed one the state reflects (the caller's bound; see LogWriter).
class TransitionSource {
 public:
  virtual ~TransitionSource() = default;
  // Every committed event whose build_request_id is `id`.
  virtual Status events_of_build_request(const std::string& id, std::vector<BuildEvent>& out) = 0;
  // Every committed event that names job run `id` (job_event, job_run_cancel_event; others are
  // allowed and ignored).
  virtual Status events_of_job_run(const std::string& id, std::vector<BuildEvent>& out) = 0;
};

// The transition state of the log: what each build request, job run and (build request,
// partition) pair has reached. It is the fold of every committed event, plus those of the batch
// being validated. Changes are journaled so a rejected batch or a failed COMMIT can be undone.
class TransitionState {
 public:
  explicit TransitionState(ValidationMode mode = ValidationMode::strict);

  ValidationMode mode() const { return mode_; }
  // Changes how later applies treat violations; the state itself is kept.
  void set_mode(ValidationMode mode) { mode_ = mode; }

  // Lets the state drop entries (sweep) and read them back from `source` (not owned; must outlive
  // the state or be reset). nullptr: keep everything.
  void set_source(TransitionSource* source) { source_ = source; }
  // Sweeps when the entries in memory reach max(floor, twice what the last sweep kept): the
  // amortised cost per apply stays constant. floor 0 sweeps at every maybe_sweep() (tests).
  void set_sweep_floor(size_t floor) { sweep_floor_ = floor; }

  // Checks `event` (REQUIRES: check_structure(event).ok()) against the state and applies it.
  // Strict mode: an illegal transition returns invalid_transition naming the id, the old and the
  // new status, and leaves the state unchanged. Lenient mode: the event is applied, and a
  // description of the violation is appended to `warnings` (when not null). An error reading the
  // source is returned as is, in either mode, and changes nothing.
  Status apply(const BuildEvent& event, std::vector<std::string>* warnings = nullptr);

  // Journal positions. rollback(m) undoes every apply since mark() returned m; marks nest, so a
  // rollback to an earlier mark undoes later ones too. commit() makes every apply so far
  // permanent and empties the journal (every earlier mark becomes invalid).
  using Mark = size_t;
  Mark mark() const { return journal_.size(); }
  void rollback(Mark m);
  void commit() { journal_.clear(); }

  // Drops what open work does not need, when due (see set_sweep_floor) or when `force`d; returns
  // the entries dropped. REQUIRES: an empty journal (after commit()). No-op without a source.
  size_t maybe_sweep(bool force = false);
  // Entries in memory: build requests, job runs and (build request, partition) pairs.
  size_t resident() const { return build_requests_.size() + job_runs_.size() + partitions_.size(); }
  const EvictedKeys& evicted() const { return evicted_; }
  // Reads of the source since construction (misses that the filter could not rule out).
  int64_t source_reads() const { return source_reads_; }

  // Introspection for tests and diagnostics: the state of one key as a full replay has it. A key
  // not in memory is read back from the source (nullopt when that read fails).
  std::optional<BuildRequestStatus> build_request_status(const std::string& id);
  std::optional<JobStatus> job_run_status(const std::string& job_run_id);
  // "<status> <build request> <job label>" of a job run: all that later decisions read.
  std::optional<std::string> job_run_summary(const std::string& job_run_id);
  std::optional<PartitionStatus> partition_status(const std::string& build_request_id,
                                                  const std::string& partition_ref);
  size_t journal_size() const { return journal_.size(); }

 private:
  friend class TransitionCheckpoint;  // transition_checkpoint.h reads and restores the maps

  struct JobRun {
    JobStatus status = v1::JOB_UNKNOWN;
    std::string build_request_id;
    std::string job_label;
  };
  struct RequestPartition {
    PartitionStatus status = v1::PARTITION_UNKNOWN;
    bool delegation_event_seen = false;           // a DelegationEvent was logged
    bool delegated_partition_event_seen = false;  // a PartitionEvent DELEGATED was logged
  };
  // One undo record: the previous value of one key (nullopt when the key was absent).
  struct Undo {
    enum Kind { build_request, job_run, partition } kind;
    std::string key;
    std::optional<BuildRequestStatus> old_build_request;
    std::optional<JobRun> old_job_run;
    std::optional<RequestPartition> old_partition;
  };

  Status check_and_apply(const BuildEvent& event, bool enforce);
  using BuildRequests = std::unordered_map<std::string, BuildRequestStatus>;
  using JobRuns = std::unordered_map<std::string, JobRun>;
  // The entry of a build request or job run: the one in memory, else one dropped from memory
  // brought back from the source (a build request with its partitions), unjournaled since it is
  // committed history; end() when the log has none either. One lookup when it is in memory.
  Result<BuildRequests::iterator> find_build_request(const std::string& id);
  Result<JobRuns::iterator> find_job_run(const std::string& id);
  void set_build_request(const std::string& id, BuildRequestStatus status);
  void set_job_run(const std::string& id, JobRun run);
  void set_partition(const std::string& key, RequestPartition p);

  ValidationMode mode_;
  // BUILD_REQUEST_UNKNOWN: read back from the log, where it was never received.
  BuildRequests build_requests_;
  JobRuns job_runs_;
  // Keyed by build_request_id + '\n' + partition_ref ('\n' cannot occur in a valid ref).
  std::unordered_map<std::string, RequestPartition> partitions_;
  std::vector<Undo> journal_;
  TransitionSource* source_ = nullptr;
  EvictedKeys evicted_;
  size_t sweep_floor_ = 16384;
  size_t kept_by_last_sweep_ = 0;
  int64_t source_reads_ = 0;
};

}  // namespace bel::write

#endif  // BEL_ACTORS_WRITE_TRANSITION_RULES_H_
