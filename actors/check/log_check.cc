#include "actors/check/log_check.h"

#include <google/protobuf/util/message_differencer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iterator>
#include <memory>
#include <system_error>
#include <thread>

#include "actors/component_log.h"
#include "messages/event_keys.h"
#include "actors/write/validation.h"
#include "storage/checks.h"
#include "storage/storage.h"
#include "storage/storage_factory.h"
#include "storage/uri.h"

namespace bel::check {
namespace {

using projections::ViewKind;

constexpr size_t kMaxDifferenceChars = 240;

std::shared_ptr<spdlog::logger> check_log() {
  static const auto logger = actors::component_log("check");
  return logger;
}

int64_t ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

std::string answers_text(int64_t n) {
  return std::to_string(n) + (n == 1 ? " answer" : " answers");
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::string range_text(const std::pair<int64_t, int64_t>& r) {
  return r.first == r.second ? std::to_string(r.first)
                             : std::to_string(r.first) + ".." + std::to_string(r.second);
}

std::string shorten(std::string text, size_t max_chars) {
  if (text.size() > max_chars) text = text.substr(0, max_chars - 3) + "...";
  return text;
}

size_t index_of(ViewKind kind) { return static_cast<size_t>(kind); }

// has_more of a list answer; false for every other answer.
bool has_more_of(const QueryResult& r) {
  switch (r.result_case()) {
    case QueryResult::kPartitionsList:
      return r.partitions_list().has_more();
    case QueryResult::kBuildsList:
      return r.builds_list().has_more();
    case QueryResult::kJobRunsList:
      return r.job_runs_list().has_more();
    default:
      return false;
  }
}

// describe_query, with the page of a list: "builds_list(offset 1000)".
std::string describe(const Query& q) {
  int32_t offset = -1;
  switch (q.query_case()) {
    case Query::kPartitionsList:
      offset = q.partitions_list().offset();
      break;
    case Query::kBuildsList:
      offset = q.builds_list().offset();
      break;
    case Query::kJobRunsList:
      offset = q.job_runs_list().offset();
      break;
    default:
      break;
  }
  std::string out = projections::describe_query(q);
  if (offset >= 0) out += "(offset " + std::to_string(offset) + ")";
  return out;
}

bool cannot_answer_at_all(const Error& e) {
  return e.code == ErrorCode::timeout || e.code == ErrorCode::storage_unavailable;
}

// Asks every query of `queries` through `client`, `parallelism` at a time.
std::vector<std::optional<Result<QueryResult>>> ask_all(const actors::ApiClient& client,
                                                        const std::vector<Query>& queries,
                                                        int parallelism) {
  std::vector<std::optional<Result<QueryResult>>> answers(queries.size());
  std::atomic<size_t> next{0};
  // Each slot is written by exactly one thread; join() publishes them to this one.
  auto work = [&] {
    for (size_t i = next++; i < queries.size(); i = next++) answers[i] = client.query(queries[i]);
  };
  const size_t extra = std::min(queries.size(), static_cast<size_t>(std::max(parallelism, 1))) - 1;
  std::vector<std::thread> threads;
  threads.reserve(extra);
  try {
    for (size_t t = 0; t < extra; ++t) threads.emplace_back(work);
  } catch (const std::system_error&) {
    // No more threads to be had: the ones running (and this one) ask the rest.
  }
  work();
  for (auto& t : threads) t.join();
  return answers;
}

}  // namespace

// Polls the views until each has reached `idx` (or failed), at most `wait`. Their answers would
// otherwise come from the fallback scan while they load, which checks nothing about them.
void wait_for_views(const actors::ApiClient& client, int64_t idx, std::chrono::milliseconds wait,
                    const std::function<void(const char*, int64_t, int64_t)>& progress) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    auto status = client.views_status();
    if (!status.ok()) return;  // the comparison will say what is wrong
    bool ready = true;
    int64_t slowest = idx;
    for (const auto& v : status->views()) {
      if (v.state() == v1::VIEW_FAILED) continue;
      if (v.state() != v1::VIEW_HEALTHY || v.applied_idx() < idx) {
        ready = false;
        slowest = std::min(slowest, v.applied_idx());
      }
    }
    if (ready || std::chrono::steady_clock::now() >= deadline) return;
    if (progress) progress("waiting for the views", slowest, idx);
    // A console command polling a status, not an actor: a short pause between asks is fine.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}


// ---- schema ----

CheckResult check_schema(const std::string& log_uri) {
  CheckResult out{"schema", false, ""};
  auto parsed = storage::parse_storage_uri(log_uri);
  if (!parsed.ok()) {
    out.detail = parsed.error().to_string();
    return out;
  }
  if (parsed->scheme == storage::UriScheme::memory ||
      parsed->scheme == storage::UriScheme::stdout_sink) {
    out.ok = true;
    out.detail = "n/a (in-process log)";
    return out;
  }
  if (parsed->scheme != storage::UriScheme::sqlite) {
    out.ok = true;
    out.detail = "n/a (not an sqlite:// log)";
    return out;
  }
  storage::StorageOptions options;
  options.read_only = true;
  // Opening read-only checks the version already (newer and older ones are refused): the error
  // then names the version found.
  auto log = storage::open_storage(log_uri, options);
  if (!log.ok()) {
    out.detail = log.error().to_string();
    return out;
  }
  auto version = (*log)->get_meta(storage::kSchemaVersionKey);
  if (!version.ok()) {
    out.detail = version.error().to_string();
    return out;
  }
  if (!version->has_value()) {
    out.detail = std::string("meta has no ") + storage::kSchemaVersionKey;
    return out;
  }
  const std::string want = std::to_string(storage::kSchemaVersion);
  if (**version != want) {
    out.detail = std::string(storage::kSchemaVersionKey) + " " + **version +
                 ", but this bel reads and writes version " + want;
    return out;
  }
  out.ok = true;
  out.detail = std::string(storage::kSchemaVersionKey) + " " + want + " (this bel's)";
  return out;
}

// ---- idx contiguity ----

void ScanChecker::note_missing(int64_t from, int64_t to) {
  missing_count_ += to - from + 1;
  ++missing_ranges_;
  if (missing_.size() < kMaxNamed) missing_.emplace_back(from, to);
}

void ScanChecker::add(const BuildEvent& event) {
  ++events_;
  const int64_t idx = event.idx();
  if (idx >= next_idx_) {
    if (idx > next_idx_) note_missing(next_idx_, idx - 1);
    next_idx_ = idx + 1;
  } else {
    ++repeats_;
    if (repeat_notes_.size() < kMaxNamed) {
      repeat_notes_.push_back("idx " + std::to_string(idx) + " after idx " +
                              std::to_string(next_idx_ - 1));
    }
  }

  // A stored event is one that was appended: it must pass the append checks once its idx, which
  // the log assigned, is taken away again. The log also assigned its event_id.
  BuildEvent as_appended = event;
  as_appended.clear_idx();
  Status valid = write::check_structure(as_appended);
  if (valid.ok() && event.event_id().empty()) {
    valid = make_error(ErrorCode::invalid_event, "event_id is empty");
  }
  if (!valid.ok()) {
    ++invalid_;
    if (invalid_notes_.size() < kMaxNamed) {
      invalid_notes_.push_back("idx " + std::to_string(idx) + ": " + valid.error().to_string());
    }
  }

  if (!event.event_id().empty()) {
    auto [it, inserted] = event_ids_.emplace(event.event_id(), idx);
    if (!inserted) {
      ++duplicate_ids_;
      if (duplicate_notes_.size() < kMaxNamed) {
        duplicate_notes_.push_back("\"" + event.event_id() + "\" at idx " +
                                   std::to_string(it->second) + " and " + std::to_string(idx));
      }
    }
  }
}

CheckResult ScanChecker::finish(int64_t last_idx) const {
  CheckResult out{"idx contiguity", false, ""};
  int64_t missing_count = missing_count_;
  int64_t missing_ranges = missing_ranges_;
  auto missing = missing_;
  if (next_idx_ <= last_idx) {  // the scan ended before the log's last idx
    missing_count += last_idx - next_idx_ + 1;
    ++missing_ranges;
    if (missing.size() < kMaxNamed) missing.emplace_back(next_idx_, last_idx);
  }
  const int64_t highest = std::max(last_idx, next_idx_ - 1);

  std::vector<std::string> problems;
  if (missing_count > 0) {
    std::vector<std::string> named;
    for (const auto& r : missing) named.push_back(range_text(r));
    std::string text = "missing idx " + join(named, ", ");
    if (missing_ranges > static_cast<int64_t>(missing.size())) {
      text += " and " + std::to_string(missing_ranges - static_cast<int64_t>(missing.size())) +
              " more ranges";
    }
    text += " (" + std::to_string(missing_count) + " of 1.." + std::to_string(highest) + ")";
    problems.push_back(text);
  }
  if (repeats_ > 0) {
    problems.push_back(std::to_string(repeats_) +
                       " repeated or out of order: " + join(repeat_notes_, ", "));
  }
  if (invalid_ > 0) {
    problems.push_back(std::to_string(invalid_) + " invalid: " + join(invalid_notes_, "; "));
  }
  if (duplicate_ids_ > 0) {
    problems.push_back(std::to_string(duplicate_ids_) +
                       " repeated event_id: " + join(duplicate_notes_, ", "));
  }
  if (!problems.empty()) {
    out.detail = join(problems, "; ");
    return out;
  }
  out.ok = true;
  out.detail = highest == 0 ? std::string("the log is empty")
                            : "idx 1.." + std::to_string(highest) + " without gaps or repeats; " +
                                  std::to_string(events_) + " valid events, as many event_ids";
  return out;
}

// ---- the full-scan fold ----

void FullScanFold::apply(const BuildEvent& event) {
  partitions_.apply(event);
  builds_.apply(event);
  job_runs_.apply(event);
  activity_.apply(event);
  last_idx_ = event.idx();
  for (const auto& ref : keys_of(event).partitions) refs_.add(ref);
  builds_seen_.add(event.build_request_id());
  if (event.has_job_event()) {
    runs_seen_.add(event.job_event().job_run_id());
    labels_seen_.add(event.job_event().job_label().label());
  }
}

Result<QueryResult> FullScanFold::answer(const Query& query) const {
  switch (projections::view_for(query)) {
    case ViewKind::partition_status:
      return projections::answer(partitions_, query);
    case ViewKind::build_summary:
      return projections::answer(builds_, query);
    case ViewKind::job_runs:
      return projections::answer(job_runs_, query);
    case ViewKind::activity:
      return projections::answer(activity_, query);
  }
  return make_error(ErrorCode::internal, "no view answers " + projections::describe_query(query));
}

// ---- reading the log ----

LogScan::LogScan(const actors::ApiClient& client, ScanChecker* checker, FullScanFold* fold)
    : client_(client), checker_(checker), fold_(fold), read_idx_(fold->last_idx()) {}

Status LogScan::advance_to(int64_t idx, const std::function<void(int64_t)>& progress) {
  while (fold_->last_idx() < idx) {
    if (buffered_pos_ < buffered_.size()) {
      const BuildEvent& e = buffered_[buffered_pos_];
      if (e.idx() > idx) return ok_status();
      // A repeated or out-of-order idx is the checker's to report; the fold takes each idx once.
      if (e.idx() > fold_->last_idx()) fold_->apply(e);
      ++buffered_pos_;
      continue;
    }
    buffered_.clear();
    buffered_pos_ = 0;
    ListEventsRequest request;
    request.set_since_idx(read_idx_);
    request.set_limit(static_cast<int32_t>(std::clamp<int64_t>(idx - read_idx_, 1, kPageLimit)));
    auto page = client_.list_events(request);
    if (!page.ok()) return page.error();
    if (page->events().empty()) return ok_status();  // the log ends before idx
    if (page->next_idx() <= read_idx_) {
      return make_error(ErrorCode::storage_corrupt,
                        "list_events since idx " + std::to_string(read_idx_) +
                            " answered next_idx " + std::to_string(page->next_idx()));
    }
    for (const auto& e : page->events()) checker_->add(e);
    read_idx_ = page->next_idx();
    buffered_.assign(std::make_move_iterator(page->mutable_events()->begin()),
                     std::make_move_iterator(page->mutable_events()->end()));
    if (progress) progress(read_idx_);
  }
  return ok_status();
}

// ---- comparing answers ----

int64_t as_of_idx_of(const QueryResult& r) {
  switch (r.result_case()) {
    case QueryResult::kPartitionStatus:
      return r.partition_status().as_of_idx();
    case QueryResult::kActiveBuilds:
      return r.active_builds().as_of_idx();
    case QueryResult::kPartitionsList:
      return r.partitions_list().as_of_idx();
    case QueryResult::kBuildSummary:
      return r.build_summary().as_of_idx();
    case QueryResult::kBuildsList:
      return r.builds_list().as_of_idx();
    case QueryResult::kJobRun:
      return r.job_run().as_of_idx();
    case QueryResult::kJobRunsList:
      return r.job_runs_list().as_of_idx();
    case QueryResult::kJobMetrics:
      return r.job_metrics().as_of_idx();
    case QueryResult::kJobMetricsList:
      return r.job_metrics_list().as_of_idx();
    case QueryResult::kActivity:
      return r.activity().as_of_idx();
    case QueryResult::RESULT_NOT_SET:
      return 0;
  }
  return 0;
}

std::optional<std::string> answer_difference(const Result<QueryResult>& from_view,
                                             const Result<QueryResult>& from_fold) {
  if (!from_view.ok() || !from_fold.ok()) {
    if (!from_view.ok() && !from_fold.ok()) {
      if (from_view.error().code == from_fold.error().code) return std::nullopt;
      return shorten(std::string("view answered ") + to_string(from_view.error().code) +
                         ", full scan " + to_string(from_fold.error().code) + ": " +
                         from_view.error().message,
                     kMaxDifferenceChars);
    }
    if (!from_view.ok()) {
      return shorten(
          "view answered " + from_view.error().to_string() + "; the full scan has an answer",
          kMaxDifferenceChars);
    }
    return shorten(
        "the full scan answered " + from_fold.error().to_string() + "; the view has an answer",
        kMaxDifferenceChars);
  }
  google::protobuf::util::MessageDifferencer differencer;
  std::string report;
  differencer.ReportDifferencesToString(&report);
  if (differencer.Compare(*from_view, *from_fold)) return std::nullopt;
  // One line per difference ("modified: a.b: x -> y"): name the first and count the others.
  size_t lines = std::count(report.begin(), report.end(), '\n');
  std::string first = report.substr(0, report.find('\n'));
  std::string out = first + " (view -> full scan)";
  if (lines > 1) out += " and " + std::to_string(lines - 1) + " more";
  return shorten(out, kMaxDifferenceChars);
}

std::vector<ViewComparison> compare_views(const actors::ApiClient& client, LogScan& scan,
                                          const ViewCheckOptions& options,
                                          std::string* stopped_by) {
  std::vector<ViewComparison> out(std::size(projections::kAllViews));
  FullScanFold& fold = scan.fold();
  const int limit = std::clamp(options.list_limit, 1, 1000);

  // The lists, each paged through from offset 0 until neither answer has more.
  struct ListCursor {
    Query::QueryCase kind;
    std::function<int64_t()> total;  // the fold's count: how many pages to ask for at once
    int64_t next_offset = 0;
    bool done = false;
    size_t last_page = 0;  // where its last page sits in the current round
    bool more = false;     // that page's answers said has_more
  };
  std::vector<ListCursor> lists = {
      {Query::kPartitionsList, [&] { return fold.partitions().total(); }},
      {Query::kBuildsList, [&] { return fold.builds().total(); }},
      {Query::kJobRunsList, [&] { return static_cast<int64_t>(fold.job_run_ids().size()); }},
  };
  auto list_page = [&](Query::QueryCase kind, int64_t offset) {
    Query q;
    switch (kind) {
      case Query::kPartitionsList:
        q.mutable_partitions_list()->set_limit(limit);
        q.mutable_partitions_list()->set_offset(static_cast<int32_t>(offset));
        break;
      case Query::kBuildsList:
        q.mutable_builds_list()->set_limit(limit);
        q.mutable_builds_list()->set_offset(static_cast<int32_t>(offset));
        break;
      default:
        q.mutable_job_runs_list()->set_limit(limit);
        q.mutable_job_runs_list()->set_offset(static_cast<int32_t>(offset));
        break;
    }
    return q;
  };

  // Positions in the fold's id lists. Items the fold meets when it reads further are left out, so
  // that appends going on meanwhile cannot keep the check asking for ever; the lists and activity
  // cover them.
  size_t refs = 0, builds = 0, runs = 0, labels = 0;
  const size_t ref_end = fold.partition_refs().size();
  const size_t build_end = fold.build_request_ids().size();
  const size_t run_end = fold.job_run_ids().size();
  const size_t label_end = fold.job_labels().size();
  bool first_round = true;
  int64_t asked = 0;
  stopped_by->clear();

  while (stopped_by->empty()) {
    std::vector<Query> round;
    if (first_round) {
      round.emplace_back().mutable_activity();
      round.emplace_back().mutable_job_metrics_list();
      first_round = false;
    }
    for (auto& list : lists) {
      if (list.done) continue;
      // Every page the fold knows of now, at least one; further ones next round if the last
      // page says there are more (the log grew meanwhile).
      const int64_t total = list.total();
      do {
        round.push_back(list_page(list.kind, list.next_offset));
        list.next_offset += limit;
      } while (list.next_offset < total);
      list.last_page = round.size() - 1;
      list.more = false;
    }
    // Fill the round with per-item questions. (The id vectors may grow below: index each time.)
    while (round.size() < options.round_size) {
      if (refs < ref_end) {
        const std::string& ref = fold.partition_refs()[refs++];
        round.emplace_back().mutable_partition_status()->set_partition_ref(ref);
        round.emplace_back().mutable_active_builds()->set_partition_ref(ref);
      } else if (builds < build_end) {
        round.emplace_back().mutable_build_summary()->set_build_request_id(
            fold.build_request_ids()[builds++]);
      } else if (runs < run_end) {
        round.emplace_back().mutable_job_run()->set_job_run_id(fold.job_run_ids()[runs++]);
      } else if (labels < label_end) {
        round.emplace_back().mutable_job_metrics()->set_job_label(fold.job_labels()[labels++]);
      } else {
        break;
      }
    }
    if (round.empty()) break;

    const int64_t min_idx = fold.last_idx();
    for (auto& q : round) q.set_min_idx(min_idx);
    auto answers = ask_all(client, round, options.parallelism);

    // Compare in as_of_idx order, reading the fold forward to each answer's idx: both then
    // describe the same prefix of the log. An error reflects nothing: compare it first.
    std::vector<size_t> order(round.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto key = [&](size_t i) { return answers[i]->ok() ? as_of_idx_of(**answers[i]) : min_idx; };
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return key(a) < key(b); });
    for (size_t i : order) {
      const Result<QueryResult>& from_view = *answers[i];
      if (from_view.ok() && as_of_idx_of(*from_view) > fold.last_idx()) {
        auto read = scan.advance_to(as_of_idx_of(*from_view));
        if (!read.ok() && stopped_by->empty()) {
          *stopped_by = "reading the log: " + read.error().to_string();
        }
      }
      Result<QueryResult> from_fold = fold.answer(round[i]);
      ViewComparison& c = out[index_of(projections::view_for(round[i]))];
      ++c.compared;
      if (auto diff = answer_difference(from_view, from_fold)) {
        ++c.mismatches;
        if (c.differences.size() < options.max_differences) {
          c.differences.push_back(describe(round[i]) + ": " + *diff);
        }
      }
      if (!from_view.ok() && cannot_answer_at_all(from_view.error()) && stopped_by->empty()) {
        *stopped_by = from_view.error().to_string();
      }
      for (auto& list : lists) {
        if (!list.done && list.last_page == i) {
          list.more = (from_view.ok() && has_more_of(*from_view)) ||
                      (from_fold.ok() && has_more_of(*from_fold));
        }
      }
    }
    for (auto& list : lists) list.done = list.done || !list.more;

    asked += static_cast<int64_t>(round.size());
    if (options.progress) {
      const int64_t left =
          2 * static_cast<int64_t>(ref_end - refs) + static_cast<int64_t>(build_end - builds) +
          static_cast<int64_t>(run_end - runs) + static_cast<int64_t>(label_end - labels);
      options.progress(asked, asked + left);
    }
  }
  return out;
}

CheckResult view_check_result(ViewKind kind, const ViewComparison& comparison,
                              const ViewStatus* status, const std::string& stopped_by) {
  CheckResult out{std::string("view ") + projections::view_name(kind), false, ""};
  std::string state;
  if (status == nullptr) {
    state = "state unknown";
  } else {
    const std::string at = "applied_idx " + std::to_string(status->applied_idx());
    switch (status->state()) {
      case v1::VIEW_HEALTHY:
        state = "healthy, " + at;
        break;
      case v1::VIEW_FAILED:
        state = "FAILED at idx " + std::to_string(status->failed_idx()) + " (" +
                shorten(status->last_error(), 120) + "): its answers came from the fallback scan";
        break;
      case v1::VIEW_REBUILDING:
        state = "rebuilding, " + at + ": its answers came from the fallback scan";
        break;
      case v1::VIEW_LOADING:
        state = "still loading, " + at + ": its answers may have come from the fallback scan";
        break;
      default:
        state = "state " + v1::ViewState_Name(status->state());
        break;
    }
  }
  std::vector<std::string> parts = {state};
  if (comparison.mismatches == 0) {
    parts.push_back(answers_text(comparison.compared) +
                    (comparison.compared == 1 ? " equals" : " equal") + " the full scan");
  } else {
    parts.push_back(std::to_string(comparison.mismatches) + " of " +
                    answers_text(comparison.compared) +
                    (comparison.mismatches == 1 ? " differs" : " differ") +
                    " from the full scan: " + join(comparison.differences, "; "));
  }
  if (!stopped_by.empty()) parts.push_back("stopped asking: " + stopped_by);
  out.ok = comparison.mismatches == 0 && stopped_by.empty() && comparison.compared > 0;
  out.detail = join(parts, "; ");
  return out;
}

// ---- everything ----

bool LogCheckReport::ok() const {
  return std::all_of(checks.begin(), checks.end(), [](const CheckResult& c) { return c.ok; });
}

Result<LogCheckReport> run_log_check(const actors::ApiClient& client,
                                     const LogCheckOptions& options) {
  auto stats = client.stats();
  if (!stats.ok()) return stats.error();
  LogCheckReport report;
  report.last_idx = stats->last_idx();
  if (options.schema_not_applicable.empty()) {
    report.checks.push_back(check_schema(options.log_uri));
  } else {
    report.checks.push_back({"schema", true, "n/a (" + options.schema_not_applicable + ")"});
  }

  ScanChecker checker;
  FullScanFold fold;
  LogScan scan(client, &checker, &fold);
  const int64_t last_idx = report.last_idx;
  auto started = std::chrono::steady_clock::now();
  auto scanned = scan.advance_to(last_idx, [&](int64_t read) {
    if (options.progress) options.progress("scanning the log", read, last_idx);
  });
  if (!scanned.ok()) {
    CheckResult contiguity = checker.finish(last_idx);
    contiguity.ok = false;
    contiguity.detail = "the scan stopped after idx " + std::to_string(checker.highest_idx()) +
                        ": " + scanned.error().to_string();
    report.checks.push_back(std::move(contiguity));
    for (ViewKind kind : projections::kAllViews) {
      report.checks.push_back({std::string("view ") + projections::view_name(kind), false,
                               "not compared: the scan of the log failed"});
    }
    return report;
  }

  check_log()->info("check: scanned events={} last_idx={} ms={}", checker.events(), fold.last_idx(),
                    ms_since(started));
  started = std::chrono::steady_clock::now();
  wait_for_views(client, fold.last_idx(), options.views_ready_wait, options.progress);
  check_log()->info("check: views ready ms={}", ms_since(started));
  started = std::chrono::steady_clock::now();
  ViewCheckOptions view_options = options.views;
  if (!view_options.progress && options.progress) {
    view_options.progress = [&](int64_t done, int64_t total) {
      options.progress("comparing the views", done, total);
    };
  }
  std::string stopped_by;
  auto comparisons = compare_views(client, scan, view_options, &stopped_by);
  auto status = client.views_status();
  int64_t compared = 0;
  for (const auto& c : comparisons) compared += c.compared;
  check_log()->info("check: compared answers={} fold_idx={} ms={}", compared, fold.last_idx(),
                    ms_since(started));

  // The contiguity check covers every event read, including those the view check read on.
  report.checks.push_back(checker.finish(last_idx));
  for (ViewKind kind : projections::kAllViews) {
    const ViewStatus* view_status = nullptr;
    if (status.ok()) {
      for (const auto& v : status->views()) {
        if (v.view() == projections::view_name(kind)) view_status = &v;
      }
    }
    report.checks.push_back(
        view_check_result(kind, comparisons[index_of(kind)], view_status, stopped_by));
  }
  return report;
}

}  // namespace bel::check
