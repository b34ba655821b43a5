// JobRunsView: a JobRunSummary per job run, the job runs list, and JobMetrics per job label
// (SPEC section 4, "Job runs", "job metrics").
//
//   bel::projections::JobRunsView view;
//   for (const auto& e : events) view.apply(e);     // ascending idx
//   auto run = view.job_run("jr-7");                   // Result: not_found for an unknown id
//   auto m = view.metrics("//jobs:ingest");            // Result: not_found for an unseen label
//   JobMetricsList all = view.all_metrics();           // labels ascending
//
// Definitions (over the events applied so far):
//  - A job run exists from its first JobEvent; that event fixes its job_label, build_request_id
//    and first idx (list order). A JobRunCancelEvent for a run without a JobEvent yet is ignored.
//  - target_partitions: from the first JobEvent that lists any.
//  - status: of the latest JobEvent, or JOB_CANCELLED after a JobRunCancelEvent (keyed by
//    job_run_id alone), whichever came last; or JOB_CANCELLED when, while the run is SCHEDULED or
//    RUNNING, its build request (build_request_id above) reaches a terminal status by a
//    BuildRequestEvent or BuildCancelEvent (SPEC section 4, "In-flight claims end with their
//    owner"): ended_at is that event's timestamp and message says why.
//  - scheduled_at / started_at: timestamp of the first JOB_SCHEDULED / JOB_RUNNING event.
//  - ended_at: timestamp of the event that moved the run from a non-terminal status (or none) to
//    a terminal one (COMPLETED, FAILED, CANCELLED, SKIPPED); 0 while the status is not terminal.
//  - message: the latest non-empty JobEvent message or JobRunCancelEvent reason, or the text
//    of the build request's end that cancelled it.
//  - Metrics per label: total_runs; runs_by_status (name -> count); success_rate = completed /
//    (completed + failed), 0 when both are 0; avg_duration_ns = the mean of (ended_at -
//    started_at) over COMPLETED runs that had a JOB_RUNNING event, truncated toward zero
//    (integer division), 0 when there are none; last_run = the run with the highest first idx.
//
// Memory layout (a 1M-event log holds ~190k runs; each byte per run is ~0.2 MB):
//  - strings live in two StringPools: ids_ (job run ids, build request ids, labels, partition
//    refs) and messages_ (the messages of ended runs, kept apart as they need no per-id data);
//    a Run holds their 32-bit ids. An open run's message, likely to be replaced, is kept in a
//    reused slot until the run ends: a pool never drops a string.
//  - per-id data is a vector indexed by ids_ id (what run has that id, which run of that build
//    came last) instead of hash maps keyed by strings; a build's runs are a chain through the
//    runs (prev_in_build), newest first.
//  - a run's targets are almost always one ref, held in the Run; more go to one flat vector.
//  - runs_ is a deque and the pools grow by a quarter: no 2x slack of a doubling vector.
//
// Not thread-safe; one owner. Pure code: no I/O, no clock, no logging.
#ifndef BEL_PROJECTIONS_JOB_RUNS_VIEW_H_
#define BEL_PROJECTIONS_JOB_RUNS_VIEW_H_

#include <array>
#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "messages/error.h"
#include "messages/types.h"
#include "projections/draft_slots.h"
#include "projections/string_pool.h"
#include "projections/views.h"

namespace bel::projections {

class JobRunsView : public ViewPosition {
 public:
  static constexpr const char* kName = "job_runs";
  static constexpr int kVersion = 2;  // 2: a build's end cancels its open job runs

  // Folds `event` in. REQUIRES (not checked): event.idx() above every idx applied before.
  // Never throws; tolerates invalid events.
  void apply(const BuildEvent& event);

  // not_found, naming the id, for a run without a JobEvent.
  Result<JobRunSummary> job_run(const std::string& job_run_id) const;

  // Newest first by the idx of each run's first event; job_label (exact, "" = any),
  // build_request_id (exact, "" = any) and status_filter (any of) select before offset and limit.
  // invalid_argument for a bad limit or offset.
  Result<JobRunsListResponse> list(const JobRunsListRequest& request) const;

  // not_found for a label no run has.
  Result<JobMetrics> metrics(const std::string& job_label) const;
  // Every label's metrics, labels ascending.
  JobMetricsList all_metrics() const;

  std::string serialize(SnapshotTarget target = {}) const;  // as PartitionStatusView's
  static Result<JobRunsView> restore(const std::string& bytes);
  // The same, read once from `in` (snapshot_reader.h): from a stream, never held whole.
  static Result<JobRunsView> restore(SnapshotInput& in);
  bool same_state(const JobRunsView& other) const;  // as PartitionStatusView's

 private:
  using Id = StringPool::Id;
  static constexpr Id kNone = StringPool::kNone;

