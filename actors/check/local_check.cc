#include "actors/check/local_check.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "actors/check/page_reader.h"
#include "actors/component_log.h"
#include "actors/read/view_restore.h"
#include "projections/stored_answers.h"

namespace bel::check {
namespace {

using projections::ViewKind;

std::string idx_text(int64_t idx) { return "idx " + std::to_string(idx); }

// One view's fold: the idx of the last event applied (each idx once, ascending, as a view
// actor applies them) and, when a fold threw, where and why.
template <class View>
struct Fold {
  View view;
  int64_t idx = 0;
  std::string failed;  // "idx N: <what>"

  void apply(const BuildEvent& event) {
    if (!failed.empty() || event.idx() <= idx) return;
    try {
      view.apply(event);
      idx = event.idx();
    } catch (const std::exception& ex) {
      failed = idx_text(event.idx()) + ": " + ex.what();
    }
  }
};

// What a coordinator starting now restores of view `View` from `log` (load_snapshot, then
// restore): the view and its snapshot's idx, or nothing (no snapshot, or one that cannot be
// used, which `problem` then describes and `state` words as the report's first part).
// `log_mu`, when set, is held while the snapshot is read, not while it is restored.
template <class View>
std::optional<Fold<View>> restore_as_coordinator(storage::Storage& log, std::string* state,
                                                 std::string* problem, std::mutex* log_mu) {
  auto loaded = [&] {
    auto using_log = hold(log_mu);
    return log.load_stored_snapshot(View::kName, View::kVersion);
  }();
  if (!loaded.ok()) {
    *problem = "its snapshot does not load (" + loaded.error().to_string() +
               "): a coordinator would fail this view and answer from the fallback scan";
    return std::nullopt;
  }
  if (!loaded->has_value() || (**loaded).applied_idx <= 0) {
    *state = "no snapshot: a coordinator folds it from idx 1, as the full scan does";
    return std::nullopt;
  }
  const int64_t at = (**loaded).applied_idx;
  // Past the log's end? Above the last idx the log reports, it is asked for an event at or after
  // the snapshot's idx: a writer may have appended and refreshed the snapshot since the check
  // read its last idx (the check then folds on to the snapshot's idx).
  auto past_end = [&] {
    auto using_log = hold(log_mu);
    auto last = log.last_idx();
    if (!last.ok() || at <= *last) return false;
    auto at_or_after = log.list_events(at - 1, EventFilter{}, 1);
    return at_or_after.ok() && at_or_after->events_size() == 0;
  }();
  if (past_end) {
    *problem = "its snapshot reflects " + idx_text(at) +
               ", past the log's last event: a coordinator ignores it and folds from idx 1";
    return std::nullopt;
  }
  auto restored = actors::restore_view<View>(std::move((**loaded).data), (**loaded).encoded);
  if (!restored.ok()) {
    *problem = "its snapshot at " + idx_text(at) + " does not restore (" +
               restored.error().to_string() +
               "): a coordinator would ignore it and fold from idx 1";
    return std::nullopt;
  }
  std::optional<Fold<View>> out;
  out.emplace();
  out->view = std::move(*restored);
  out->idx = at;
  *state = "restored from its snapshot at " + idx_text(at);
  return out;
}

// What is wrong with the answers stored beside the snapshot of `view` restored at idx `at`
// (projections/stored_answers.h), or "": they must be the view's own. Console commands answer
// from them, and a partition's active builds scan from their claim checkpoints. Answers saved at
// another idx (a crash between the two writes) are left alone: a reader takes them for what
// they were at their own idx, which no fold here describes.
template <class View>
std::string stored_answers_problem(storage::Storage& log, const View& view, int64_t at,
                                   std::mutex* log_mu) {
  const std::string name = projections::answers_name(View::kName);
  auto loaded = [&] {
    auto using_log = hold(log_mu);
    return log.load_snapshot(name, View::kVersion);
  }();
  if (!loaded.ok()) return "its stored answers do not load (" + loaded.error().to_string() + ")";
  if (!loaded->has_value() || (**loaded).applied_idx != at) return {};
  const std::string where = "its stored answers at " + idx_text(at);
  auto stored = projections::StoredAnswers::parse(View::kName, View::kVersion, (**loaded).data);
  if (!stored.ok()) return where + " do not parse (" + stored.error().to_string() + ")";
  auto own = projections::StoredAnswers::parse(View::kName, View::kVersion,
                                               projections::serialize_answers(view, at));
  if (!own.ok()) return {};  // a view that stores none
  const std::string differs = stored->difference(*own);
  if (differs.empty()) return {};
  return where + " are not its snapshot's (" + differs +
         "): console commands would answer from them; `bel views rebuild` writes them again";
}

// Compares the answers of two views of one kind to the questions it is handed. A list page is
// answered at once (whether either answer has_more decides the next page); the other questions
// are answered kBatch at a time, half on a thread of its own (the views are only read), and
// counted in the order they came.
template <class View>
class AnswerComparer {
 public:
  static constexpr size_t kBatch = 4096;

