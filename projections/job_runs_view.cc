#include "projections/job_runs_view.h"

#include <limits>
#include <set>
#include <utility>

#include "projections/snapshot_reader.h"
#include "projections/view_snapshots.pb.h"

namespace bel::projections {

namespace snap = bel::snapshots::v1;

void JobRunsView::apply(const BuildEvent& event) {
  as_of_idx_ = event.idx();
  if (event.has_job_event()) {
    const JobEvent& e = event.job_event();
    auto it = index_.find(e.job_run_id());
    uint32_t pos;
    if (it == index_.end()) {
      Run run;
      run.job_run_id = e.job_run_id();
      run.job_label = e.job_label().label();
      run.build_request_id = event.build_request_id();
      run.first_idx = event.idx();
      pos = add_run(std::move(run));
    } else {
      pos = it->second;
    }
    Run& run = runs_[pos];
    if (run.target_partitions.empty()) {
      for (const auto& ref : e.target_partitions()) run.target_partitions.push_back(ref.str());
    }
    if (!e.message().empty()) run.message = e.message();
    set_status(pos, e.status_code(), event);
  } else if (event.has_job_run_cancel_event()) {
    const JobRunCancelEvent& e = event.job_run_cancel_event();
    auto it = index_.find(e.job_run_id());
    if (it == index_.end()) return;
    if (!e.reason().empty()) runs_[it->second].message = e.reason();
    set_status(it->second, v1::JOB_CANCELLED, event);
  } else if (event.has_build_cancel_event() ||
             (event.has_build_request_event() &&
              is_terminal_build_status(event.build_request_event().status_code()))) {
    cancel_open_runs(event);
  }
}

void JobRunsView::cancel_open_runs(const BuildEvent& event) {
  auto it = by_build_.find(event.build_request_id());
  if (it == by_build_.end()) return;
  const BuildRequestStatus status = event.has_build_cancel_event()
                                        ? v1::BUILD_REQUEST_CANCELLED
                                        : event.build_request_event().status_code();
  for (uint32_t pos : it->second) {
    Run& run = runs_[pos];
    if (run.status != v1::JOB_SCHEDULED && run.status != v1::JOB_RUNNING) continue;
    run.message = build_ended_text(run.build_request_id, status) + " before the job run ended";
    set_status(pos, v1::JOB_CANCELLED, event);
  }
}

uint32_t JobRunsView::add_run(Run run) {
  const auto pos = static_cast<uint32_t>(runs_.size());
  index_.emplace(run.job_run_id, pos);
  by_build_[run.build_request_id].push_back(pos);
  Label& label = labels_[run.job_label];
  label.runs.push_back(pos);
  // A new run has status UNKNOWN until set_status (or a snapshot) gives it one.
  label.by_status.add(run.status, 1);
  by_status_.add(run.status, 1);
  count_duration(run, label, 1);
  runs_.push_back(std::move(run));
  return pos;
}

void JobRunsView::count_duration(const Run& run, Label& label, int sign) {
  if (run.status != v1::JOB_COMPLETED || !run.has_running) return;
  label.duration_sum += sign * (static_cast<__int128>(run.ended_at) - run.started_at);
  label.duration_count += sign;
}

void JobRunsView::set_status(uint32_t pos, JobStatus status, const BuildEvent& event) {
  Run& run = runs_[pos];
  Label& label = labels_[run.job_label];
  count_duration(run, label, -1);
  label.by_status.add(run.status, -1);
  by_status_.add(run.status, -1);

  const bool was_terminal = is_terminal_job_status(run.status);
  run.status = status;
  if (status == v1::JOB_SCHEDULED && !run.has_scheduled) {
    run.has_scheduled = true;
    run.scheduled_at = event.timestamp();
  }
  if (status == v1::JOB_RUNNING && !run.has_running) {
    run.has_running = true;
    run.started_at = event.timestamp();
  }
  if (!is_terminal_job_status(status)) {
    run.ended_at = 0;
  } else if (!was_terminal) {
    run.ended_at = event.timestamp();
  }

  label.by_status.add(run.status, 1);
  by_status_.add(run.status, 1);
  count_duration(run, label, 1);
}

JobRunSummary JobRunsView::to_summary(const Run& run) const {
  JobRunSummary out;
  out.set_job_run_id(run.job_run_id);
  out.set_job_label(run.job_label);
  out.set_build_request_id(run.build_request_id);
  for (const auto& ref : run.target_partitions) out.add_target_partitions(ref);
  fill_status(&out, run.status);
  out.set_scheduled_at(run.scheduled_at);
  out.set_started_at(run.started_at);
  out.set_ended_at(run.ended_at);
  out.set_message(run.message);
  out.set_as_of_idx(as_of_idx_);
  return out;
}

Result<JobRunSummary> JobRunsView::job_run(const std::string& job_run_id) const {
  auto it = index_.find(job_run_id);
  if (it == index_.end()) {
    return make_error(ErrorCode::not_found, "job run " + job_run_id + " not found");
  }
  return to_summary(runs_[it->second]);
}

Result<JobRunsListResponse> JobRunsView::list(const JobRunsListRequest& request) const {
  auto page = check_page(request.limit(), request.offset());
  if (!page.ok()) return page.error();
  const std::set<int> filter(request.status_filter().begin(), request.status_filter().end());

  // The runs to walk (all, or one label's) and how many of them the filter selects.
  const std::vector<uint32_t>* label_runs = nullptr;
  const StatusCounts* counts = &by_status_;
  int64_t universe = static_cast<int64_t>(runs_.size());
  if (!request.build_request_id().empty()) {
    // A build's runs are few: walk them all with every filter.
    static const std::vector<uint32_t> kNone;
    auto it = by_build_.find(request.build_request_id());
    const std::vector<uint32_t>& build_runs = it == by_build_.end() ? kNone : it->second;
    JobRunsListResponse out;
    out.set_as_of_idx(as_of_idx_);
    int64_t total = 0;
    for (auto pos = build_runs.rbegin(); pos != build_runs.rend(); ++pos) {
      const Run& run = runs_[*pos];
      if (!request.job_label().empty() && run.job_label != request.job_label()) continue;
      if (!filter.empty() && filter.count(run.status) == 0) continue;
      if (++total > page->offset && out.job_runs_size() < page->limit) {
        *out.add_job_runs() = to_summary(run);
      }
    }
    set_page_totals(&out, *page, out.job_runs_size(), total);
    return out;
  }
  if (!request.job_label().empty()) {
    auto it = labels_.find(request.job_label());
    static const std::vector<uint32_t> kNone;
    static const StatusCounts kNoCounts;
    label_runs = it == labels_.end() ? &kNone : &it->second.runs;
    counts = it == labels_.end() ? &kNoCounts : &it->second.by_status;
    universe = static_cast<int64_t>(label_runs->size());
  }
  const int64_t total = counts->matching(filter, universe);

  JobRunsListResponse out;
  out.set_as_of_idx(as_of_idx_);
  int64_t matched = 0;
  for (int64_t i = universe - 1; i >= 0 && out.job_runs_size() < page->limit && matched < total;
       --i) {
    const Run& run = runs_[label_runs == nullptr ? static_cast<size_t>(i) : (*label_runs)[i]];
    if (!filter.empty() && filter.count(run.status) == 0) continue;
    if (++matched > page->offset) *out.add_job_runs() = to_summary(run);
  }
  set_page_totals(&out, *page, out.job_runs_size(), total);
  return out;
}

JobMetrics JobRunsView::to_metrics(const std::string& label, const Label& stats) const {
  JobMetrics out;
  out.set_job_label(label);
  out.set_total_runs(static_cast<int64_t>(stats.runs.size()));
  stats.by_status.fill<JobStatus>(out.mutable_runs_by_status());
  const int64_t completed = stats.by_status.get(v1::JOB_COMPLETED);
  const int64_t failed = stats.by_status.get(v1::JOB_FAILED);
  out.set_success_rate(completed + failed == 0 ? 0.0
                                               : static_cast<double>(completed) /
                                                     static_cast<double>(completed + failed));
  int64_t avg = 0;
  if (stats.duration_count > 0) {
    __int128 mean = stats.duration_sum / stats.duration_count;  // truncates toward zero
    constexpr auto kMax = std::numeric_limits<int64_t>::max();
    constexpr auto kMin = std::numeric_limits<int64_t>::min();
    avg = mean > kMax ? kMax : mean < kMin ? kMin : static_cast<int64_t>(mean);
  }
  out.set_avg_duration_ns(avg);
  if (!stats.runs.empty()) *out.mutable_last_run() = to_summary(runs_[stats.runs.back()]);
  out.set_as_of_idx(as_of_idx_);
  return out;
}

Result<JobMetrics> JobRunsView::metrics(const std::string& job_label) const {
  auto it = labels_.find(job_label);
  if (it == labels_.end() || it->second.runs.empty()) {
    return make_error(ErrorCode::not_found, "job label " + job_label + " not found");
  }
  return to_metrics(it->first, it->second);
}

JobMetricsList JobRunsView::all_metrics() const {
  JobMetricsList out;
  for (const auto& [label, stats] : labels_) {
    if (!stats.runs.empty()) *out.add_jobs() = to_metrics(label, stats);
  }
  out.set_as_of_idx(as_of_idx_);
  return out;
}

std::string JobRunsView::serialize() const {
  SnapshotWriter out = start_snapshot<snap::JobRunsSnapshot>(kName, kVersion);
  out.add_each<snap::JobRunState>(
      snap::JobRunsSnapshot::kRunsFieldNumber, runs_, [](const Run& run, snap::JobRunState* r) {
        r->set_job_run_id(run.job_run_id);
        r->set_job_label(run.job_label);
        r->set_build_request_id(run.build_request_id);
        for (const auto& ref : run.target_partitions) r->add_target_partitions(ref);
        r->set_status_code(run.status);
        r->set_scheduled_at(run.scheduled_at);
        r->set_started_at(run.started_at);
        r->set_ended_at(run.ended_at);
        r->set_message(run.message);
        r->set_first_idx(run.first_idx);
        r->set_has_scheduled(run.has_scheduled);
        r->set_has_running(run.has_running);
      });
  return out.take();
}

Result<JobRunsView> JobRunsView::restore(const std::string& bytes) {
  using Snapshot = snap::JobRunsSnapshot;
  JobRunsView view;
  auto visit = [&](snap::JobRunState& r, SnapshotEntryOrder& order) -> Status {
    // A run's snapshot keeps no later idx: its first_idx is the latest one it must not pass.
    BEL_RETURN_IF_ERROR(order.check("job run " + r.job_run_id(), r.first_idx(), r.first_idx(),
                                    view.index_.count(r.job_run_id()) > 0));
    Run run;
    run.job_run_id = std::move(*r.mutable_job_run_id());
    run.job_label = std::move(*r.mutable_job_label());
    run.build_request_id = std::move(*r.mutable_build_request_id());
    run.target_partitions.assign(r.target_partitions().begin(), r.target_partitions().end());
    run.status = static_cast<JobStatus>(r.status_code());
    run.has_scheduled = r.has_scheduled();
    run.has_running = r.has_running();
    run.scheduled_at = r.scheduled_at();
    run.started_at = r.started_at();
    run.ended_at = r.ended_at();
    run.message = std::move(*r.mutable_message());
    run.first_idx = r.first_idx();
    view.add_run(std::move(run));
    return ok_status();
  };
  BEL_RETURN_IF_ERROR((view.restore_entry_list<Snapshot, snap::JobRunState>(
      kName, kVersion, bytes, Snapshot::kRunsFieldNumber, &view.runs_, &view.index_, visit)));
  return view;
}

}  // namespace bel::projections
