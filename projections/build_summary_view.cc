#include "projections/build_summary_view.h"

#include <algorithm>
#include <map>
#include <set>

#include "projections/snapshot_reader.h"
#include "projections/view_snapshots.pb.h"

namespace bel::projections {

namespace snap = bel::snapshots::v1;

// ---- BuildSummaryState ---------------------------------------------------------------------

namespace {

void set_partition(BuildSummaryState& s, const std::string& ref, PartitionStatus status,
                   const std::string* delegated_to) {
  BuildSummaryState::Partition& p = s.partitions[s.partition_index(ref, /*add=*/true)];
  p.status = status;
  if (delegated_to != nullptr) p.delegated_to_build_request_id = *delegated_to;
}

// Moves the run `id` to `status` at `event` (created when `create`, else only if known).
void set_job_run(BuildSummaryState& s, const std::string& id, JobStatus status,
                 const BuildEvent& event, bool create) {
  BuildSummaryState::JobRun* found = s.job_run(id);
  if (found == nullptr) {
    if (!create) return;
    s.job_runs.emplace_back(id, BuildSummaryState::JobRun{});
    found = &s.job_runs.back().second;
    found->job_label = event.job_event().job_label().label();
    s.job_runs_by_status.add(found->status, 1);
  }
  BuildSummaryState::JobRun& run = *found;
  s.job_runs_by_status.add(run.status, -1);
  if (!is_terminal_job_status(status)) {
    run.ended_idx = 0;
  } else if (!is_terminal_job_status(run.status)) {
    run.ended_idx = event.idx();
  }
  run.status = status;
  s.job_runs_by_status.add(status, 1);
  if (event.has_job_event()) {
    const JobEvent& e = event.job_event();
    if (run.target_partitions.empty()) {
      for (const auto& ref : e.target_partitions()) run.target_partitions.push_back(ref.str());
    }
    if (!e.message().empty()) run.message = e.message();
  } else if (event.has_job_run_cancel_event()) {
    if (!event.job_run_cancel_event().reason().empty()) {
      run.message = event.job_run_cancel_event().reason();
    }
  }
}

// The build request reached a terminal status at `event`: its SCHEDULED / RUNNING job runs
// become CANCELLED (SPEC section 4, "In-flight claims end with their owner").
void cancel_open_runs(BuildSummaryState& s, const BuildEvent& event) {
  for (auto& [id, run] : s.job_runs) {
    if (run.status != v1::JOB_SCHEDULED && run.status != v1::JOB_RUNNING) continue;
    set_job_run(s, id, v1::JOB_CANCELLED, event, /*create=*/false);
    run.message = build_ended_text(s.build_request_id, s.status) + " before the job run ended";
  }
}

}  // namespace

size_t BuildSummaryState::partition_index(const std::string& ref, bool add) {
  size_t pos = partitions.size();
  if (partition_pos.empty()) {
    for (size_t i = 0; i < partitions.size(); ++i) {
      if (partitions[i].ref == ref) return i;
    }
  } else if (auto it = partition_pos.find(ref); it != partition_pos.end()) {
    return it->second;
  }
  if (!add) return pos;
  partitions.emplace_back();
  partitions.back().ref = ref;
  if (!partition_pos.empty()) {
    partition_pos.emplace(ref, pos);
  } else if (partitions.size() > kIndexedFrom) {
    for (size_t i = 0; i < partitions.size(); ++i) partition_pos.emplace(partitions[i].ref, i);
  }
  return pos;
}

const BuildSummaryState::JobRun* BuildSummaryState::job_run(const std::string& id) const {
  for (const auto& [run_id, run] : job_runs) {
    if (run_id == id) return &run;
  }
  return nullptr;
}

BuildSummaryState::JobRun* BuildSummaryState::job_run(const std::string& id) {
  return const_cast<JobRun*>(static_cast<const BuildSummaryState*>(this)->job_run(id));
}

void BuildSummaryState::apply(const BuildEvent& event) {
  if (event_count == 0) {
    first_idx = event.idx();
    created_at = event.timestamp();
  }
  last_idx = event.idx();
  updated_at = event.timestamp();
  ++event_count;
  switch (event.event_type_case()) {
    case BuildEvent::kBuildRequestEvent: {
      const auto& e = event.build_request_event();
      status = e.status_code();
      if (requested_partitions.empty()) {
        for (const auto& ref : e.requested_partitions()) requested_partitions.push_back(ref.str());
      }
      if (!e.message().empty()) message = e.message();
      if (is_terminal_build_status(status)) cancel_open_runs(*this, event);
      return;
    }
    case BuildEvent::kBuildCancelEvent:
      status = v1::BUILD_REQUEST_CANCELLED;
      cancel_reason = event.build_cancel_event().reason();
      if (!cancel_reason.empty()) message = cancel_reason;
      cancel_open_runs(*this, event);
      return;
    case BuildEvent::kPartitionEvent:
      set_partition(*this, event.partition_event().partition_ref().str(),
                    event.partition_event().status_code(), nullptr);
      return;
    case BuildEvent::kDelegationEvent:
      set_partition(*this, event.delegation_event().partition_ref().str(), v1::PARTITION_DELEGATED,
                    &event.delegation_event().delegated_to_build_request_id());
      return;
    case BuildEvent::kJobEvent:
      set_job_run(*this, event.job_event().job_run_id(), event.job_event().status_code(), event,
                  /*create=*/true);
      return;
    case BuildEvent::kJobRunCancelEvent:
      set_job_run(*this, event.job_run_cancel_event().job_run_id(), v1::JOB_CANCELLED, event,
                  /*create=*/false);
      return;
    default:
      return;
  }
}

BuildRequestSummary BuildSummaryState::to_summary(int64_t as_of_idx) const {
  BuildRequestSummary out;
  out.set_build_request_id(build_request_id);
  fill_status(&out, status);
  for (const auto& ref : requested_partitions) out.add_requested_partitions(ref);
  out.set_created_at(created_at);
  out.set_updated_at(updated_at);
  out.set_first_idx(first_idx);
  out.set_last_idx(last_idx);
  out.set_event_count(event_count);
  for (const auto& p : partitions) {
    auto* q = out.add_partitions();
    q->set_partition_ref(p.ref);
    fill_status(q, p.status);
    q->set_delegated_to_build_request_id(p.delegated_to_build_request_id);
  }
  job_runs_by_status.fill<JobStatus>(out.mutable_job_runs_by_status());
  out.set_cancel_reason(cancel_reason);
  out.set_message(message);
  add_failures(out.mutable_failures());
  out.set_as_of_idx(as_of_idx);
  return out;
}

void BuildSummaryState::add_failures(google::protobuf::RepeatedPtrField<BuildFailure>* out) const {
  std::vector<std::pair<int64_t, const std::string*>> ended;  // (ended_idx, id)
  for (const auto& [id, run] : job_runs) {
    if (run.status == v1::JOB_FAILED || run.status == v1::JOB_CANCELLED) {
      ended.emplace_back(run.ended_idx, &id);
    }
  }
  std::sort(ended.begin(), ended.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first > b.first;
    return *a.second < *b.second;
  });
  if (ended.size() > static_cast<size_t>(kMaxFailures)) ended.resize(kMaxFailures);
  for (const auto& [idx, id] : ended) {
    const JobRun& run = *job_run(*id);
    auto* f = out->Add();
    f->set_job_run_id(*id);
    f->set_job_label(run.job_label);
    f->set_status_name(response_status_name(run.status));
    f->set_message(run.message);
    for (const auto& ref : run.target_partitions) f->add_partition_refs(ref);
  }
}