  // `full` nullptr: `view` stands for both, asked once.
  AnswerComparer(const View& view, const View* full, size_t max_differences, ViewComparison* out)
      : view_(view), full_(full), max_differences_(max_differences), out_(out) {}

  // Asks `query` (now or with its batch); true when it is a list page and an answer has_more.
  bool ask(const Query& query) {
    if (!projections::with_list_request(query, [](const auto&) {})) {
      if (full_ == nullptr) {  // the same fold: nothing to compare, nothing to answer
        count_answer(query, std::nullopt, max_differences_, out_);
        return false;
      }
      pending_.push_back(query);
      if (pending_.size() >= kBatch) flush();
      return false;
    }
    if (full_ == nullptr) {
      // Nothing to compare: whether a page follows is all this needs, and a page of one row
      // says it (the page of `limit` rows at `offset` has more when offset + limit < total).
      int64_t offset = 0, limit = 0;
      projections::with_list_request(query, [&](const auto& request) {
        offset = request.offset();
        limit = request.limit();
      });
      Result<QueryResult> first =
          projections::answer(view_, list_page(query.query_case(), 1, offset));
      count_answer(query, std::nullopt, max_differences_, out_);
      return first.ok() && offset + limit < total_count_of(*first);
    }
    // A page of up to list_limit summaries from each side: the full scan's is answered on a
    // thread of its own meanwhile (the views are only read).
    std::optional<Result<QueryResult>> view_answer, fold_answer;
    run_both([&] { fold_answer.emplace(projections::answer(*full_, query)); },
             [&] { view_answer.emplace(projections::answer(view_, query)); });
    const Result<QueryResult>& from_view = *view_answer;
    const Result<QueryResult>& from_fold = *fold_answer;
    compare_answer(query, from_view, from_fold, max_differences_, out_);
    return (from_view.ok() && has_more_of(*from_view)) ||
           (from_fold.ok() && has_more_of(*from_fold));
  }

  // Answers and counts every question still waiting.
  void flush() {
    std::vector<std::optional<std::string>> differences(pending_.size());
    auto work = [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) differences[i] = difference(pending_[i]);
    };
    const size_t half = pending_.size() / 2;
    if (half == 0) {
      work(0, pending_.size());
    } else {
      run_both([&] { work(half, pending_.size()); }, [&] { work(0, half); });
    }
    for (size_t i = 0; i < pending_.size(); ++i) {
      count_answer(pending_[i], differences[i], max_differences_, out_);
    }
    pending_.clear();
  }

 private:
  std::optional<std::string> difference(const Query& query) const {
    return answer_difference(projections::answer(view_, query), projections::answer(*full_, query));
  }

