#include "projections/queries.h"

#include <algorithm>
#include <set>
#include <string>

#include "messages/glob.h"

namespace bel::projections {
namespace {

Error bad(std::string what) { return make_error(ErrorCode::invalid_argument, std::move(what)); }

Error not_for_view(const Query& query, const char* view) {
  return make_error(ErrorCode::internal,
                    describe_query(query) + " is not answered by the " + view + " view");
}

// The QueryResult holding a view's answer in `field` (e.g. &QueryResult::mutable_builds_list), or
// the view's error.
template <class Answer, class Field>
Result<QueryResult> result_of(Result<Answer> answer, Field field) {
  if (!answer.ok()) return answer.error();
  QueryResult out;
  *(out.*field)() = std::move(*answer);
  return out;
}

Status check_statuses(const char* field, const google::protobuf::RepeatedField<int>& values,
                      bool (*valid)(int)) {
  for (int v : values) {
    if (!valid(v) || v == 0) {
      return bad(std::string(field) + ": " + std::to_string(v) + " is not a status");
    }
  }
  return ok_status();
}

}  // namespace

Status check_required(const char* field, const std::string& value) {
  if (value.empty()) return bad(std::string(field) + " is empty");
  return ok_status();
}

Status check_min_idx(int64_t min_idx) {
  if (min_idx < 0) return bad("min_idx " + std::to_string(min_idx) + " is negative");
  return ok_status();
}

const char* view_name(ViewKind kind) {
  switch (kind) {
    case ViewKind::partition_status:
      return PartitionStatusView::kName;
    case ViewKind::build_summary:
      return BuildSummaryView::kName;
    case ViewKind::job_runs:
      return JobRunsView::kName;
    case ViewKind::activity:
      return ActivityView::kName;
  }
  return "unknown";
}

std::optional<ViewKind> parse_view_name(std::string_view name) {
  for (ViewKind kind : kAllViews) {
    if (name == view_name(kind)) return kind;
  }
  return std::nullopt;
}

Error unknown_view_error(std::string_view name) {
  std::string names;
  for (ViewKind kind : kAllViews) {
    names += (names.empty() ? "" : ", ") + std::string(view_name(kind));
  }
  return make_error(ErrorCode::not_found,
                    "no view named \"" + std::string(name) + "\" (views: " + names + ")");
}

ViewKind view_for(const Query& query) {
  switch (query.query_case()) {
    case Query::kPartitionStatus:
    case Query::kActiveBuilds:
    case Query::kPartitionsList:
      return ViewKind::partition_status;
    case Query::kBuildSummary:
    case Query::kBuildsList:
      return ViewKind::build_summary;
    case Query::kJobRun:
    case Query::kJobRunsList:
    case Query::kJobMetrics:
    case Query::kJobMetricsList:
      return ViewKind::job_runs;
    case Query::kActivity:
    case Query::QUERY_NOT_SET:
      break;
  }
  return ViewKind::activity;
}

int64_t min_idx_of(const Query& query) {
  int64_t own = 0;
  with_list_request(query, [&](const auto& request) { own = request.min_idx(); });
  return std::max(own, query.min_idx());
}

Status check_query(const Query& query) {
  BEL_RETURN_IF_ERROR(check_min_idx(query.min_idx()));
  switch (query.query_case()) {
    case Query::kPartitionStatus:
      return check_required("partition_ref", query.partition_status().partition_ref());
    case Query::kActiveBuilds:
      return check_required("partition_ref", query.active_builds().partition_ref());
    case Query::kPartitionsList: {
      const auto& r = query.partitions_list();
      if (auto page = check_page(r.limit(), r.offset()); !page.ok()) return page.error();
      if (!r.pattern().empty()) {
        if (auto ok = check_glob(r.pattern()); !ok.ok()) return ok.error();
      }
      BEL_RETURN_IF_ERROR(check_min_idx(r.min_idx()));
      return check_statuses("status_filter", r.status_filter(), v1::PartitionStatus_IsValid);
    }
    case Query::kBuildSummary:
      return check_required("build_request_id", query.build_summary().build_request_id());
    case Query::kBuildsList: {
      const auto& r = query.builds_list();
      if (auto page = check_page(r.limit(), r.offset()); !page.ok()) return page.error();
      BEL_RETURN_IF_ERROR(check_min_idx(r.min_idx()));
      return check_statuses("status_filter", r.status_filter(), v1::BuildRequestStatus_IsValid);
    }
    case Query::kJobRun:
      return check_required("job_run_id", query.job_run().job_run_id());
    case Query::kJobRunsList: {
      const auto& r = query.job_runs_list();
      if (auto page = check_page(r.limit(), r.offset()); !page.ok()) return page.error();
      BEL_RETURN_IF_ERROR(check_min_idx(r.min_idx()));
      return check_statuses("status_filter", r.status_filter(), v1::JobStatus_IsValid);
    }
    case Query::kJobMetrics:
      return check_required("job_label", query.job_metrics().job_label());
    case Query::kJobMetricsList:
    case Query::kActivity:
      return ok_status();
    case Query::QUERY_NOT_SET:
      break;
  }
  return bad(
      "the query names no question (set one of partition_status, active_builds, "
      "partitions_list, build_summary, builds_list, job_run, job_runs_list, job_metrics, "
      "job_metrics_list, activity)");
}

std::string describe_query(const Query& query) {
  switch (query.query_case()) {
    case Query::kPartitionStatus:
      return "partition_status(" + query.partition_status().partition_ref() + ")";
    case Query::kActiveBuilds:
      return "active_builds(" + query.active_builds().partition_ref() + ")";
    case Query::kPartitionsList:
      return "partitions_list";
    case Query::kBuildSummary:
      return "build_summary(" + query.build_summary().build_request_id() + ")";
    case Query::kBuildsList:
      return "builds_list";
    case Query::kJobRun:
      return "job_run(" + query.job_run().job_run_id() + ")";
    case Query::kJobRunsList:
      return "job_runs_list";
    case Query::kJobMetrics:
      return "job_metrics(" + query.job_metrics().job_label() + ")";
    case Query::kJobMetricsList:
      return "job_metrics_list";
    case Query::kActivity:
      return "activity";
    case Query::QUERY_NOT_SET:
      break;
  }
  return "empty query";
}

std::string_view result_name(const QueryResult& result) {
  if (result.result_case() == QueryResult::RESULT_NOT_SET) return "nothing";
  return QueryResult::descriptor()->FindFieldByNumber(result.result_case())->name();
}

Result<QueryResult> answer(const PartitionStatusView& view, const Query& query) {
  QueryResult out;
  switch (query.query_case()) {
    case Query::kPartitionStatus:
      *out.mutable_partition_status() = view.status(query.partition_status().partition_ref());
      return out;
    case Query::kActiveBuilds:
      *out.mutable_active_builds() = view.active_builds(query.active_builds().partition_ref());
      return out;
    case Query::kPartitionsList:
      return result_of(view.list(query.partitions_list()), &QueryResult::mutable_partitions_list);
    default:
      return not_for_view(query, PartitionStatusView::kName);
  }
}

Result<QueryResult> answer(const BuildSummaryView& view, const Query& query) {
  switch (query.query_case()) {
    case Query::kBuildSummary:
      return result_of(view.summary(query.build_summary().build_request_id()),
                       &QueryResult::mutable_build_summary);
    case Query::kBuildsList:
      return result_of(view.list(query.builds_list()), &QueryResult::mutable_builds_list);
    default:
      return not_for_view(query, BuildSummaryView::kName);
  }
}

Result<QueryResult> answer(const JobRunsView& view, const Query& query) {
  QueryResult out;
  switch (query.query_case()) {
    case Query::kJobRun:
      return result_of(view.job_run(query.job_run().job_run_id()), &QueryResult::mutable_job_run);
    case Query::kJobRunsList:
      return result_of(view.list(query.job_runs_list()), &QueryResult::mutable_job_runs_list);
    case Query::kJobMetrics:
      return result_of(view.metrics(query.job_metrics().job_label()),
                       &QueryResult::mutable_job_metrics);
    case Query::kJobMetricsList:
      *out.mutable_job_metrics_list() = view.all_metrics();
      return out;
    default:
      return not_for_view(query, JobRunsView::kName);
  }
}

Result<QueryResult> answer(const ActivityView& view, const Query& query) {
  if (query.query_case() != Query::kActivity) return not_for_view(query, ActivityView::kName);
  QueryResult out;
  *out.mutable_activity() = view.activity();
  return out;
}

// ---- AllViews -----------------------------------------------------------------------------------

void AllViews::apply(const BuildEvent& event) {
  for (ViewKind kind : kAllViews) apply(kind, event);
}

void AllViews::apply(ViewKind kind, const BuildEvent& event) {
  with_view(*this, kind, [&](auto& view) { view.apply(event); });
}

void AllViews::advance_to(ViewKind kind, int64_t idx) {
  with_view(*this, kind, [&](auto& view) { view.advance_to(idx); });
}

Result<QueryResult> AllViews::answer(const Query& query) const {
  return with_view(*this, view_for(query),
                   [&](const auto& view) { return projections::answer(view, query); });
}

// ---- FallbackFold -------------------------------------------------------------------------------

FallbackFold::FallbackFold(Query query)
    : query_(std::move(query)), views_(std::make_unique<AllViews>()) {
  switch (query_.query_case()) {
    case Query::kPartitionStatus:
      filter_.add_partition_refs(query_.partition_status().partition_ref());
      break;
    case Query::kActiveBuilds:
      filter_.add_partition_refs(query_.active_builds().partition_ref());
      break;
    case Query::kBuildSummary:
      filter_.add_build_request_ids(query_.build_summary().build_request_id());
      break;
    case Query::kJobRun:
      filter_.add_job_run_ids(query_.job_run().job_run_id());
      break;
    case Query::kJobMetrics:
      filter_.add_job_labels(query_.job_metrics().job_label());
      filter_.add_event_types("job_event");
      break;
    default:
      break;  // every event
  }
  streaming_ = filter_.ByteSizeLong() == 0;
}

FallbackFold::~FallbackFold() = default;
FallbackFold::FallbackFold(FallbackFold&&) noexcept = default;
FallbackFold& FallbackFold::operator=(FallbackFold&&) noexcept = default;

void FallbackFold::add(const BuildEvent& event) {
  if (streaming_) {
    views_->apply(view_for(query_), event);
  } else {
    buffered_.push_back(event);
  }
}

namespace {

const char* const kBuildEndTypes[] = {"build_request_event", "build_cancel_event"};
const char* const kJobRunEndTypes[] = {"job_event", "job_run_cancel_event"};

// What phase `phase` (2, 3) of `query` scans, from the events found so far: ids of build
// requests (by_build) or job runs, and the event types. Nothing (ids empty) ends the fold.
struct Expansion {
  std::set<std::string> ids;
  bool by_build = true;
  const char* const* types = nullptr;  // two types, or nullptr for every type
};

Expansion expansion(const Query& query, int phase, const std::vector<BuildEvent>& found) {
  Expansion out;
  auto in_flight_claim = [](const BuildEvent& e) {
    return e.has_partition_event() &&
           is_in_progress_partition_status(e.partition_event().status_code());
  };
  switch (query.query_case()) {
    case Query::kActiveBuilds:
      // Whether the requests that touched the partition are terminal.
      if (phase != 2) break;
      out.types = kBuildEndTypes;
      for (const auto& e : found) {
        if (e.has_partition_event() || e.has_delegation_event())
          out.ids.insert(e.build_request_id());
      }
      break;
    case Query::kPartitionStatus:
      // The ends of the claims on the partition: their build requests' terminal events, then
      // their job runs' FAILED / CANCELLED events (which name no partition).
      for (const auto& e : found) {
        if (!in_flight_claim(e)) continue;
        if (phase == 2) out.ids.insert(e.build_request_id());
        if (phase == 3 && !e.partition_event().job_run_id().empty()) {
          out.ids.insert(e.partition_event().job_run_id());
        }
      }
      out.by_build = phase == 2;
      out.types = phase == 2 ? kBuildEndTypes : kJobRunEndTypes;
      break;
    case Query::kJobRun:
      // The run's build request ending while the run is open cancels it.
      if (phase != 2) break;
      out.types = kBuildEndTypes;
      for (const auto& e : found) {
        if (e.has_job_event()) {
          out.ids.insert(e.build_request_id());
          break;
        }
      }
      break;
    case Query::kJobMetrics:
      // Phase 2: every event of the label's runs (cancels carry no label); phase 3: the ends of
      // their build requests.
      for (const auto& e : found) {
        if (!e.has_job_event() || e.job_event().job_run_id().empty()) continue;
        out.ids.insert(phase == 2 ? e.job_event().job_run_id() : e.build_request_id());
      }
      out.by_build = phase == 3;
      out.types = phase == 3 ? kBuildEndTypes : nullptr;
      break;
    default:
      break;
  }
  return out;
}

}  // namespace

bool FallbackFold::next_phase() {
  if (streaming_ || phase_ >= 3) return false;
  ++phase_;
  filter_.Clear();
  const Expansion next = expansion(query_, phase_, buffered_);
  if (next.ids.empty()) return false;
  if (next.ids.size() > kMaxExpandedIds) {
    // Too many ids for one filter: fold every event instead (the earlier phases' events come
    // again in the full scan).
    buffered_.clear();
    streaming_ = true;
    return true;
  }
  for (const auto& id : next.ids) {
    if (next.by_build) {
      filter_.add_build_request_ids(id);
    } else {
      filter_.add_job_run_ids(id);
    }
  }
  if (next.types != nullptr) {
    filter_.add_event_types(next.types[0]);
    filter_.add_event_types(next.types[1]);
  }
  return true;
}

void FallbackFold::apply_buffered() {
  std::stable_sort(buffered_.begin(), buffered_.end(),
                   [](const BuildEvent& a, const BuildEvent& b) { return a.idx() < b.idx(); });
  int64_t last = -1;
  for (const auto& e : buffered_) {
    if (e.idx() == last) continue;  // found by both phases
    last = e.idx();
    views_->apply(view_for(query_), e);
  }
  buffered_.clear();
}

Result<QueryResult> FallbackFold::finish(int64_t last_idx) {
  apply_buffered();
  views_->advance_to(view_for(query_), last_idx);
  return views_->answer(query_);
}

}  // namespace bel::projections
