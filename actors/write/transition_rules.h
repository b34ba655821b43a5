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
// Pure code: no I/O, no clock, no CAF.
#ifndef BEL_ACTORS_WRITE_TRANSITION_RULES_H_
#define BEL_ACTORS_WRITE_TRANSITION_RULES_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "messages/error.h"
#include "messages/types.h"

namespace bel::write {

enum class ValidationMode { strict, lenient };
std::string_view to_string(ValidationMode mode);
std::optional<ValidationMode> parse_validation_mode(std::string_view text);

// The transition state of the log: what each build request, job run and (build request,
// partition) pair has reached. It is the fold of every committed event, plus those of the batch
// being validated. Changes are journaled so a rejected batch or a failed COMMIT can be undone.
class TransitionState {
 public:
  explicit TransitionState(ValidationMode mode = ValidationMode::strict);

  ValidationMode mode() const { return mode_; }
  // Changes how later applies treat violations; the state itself is kept.
  void set_mode(ValidationMode mode) { mode_ = mode; }

  // Checks `event` (REQUIRES: check_structure(event).ok()) against the state and applies it.
  // Strict mode: an illegal transition returns invalid_transition naming the id, the old and the
  // new status, and leaves the state unchanged. Lenient mode: the event is applied, and a
  // description of the violation is appended to `warnings` (when not null).
  Status apply(const BuildEvent& event, std::vector<std::string>* warnings = nullptr);

  // Journal positions. rollback(m) undoes every apply since mark() returned m; marks nest, so a
  // rollback to an earlier mark undoes later ones too. commit() makes every apply so far
  // permanent and empties the journal (every earlier mark becomes invalid).
  using Mark = size_t;
  Mark mark() const { return journal_.size(); }
  void rollback(Mark m);
  void commit() { journal_.clear(); }

  // Introspection for tests and diagnostics.
  std::optional<BuildRequestStatus> build_request_status(const std::string& id) const;
  std::optional<JobStatus> job_run_status(const std::string& job_run_id) const;
  std::optional<PartitionStatus> partition_status(const std::string& build_request_id,
                                                  const std::string& partition_ref) const;
  size_t journal_size() const { return journal_.size(); }

 private:
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
  void set_build_request(const std::string& id, BuildRequestStatus status);
  void set_job_run(const std::string& id, JobRun run);
  void set_partition(const std::string& key, RequestPartition p);

  ValidationMode mode_;
  std::unordered_map<std::string, BuildRequestStatus> build_requests_;
  std::unordered_map<std::string, JobRun> job_runs_;
  // Keyed by build_request_id + '\n' + partition_ref ('\n' cannot occur in a valid ref).
  std::unordered_map<std::string, RequestPartition> partitions_;
  std::vector<Undo> journal_;
};

}  // namespace bel::write

#endif  // BEL_ACTORS_WRITE_TRANSITION_RULES_H_