  const View& view_;
  const View* full_;
  size_t max_differences_;
  ViewComparison* out_;
  std::vector<Query> pending_;
};

// What one view's check starts from: nothing (its own scan from idx 1 folds the view and collects
// its keys), or the fold of the scan every view shared, up to the check's last idx or past it, and
// the keys of that scan. `first`, when set, takes each event the check folds into `full` before
// it does (the fold `full` reads, SharedFolds::partitions_first).
template <class View>
struct FoldedStart {
  Fold<View>* full = nullptr;
  ScanKeys* keys = nullptr;
  std::function<void(const BuildEvent&)> first;
};

// Checks view `kind` (see the file comment). `checker`, when set, sees every event scanned.
// `scan_error` gets the error of a scan that stopped.
// `log_mu`, when set, is held while `log` is used (reading the snapshot and the events after it;
// not restoring, nor answering), so that two views can be checked at once.
template <class View>
CheckResult check_view(storage::Storage& log, ViewKind kind, int64_t last_idx, ScanChecker* checker,
                       const LogCheckOptions& options, Status* scan_error,
                       FoldedStart<View> folded = {}, std::mutex* log_mu = nullptr) {
  const std::string name = std::string("view ") + projections::view_name(kind);
  const auto started = std::chrono::steady_clock::now();
  if (folded.full != nullptr && !folded.full->failed.empty()) {
    return {name, false, "not compared: the full-scan fold failed at " + folded.full->failed};
  }
  std::string state, problem;
  std::optional<Fold<View>> restored = restore_as_coordinator<View>(log, &state, &problem, log_mu);
  const std::string answers_problem =
      restored ? stored_answers_problem<View>(log, restored->view, restored->idx, log_mu) : "";
  auto using_log = hold(log_mu);
  const int64_t restore_ms = ms_since(started);
  Fold<View> own;
  ScanKeys own_keys;
  Fold<View>& full = folded.full != nullptr ? *folded.full : own;
  // A snapshot taken after the check started (a writer saves them when it appends), or a shared
  // fold already past the last idx (folded there for another view's snapshot): read the log up
  // to it, so both folds describe the same prefix.
  const int64_t snapshot_idx = restored ? restored->idx : 0;
  const int64_t target = std::max({last_idx, snapshot_idx, full.idx});
  ScanKeys& keys = folded.keys != nullptr ? *folded.keys : own_keys;
  // From idx 1, or, after the shared scan, from where the restored view or the full fold stops
  // (each fold skips what it has applied).
  const int64_t since =
      folded.full == nullptr ? 0 : std::min(last_idx, restored ? restored->idx : last_idx);
  const std::string phase = "checking " + name;
  // The contiguity checker needs every field, and partition_status's keys the refs of job graphs;
  // the views only what they read.
  const auto detail = checker != nullptr || kind == ViewKind::partition_status
                          ? storage::EventDetail::full
                          : storage::EventDetail::views;
  auto scanned = scan_log(
      log, since, target, detail,
      [&](BuildEvent* stored) {
        if (checker != nullptr) checker->add(stored);
        const BuildEvent& event = *stored;
        if (event.idx() > full.idx && full.failed.empty()) keys.add(event, kind);
        if (folded.first) folded.first(event);
        full.apply(event);
        if (restored) restored->apply(event);
      },
      [&](int64_t idx) {
        if (options.progress) options.progress(phase.c_str(), idx, target);
      });
  const int64_t scan_ms = ms_since(started) - restore_ms;
  using_log = {};  // released: the answers do not read the log
  if (!scanned.ok()) {
    *scan_error = scanned;
    return {name, false, "not compared: reading the log: " + scanned.error().to_string()};
  }
  if (!full.failed.empty()) {
    return {name, false, "not compared: the full-scan fold failed at " + full.failed};
  }
  if (restored && !restored->failed.empty()) {
    return {name, false,
            state + "; folding the events after it failed at " + restored->failed +
                ": a coordinator would fail this view"};
  }
  // A restored view in the same state as the full scan's fold (same_state: their snapshots would
  // be the same bytes) answers every question as it does: the questions are then counted, as
  // for a view without a snapshot, not answered twice and compared.
  const bool same_state = restored && restored->view.same_state(full.view);
  if (restored) {
    state += ", folded to " + idx_text(restored->idx);
    if (same_state) state += "; the same state as the full scan's";
  }
  // The full scan itself stands for a coordinator's fold from idx 1: ask it once.
  const View& coordinator = restored ? restored->view : full.view;

  ViewComparison comparison;
  const int limit = std::clamp(options.views.list_limit, 1, projections::kMaxLimit);
  AnswerComparer<View> comparer(coordinator, restored && !same_state ? &full.view : nullptr,
                                options.views.max_differences, &comparison);
  ask_view_questions(kind, keys, limit, [&](const Query& query) { return comparer.ask(query); });
  comparer.flush();
  check_log()->info(
      "check: view={} snapshot_idx={} same_state={} answers={} mismatches={} restore_ms={} "
      "scan_ms={} ms={}",
      projections::view_name(kind), snapshot_idx, same_state, comparison.compared,
      comparison.mismatches, restore_ms, scan_ms, ms_since(started));

  // What mends a bad snapshot or stored answers (`bel check --repair` keeps snapshots as they are).
  const std::string remedy =
      std::string("; `bel views rebuild ") + projections::view_name(kind) + "` saves new ones";
  if (!problem.empty()) {
    CheckResult out = view_check_result(kind, comparison, "the view was folded from idx 1", "");
    out.ok = false;
    out.detail = problem + "; " + out.detail + remedy;
    return out;
  }
  CheckResult out = view_check_result(kind, comparison, state, "");
  if (!answers_problem.empty()) {
    out.ok = false;
    out.detail = answers_problem + "; " + out.detail + remedy;
  }
  return out;
}

// Every view folded from idx 1 by one scan, for a log short enough (options.one_scan_events).
// The activity view reads the partition status view's fold (ActivityView::share_fold), as in
// `bel views rebuild`: the statuses are folded once, and it is the same fold a coordinator's
// activity view keeps of its own (partition_status_fold.h). So the two folds take every event
// together (partitions_first), and the activity view is checked, and freed, before the partition
// status view. Held where it is made: the sharing points into it.
struct SharedFolds {
  Fold<projections::PartitionStatusView> partitions;
  Fold<projections::BuildSummaryView> builds;
  Fold<projections::JobRunsView> jobs;
  Fold<projections::ActivityView> activity;
  ScanKeys keys;  // of every kind
  const bool shared = activity.view.share_fold(&partitions.view);

