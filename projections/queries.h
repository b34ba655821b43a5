// Queries (SPEC section 4) as one Query message: which view answers each, answering it from that
// view, and the fallback that answers it from a scan of the log with the same view code.
//
//   BEL_RETURN_IF_ERROR(bel::projections::check_query(query));      // invalid_argument
//   ViewKind kind = bel::projections::view_for(query);               // which view actor to ask
//   Result<QueryResult> r = bel::projections::answer(partition_view, query);
//
//   // The fallback: scan what the fold asks for, then answer as of the scan's last idx.
//   bel::projections::FallbackFold fold(query);
//   do {
//     for (page over storage.list_events(..., fold.filter(), ...)) for (e : page) fold.add(e);
//   } while (fold.next_phase());
//   Result<QueryResult> r = fold.finish(last_idx);
//
// Pure code: no I/O, no clock, no CAF.
#ifndef BEL_PROJECTIONS_QUERIES_H_
#define BEL_PROJECTIONS_QUERIES_H_

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "messages/error.h"
#include "messages/types.h"
#include "projections/activity_view.h"
#include "projections/build_summary_view.h"
#include "projections/job_runs_view.h"
#include "projections/partition_status_view.h"

namespace bel::projections {

// The views of the query tier, one projection actor each.
enum class ViewKind { partition_status, build_summary, job_runs, activity };
inline constexpr ViewKind kAllViews[] = {ViewKind::partition_status, ViewKind::build_summary,
                                         ViewKind::job_runs, ViewKind::activity};
// How many views there are: the size of an array indexed by ViewKind.
inline constexpr size_t kViewCount = std::size(kAllViews);
// The index of `kind` in such an array.
inline constexpr size_t view_index(ViewKind kind) { return static_cast<size_t>(kind); }

// "partition_status", "build_summary", "job_runs", "activity" (the views' kName).
const char* view_name(ViewKind kind);
// The view named `name`, or nothing.
std::optional<ViewKind> parse_view_name(std::string_view name);
// not_found "no view named "x" (views: partition_status, ...)" for a name parse_view_name refuses.
Error unknown_view_error(std::string_view name);

// The view that answers `query`. REQUIRES: check_query(query).ok()
ViewKind view_for(const Query& query);

// The idx the answer must reflect: the larger of Query.min_idx and a list request's min_idx.
int64_t min_idx_of(const Query& query);

// Calls `f(request)` with the request of a list query (partitions_list, builds_list or
// job_runs_list), which share limit, offset and min_idx, and returns true; false for any other
// query, without calling `f`.
//
//   int32_t offset = -1;
//   with_list_request(query, [&](const auto& request) { offset = request.offset(); });
template <class F>
bool with_list_request(const Query& query, F f);

// invalid_argument, naming the field, when no query is set, a required ref / id / label is empty
// or not well-formed UTF-8, a list's optional key filter is not UTF-8, min_idx is negative, or a
// list's limit, offset or pattern is bad (never clamped).
Status check_query(const Query& query);

// The argument checks check_query is made of, for callers that take the same arguments:
// invalid_argument "<field> is empty" / "min_idx <n> is negative".
Status check_required(const char* field, const std::string& value);
Status check_min_idx(int64_t min_idx);

// The query's name for logs and messages: "partition_status(data/a)".
std::string describe_query(const Query& query);

// Answers `query` from `view`. not_found for an unknown build request, job run or job label;
// internal when `query` is not one this view answers. REQUIRES: check_query(query).ok()
Result<QueryResult> answer(const PartitionStatusView& view, const Query& query);
Result<QueryResult> answer(const BuildSummaryView& view, const Query& query);
Result<QueryResult> answer(const JobRunsView& view, const Query& query);
Result<QueryResult> answer(const ActivityView& view, const Query& query);

// One of each view, folded side by side: the reference answer of `bel check` (every view from a
// full scan), the fallback fold's views, and the tests' folds.
//
//   AllViews views;
//   for (const auto& e : events) views.apply(e);
//   auto result = views.answer(query);  // from the view that view_for(query) names
struct AllViews {
  PartitionStatusView partitions;
  BuildSummaryView builds;
  JobRunsView jobs;
  ActivityView activity;

  // Folds `event` into every view, or into the view `kind` only.
  void apply(const BuildEvent& event);
  void apply(ViewKind kind, const BuildEvent& event);
  // advance_to(idx) of the view `kind` (the log reached `idx` with no more events for it).
  void advance_to(ViewKind kind, int64_t idx);
  // The answer of the view that view_for(query) names. REQUIRES: check_query(query).ok()
  Result<QueryResult> answer(const Query& query) const;