void BuildSummaryState::to_snapshot(snap::BuildState* out) const {
  out->set_build_request_id(build_request_id);
  out->set_status_code(status);
  for (const auto& ref : requested_partitions) out->add_requested_partitions(ref);
  out->set_created_at(created_at);
  out->set_updated_at(updated_at);
  out->set_first_idx(first_idx);
  out->set_last_idx(last_idx);
  out->set_event_count(event_count);
  for (const auto& p : partitions) {
    auto* q = out->add_partitions();
    q->set_partition_ref(p.ref);
    q->set_status_code(p.status);
    q->set_delegated_to_build_request_id(p.delegated_to_build_request_id);
  }
  // Sorted, so that equal states give equal bytes.
  std::map<std::string, const JobRun*> runs;
  for (const auto& [id, run] : job_runs) runs.emplace(id, &run);
  for (const auto& [id, run] : runs) {
    auto* r = out->add_job_runs();
    r->set_job_run_id(id);
    r->set_status_code(run->status);
    r->set_job_label(run->job_label);
    for (const auto& ref : run->target_partitions) r->add_target_partitions(ref);
    r->set_message(run->message);
    r->set_ended_idx(run->ended_idx);
  }
  out->set_cancel_reason(cancel_reason);
  out->set_message(message);
}