  SharedFolds() = default;
  SharedFolds(const SharedFolds&) = delete;
  SharedFolds& operator=(const SharedFolds&) = delete;

  void apply(const BuildEvent& event) {
    partitions.apply(event);
    builds.apply(event);
    jobs.apply(event);
    after_partitions();
    activity.apply(event);
  }
  // What the activity view's check applies before each event it folds past the scan (a snapshot
  // newer than the scan): the partition status fold, and that view's keys, first.
  void partitions_first(const BuildEvent& event) {
    if (event.idx() > partitions.idx && partitions.failed.empty()) {
      keys.add(event, ViewKind::partition_status);
    }
    partitions.apply(event);
    after_partitions();
  }
  // A failed fold stops where it failed: the activity view must not read it half applied.
  void after_partitions() {
    if (shared && !partitions.failed.empty() && activity.failed.empty()) {
      activity.failed = partitions.failed + " (in the partition status fold it reads)";
    }
  }
  // Calls f(fold) with the fold of view `kind`.
  template <class F>
  void with_fold(ViewKind kind, F&& f) {
    switch (kind) {
      case ViewKind::partition_status:
        return f(partitions);
      case ViewKind::build_summary:
        return f(builds);
      case ViewKind::job_runs:
        return f(jobs);
      case ViewKind::activity:
        break;
    }
    f(activity);
  }
};

// One scan of the log up to `last_idx` for every view (see the file comment), then each view
// checked against its fold, which is freed once its check is done: job_runs (the most answers) on
// a thread of its own while this one checks the other three views (the two use the log one at a
// time), and `checker` finishes into `*contiguity` on a third.
void check_views_together(storage::Storage& log, ScanSource* source, int64_t last_idx,
                          ScanChecker& checker, const LogCheckOptions& options,
                          std::vector<CheckResult>& views, Status* first_scan,
                          CheckResult* contiguity) {
  const auto started = std::chrono::steady_clock::now();
  auto folds = std::make_unique<SharedFolds>();
  // The reading thread reads and parses each page (and, from a ScanSource, digests its derived
  // rows) and takes the keys its events name, while this one folds the page before and checks
  // each event's idx, structure and id. Measured on a 1M-event log, this split keeps both threads
  // busy; with the keys here, the reading thread waited a third of the scan for this one.
  int64_t keys_to = 0;  // the reading thread's
  checker.reserve(last_idx);
  *first_scan = scan_log(
      log, 0, last_idx, storage::EventDetail::full,
      [&](BuildEvent* stored) {
        folds->apply(*stored);
        checker.add(stored);
      },
      [&](int64_t idx) {
        if (options.progress) options.progress("checking the views (one scan)", idx, last_idx);
      },
      source,
      [&](const EventPage& page) {
        for (const BuildEvent& event : page.events()) {
          if (event.idx() > last_idx) break;
          if (event.idx() > keys_to) {
            folds->keys.add(event);
            keys_to = event.idx();
          }
        }
      });
  check_log()->info("check: one scan for every view to idx {} in {} ms", last_idx,
                    ms_since(started));
  std::mutex log_mu;
  auto check = [&](ViewKind kind) {
    CheckResult& out = views[static_cast<size_t>(kind)];
    if (!first_scan->ok()) {
      out = {std::string("view ") + projections::view_name(kind), false,
             "not compared: the scan of the log failed"};
      return;
    }
    folds->with_fold(kind, [&](auto& fold) {
      using View = std::decay_t<decltype(fold.view)>;
      Status scan_error = ok_status();
      FoldedStart<View> start{&fold, &folds->keys, {}};
      if (kind == ViewKind::activity && folds->shared) {
        start.first = [&](const BuildEvent& event) { folds->partitions_first(event); };
      }
      out = check_view<View>(log, kind, last_idx, nullptr, options, &scan_error, std::move(start),
                             &log_mu);
      fold = Fold<View>();  // this view's state is no longer needed
    });
  };
  try {
    // The checker has every event: it sorts its event_ids on a thread of its own while the views
    // are checked (their answers leave the cores idle part of the time), not after them.
    run_both([&] { *contiguity = checker.finish(last_idx); },
             [&] {
               run_both([&] { check(ViewKind::job_runs); },
                        [&] {
                          // The activity view before the partition status view whose fold it
                          // reads (SharedFolds).
                          for (ViewKind kind : {ViewKind::activity, ViewKind::partition_status,
                                                ViewKind::build_summary}) {
                            check(kind);
                          }
                        });
             });
    folds.reset();  // the keys and the emptied folds
  } catch (const std::exception& ex) {
    // Out of memory answering: every view not yet reported fails, naming why.
    for (ViewKind kind : projections::kAllViews) {
      CheckResult& out = views[static_cast<size_t>(kind)];
      if (out.name.empty()) {
        out = {std::string("view ") + projections::view_name(kind), false,
               std::string("not compared: ") + ex.what()};
      }
    }
    if (contiguity->name.empty()) *contiguity = checker.finish(last_idx);
  }
}

}  // namespace

