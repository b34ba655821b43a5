// The log side of `bel check` (see log_check.h for the whole check): the schema check, the
// checker of a scan's events (idx contiguity, structure, unique event_ids), and the fold of the
// scanned events that stands as the reference answer for every view.
//
//   ScanChecker checker;
//   FullScanFold fold;
//   LogScan scan(client, &checker, &fold);
//   if (auto read = scan.advance_to(last_idx); !read.ok()) return read.error();
//   CheckResult contiguity = checker.finish(last_idx);
//   auto answer = fold.answer(query);  // what every view should answer as of fold.last_idx()
//
// Single-threaded: one owner per object. Nothing throws.
#ifndef BEL_ACTORS_CHECK_SCAN_CHECK_H_
#define BEL_ACTORS_CHECK_SCAN_CHECK_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/client/api_client.h"
#include "messages/error.h"
#include "messages/types.h"
#include "projections/queries.h"
#include "projections/string_pool.h"

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
// unique event_ids. Memory: 24 bytes per event whose event_id is a canonical UUID (its 16 bytes and
// idx, sorted at finish()), one map entry per other event_id.
class ScanChecker {
 public:
  // How many missing ranges, repeats, invalid events and repeated ids the detail names.
  static constexpr size_t kMaxNamed = 5;

  // Takes the next event read (idx set, as stored).
  void add(const BuildEvent& event);
  // The same without copying the event: its idx is cleared for the structure check and set back
  // before this returns.
  void add(BuildEvent* event);

  // Room for `events` more events' ids, taken at once (a scan knows how many it will read): the
  // ids are not copied each time they outgrow their buffer. Only a hint.
  void reserve(int64_t events) {
    if (events > 0) uuid_ids_.reserve(uuid_ids_.size() + static_cast<size_t>(events));
  }

  // The check's result, requiring every idx 1..`last_idx` to have been read (more is fine).
  CheckResult finish(int64_t last_idx) const;

  int64_t events() const { return events_; }
  int64_t highest_idx() const { return next_idx_ - 1; }
  // The detail of a scan that failed with `error`: the error, and how far the checks got. (Pages
  // are read whole, so a page that fails to read is not counted at all: the error, not the
  // count, names the idx where the log is damaged.)
  std::string scan_stopped(const Error& error) const;

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
  // Repeated ids found while adding (ids that are not UUIDs): idx of the repeat, its note.
  std::vector<std::pair<int64_t, std::string>> duplicate_notes_;
  struct UuidIdx {
    std::array<char, 16> bytes;
    int64_t idx;
  };
  // UUID event_ids in the order read; finish() sorts them (by bytes, then idx) to find repeats.
  mutable std::vector<UuidIdx> uuid_ids_;
  std::unordered_map<std::string, int64_t> other_ids_;  // event_id -> idx of its first event
};

// Distinct non-empty strings in order of first appearance, each kept once (a string pool).
class KeyList {
 public:
  void add(std::string_view s) {
    if (!s.empty()) pool_.intern(s);
  }
  size_t size() const { return pool_.size(); }
  // The i-th string, valid as long as the list. REQUIRES: i < size().
  std::string_view operator[](size_t i) const {
    return pool_.str(static_cast<projections::StringPool::Id>(i));
  }

 private:
  projections::StringPool pool_;
};

// Every partition ref, build request id, job run id and job label a stream of events names, in
// order of first appearance: the keys the view check asks about one by one. A check that keeps
// the keys of one view at a time keeps only those.
class ScanKeys {
 public:
  // Takes the keys `event` names: every kind, or only those whose questions view `kind` answers
  // (partition_status: partition refs; build_summary: build requests; job_runs: job runs and
  // labels; activity: none).
  void add(const BuildEvent& event);
  void add(const BuildEvent& event, projections::ViewKind kind);

  // Every partition ref an event names (SPEC 3.2 "an event's partitions").
  const KeyList& partition_refs() const { return refs_; }
  const KeyList& build_request_ids() const { return builds_; }
  // Job run ids and labels of JobEvents (a run exists from its first JobEvent).
  const KeyList& job_run_ids() const { return runs_; }
  const KeyList& job_labels() const { return labels_; }

 private:
  KeyList refs_, builds_, runs_, labels_;
};

// The "full scan" answer: the four views folded locally from every event read, plus the keys the
// events name (ScanKeys), which the view check asks about.
class FullScanFold {
 public:
  // Folds `event` in. REQUIRES: idx above every idx applied before.
  void apply(const BuildEvent& event);

  // The idx of the last event applied, 0 for none.
  int64_t last_idx() const { return last_idx_; }

  // The answer to `query` from the view that answers it (projections::answer).
  // REQUIRES: projections::check_query(query).ok()
  Result<QueryResult> answer(const Query& query) const;

  const projections::PartitionStatusView& partitions() const { return views_.partitions; }
  const projections::BuildSummaryView& builds() const { return views_.builds; }
  const projections::JobRunsView& job_runs() const { return views_.jobs; }
  const projections::ActivityView& activity() const { return views_.activity; }

  const ScanKeys& keys() const { return keys_; }
  const KeyList& partition_refs() const { return keys_.partition_refs(); }
  const KeyList& build_request_ids() const { return keys_.build_request_ids(); }
  const KeyList& job_run_ids() const { return keys_.job_run_ids(); }
  const KeyList& job_labels() const { return keys_.job_labels(); }

 private:
  int64_t last_idx_ = 0;
  projections::AllViews views_;
  ScanKeys keys_;
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
  std::vector<BuildEvent> buffered_;  // read beyond what was asked for, ascending
  size_t buffered_pos_ = 0;
};

}  // namespace bel::check

#endif  // BEL_ACTORS_CHECK_SCAN_CHECK_H_
