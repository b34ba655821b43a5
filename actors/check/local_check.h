// `bel check` on a log no coordinator runs on (docs/query-tier.md, "Checking the views"): the
// same checks and report as run_log_check (log_check.h), but the views are compared in this
// process, view by view, without starting a coordinator or any view actor.
//
//   auto log = storage::open_storage(uri, read_only);
//   LogCheckOptions options;
//   options.log_uri = uri;                                 // for the schema check
//   auto report = run_local_log_check(**log, options);
//   if (!report.ok()) return fail(report.error());         // the log's last idx could not be read
//
// For each view, up to the log's last idx when the check started:
//  (a) what a coordinator starting now would hold: the view restored from its newest snapshot in
//      the log and folded over the events after the snapshot's idx (from idx 1 when there is no
//      snapshot);
//  (b) the reference: the view folded from idx 1 over a full scan;
//  (c) every question the check through a coordinator asks of that view (ask_view_questions:
//      activity, every page of its lists, job_metrics_list, and the per-item questions about the
//      keys the events name), answered by both with projections::answer and compared with
//      answer_difference; unless (a) and (b) are in the same state (same_state() of the view:
//      their snapshots would be the same bytes, so every answer is the same), when the questions
//      are counted, as for one fold, and the report says "the same state as the full scan's";
//  (d) both views are released before the next view's check.
// A log of at most options.one_scan_events events is read once for all four references (b), which
// are then checked two views at a time (job_runs, which has the most answers, beside the other
// three in turn), each freed after its check; (a) reads only the events after each snapshot. In
// that scan the activity reference reads the partition status reference's fold, as `bel views
// rebuild` does (it is the same fold either keeps), and the reading thread also takes the keys
// the events name. A
// longer log is read once per view, building (a) and (b) of that view alone, so that memory stays
// that of two copies of one view. The scan from idx 1 that comes first also feeds the ScanChecker
// (idx contiguity). A view without a snapshot is folded once: a coordinator would fold it from idx
// 1 exactly as the full scan does, so its answers are asked of that one fold. A snapshot that does
// not load (the storage cannot read or decode it) or does not restore (its bytes are not a state of
// this view) fails that view's check, naming the error and what a coordinator would do with it; the
// fold from idx 1 is still asked every question.
//
// Memory: one scan: the four views folded from idx 1, the keys the events name (ScanKeys), and
// two restored views; one scan per view: at most two copies of one view and that view's keys.
// Either way a few pages of events and the ScanChecker (24 bytes per event). Each scan parses
// the next page on a thread of its own while the caller folds the last.
//
// Call from one thread; the log is used by one thread at a time: the reading thread during each
// scan, the caller or the thread checking job_runs between scans. Nothing throws (a view whose fold
// throws fails its check, naming the idx).
#ifndef BEL_ACTORS_CHECK_LOCAL_CHECK_H_
#define BEL_ACTORS_CHECK_LOCAL_CHECK_H_

#include "actors/check/log_check.h"
#include "messages/error.h"
#include "storage/storage.h"

namespace bel::check {

// Where the first scan from idx 1 may read its pages instead of the log (an SQLite file's
// derived-rows check, derived_check.h, which then reads the file's events once for both).
class ScanSource {
 public:
  virtual ~ScanSource() = default;
  // The last idx the source holds; the check goes up to it (never above the log's).
  virtual int64_t last_idx() const = 0;
  // As list_events_into(since, no filter, limit, page, EventDetail::full), for `since` from 0 on,
  // each call's `since` the next_idx of the page before.
  virtual Status read_page(int64_t since, int limit, EventPage* page) = 0;
  // Called instead when the check reads no page from it (a log checked with a scan per view): a
  // source with work of its own starts it now, beside the check.
  virtual void not_read() = 0;
};

// Runs every check of log_check.h on `log` (opened read-only will do), the views compared as
// above. options.views: list_limit and max_differences apply (round_size does not);
// options.one_scan_events applies; options.views_ready_wait does not. options.progress hears
// ("checking view <name>", idx read, last idx) while each view's scan runs. An error only when
// the log's last idx cannot be read.
// `first_scan` (may be null), when its last_idx() is at most the log's, is the check's last idx,
// and the one scan of a log of at most options.one_scan_events events reads its pages from it;
// otherwise its not_read() is called before the views are checked.
Result<LogCheckReport> run_local_log_check(storage::Storage& log, const LogCheckOptions& options,
                                           ScanSource* first_scan = nullptr);

}  // namespace bel::check

#endif  // BEL_ACTORS_CHECK_LOCAL_CHECK_H_
