// ClaimRuns: what the partition fold must know about job runs to tell whether a claim naming one
// is live (SPEC section 4, "In-flight claims end with their owner": a claim is live while the
// job run it names has not ended FAILED or CANCELLED).
//
//   bel::projections::ClaimRuns runs;
//   runs.on_job_event("jr-1", build, v1::JOB_SCHEDULED);   // open, in build request `build`
//   std::vector<uint32_t> ended;
//   runs.end_build(build, &ended);                         // jr-1 CANCELLED with its build
//   bool dead = runs.dead("jr-1");                         // true: a claim naming it is not live
//
// A run's state follows the job runs view's status (job_runs_view.h): open while SCHEDULED or
// RUNNING, dead once FAILED or CANCELLED (by a JobEvent, a JobRunCancelEvent of a run that had a
// JobEvent, or its build request's end while open), and forgotten once COMPLETED or SKIPPED. The
// build request of an open run is that of the JobEvent that opened it.
//
// Memory: a run kept costs its id and ~45 bytes (the pool's entry and hash slots, and a Run); an
// open one until it ends, a dead one for good (a claim logged later naming it must not count as
// live): about 5k runs in a 1M-event log end FAILED or CANCELLED. Runs that complete or are
// skipped, most of them, are not kept.
//
// Not thread-safe; one owner. Pure code: no I/O.
#ifndef BEL_PROJECTIONS_CLAIM_RUNS_H_
#define BEL_PROJECTIONS_CLAIM_RUNS_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "messages/error.h"
#include "messages/types.h"
#include "projections/counted_string_pool.h"
#include "projections/string_pool.h"

namespace bel::snapshots::v1 {
class ClaimRun;
}

namespace bel::projections {

class ClaimRuns {
 public:
  using Id = CountedStringPool::Id;

  // A JobEvent of run `id` logged by build request `build` (an id of the caller's pool).
  void on_job_event(std::string_view id, uint32_t build, JobStatus status);
  // A JobRunCancelEvent of run `id`: dead when it is open or dead, else (never logged, or
  // forgotten) nothing, as the job runs view ignores it.
  void on_cancel(std::string_view id);
  // Build request `build` ended: each of its open runs is dead, its id appended to *ended.
  void end_build(uint32_t build, std::vector<Id>* ended);

  bool dead(std::string_view id) const;
  std::string_view str(Id id) const { return ids_.str(id); }
  // How many runs are open / dead.
  size_t size() const { return ids_.size(); }

  // Each run's state, open runs with their build request's id from `builds`, ids ascending.
  std::vector<snapshots::v1::ClaimRun> to_snapshot(const StringPool& builds) const;
  // Reads one entry back (storage_corrupt for a run seen twice); build ids interned in `builds`.
  Status restore(const snapshots::v1::ClaimRun& in, StringPool* builds);
  // True when both hold the same runs in the same states, builds compared by their strings.
  bool same(const StringPool& builds, const ClaimRuns& other, const StringPool& other_builds) const;

 private:
  static constexpr uint8_t kForgotten = 0;
  static constexpr uint8_t kOpen = 1;
  static constexpr uint8_t kDead = 2;
  static constexpr uint32_t kNil = CountedStringPool::kNone;
  struct Run {
    uint8_t state = kForgotten;
    uint32_t build = 0;    // while open
    uint32_t prev = kNil;  // the build's open runs, a doubly linked chain
    uint32_t next = kNil;
  };

  Id make_known(std::string_view id);  // the run's id, holding the one reference of its state
  void open(Id run, uint32_t build);
  void close(Id run);  // leaves the build's chain; still held
  void forget(Id run);

  CountedStringPool ids_;
  std::vector<Run> runs_;             // by id
  std::vector<uint32_t> open_heads_;  // by build: the newest open run
};

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_CLAIM_RUNS_H_
