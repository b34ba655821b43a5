#include "projections/queries.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "messages/glob.h"

namespace bel::projections {
namespace {

// The key of a question about one thing — a request of one string field: a ref, id or label —
// as its field's name ("job_run_id") and value. Nothing for the lists and the activity.
struct QueryKey {
  std::string name;
  std::string value;
};

std::optional<QueryKey> query_key(const Query& query) {
  if (query.query_case() == Query::QUERY_NOT_SET) return std::nullopt;
  const auto* field = Query::descriptor()->FindFieldByNumber(query.query_case());
  const auto& question = query.GetReflection()->GetMessage(query, field);
  const auto* fields = question.GetDescriptor();
  if (fields->field_count() != 1 ||
      fields->field(0)->type() != google::protobuf::FieldDescriptor::TYPE_STRING) {
    return std::nullopt;
  }
  return QueryKey{fields->field(0)->name(),
                  question.GetReflection()->GetString(question, fields->field(0))};
}

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

// The checks of a list request, in order: its page, `more` (what only that list has), its
// min_idx and its status_filter against `valid`.
template <class ListRequest, class More>
Status check_list(const ListRequest& r, bool (*valid)(int), More more) {
  if (auto page = check_page(r.limit(), r.offset()); !page.ok()) return page.error();
  BEL_RETURN_IF_ERROR(more());
  BEL_RETURN_IF_ERROR(check_min_idx(r.min_idx()));
  return check_statuses("status_filter", r.status_filter(), valid);
}

template <class ListRequest>
Status check_list(const ListRequest& r, bool (*valid)(int)) {
  return check_list(r, valid, [] { return ok_status(); });
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
  if (auto key = query_key(query)) {
    // A key no event holds, which the answer would echo in a message that cannot serialize.
    BEL_RETURN_IF_ERROR(check_required(key->name.c_str(), key->value));
    return check_utf8(key->name, key->value);
  }
  switch (query.query_case()) {
    case Query::kPartitionsList: {
      const auto& r = query.partitions_list();
      return check_list(r, v1::PartitionStatus_IsValid, [&] {
        return r.pattern().empty() ? ok_status() : check_glob(r.pattern());
      });
    }
    case Query::kBuildsList:
      return check_list(query.builds_list(), v1::BuildRequestStatus_IsValid);
    case Query::kJobRunsList: {
      // Its filters are optional ("" is any) but, when given, a key some event could hold.
      const auto& r = query.job_runs_list();
      return check_list(r, v1::JobStatus_IsValid, [&]() -> Status {
        BEL_RETURN_IF_ERROR(check_utf8("job_label", r.job_label()));
        return check_utf8("build_request_id", r.build_request_id());
      });
    }
    case Query::kJobMetricsList:
    case Query::kActivity:
      return ok_status();
    default:  // QUERY_NOT_SET; the questions about one key are checked above
      break;
  }
  return bad(
      "the query names no question (set one of partition_status, active_builds, "
      "partitions_list, build_summary, builds_list, job_run, job_runs_list, job_metrics, "
      "job_metrics_list, activity)");
}

std::string describe_query(const Query& query) {
  if (query.query_case() == Query::QUERY_NOT_SET) return "empty query";
  // The question's field name, as result_name does, and for a question about one key that key:
  // "job_run(jr-1)".
  std::string out = Query::descriptor()->FindFieldByNumber(query.query_case())->name();
  if (auto key = query_key(query)) out += "(" + key->value + ")";
  return out;
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
  // A question about one key reads only the events about it: the filter's field of that kind of
  // key is its plural (job_run_id -> job_run_ids). The others read every event.
  if (auto key = query_key(query_)) {
    const auto* about = EventFilter::descriptor()->FindFieldByName(key->name + "s");
    if (about != nullptr) filter_.GetReflection()->AddString(&filter_, about, key->value);
  }
  if (query_.has_job_metrics()) filter_.add_event_types("job_event");
  // A partition's own events that change its status or a request's claim on it; the other
  // events naming it (build requests listing it, job events targeting it, about two thirds of a
  // busy partition's history) matter only as the ends that phases 2 and 3 read by id.
  if (query_.has_partition_status() || query_.has_active_builds()) {
    filter_.add_event_types("partition_event");
    filter_.add_event_types("delegation_event");
    if (query_.has_partition_status()) filter_.add_event_types("partition_invalidation_event");
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

void FallbackFold::add(BuildEvent&& event) {
  if (streaming_) {
    views_->apply(view_for(query_), event);
  } else {
    buffered_.push_back(std::move(event));
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

// A request's claim on one partition (partition_status_fold.h): its latest PartitionEvent or
// DelegationEvent for the ref, when that status is in flight.
struct LatestClaim {
  bool in_flight = false;
  std::string job_run_id;
};

// The claim that `e` sets for its request on partition `ref` (a PartitionEvent's status; a
// DelegationEvent's is DELEGATED, never in flight), or nothing when `e` sets none.
std::optional<LatestClaim> claim_set_by(const BuildEvent& e, const std::string& ref) {
  if (e.has_partition_event() && e.partition_event().partition_ref().str() == ref) {
    const auto& pe = e.partition_event();
    return LatestClaim{is_in_progress_partition_status(pe.status_code()), pe.job_run_id()};
  }
  if (e.has_delegation_event() && e.delegation_event().partition_ref().str() == ref) {
    return LatestClaim{};
  }
  return std::nullopt;
}

// The claims whose ends can still change the answer about partition `ref`, from the partition's
// own events (ascending idx). A status is set by the latest PartitionEvent that is neither
// DELEGATED nor UNKNOWN, or invalidation (L); after L only a claim's end can change it, and only
// when L is in flight: then the claim L came from, and every request's claim that stands at L
// (its latest PartitionEvent / DelegationEvent up to L is in flight) may become the status.
// Active builds: the requests whose own latest status for the ref is in flight. Returns the
// requests (by_build) or job runs (!by_build) whose ends the fold needs.
std::set<std::string> claims_that_matter(const std::string& ref,
                                         const std::vector<BuildEvent>& found, bool by_build,
                                         bool active_builds) {
  size_t end = found.size();  // active builds: every event; the status: up to and with L
  const BuildEvent* last_status = nullptr;
  if (!active_builds) {
    for (size_t i = found.size(); i-- > 0;) {
      if (sets_partition_status(found[i], ref)) {
        last_status = &found[i];
        end = i + 1;
        break;
      }
    }
    if (last_status == nullptr || !last_status->has_partition_event() ||
        !is_in_progress_partition_status(last_status->partition_event().status_code())) {
      return {};  // nothing after L changes the status
    }
  }
  std::map<std::string, LatestClaim> latest;  // by build request
  for (size_t i = 0; i < end; ++i) {
    if (auto claim = claim_set_by(found[i], ref)) {
      latest[found[i].build_request_id()] = std::move(*claim);
    }
  }
  // L is its request's latest event up to L: the claim the status came from is among these.
  std::set<std::string> out;
  for (const auto& [build_request_id, claim] : latest) {
    if (!claim.in_flight) continue;
    if (by_build) out.insert(build_request_id);
    if (!by_build && !claim.job_run_id.empty()) out.insert(claim.job_run_id);
  }
  return out;
}

Expansion expansion(const Query& query, int phase, const std::vector<BuildEvent>& found) {
  Expansion out;
  switch (query.query_case()) {
    case Query::kActiveBuilds:
      // Whether the requests whose own latest status for the partition is in flight are
      // terminal; no other request can be active.
      if (phase != 2) break;
      out.types = kBuildEndTypes;
      out.ids = claims_that_matter(query.active_builds().partition_ref(), found, true, true);
      break;
    case Query::kPartitionStatus:
      // The ends of the claims that can still set the status: their build requests' terminal
      // events (phase 2), their job runs' events (phase 3: which name no partition; a claim
      // naming a run that already failed is not live), then the terminal events of those runs'
      // build requests (phase 4: which cancel the runs still open).
      if (phase == 4) {
        out.types = kBuildEndTypes;
        for (const auto& e : found) {
          if (e.has_job_event()) out.ids.insert(e.build_request_id());
        }
        break;
      }
      out.by_build = phase == 2;
      out.types = phase == 2 ? kBuildEndTypes : kJobRunEndTypes;
      out.ids = claims_that_matter(query.partition_status().partition_ref(), found,
                                   out.by_build, false);
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

// The filters naming `e.ids`, at most FallbackFold::kMaxExpandedIds each. REQUIRES: ids not
// empty.
std::vector<EventFilter> id_filters(const Expansion& e) {
  std::vector<EventFilter> chunks;
  for (const auto& id : e.ids) {
    if (chunks.empty() ||
        static_cast<size_t>(chunks.back().build_request_ids_size() +
                            chunks.back().job_run_ids_size()) == FallbackFold::kMaxExpandedIds) {
      chunks.emplace_back();
      if (e.types != nullptr) {
        chunks.back().add_event_types(e.types[0]);
        chunks.back().add_event_types(e.types[1]);
      }
    }
    if (e.by_build) {
      chunks.back().add_build_request_ids(id);
    } else {
      chunks.back().add_job_run_ids(id);
    }
  }
  return chunks;
}

// Makes the first of `chunks` the current filter and queues the others (popped from the back).
void start_chunks(std::vector<EventFilter> chunks, EventFilter* current,
                  std::vector<EventFilter>* queued) {
  *current = std::move(chunks.front());
  queued->assign(std::make_move_iterator(chunks.rbegin()),
                 std::make_move_iterator(chunks.rend() - 1));
}

}  // namespace

bool FallbackFold::next_phase() {
  if (streaming_) return false;
  if (!queued_.empty()) {
    filter_ = std::move(queued_.back());
    queued_.pop_back();
    return true;
  }
  if (phase_ >= (query_.has_partition_status() ? 4 : 3)) return false;
  ++phase_;
  const Expansion next = expansion(query_, phase_, buffered_);
  if (next.ids.empty()) return false;
  start_chunks(id_filters(next), &filter_, &queued_);
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

// ---- ActiveBuildsFromCheckpoint ----------------------------------------------------------------

ActiveBuildsFromCheckpoint::ActiveBuildsFromCheckpoint(std::string ref, int64_t checkpoint_idx,
                                                       const std::vector<std::string>& in_progress)
    : ref_(std::move(ref)), checkpoint_idx_(checkpoint_idx) {
  for (const auto& id : in_progress) in_progress_[id] = true;
  filter_.add_partition_refs(ref_);
  filter_.add_event_types("partition_event");
  filter_.add_event_types("delegation_event");
}

void ActiveBuildsFromCheckpoint::add(const BuildEvent& event) {
  if (phase_ == 1) {
    // As PartitionStatusView: the request's latest status for the ref.
    if (auto claim = claim_set_by(event, ref_)) {
      in_progress_[event.build_request_id()] = claim->in_flight;
    }
    return;
  }
  BuildRequestStatus status;
  if (event.has_build_cancel_event()) {
    status = v1::BUILD_REQUEST_CANCELLED;
  } else if (event.has_build_request_event()) {
    status = event.build_request_event().status_code();
  } else {
    return;
  }
  auto& latest = status_[event.build_request_id()];
  if (event.idx() > latest.first) latest = {event.idx(), status};
}

bool ActiveBuildsFromCheckpoint::next_phase() {
  if (!queued_.empty()) {
    filter_ = std::move(queued_.back());
    queued_.pop_back();
    return true;
  }
  if (phase_ == 2) return false;
  phase_ = 2;
  Expansion ends;
  ends.types = kBuildEndTypes;
  for (const auto& [id, in_progress] : in_progress_) {
    if (in_progress) ends.ids.insert(id);
  }
  if (ends.ids.empty()) return false;
  start_chunks(id_filters(ends), &filter_, &queued_);
  return true;
}

ActiveBuildsResponse ActiveBuildsFromCheckpoint::finish(int64_t last_idx) const {
  ActiveBuildsResponse out;
  out.set_partition_ref(ref_);
  out.set_as_of_idx(last_idx);
  for (const auto& [id, in_progress] : in_progress_) {  // ascending
    if (!in_progress) continue;
    auto status = status_.find(id);
    if (status != status_.end() && is_terminal_build_status(status->second.second)) continue;
    out.add_build_request_ids(id);
  }
  return out;
}

}  // namespace bel::projections
