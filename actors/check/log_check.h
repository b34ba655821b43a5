// The checks of `bel check` (SPEC section 6: "every view equals a full scan; schema and idx
// contiguity"), apart from the command line so that each piece can be tested on its own against
// an in-process coordinator.
//
//   LogCheckOptions options;
//   options.log_uri = "sqlite://bel.db";                  // only for the schema check
//   auto report = run_log_check(session->client(), options);
//   if (!report.ok()) return fail(report.error());        // the log could not be asked at all
//   for (const auto& c : report->checks) show(c.name, c.ok, c.detail);
//   exit(report->ok() ? 0 : 1);
//
// What is checked, each reported as one CheckResult:
//  - "schema": an sqlite:// log's meta.schema_version equals storage::kSchemaVersion (opening
//    it read-only already refuses newer and older ones; the detail names the version found).
//    Other URIs: ok, "n/a (in-process log)".
//  - "idx contiguity": every event read, in scan order, has idx 1, 2, 3, ... without gaps or
//    repeats up to the log's last idx when the check started (and on, over whatever later events
//    the view check reads); each passes write::check_structure once its idx is cleared;
//    no event_id occurs twice. The detail names the first missing idx ranges, repeats, invalid
//    events and repeated event ids.
//  - "view <name>", one per view: the coordinator's answers (ApiClient::query, min_idx = what the
//    local fold has reached) equal those of a FullScanFold of the scanned events, for activity,
//    every page of each list (limit 1000), job_metrics_list, and the per-item questions
//    (partition_status and active_builds, build_summary, job_run, job_metrics) of every partition
//    ref, build request, job run and job label named by the events up to the log's last idx when
//    the check started. When appends continue meanwhile, an answer may reflect a later idx than
//    the fold: the fold then reads up to exactly that idx before comparing, so both describe the
//    same prefix of the log (items first named by those later events are not asked about one by
//    one: the lists and activity cover them, and the check ends while appends go on). The detail
//    gives the view's state (views_status(); a FAILED or REBUILDING view's answers came from the
//    fallback scan, which must give the same answers), how many answers were compared and the
//    first few differences.
//
// Thread-safety: run_log_check and check_views ask the client from several threads at once (the
// ApiClient is thread-safe); everything else here is single-threaded, one owner per object.
// Nothing throws; failures to reach the log become failed checks, except the first question
// (stats), whose error run_log_check returns.
#ifndef BEL_ACTORS_CHECK_LOG_CHECK_H_
#define BEL_ACTORS_CHECK_LOG_CHECK_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "actors/client/api_client.h"
#include "messages/error.h"
#include "messages/types.h"
#include "projections/queries.h"

namespace bel::check {

// One line of the report.
struct CheckResult {
  std::string name;  // "schema", "idx contiguity", "view partition_status", ...
  bool ok = false;
  std::string detail;  // one line for people
};

// The schema check (see above). Never fails to return: an error opening the log is a failed
// check whose detail is the error.
CheckResult check_schema(const std::string& log_uri);

// Checks a stream of events in the order a scan returns them: idx contiguity from 1, structure,
// unique event_ids. Memory: one entry per event_id (fine up to millions of events).
class ScanChecker {
 public:
  // How many missing ranges, repeats, invalid events and repeated ids the detail names.
  static constexpr size_t kMaxNamed = 5;

  // Takes the next event read (idx set, as stored).
  void add(const BuildEvent& event);

  // The check's result, requiring every idx 1..`last_idx` to have been read (more is fine).
  CheckResult finish(int64_t last_idx) const;

  int64_t events() const { return events_; }
  int64_t highest_idx() const { return next_idx_ - 1; }

 private:
  void note_missing(int64_t from, int64_t to);

  int64_t next_idx_ = 1;  // the idx the next event should have
  int64_t events_ = 0;
  int64_t missing_count_ = 0;
  std::vector<std::pair<int64_t, int64_t>> missing_;  // first kMaxNamed ranges, inclusive
  int64_t missing_ranges_ = 0;
  int64_t repeats_ = 0;
  std::vector<std::string> repeat_notes_;
  int64_t invalid_ = 0;
  std::vector<std::string> invalid_notes_;
  int64_t duplicate_ids_ = 0;
  std::vector<std::string> duplicate_notes_;
  std::unordered_map<std::string, int64_t> event_ids_;  // event_id -> idx of its first event
};

// The "full scan" answer: the four views folded locally from every event read, plus every
// partition ref, build request id, job run id and job label the events name (in order of first
// appearance), which the view check asks about.
class FullScanFold {
 public:
  // Folds `event` in. REQUIRES: idx above every idx applied before.
  void apply(const BuildEvent& event);

  // The idx of the last event applied, 0 for none.
  int64_t last_idx() const { return last_idx_; }

  // The answer to `query` from the view that answers it (projections::answer).
  // REQUIRES: projections::check_query(query).ok()
  Result<QueryResult> answer(const Query& query) const;

  const projections::PartitionStatusView& partitions() const { return partitions_; }
  const projections::BuildSummaryView& builds() const { return builds_; }
  const projections::JobRunsView& job_runs() const { return job_runs_; }
  const projections::ActivityView& activity() const { return activity_; }