Result<BuildSummaryState> BuildSummaryState::from_snapshot(const snap::BuildState& in) {
  BuildSummaryState s(in.build_request_id());
  s.status = static_cast<BuildRequestStatus>(in.status_code());
  s.requested_partitions.assign(in.requested_partitions().begin(), in.requested_partitions().end());
  s.created_at = in.created_at();
  s.updated_at = in.updated_at();
  s.first_idx = in.first_idx();
  s.last_idx = in.last_idx();
  s.event_count = in.event_count();
  if (s.event_count <= 0 || s.first_idx <= 0 || s.last_idx < s.first_idx) {
    return make_error(ErrorCode::storage_corrupt,
                      "build request " + s.build_request_id + " has no events or bad idx");
  }
  s.partitions.reserve(static_cast<size_t>(in.partitions_size()));
  for (const auto& p : in.partitions()) {
    const size_t pos = s.partition_index(p.partition_ref(), /*add=*/true);
    if (pos + 1 != s.partitions.size()) {
      return make_error(ErrorCode::storage_corrupt, "build request " + s.build_request_id +
                                                        " lists partition " + p.partition_ref() +
                                                        " twice");
    }
    s.partitions[pos].status = static_cast<PartitionStatus>(p.status_code());
    s.partitions[pos].delegated_to_build_request_id = p.delegated_to_build_request_id();
  }
  s.job_runs.reserve(static_cast<size_t>(in.job_runs_size()));
  for (const auto& r : in.job_runs()) {
    JobRun run;
    run.status = static_cast<JobStatus>(r.status_code());
    run.job_label = r.job_label();
    run.target_partitions.assign(r.target_partitions().begin(), r.target_partitions().end());
    run.message = r.message();
    run.ended_idx = r.ended_idx();
    const JobStatus status = run.status;
    if (s.job_run(r.job_run_id()) != nullptr) {
      return make_error(
          ErrorCode::storage_corrupt,
          "build request " + s.build_request_id + " lists job run " + r.job_run_id() + " twice");
    }
    s.job_runs.emplace_back(r.job_run_id(), std::move(run));
    s.job_runs_by_status.add(status, 1);
  }
  s.cancel_reason = in.cancel_reason();
  s.message = in.message();
  return s;
}

// ---- BuildSummaryView ----------------------------------------------------------------------

void BuildSummaryView::apply(const BuildEvent& event) {
  as_of_idx_ = event.idx();
  if (event.has_partition_invalidation_event()) {
    auto known = index_.find(event.build_request_id());
    const BuildRequestStatus so_far =
        known == index_.end() ? v1::BUILD_REQUEST_UNKNOWN : builds_[known->second].status;
    if (is_operator_action(event, so_far)) return;
  }
  auto [it, inserted] = index_.try_emplace(event.build_request_id(), builds_.size());
  if (inserted) {
    builds_.emplace_back(event.build_request_id());
    counts_.add(v1::BUILD_REQUEST_UNKNOWN, 1);
  }
  BuildSummaryState& b = builds_[it->second];
  const BuildRequestStatus before = b.status;
  b.apply(event);
  if (b.status != before) {
    counts_.add(before, -1);
    counts_.add(b.status, 1);
  }
}

Result<BuildRequestSummary> BuildSummaryView::summary(const std::string& build_request_id) const {
  auto it = index_.find(build_request_id);
  if (it == index_.end()) {
    return make_error(ErrorCode::not_found, "build request " + build_request_id + " not found");
  }
  return builds_[it->second].to_summary(as_of_idx_);
}

Result<BuildsListResponse> BuildSummaryView::list(const BuildsListRequest& request) const {
  auto page = check_page(request.limit(), request.offset());
  if (!page.ok()) return page.error();
  const std::set<int> filter(request.status_filter().begin(), request.status_filter().end());
  const int64_t total = counts_.matching(filter, static_cast<int64_t>(builds_.size()));

  BuildsListResponse out;
  out.set_as_of_idx(as_of_idx_);
  int64_t matched = 0;
  for (auto it = builds_.rbegin();
       it != builds_.rend() && out.builds_size() < page->limit && matched < total; ++it) {
    if (!filter.empty() && filter.count(it->status) == 0) continue;
    if (++matched > page->offset) *out.add_builds() = it->to_summary(as_of_idx_);
  }
  set_page_totals(&out, *page, out.builds_size(), total);
  return out;
}

std::string BuildSummaryView::serialize() const {
  SnapshotWriter out = start_snapshot<snap::BuildSummarySnapshot>(kName, kVersion);
  out.add_each<snap::BuildState>(
      snap::BuildSummarySnapshot::kBuildsFieldNumber, builds_,
      [](const BuildSummaryState& b, snap::BuildState* entry) { b.to_snapshot(entry); });
  return out.take();
}

Result<BuildSummaryView> BuildSummaryView::restore(const std::string& bytes) {
  using Snapshot = snap::BuildSummarySnapshot;
  BuildSummaryView view;
  auto visit = [&](snap::BuildState& b, SnapshotEntryOrder& order) -> Status {
    auto state = BuildSummaryState::from_snapshot(b);
    if (!state.ok()) return snapshot_error(kName, state.error().message);
    BEL_RETURN_IF_ERROR(order.check("build request " + b.build_request_id(), state->first_idx,
                                    state->last_idx, view.index_.count(b.build_request_id()) > 0));
    view.index_.emplace(b.build_request_id(), view.builds_.size());
    view.counts_.add(state->status, 1);
    view.builds_.push_back(std::move(*state));
    return ok_status();
  };
  BEL_RETURN_IF_ERROR((view.restore_entry_list<Snapshot, snap::BuildState>(
      kName, kVersion, bytes, Snapshot::kBuildsFieldNumber, &view.builds_, &view.index_, visit)));
  return view;
}

}  // namespace bel::projections