Result<LogCheckReport> run_local_log_check(storage::Storage& log, const LogCheckOptions& options,
                                           ScanSource* first_scan_source) {
  auto last = log.last_idx();
  if (!last.ok()) return last.error();
  LogCheckReport report;
  report.last_idx = *last;
  // The source's view of the log began before this one: the check goes up to its last idx.
  ScanSource* const source = first_scan_source != nullptr && first_scan_source->last_idx() <= *last
                                 ? first_scan_source
                                 : nullptr;
  if (source != nullptr) report.last_idx = source->last_idx();
  if (first_scan_source != nullptr &&
      (source == nullptr || report.last_idx > options.one_scan_events)) {
    first_scan_source->not_read();
  }
  if (options.schema_not_applicable.empty()) {
    report.checks.push_back(check_schema(options.log_uri));
  } else {
    report.checks.push_back({"schema", true, "n/a (" + options.schema_not_applicable + ")"});
  }

  ScanChecker checker;
  std::vector<CheckResult> views(projections::kViewCount);
  Status first_scan = ok_status();
  CheckResult contiguity;
  if (report.last_idx <= options.one_scan_events) {
    check_views_together(log, source, report.last_idx, checker, options, views, &first_scan,
                         &contiguity);
  } else {
    for (ViewKind kind : projections::kAllViews) {
      const bool first = kind == projections::kAllViews[0];
      CheckResult& out = views[static_cast<size_t>(kind)];
      if (!first_scan.ok()) {
        out = {std::string("view ") + projections::view_name(kind), false,
               "not compared: the scan of the log failed"};
        continue;
      }
      Status scan_error = ok_status();
      ScanChecker* scan_checker = first ? &checker : nullptr;
      if (first) checker.reserve(report.last_idx);
      // The kind's view type, found through an empty AllViews used for nothing else.
      static const projections::AllViews kTypes;
      projections::AllViews::with_view(kTypes, kind, [&](const auto& type) {
        using View = std::decay_t<decltype(type)>;
        out = check_view<View>(log, kind, report.last_idx, scan_checker, options, &scan_error);
      });
      if (first) first_scan = scan_error;
    }
    contiguity = checker.finish(report.last_idx);
  }

  if (!first_scan.ok()) {
    contiguity.ok = false;
    contiguity.detail = checker.scan_stopped(first_scan.error());
    report.scan_stopped = first_scan.error();
  }
  report.checks.push_back(std::move(contiguity));
  for (auto& v : views) report.checks.push_back(std::move(v));
  return report;
}

}  // namespace bel::check