  // Every partition ref an event names (SPEC 3.2 "an event's partitions").
  const std::vector<std::string>& partition_refs() const { return refs_.items; }
  const std::vector<std::string>& build_request_ids() const { return builds_seen_.items; }
  // Job run ids and labels of JobEvents (a run exists from its first JobEvent).
  const std::vector<std::string>& job_run_ids() const { return runs_seen_.items; }
  const std::vector<std::string>& job_labels() const { return labels_seen_.items; }

 private:
  struct Seen {
    std::vector<std::string> items;
    std::unordered_set<std::string> set;
    void add(const std::string& s) {
      if (!s.empty() && set.insert(s).second) items.push_back(s);
    }
  };

  int64_t last_idx_ = 0;
  projections::PartitionStatusView partitions_;
  projections::BuildSummaryView builds_;
  projections::JobRunsView job_runs_;
  projections::ActivityView activity_;
  Seen refs_, builds_seen_, runs_seen_, labels_seen_;
};

// Reads the log through `client` in idx order, handing every event once to the checker (when it
// reads it) and to the fold (once a caller asks for its idx). Owns neither; both must outlive it.
class LogScan {
 public:
  static constexpr int kPageLimit = 10000;

  LogScan(const actors::ApiClient& client, ScanChecker* checker, FullScanFold* fold);

  // Applies to the fold every event with idx <= `idx` not applied yet, reading pages as needed.
  // Stops early, without error, when the log has no more events. `progress` (may be empty) gets
  // the highest idx read after each page. On error (the page's), events read before stay applied.
  Status advance_to(int64_t idx, const std::function<void(int64_t)>& progress = {});

  FullScanFold& fold() { return *fold_; }
  const ScanChecker& checker() const { return *checker_; }

 private:
  const actors::ApiClient& client_;
  ScanChecker* checker_;
  FullScanFold* fold_;
  int64_t read_idx_ = 0;              // next_idx of the last page
  bool at_end_ = false;               // the last page said has_more = false
  std::vector<BuildEvent> buffered_;  // read beyond what was asked for, ascending
  size_t buffered_pos_ = 0;
};

// How one view's answers compared.
struct ViewComparison {
  int64_t compared = 0;
  int64_t mismatches = 0;
  std::vector<std::string> differences;  // the first few: "<query>: <difference>"
};

// Nothing when `from_view` equals `from_fold` (MessageDifferencer::Equals on answers, the error
// code on errors); else a short description (at most a few hundred characters) of the first
// difference, view value first:
//   "modified: partition_status.status_name: \"PARTITION_BUILDING\" -> \"PARTITION_AVAILABLE\"
//    (view -> full scan) and 2 more".
std::optional<std::string> answer_difference(const Result<QueryResult>& from_view,
                                             const Result<QueryResult>& from_fold);

// The as_of_idx of whichever answer `result` holds; 0 when none is set.
int64_t as_of_idx_of(const QueryResult& result);

struct ViewCheckOptions {
  // Queries asked at once (each on its own thread).
  int parallelism = 8;
  // Queries per round: answers of a round are compared in as_of_idx order.
  size_t round_size = 512;
  // The page size of the lists (SPEC section 4 maximum).
  int list_limit = 1000;
  // Differences named per view.
  size_t max_differences = 3;
  // (questions answered, questions known so far) after each round; may be empty.
  std::function<void(int64_t, int64_t)> progress;
};

// Compares every answer of SPEC section 4 (see the file comment) from the coordinator with the
// fold of `scan`, advancing the scan when an answer reflects a later idx. Stops asking after an
// error that says the coordinator cannot answer at all (timeout, storage_unavailable), which
// counts as a mismatch. Indexed by projections::ViewKind.
std::vector<ViewComparison> compare_views(const actors::ApiClient& client, LogScan& scan,
                                          const ViewCheckOptions& options, std::string* stopped_by);

// Turns a view's comparison and its status (nullptr when unknown) into its CheckResult.
CheckResult view_check_result(projections::ViewKind kind, const ViewComparison& comparison,
                              const ViewStatus* status, const std::string& stopped_by);

struct LogCheckOptions {
  std::string log_uri;  // for the schema check
  // When set, the schema check is not run and reports ok with "n/a (<this>)" (e.g. the
  // coordinator of --connect has its log elsewhere).
  std::string schema_not_applicable;
  ViewCheckOptions views;
  // How long to wait for the views to finish loading before comparing (they may still be
  // loading in a freshly started in-process coordinator); their answers then come from the
  // fallback, which the detail says.
  std::chrono::milliseconds views_ready_wait{60000};
  // (phase, done, total) while scanning ("scanning") and comparing ("comparing"); may be empty.
  std::function<void(const char*, int64_t, int64_t)> progress;
};

struct LogCheckReport {
  int64_t last_idx = 0;  // the log's last idx when the check started
  std::vector<CheckResult> checks;
  bool ok() const;
};

// Polls client.views_status() (every 50 ms) until each view is HEALTHY at `idx` or FAILED, for
// at most `wait`; `progress` (may be empty) hears ("waiting for the views", slowest, idx). Used
// where answers should come from the views rather than the fallback of a view still loading.
void wait_for_views(const actors::ApiClient& client, int64_t idx, std::chrono::milliseconds wait,
                    const std::function<void(const char*, int64_t, int64_t)>& progress);

// Runs every check through `client`. An error only when the log's last idx cannot be asked.
Result<LogCheckReport> run_log_check(const actors::ApiClient& client,
                                     const LogCheckOptions& options);

}  // namespace bel::check

#endif  // BEL_ACTORS_CHECK_LOG_CHECK_H_
