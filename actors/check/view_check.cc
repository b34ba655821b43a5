#include "actors/check/view_check.h"

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>

namespace bel::check {
namespace {

using projections::ViewKind;

constexpr size_t kMaxDifferenceChars = 240;

std::string answers_text(int64_t n) {
  return std::to_string(n) + (n == 1 ? " answer" : " answers");
}

std::string shorten(std::string text, size_t max_chars) {
  if (text.size() > max_chars) text = text.substr(0, max_chars - 3) + "...";
  return text;
}

// The answer `r` holds and its field `name` (as_of_idx, has_more), found by reflection as
// result_name does; nullptr when no answer is set or that answer has no such field.
const google::protobuf::FieldDescriptor* answer_field(const QueryResult& r, const char* name,
                                                      const google::protobuf::Message** answer) {
  if (r.result_case() == QueryResult::RESULT_NOT_SET) return nullptr;
  const auto* which = QueryResult::descriptor()->FindFieldByNumber(r.result_case());
  *answer = &r.GetReflection()->GetMessage(r, which);
  return (*answer)->GetDescriptor()->FindFieldByName(name);
}

// describe_query, with the page of a list: "builds_list(offset 1000)".
std::string describe(const Query& q) {
  int32_t offset = -1;
  projections::with_list_request(q, [&](const auto& request) { offset = request.offset(); });
  std::string out = projections::describe_query(q);
  if (offset >= 0) out += "(offset " + std::to_string(offset) + ")";
  return out;
}

// A round's answers arrive in one message and are held whole until compared: a list page of
// 1 000 rows is ~100 kB, so a round takes at most this many pages of each list.
constexpr int kListPagesPerRound = 32;

bool cannot_answer_at_all(const Error& e) {
  return e.code == ErrorCode::timeout || e.code == ErrorCode::storage_unavailable;
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
// ---- comparing answers ----

// Every answer carries as_of_idx; 0 when none is set.
int64_t as_of_idx_of(const QueryResult& r) {
  const google::protobuf::Message* answer = nullptr;
  const auto* field = answer_field(r, "as_of_idx", &answer);
  return field == nullptr ? 0 : answer->GetReflection()->GetInt64(*answer, field);
}

// `answer`'s bytes with map entries in key order, so that equal answers give equal bytes.
static void deterministic_bytes(const QueryResult& answer, std::string* out) {
  // Sized first: a StringOutputStream would fill the string's whole capacity for each answer.
  const size_t size = answer.ByteSizeLong();
  out->resize(size);
  google::protobuf::io::ArrayOutputStream stream(out->data(), static_cast<int>(size));
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  answer.SerializeWithCachedSizes(&coded);
}

// Equal bytes mean equal answers. Comparing bytes costs a fraction of MessageDifferencer, whose
// reflection (descriptor look-ups behind a lock, field by field) was a tenth of `bel check`'s
// CPU; answers whose bytes differ are still compared, and named, field by field.
static bool same_bytes(const QueryResult& a, const QueryResult& b) {
  thread_local std::string a_bytes, b_bytes;  // reused: a check compares ~340k pairs per 1M events
  deterministic_bytes(a, &a_bytes);
  deterministic_bytes(b, &b_bytes);
  return a_bytes == b_bytes;
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
  if (same_bytes(*from_view, *from_fold)) return std::nullopt;
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

// ---- the questions ----

bool has_more_of(const QueryResult& r) {
  const google::protobuf::Message* answer = nullptr;
  const auto* field = answer_field(r, "has_more", &answer);  // only lists have the field
  return field != nullptr && answer->GetReflection()->GetBool(*answer, field);
}

int64_t total_count_of(const QueryResult& r) {
  const google::protobuf::Message* answer = nullptr;
  const auto* field = answer_field(r, "total_count", &answer);
  return field == nullptr ? 0 : answer->GetReflection()->GetInt64(*answer, field);
}

std::vector<Query> whole_view_questions(ViewKind kind) {
  std::vector<Query> out;
  if (kind == ViewKind::activity) out.emplace_back().mutable_activity();
  if (kind == ViewKind::job_runs) out.emplace_back().mutable_job_metrics_list();
  return out;
}

std::vector<Query::QueryCase> view_lists(ViewKind kind) {
  switch (kind) {
    case ViewKind::partition_status:
      return {Query::kPartitionsList};
    case ViewKind::build_summary:
      return {Query::kBuildsList};
    case ViewKind::job_runs:
      return {Query::kJobRunsList};
    case ViewKind::activity:
      break;
  }
  return {};
}

Query list_page(Query::QueryCase list, int limit, int64_t offset) {
  Query q;
  switch (list) {
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
}

ItemQuestions::ItemQuestions(const ScanKeys& keys, std::optional<ViewKind> only)
    : keys_(keys),
      ref_end_(keys.partition_refs().size()),
      build_end_(keys.build_request_ids().size()),
      run_end_(keys.job_run_ids().size()),
      label_end_(keys.job_labels().size()) {
  if (!only) return;
  // Whether view `only` answers a question of this kind.
  auto asked = [&](Query q) { return projections::view_for(q) == *only; };
  Query q;
  q.mutable_partition_status();
  status_ = asked(q);
  q.mutable_active_builds();
  active_ = asked(q);
  if (!status_ && !active_) ref_end_ = 0;
  q.mutable_build_summary();
  if (!asked(q)) build_end_ = 0;
  q.mutable_job_run();
  if (!asked(q)) run_end_ = 0;
  q.mutable_job_metrics();
  if (!asked(q)) label_end_ = 0;
}

bool ItemQuestions::next(std::vector<Query>* out) {
  // The key lists may grow meanwhile (a fold reading on): index them each time.
  if (refs_ < ref_end_) {
    const std::string ref(keys_.partition_refs()[refs_++]);
    if (status_) out->emplace_back().mutable_partition_status()->set_partition_ref(ref);
    if (active_) out->emplace_back().mutable_active_builds()->set_partition_ref(ref);
  } else if (builds_ < build_end_) {
    out->emplace_back().mutable_build_summary()->set_build_request_id(
        std::string(keys_.build_request_ids()[builds_++]));
  } else if (runs_ < run_end_) {
    out->emplace_back().mutable_job_run()->set_job_run_id(
        std::string(keys_.job_run_ids()[runs_++]));
  } else if (labels_ < label_end_) {
    out->emplace_back().mutable_job_metrics()->set_job_label(
        std::string(keys_.job_labels()[labels_++]));
  } else {
    return false;
  }
  return true;
}

int64_t ItemQuestions::left() const {
  return (int64_t{status_} + int64_t{active_}) * static_cast<int64_t>(ref_end_ - refs_) +
         static_cast<int64_t>(build_end_ - builds_) + static_cast<int64_t>(run_end_ - runs_) +
         static_cast<int64_t>(label_end_ - labels_);
}

bool compare_answer(const Query& query, const Result<QueryResult>& from_view,
                    const Result<QueryResult>& from_fold, size_t max_differences,
                    ViewComparison* comparison) {
  auto diff = answer_difference(from_view, from_fold);
  count_answer(query, diff, max_differences, comparison);
  return diff.has_value();
}

void count_answer(const Query& query, const std::optional<std::string>& difference,
                  size_t max_differences, ViewComparison* comparison) {
  ++comparison->compared;
  if (!difference) return;
  ++comparison->mismatches;
  if (comparison->differences.size() < max_differences) {
    comparison->differences.push_back(describe(query) + ": " + *difference);
  }
}

void ask_view_questions(ViewKind kind, const ScanKeys& keys, int list_limit,
                        const std::function<bool(const Query&)>& ask) {
  for (const Query& q : whole_view_questions(kind)) ask(q);
  for (Query::QueryCase list : view_lists(kind)) {
    for (int64_t offset = 0; ask(list_page(list, list_limit, offset)); offset += list_limit) {
    }
  }
  ItemQuestions items(keys, kind);
  std::vector<Query> questions;
  while (items.next(&questions)) {
    for (const Query& q : questions) ask(q);
    questions.clear();
  }
}

// ---- through a coordinator ----

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

  // The fold's keys known now. Items the fold meets when it reads further are left out, so that
  // appends going on meanwhile cannot keep the check asking for ever; the lists and activity
  // cover them.
  ItemQuestions items(fold.keys());
  bool first_round = true;
  int64_t asked = 0;
  stopped_by->clear();

  while (stopped_by->empty()) {
    std::vector<Query> round;
    if (first_round) {
      for (ViewKind kind : projections::kAllViews) {
        for (auto& q : whole_view_questions(kind)) round.push_back(std::move(q));
      }
      first_round = false;
    }
    for (auto& list : lists) {
      if (list.done) continue;
      // The pages the fold knows of now, at least one, at most kListPagesPerRound; further ones
      // next round if the last page says there are more (pages left, or the log grew meanwhile).
      const int64_t total = list.total();
      int pages = 0;
      do {
        round.push_back(list_page(list.kind, limit, list.next_offset));
        list.next_offset += limit;
      } while (list.next_offset < total && ++pages < kListPagesPerRound);
      list.last_page = round.size() - 1;
      list.more = false;
    }
    // Fill the round with per-item questions.
    while (round.size() < options.round_size && items.next(&round)) {
    }
    if (round.empty()) break;

    const int64_t min_idx = fold.last_idx();
    for (auto& q : round) q.set_min_idx(min_idx);
    // Many to a message: one call per question cost the check through a coordinator's console
    // endpoint ~0.25 ms each (94 s for the 1M-event bench log's 340 000 questions).
    auto answers = client.query_each(round);

    // Compare in as_of_idx order, reading the fold forward to each answer's idx: both then
    // describe the same prefix of the log. An error reflects nothing: compare it first.
    std::vector<size_t> order(round.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    auto key = [&](size_t i) { return answers[i].ok() ? as_of_idx_of(*answers[i]) : min_idx; };
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return key(a) < key(b); });
    for (size_t i : order) {
      const Result<QueryResult>& from_view = answers[i];
      if (from_view.ok() && as_of_idx_of(*from_view) > fold.last_idx()) {
        auto read = scan.advance_to(as_of_idx_of(*from_view));
        if (!read.ok() && stopped_by->empty()) {
          *stopped_by = "reading the log: " + read.error().to_string();
        }
      }
      // A view that could not answer at all (the coordinator stopped, a timeout) said nothing
      // about its state: the check stops asking and says why, rather than counting each
      // question still in flight as a difference.
      if (!from_view.ok() && cannot_answer_at_all(from_view.error())) {
        if (stopped_by->empty()) *stopped_by = from_view.error().to_string();
        continue;
      }
      Result<QueryResult> from_fold = fold.answer(round[i]);
      compare_answer(round[i], from_view, from_fold, options.max_differences,
                     &out[projections::view_index(projections::view_for(round[i]))]);
      for (auto& list : lists) {
        if (!list.done && list.last_page == i) {
          list.more = (from_view.ok() && has_more_of(*from_view)) ||
                      (from_fold.ok() && has_more_of(*from_fold));
        }
      }
    }
    for (auto& list : lists) list.done = list.done || !list.more;

    asked += static_cast<int64_t>(round.size());
    if (options.progress) options.progress(asked, asked + items.left());
  }
  return out;
}

CheckResult view_check_result(ViewKind kind, const ViewComparison& comparison,
                              const ViewStatus* status, const std::string& stopped_by) {
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
  return view_check_result(kind, comparison, state, stopped_by);
}

CheckResult view_check_result(ViewKind kind, const ViewComparison& comparison,
                              const std::string& state, const std::string& stopped_by) {
  CheckResult out{std::string("view ") + projections::view_name(kind), false, ""};
  std::vector<std::string> parts = {state};
  if (comparison.mismatches == 0) {
    parts.push_back(answers_text(comparison.compared) +
                    (comparison.compared == 1 ? " equals" : " equal") + " the full scan");
  } else {
    parts.push_back(
        std::to_string(comparison.mismatches) + " of " + answers_text(comparison.compared) +
        (comparison.mismatches == 1 ? " differs" : " differ") +
        " from the full scan: " + fmt::to_string(fmt::join(comparison.differences, "; ")));
  }
  if (!stopped_by.empty()) parts.push_back("stopped asking: " + stopped_by);
  out.ok = comparison.mismatches == 0 && stopped_by.empty() && comparison.compared > 0;
  out.detail = fmt::to_string(fmt::join(parts, "; "));
  return out;
}

}  // namespace bel::check
