// The log writer's side of the write-side checkpoint (DESIGN: write path; docs/storage-and-write-
// path.md, "Write-side checkpoint"): the transition state's source of dropped entries over a
// Storage, and reading and writing the checkpoint in the log's snapshot table.
//
//   LogSource source(&storage);
//   state.set_source(&source);
//   source.set_through(last_idx);              // reads never see events above the state's idx
//   CheckpointLoad loaded = load_checkpoint(storage, last_idx, state);
//   if (!loaded.fallback_reason.empty()) log(loaded.fallback_reason);  // replay from idx 0
//   replay(loaded.idx + 1 ...);
//   save_checkpoint(storage, last_idx, state);  // REQUIRES: nothing staged
//
// Reads go through Storage::list_events with a build_request_ids or job_run_ids filter: exact at
// any derived-index lag, but a read scans the unindexed tail event by event, so a read first
// indexes that tail when it is longer than LogSource::kMaxScannedTail (the log writer alone, as
// when a log is generated, never indexes otherwise and every read would cost O(log length)).
// Not thread-safe: the log writer owns both.
#ifndef BEL_ACTORS_WRITE_WRITE_CHECKPOINT_H_
#define BEL_ACTORS_WRITE_WRITE_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "actors/write/transition_rules.h"
#include "messages/error.h"
#include "storage/storage.h"

namespace bel::actors {

// The committed events of one key, up to a bound.
class LogSource final : public write::TransitionSource {
 public:
  // The longest unindexed tail a read scans; a longer one is indexed first (in one transaction
  // of its own; never inside a commit: reads come from staging and from opening).
  static constexpr int64_t kMaxScannedTail = 2048;

  explicit LogSource(storage::Storage* storage) : storage_(storage) {}

  // Events above `idx` are left out: while the log is replayed the state reflects only a prefix.
  void set_through(int64_t idx) { through_ = idx; }

  Status events_of_build_request(const std::string& id, std::vector<BuildEvent>& out) override;
  Status events_of_job_run(const std::string& id, std::vector<BuildEvent>& out) override;

 private:
  Status read(const EventFilter& filter, std::vector<BuildEvent>& out);
  void shorten_unindexed_tail();

  storage::Storage* storage_;
  int64_t through_ = 0;
};

struct CheckpointLoad {
  int64_t idx = 0;              // the idx the restored state reflects; 0: replay everything
  std::string fallback_reason;  // why there is none to use; empty when one was restored
  size_t bytes = 0;             // its size
  bool unusable = false;        // one was stored but could not be used (corrupt, too new...)
};

// Restores `state` from the checkpoint of this bel's format version, when it is well-formed and
// reflects an idx <= last_idx. Any other case (none, another version, corrupt, ahead of the log,
// a read error) is a full replay with the reason said: never an error.
CheckpointLoad load_checkpoint(storage::Storage& storage, int64_t last_idx,
                               write::TransitionState& state);

// Saves `state` as the checkpoint at `idx`; returns its size. REQUIRES: state.journal_size() == 0.
Result<size_t> save_checkpoint(storage::Storage& storage, int64_t idx,
                               const write::TransitionState& state);

}  // namespace bel::actors

#endif  // BEL_ACTORS_WRITE_WRITE_CHECKPOINT_H_