  struct Run {
    int64_t first_idx = 0;
    int64_t scheduled_at = 0;
    int64_t started_at = 0;
    int64_t ended_at = 0;
    Id job_run_id = kNone;        // ids_
    Id build_request_id = kNone;  // ids_
    Id message = kNone;           // messages_, or with kMessageInSlot open_messages_; kNone: ""
    // kNone: no targets; with kOneTarget the one ref's id in ids_, else the position in
    // targets_ of [count, ref ids...].
    uint32_t targets = kNone;
    uint32_t prev_in_build = kNone;  // the position of the build's run before this one
    uint32_t label = 0;              // index in labels_
    int32_t status = v1::JOB_UNKNOWN;
    uint8_t flags = 0;  // kHasScheduled | kHasRunning | kOneTarget | kMessageInSlot
  };
  static constexpr uint8_t kHasScheduled = 1;
  static constexpr uint8_t kHasRunning = 2;
  static constexpr uint8_t kOneTarget = 4;
  static constexpr uint8_t kMessageInSlot = 8;

  // Counts by job status: an array for the enum's values (a fold adds and removes on every
  // event), a StatusCounts for any other number a log may carry.
  struct Counts {
    std::array<int64_t, 7> known{};
    StatusCounts other;
    void add(int32_t status, int64_t delta);
    int64_t get(int status) const;
    int64_t matching(const std::set<int>& filter, int64_t all) const;
    StatusCounts to_status_counts() const;
  };
  struct Label {
    Id name = kNone;             // ids_
    std::vector<uint32_t> runs;  // positions in runs_, ascending first idx
    Counts by_status;
    __int128 duration_sum = 0;   // over COMPLETED runs with a RUNNING event
    int64_t duration_count = 0;
  };
  // Per ids_ id: the run with that job run id, and the last run of the build with that id.
  struct ById {
    uint32_t run = kNone;
    uint32_t build_last = kNone;
  };

  // Moves run `pos` to `status` at `event` (timestamps and its label's metrics follow) and gives
  // it `message` unless that is empty.
  void set_status(uint32_t pos, JobStatus status, const BuildEvent& event,
                  std::string_view message);
  // Sets the run's message to `text` (unless empty), in a slot while the run is open, in
  // messages_ once it has ended (then moving a slot's text there).
  void place_message(Run& run, std::string_view text);
  std::string_view message_of(const Run& run) const;
  // Adds (sign 1) or removes (sign -1) the run's share of its label's duration mean.
  static void count_duration(const Run& run, Label& label, int sign);
  JobRunSummary to_summary(const Run& run) const;
  JobMetrics to_metrics(const Label& stats) const;
  // Interns `s` in ids_, making room for its per-id data.
  Id intern_id(std::string_view s);
  Id intern_message(std::string_view s);
  // The ById of `s`, or nullptr when ids_ has no such string.
  const ById* by_id(std::string_view s) const;
  // The index in labels_ of the label named `name` (an ids_ id), adding it when new.
  uint32_t label_of(Id name);
  // Sets a run's targets (REQUIRES: it has none yet) to `refs`, strings.
  template <class Refs>
  void set_targets(Run& run, const Refs& refs);
  // Calls f(std::string_view ref) for each of the run's targets.
  template <class F>
  void for_each_target(const Run& run, F f) const;
  // Adds a run; returns its position in runs_.
  uint32_t add_run(const Run& run);
  // The build request's terminal `event`: its SCHEDULED / RUNNING runs become CANCELLED.
  void cancel_open_runs(const BuildEvent& event);

  StringPool ids_;
  StringPool messages_;
  // The messages of open runs, one slot per run, reused: an open run's message is mostly
  // replaced before it ends ("queued", "started on ..."), so interning it would leave the pool
  // a string no run names.
  DraftSlots open_messages_;
  // How many strings ids_ and messages_ have room for: grown by a quarter at a time through
  // reserve(), not doubled by the pools' own vectors (a doubled table of 300k strings leaves
  // ~5 MB unused).
  size_t ids_reserved_ = 0;
  size_t messages_reserved_ = 0;
  std::vector<ById> by_id_;  // by ids_ id; shorter than ids_ when its last strings are not ids
  std::deque<Run> runs_;     // ascending first idx
  std::vector<uint32_t> targets_;
  std::vector<Label> labels_;                     // in order of first appearance
  std::unordered_map<Id, uint32_t> label_index_;  // ids_ id -> index in labels_
  Counts by_status_;                              // every run
};

// False while none of `metrics`'s runs has completed or failed: its success_rate is then 0 by
// definition, not a measured 0%, and the console and the dashboard show "-" for it.
bool has_success_rate(const JobMetrics& metrics);

template <class F>
void JobRunsView::for_each_target(const Run& run, F f) const {
  if (run.targets == kNone) return;
  if (run.flags & kOneTarget) {
    f(ids_.str(run.targets));
    return;
  }
  const uint32_t count = targets_[run.targets];
  for (uint32_t i = 1; i <= count; ++i) f(ids_.str(targets_[run.targets + i]));
}

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_JOB_RUNS_VIEW_H_
