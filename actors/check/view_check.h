// The view side of `bel check` (see log_check.h for the whole check): asks the coordinator every
// question of SPEC section 4 and compares each answer with the full-scan fold's, view by view.
//
//   wait_for_views(client, last_idx, std::chrono::seconds(60), {});
//   std::string stopped_by;
//   auto comparisons = compare_views(client, scan, ViewCheckOptions{}, &stopped_by);
//   for (auto kind : projections::kAllViews) {
//     show(view_check_result(kind, comparisons[static_cast<size_t>(kind)], nullptr, stopped_by));
//   }
//
// Thread-safety: compare_views asks the client and advances the scan from the calling thread
// only. Nothing throws.
#ifndef BEL_ACTORS_CHECK_VIEW_CHECK_H_
#define BEL_ACTORS_CHECK_VIEW_CHECK_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "actors/check/scan_check.h"
#include "actors/client/api_client.h"
#include "messages/error.h"
#include "messages/types.h"
#include "projections/queries.h"

namespace bel::check {

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
  // Queries per round, asked in one ApiClient::query_each: answers of a round are compared in
  // as_of_idx order.
  size_t round_size = 512;
  // The page size of the lists (SPEC section 4 maximum).
  int list_limit = 1000;
  // Differences named per view.
  size_t max_differences = 3;
  // (questions answered, questions known so far) after each round; may be empty.
  std::function<void(int64_t, int64_t)> progress;
};

// ---- the questions, shared by the check through a coordinator and the one in this process ----

// The questions about a whole view that are neither a list page nor about one key: activity
// (view activity) and job_metrics_list (view job_runs); none for the other views.
std::vector<Query> whole_view_questions(projections::ViewKind kind);

// The lists view `kind` answers, each paged from offset 0: partitions_list (partition_status),
// builds_list (build_summary), job_runs_list (job_runs); none for activity.
std::vector<Query::QueryCase> view_lists(projections::ViewKind kind);

// The page of list `list` (one of view_lists) at `offset`, at most `limit` rows.
Query list_page(Query::QueryCase list, int limit, int64_t offset);

// has_more of a list answer; false for every other answer.
bool has_more_of(const QueryResult& result);
// total_count of a list answer; 0 for every other answer.
int64_t total_count_of(const QueryResult& result);

// The per-item questions about the keys `keys` holds when this is made (keys added later are
// left out), key by key: partition_status and active_builds of each partition ref, then
// build_summary of each build request, job_run of each job run, job_metrics of each job label;
// with `only`, just those that view answers (projections::view_for). `keys` must outlive it.
class ItemQuestions {
 public:
  explicit ItemQuestions(const ScanKeys& keys,
                         std::optional<projections::ViewKind> only = std::nullopt);
  // Appends the questions about the next key to `out`; false when no key is left.
  bool next(std::vector<Query>* out);
  // How many questions are left.
  int64_t left() const;

 private:
  const ScanKeys& keys_;
  bool status_ = true, active_ = true;  // which partition questions are asked
  size_t refs_ = 0, builds_ = 0, runs_ = 0, labels_ = 0;
  size_t ref_end_, build_end_, run_end_, label_end_;
};

// Compares the answers to `query` (answer_difference) and counts them in `comparison`, naming
// the difference ("<query>: <difference>") while fewer than `max_differences` are named. True
// when they differ.
bool compare_answer(const Query& query, const Result<QueryResult>& from_view,
                    const Result<QueryResult>& from_fold, size_t max_differences,
                    ViewComparison* comparison);
// The same for a difference answer_difference already found (nothing: the answers are equal).
void count_answer(const Query& query, const std::optional<std::string>& difference,
                  size_t max_differences, ViewComparison* comparison);

// Calls ask(query) with every question view `kind` answers: its whole-view questions, every page
// of its lists (limit `list_limit`; the next page while ask returns true, i.e. an answer said
// has_more), then the ItemQuestions of `keys` that this view answers. ask's result is ignored
// for the other questions.
void ask_view_questions(projections::ViewKind kind, const ScanKeys& keys, int list_limit,
                        const std::function<bool(const Query&)>& ask);

// ---- through a coordinator ----

// Compares every answer of SPEC section 4 (see the file comment) from the coordinator with the
// fold of `scan`, advancing the scan when an answer reflects a later idx. Stops asking after an
// error that says the coordinator cannot answer at all (timeout, storage_unavailable), which
// counts as a mismatch. Indexed by projections::ViewKind.
std::vector<ViewComparison> compare_views(const actors::ApiClient& client, LogScan& scan,
                                          const ViewCheckOptions& options, std::string* stopped_by);

// Turns a view's comparison and its status (nullptr when unknown) into its CheckResult.
CheckResult view_check_result(projections::ViewKind kind, const ViewComparison& comparison,
                              const ViewStatus* status, const std::string& stopped_by);

// The same with the view's state in words ("healthy, applied_idx 7", ...), the detail's first
// part. ok when the view's answers were compared, all equal, and nothing stopped the asking.
CheckResult view_check_result(projections::ViewKind kind, const ViewComparison& comparison,
                              const std::string& state, const std::string& stopped_by);

// Polls client.views_status() (every 50 ms) until each view is HEALTHY at `idx` or FAILED, for
// at most `wait`; `progress` (may be empty) hears ("waiting for the views", slowest, idx). Used
// where answers should come from the views rather than the fallback of a view still loading.
void wait_for_views(const actors::ApiClient& client, int64_t idx, std::chrono::milliseconds wait,
                    const std::function<void(const char*, int64_t, int64_t)>& progress);

}  // namespace bel::check

#endif  // BEL_ACTORS_CHECK_VIEW_CHECK_H_