  // Calls f(view) with the view `kind` of `views` (an AllViews, const or not).
  template <class Views, class F>
  static decltype(auto) with_view(Views& views, ViewKind kind, F&& f) {
    switch (kind) {
      case ViewKind::partition_status:
        return f(views.partitions);
      case ViewKind::build_summary:
        return f(views.builds);
      case ViewKind::job_runs:
        return f(views.jobs);
      case ViewKind::activity:
        break;
    }
    return f(views.activity);
  }
};

// Answers one query by folding the events it needs into a fresh view of its kind: the fallback
// path of the query actor, and the oracle of property tests. Each phase names the events it
// needs as an EventFilter (empty = every event); the caller scans the log with it, in idx order,
// up to one fixed last idx for every phase, and hands each event to add().
//  - partition_status: the partition's events, then the BuildRequestEvents and BuildCancelEvents
//    of the requests whose claims can still set its status, then the JobEvents and
//    JobRunCancelEvents of the job runs those claims name, then the BuildRequestEvents and
//    BuildCancelEvents of those runs' build requests (SPEC section 4, "In-flight claims end
//    with their owner": a run's failure, before or after the claim, and its build's end while
//    it is open end the claim). Only when the latest status set by the partition's own events
//    is in flight: the claim it came from and every claim standing at that event; otherwise
//    nothing. A scan of the partition's events from an idx S (phase() 1) still reads the
//    later phases from the log's start: whether a run had ended, or which build it belongs to,
//    may be logged before S.
//  - build_summary: the build request's events.
//  - job_run: the run's events, then the BuildRequestEvents and BuildCancelEvents of its build
//    request (whose end cancels an open run).
//  - active_builds: the partition's events, then the BuildRequestEvents and BuildCancelEvents of
//    the requests whose own latest status for it is in flight (whether they are terminal).
//  - job_metrics: the label's JobEvents, then every event of the runs found (cancels carry no
//    label), then the BuildRequestEvents and BuildCancelEvents of their build requests.
//  - lists, job metrics of every label, activity: every event.
// A later phase naming more than kMaxExpandedIds ids is read with several filters of at most
// that many ids each (next_phase() names them one after the other): never a whole-log fold for a
// question about one key.
class FallbackFold {
 public:
  static constexpr size_t kMaxExpandedIds = 512;

  // REQUIRES: check_query(query).ok()
  explicit FallbackFold(Query query);
  ~FallbackFold();
  FallbackFold(FallbackFold&&) noexcept;
  FallbackFold& operator=(FallbackFold&&) noexcept;

  // The events the current phase needs. An empty filter means every event.
  const EventFilter& filter() const { return filter_; }
  // The current phase: 1 (the key's own events), then 2, 3, ...
  int phase() const { return phase_; }

  // Takes the next event of the current phase (ascending idx within a phase).
  void add(const BuildEvent& event);
  void add(BuildEvent&& event);  // the same, keeping the event without copying it

  // Ends the current phase (or one filter of it). True when another follows: filter() now
  // names it.
  bool next_phase();

  // The answer as of `last_idx` (the idx every phase scanned up to). not_found as answer().
  Result<QueryResult> finish(int64_t last_idx);

 private:
  void apply_buffered();

  Query query_;
  EventFilter filter_;
  int phase_ = 1;
  bool streaming_;                    // a scan of every event: apply as events come
  std::vector<EventFilter> queued_;   // the rest of the current phase's filters, last first
  std::vector<BuildEvent> buffered_;  // filtered phases: merged by idx before folding
  std::unique_ptr<AllViews> views_;
};

// Active builds of one partition from its claim checkpoint at idx A (PartitionStatusView::
// claim_checkpoints, carried by the stored answers): the scan reads the partition's
// PartitionEvents and DelegationEvents after A only (phase 1, since_idx() = A), then the
// BuildRequestEvents and BuildCancelEvents of every request whose own latest status for it is
// then in progress (phase 2, from the log's first event: the checkpoint names requests that
// ended before A, and a lenient log may reopen one). The answer is PartitionStatusView::
// active_builds's as of the same last idx, without reading the partition's history before A.
//
//   ActiveBuildsFromCheckpoint fold(ref, answers.as_of_idx(), *answers.claim_checkpoint(ref));
//   do {
//     for (page over storage.list_events(fold.since_idx(), fold.filter(), ...)) fold.add(e);
//   } while (fold.next_phase());
//   ActiveBuildsResponse r = fold.finish(last_idx);
class ActiveBuildsFromCheckpoint {
 public:
  ActiveBuildsFromCheckpoint(std::string ref, int64_t checkpoint_idx,
                             const std::vector<std::string>& in_progress);

  const EventFilter& filter() const { return filter_; }
  // The current phase reads events with idx above this one.
  int64_t since_idx() const { return phase_ == 1 ? checkpoint_idx_ : 0; }
  // Takes the next event of the current phase (ascending idx within a filter).
  void add(const BuildEvent& event);
  // As FallbackFold::next_phase().
  bool next_phase();
  ActiveBuildsResponse finish(int64_t last_idx) const;

 private:
  std::string ref_;
  int64_t checkpoint_idx_;
  int phase_ = 1;
  EventFilter filter_;
  std::vector<EventFilter> queued_;
  // By request: whether its latest status for ref_ is in progress.
  std::map<std::string, bool> in_progress_;
  std::map<std::string, std::pair<int64_t, BuildRequestStatus>> status_;  // the latest end's
};

// The result field's name, e.g. "partition_status" (for messages).
std::string_view result_name(const QueryResult& result);

template <class F>
bool with_list_request(const Query& query, F f) {
  switch (query.query_case()) {
    case Query::kPartitionsList:
      f(query.partitions_list());
      return true;
    case Query::kBuildsList:
      f(query.builds_list());
      return true;
    case Query::kJobRunsList:
      f(query.job_runs_list());
      return true;
    default:
      return false;
  }
}

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_QUERIES_H_
