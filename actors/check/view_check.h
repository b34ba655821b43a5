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
// Thread-safety: compare_views asks the client from several threads at once (the ApiClient is
// thread-safe); the scan it advances is used from the calling thread only. Nothing throws.
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

// Polls client.views_status() (every 50 ms) until each view is HEALTHY at `idx` or FAILED, for
// at most `wait`; `progress` (may be empty) hears ("waiting for the views", slowest, idx). Used
// where answers should come from the views rather than the fallback of a view still loading.
void wait_for_views(const actors::ApiClient& client, int64_t idx, std::chrono::milliseconds wait,
                    const std::function<void(const char*, int64_t, int64_t)>& progress);

}  // namespace bel::check

#endif  // BEL_ACTORS_CHECK_VIEW_CHECK_H_
