#include "projections/job_runs_view.h"

#include <algorithm>
#include <limits>
#include <set>
#include <utility>

#include "projections/snapshot_reader.h"
#include "projections/view_snapshots.pb.h"

namespace bel::projections {

namespace snap = bel::snapshots::v1;

void JobRunsView::Counts::add(int32_t status, int64_t delta) {
  if (status >= 0 && static_cast<size_t>(status) < known.size()) {
    known[status] += delta;
  } else {
    other.add(status, delta);
  }
}

int64_t JobRunsView::Counts::get(int status) const {
  if (status >= 0 && static_cast<size_t>(status) < known.size()) return known[status];
  return other.get(status);
}

int64_t JobRunsView::Counts::matching(const std::set<int>& filter, int64_t all) const {
  if (filter.empty()) return all;
  int64_t total = 0;
  for (int s : filter) total += get(s);
  return total;
}

StatusCounts JobRunsView::Counts::to_status_counts() const {
  StatusCounts out = other;
  for (size_t s = 0; s < known.size(); ++s) {
    if (known[s] != 0) out.add(static_cast<int>(s), known[s]);
  }
  return out;
}

namespace {

// Grows a pool's room by a quarter when full (see the header): ids_ and messages_ reserve ahead
// of the pool so that its tables do not double past what is needed.
void make_room(StringPool& pool, size_t& reserved) {
  if (pool.size() < reserved) return;
  reserved = std::max<size_t>(256, reserved + reserved / 4);
  pool.reserve(reserved);
}

}  // namespace

JobRunsView::Id JobRunsView::intern_id(std::string_view s) {
  make_room(ids_, ids_reserved_);
  if (by_id_.capacity() < ids_reserved_) by_id_.reserve(ids_reserved_);
  const Id id = ids_.intern(s);
  if (id >= by_id_.size()) by_id_.resize(id + 1);
  return id;
}

JobRunsView::Id JobRunsView::intern_message(std::string_view s) {
  make_room(messages_, messages_reserved_);
  return messages_.intern(s);
}

const JobRunsView::ById* JobRunsView::by_id(std::string_view s) const {
  const Id id = ids_.find(s);
  return id < by_id_.size() ? &by_id_[id] : nullptr;
}

uint32_t JobRunsView::label_of(Id name) {
  auto [it, added] = label_index_.try_emplace(name, static_cast<uint32_t>(labels_.size()));
  if (added) labels_.emplace_back().name = name;
  return it->second;
}

template <class Refs>
void JobRunsView::set_targets(Run& run, const Refs& refs) {
  if (refs.size() == 1) {
    run.targets = intern_id(refs.begin()->str());
    run.flags |= kOneTarget;
    return;
  }
  run.targets = static_cast<uint32_t>(targets_.size());
  targets_.push_back(static_cast<uint32_t>(refs.size()));
  for (const auto& ref : refs) targets_.push_back(intern_id(ref.str()));
}

void JobRunsView::apply(const BuildEvent& event) {
  as_of_idx_ = event.idx();
  if (event.has_job_event()) {
    const JobEvent& e = event.job_event();
    const Id id = intern_id(e.job_run_id());
    uint32_t pos = by_id_[id].run;
    if (pos == kNone) {
      Run run;
      run.job_run_id = id;
      run.build_request_id = intern_id(event.build_request_id());
      run.label = label_of(intern_id(e.job_label().label()));
      run.first_idx = event.idx();
      pos = add_run(run);
    }
    Run& run = runs_[pos];
    if (run.targets == kNone && !e.target_partitions().empty()) {
      set_targets(run, e.target_partitions());
    }
    set_status(pos, e.status_code(), event, e.message());
  } else if (event.has_job_run_cancel_event()) {
    const JobRunCancelEvent& e = event.job_run_cancel_event();
    const ById* ids = by_id(e.job_run_id());
    if (ids == nullptr || ids->run == kNone) return;
    const uint32_t pos = ids->run;
    set_status(pos, v1::JOB_CANCELLED, event, e.reason());
  } else if (event.has_build_cancel_event() ||
             (event.has_build_request_event() &&
              is_terminal_build_status(event.build_request_event().status_code()))) {
    cancel_open_runs(event);
  }
}

void JobRunsView::cancel_open_runs(const BuildEvent& event) {
  const ById* ids = by_id(event.build_request_id());
  if (ids == nullptr) return;
  const BuildRequestStatus status = event.has_build_cancel_event()
                                        ? v1::BUILD_REQUEST_CANCELLED
                                        : event.build_request_event().status_code();
  std::string message;  // the same text for each of the build's runs: made once
  for (uint32_t pos = ids->build_last; pos != kNone; pos = runs_[pos].prev_in_build) {
    Run& run = runs_[pos];
    if (run.status != v1::JOB_SCHEDULED && run.status != v1::JOB_RUNNING) continue;
    if (message.empty()) {
      message = build_ended_text(event.build_request_id(), status) + " before the job run ended";
    }
    set_status(pos, v1::JOB_CANCELLED, event, message);
  }
}

uint32_t JobRunsView::add_run(const Run& run) {
  const auto pos = static_cast<uint32_t>(runs_.size());
  runs_.push_back(run);
  Run& added = runs_.back();
  by_id_[run.job_run_id].run = pos;
  added.prev_in_build = by_id_[run.build_request_id].build_last;
  by_id_[run.build_request_id].build_last = pos;
  Label& label = labels_[run.label];
  label.runs.push_back(pos);
  // A new run has status UNKNOWN until set_status (or a snapshot) gives it one.
  label.by_status.add(run.status, 1);
  by_status_.add(run.status, 1);
  count_duration(run, label, 1);
  return pos;
}

void JobRunsView::count_duration(const Run& run, Label& label, int sign) {
  if (run.status != v1::JOB_COMPLETED || !(run.flags & kHasRunning)) return;
  label.duration_sum += sign * (static_cast<__int128>(run.ended_at) - run.started_at);
  label.duration_count += sign;
}

void JobRunsView::place_message(Run& run, std::string_view text) {
  const bool open = !is_terminal_job_status(static_cast<JobStatus>(run.status));
  if (text.empty()) {
    if (open || !(run.flags & kMessageInSlot)) return;
    text = open_messages_.get(run.message);  // an ended run's message moves to the pool
  }
  if (open) {
    run.message = open_messages_.set(run.flags & kMessageInSlot ? run.message : DraftSlots::kNone,
                                     text);
    run.flags |= kMessageInSlot;
    return;
  }
  const Id id = intern_message(text);  // before the slot `text` may be in is given back
  if (run.flags & kMessageInSlot) {
    open_messages_.free(run.message);
    run.flags &= ~kMessageInSlot;
  }
  run.message = id;
}

std::string_view JobRunsView::message_of(const Run& run) const {
  if (run.message == kNone) return {};
  if (run.flags & kMessageInSlot) return open_messages_.get(run.message);
  return messages_.str(run.message);
}

void JobRunsView::set_status(uint32_t pos, JobStatus status, const BuildEvent& event,
                             std::string_view message) {
  Run& run = runs_[pos];
  Label& label = labels_[run.label];
  count_duration(run, label, -1);
  label.by_status.add(run.status, -1);
  by_status_.add(run.status, -1);

  const bool was_terminal = is_terminal_job_status(static_cast<JobStatus>(run.status));
  run.status = status;
  if (status == v1::JOB_SCHEDULED && !(run.flags & kHasScheduled)) {
    run.flags |= kHasScheduled;
    run.scheduled_at = event.timestamp();
  }
  if (status == v1::JOB_RUNNING && !(run.flags & kHasRunning)) {
    run.flags |= kHasRunning;
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
  place_message(run, message);
}

JobRunSummary JobRunsView::to_summary(const Run& run) const {
  JobRunSummary out;
  out.set_job_run_id(std::string(ids_.str(run.job_run_id)));
  out.set_job_label(std::string(ids_.str(labels_[run.label].name)));
  out.set_build_request_id(std::string(ids_.str(run.build_request_id)));
  for_each_target(run, [&](std::string_view ref) { out.add_target_partitions(std::string(ref)); });
  fill_status(&out, static_cast<JobStatus>(run.status));
  out.set_scheduled_at(run.scheduled_at);
  out.set_started_at(run.started_at);
  out.set_ended_at(run.ended_at);
  out.set_message(std::string(message_of(run)));
  out.set_as_of_idx(as_of_idx_);
  return out;
}

Result<JobRunSummary> JobRunsView::job_run(const std::string& job_run_id) const {
  const ById* ids = by_id(job_run_id);
  if (ids == nullptr || ids->run == kNone) {
    return make_error(ErrorCode::not_found, "job run " + job_run_id + " not found");
  }
  return to_summary(runs_[ids->run]);
}

Result<JobRunsListResponse> JobRunsView::list(const JobRunsListRequest& request) const {
  auto page = check_page(request.limit(), request.offset());
  if (!page.ok()) return page.error();
  const std::set<int> filter(request.status_filter().begin(), request.status_filter().end());

  // The label asked for: its index in labels_, kNone for one no run has.
  uint32_t label_pos = kNone;
  if (!request.job_label().empty()) {
    const Id name = ids_.find(request.job_label());
    auto it = label_index_.find(name);
    if (it != label_index_.end()) label_pos = it->second;
  }
  if (!request.build_request_id().empty()) {
    // A build's runs are few: walk them all, newest first, with every filter.
    const ById* ids = by_id(request.build_request_id());
    JobRunsListResponse out;
    out.set_as_of_idx(as_of_idx_);
    int64_t total = 0;
    for (uint32_t pos = ids == nullptr ? kNone : ids->build_last; pos != kNone;
         pos = runs_[pos].prev_in_build) {
      const Run& run = runs_[pos];
      if (!request.job_label().empty() && run.label != label_pos) continue;
      if (!filter.empty() && filter.count(run.status) == 0) continue;
      if (++total > page->offset && out.job_runs_size() < page->limit) {
        *out.add_job_runs() = to_summary(run);
      }
    }
    set_page_totals(&out, *page, out.job_runs_size(), total);
    return out;
  }

  // The runs to walk (all, or one label's) and how many of them the filter selects.
  const std::vector<uint32_t>* label_runs = nullptr;
  const Counts* counts = &by_status_;
  int64_t universe = static_cast<int64_t>(runs_.size());
  if (!request.job_label().empty()) {
    static const std::vector<uint32_t> kNoRuns;
    static const Counts kNoCounts;
    label_runs = label_pos == kNone ? &kNoRuns : &labels_[label_pos].runs;
    counts = label_pos == kNone ? &kNoCounts : &labels_[label_pos].by_status;
    universe = static_cast<int64_t>(label_runs->size());
  }
  const int64_t total = counts->matching(filter, universe);

  JobRunsListResponse out;
  out.set_as_of_idx(as_of_idx_);
  // Without a status filter every run walked matches: the page starts `offset` runs from the
  // newest.
  int64_t matched = filter.empty() ? std::min<int64_t>(page->offset, total) : 0;
  for (int64_t i = universe - 1 - matched;
       i >= 0 && out.job_runs_size() < page->limit && matched < total; --i) {
    const Run& run = runs_[label_runs == nullptr ? static_cast<size_t>(i) : (*label_runs)[i]];
    if (!filter.empty() && filter.count(run.status) == 0) continue;
    if (++matched > page->offset) *out.add_job_runs() = to_summary(run);
  }
  set_page_totals(&out, *page, out.job_runs_size(), total);
  return out;
}

bool has_success_rate(const JobMetrics& metrics) {
  const auto& by = metrics.runs_by_status();
  for (JobStatus ended : {v1::JOB_COMPLETED, v1::JOB_FAILED}) {
    auto it = by.find(v1::JobStatus_Name(ended));
    if (it != by.end() && it->second > 0) return true;
  }
  return false;
}

JobMetrics JobRunsView::to_metrics(const Label& stats) const {
  JobMetrics out;
  out.set_job_label(std::string(ids_.str(stats.name)));
  out.set_total_runs(static_cast<int64_t>(stats.runs.size()));
  stats.by_status.to_status_counts().fill<JobStatus>(out.mutable_runs_by_status());
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
  auto it = label_index_.find(ids_.find(job_label));
  if (it == label_index_.end() || labels_[it->second].runs.empty()) {
    return make_error(ErrorCode::not_found, "job label " + job_label + " not found");
  }
  return to_metrics(labels_[it->second]);
}

JobMetricsList JobRunsView::all_metrics() const {
  // Labels are few; they are kept in order of appearance and sorted here.
  std::vector<const Label*> sorted;
  sorted.reserve(labels_.size());
  for (const Label& label : labels_) {
    if (!label.runs.empty()) sorted.push_back(&label);
  }
  std::sort(sorted.begin(), sorted.end(),
            [&](const Label* a, const Label* b) { return ids_.str(a->name) < ids_.str(b->name); });
  JobMetricsList out;
  for (const Label* label : sorted) *out.add_jobs() = to_metrics(*label);
  out.set_as_of_idx(as_of_idx_);
  return out;
}

std::string JobRunsView::serialize(SnapshotTarget target) const {
  snap::JobRunsSnapshot header;
  header.set_entry_count(static_cast<int64_t>(runs_.size()));
  SnapshotWriter out = start_snapshot(kName, kVersion, header, std::move(target));
  out.add_each<snap::JobRunState>(
      snap::JobRunsSnapshot::kRunsFieldNumber, runs_, [&](const Run& run, snap::JobRunState* r) {
        r->set_job_run_id(std::string(ids_.str(run.job_run_id)));
        r->set_job_label(std::string(ids_.str(labels_[run.label].name)));
        r->set_build_request_id(std::string(ids_.str(run.build_request_id)));
        for_each_target(run,
                        [&](std::string_view ref) { r->add_target_partitions(std::string(ref)); });
        r->set_status_code(static_cast<JobStatus>(run.status));
        r->set_scheduled_at(run.scheduled_at);
        r->set_started_at(run.started_at);
        r->set_ended_at(run.ended_at);
        r->set_message(std::string(message_of(run)));
        r->set_first_idx(run.first_idx);
        r->set_has_scheduled((run.flags & kHasScheduled) != 0);
        r->set_has_running((run.flags & kHasRunning) != 0);
      });
  return out.take();
}

Result<JobRunsView> JobRunsView::restore(const std::string& bytes) {
  SnapshotInput in(bytes);
  return restore(in);
}

Result<JobRunsView> JobRunsView::restore(SnapshotInput& in) {
  using Snapshot = snap::JobRunsSnapshot;
  JobRunsView view;
  Snapshot header;
  BEL_RETURN_IF_ERROR(view.read_header(kName, kVersion, in, &header));
  const size_t count = in.entries_hint(header.entry_count(), Snapshot::kRunsFieldNumber);
  view.ids_reserved_ = count * 2;  // a run id and, for most runs, a ref
  view.ids_.reserve(view.ids_reserved_);
  view.by_id_.reserve(view.ids_reserved_);
  SnapshotEntryOrder order(kName, view.as_of_idx_);
  auto visit = [&](snap::JobRunState& r) -> Status {
    // Interned before the check (one lookup): a snapshot that fails it is not restored at all.
    const Id id = view.intern_id(r.job_run_id());
    const bool seen = view.by_id_[id].run != kNone;
    // A run's snapshot keeps no later idx: its first_idx is the latest one it must not pass.
    BEL_RETURN_IF_ERROR(order.check("job run", r.job_run_id(), r.first_idx(), r.first_idx(), seen));
    Run run;
    run.job_run_id = id;
    run.build_request_id = view.intern_id(r.build_request_id());
    run.label = view.label_of(view.intern_id(r.job_label()));
    if (!r.target_partitions().empty()) {
      // Refs as strings, for set_targets' ref.str().
      struct Ref {
        const std::string* s;
        const std::string& str() const { return *s; }
      };
      std::vector<Ref> refs;
      for (const auto& ref : r.target_partitions()) refs.push_back(Ref{&ref});
      view.set_targets(run, refs);
    }
    run.status = r.status_code();
    if (r.has_scheduled()) run.flags |= kHasScheduled;
    if (r.has_running()) run.flags |= kHasRunning;
    run.scheduled_at = r.scheduled_at();
    run.started_at = r.started_at();
    run.ended_at = r.ended_at();
    run.first_idx = r.first_idx();
    view.place_message(view.runs_[view.add_run(run)], r.message());
    return ok_status();
  };
  snap::JobRunState scratch;
  BEL_RETURN_IF_ERROR(in.for_each(Snapshot::kRunsFieldNumber, &scratch, visit));
  return view;
}

}  // namespace bel::projections
