#include "projections/build_summary_view.h"

#include <algorithm>
#include <set>
#include <string>

#include "projections/snapshot_reader.h"
#include "projections/view_snapshots.pb.h"

namespace bel::projections {

namespace snap = bel::snapshots::v1;

// ---- BuildSummaryState ---------------------------------------------------------------------

namespace {

using Id = BuildSummaryState::Id;
constexpr Id kNone = BuildSummaryState::kNone;

// The id of `s`, kNone for the empty string (which needs no interning).
Id id_of(BuildStrings& strings, std::string_view s) {
  return s.empty() ? kNone : strings.intern(s);
}

std::string string_of(const BuildStrings& strings, Id id) {
  return std::string(str_of(strings, id));
}

// Appends the refs of `list` (PartitionRefs, or strings) to s.refs as a new span.
template <class List, class Str>
void add_span(BuildStrings& strings, BuildSummaryState& s, const List& list, Str str,
              uint32_t* begin, uint32_t* count) {
  *begin = static_cast<uint32_t>(s.refs.size());
  for (const auto& ref : list) s.refs.push_back(id_of(strings, str(ref)));
  *count = static_cast<uint32_t>(s.refs.size()) - *begin;
}

std::string_view ref_str(const PartitionRef& ref) { return ref.str(); }
std::string_view plain_str(const std::string& s) { return s; }

void set_partition(BuildStrings& strings, BuildSummaryState& s, std::string_view ref,
                   PartitionStatus status, const std::string* delegated_to) {
  BuildSummaryState::Partition& p = s.partitions[s.partition_index(id_of(strings, ref), true)];
  p.status = status;
  if (delegated_to != nullptr) p.delegated_to_build_request_id = id_of(strings, *delegated_to);
}

bool holds_draft(JobStatus status) { return !is_terminal_job_status(status); }

// The message of `run` (see JobRun::message_data).
std::string_view message_of(const BuildStrings& strings, const BuildSummaryState::JobRun& run) {
  if (!holds_draft(run.status)) return {run.message_data, run.message_size};
  return run.message_size == kNone ? std::string_view() : strings.draft(run.message_size);
}

}  // namespace

std::string_view BuildSummaryState::JobRun::message(const BuildStrings& strings) const {
  return message_of(strings, *this);
}

namespace {

// Sets the message of `run` to `text` in the form its status wants (see JobRun::message_data);
// `draft` is the slot it holds, kNone for none.
void set_message(BuildStrings& strings, BuildSummaryState::JobRun& run, uint32_t draft,
                 std::string_view text) {
  if (holds_draft(run.status)) {
    run.message_data = nullptr;
    run.message_size = text.empty() ? kNone : strings.set_draft(draft, text);
    if (text.empty()) strings.free_draft(draft);
    return;
  }
  const std::string_view shared = strings.share(text);  // before freeing: `text` may be the draft
  strings.free_draft(draft);
  run.message_data = shared.data();
  run.message_size = static_cast<uint32_t>(shared.size());
}

// Moves `run` to `status`, with `text` as its message unless empty.
void set_status(BuildStrings& strings, BuildSummaryState::JobRun& run, JobStatus status,
                std::string_view text) {
  const bool was_draft = holds_draft(run.status);
  if (text.empty() && was_draft == holds_draft(status)) {
    run.status = status;  // the message stays, in the same form
    return;
  }
  if (text.empty()) text = message_of(strings, run);
  const uint32_t draft = was_draft ? run.message_size : kNone;
  run.status = status;
  set_message(strings, run, draft, text);
}

// Moves `run` to `status` at `event`, with `text` as its message unless empty.
void set_job_run(BuildStrings& strings, BuildSummaryState::JobRun& run, JobStatus status,
                 const BuildEvent& event, std::string_view text) {
  if (!is_terminal_job_status(status)) {
    run.ended_idx = 0;
  } else if (!is_terminal_job_status(run.status)) {
    run.ended_idx = event.idx();
  }
  set_status(strings, run, status, text);
}

// The build request reached a terminal status at `event`: its SCHEDULED / RUNNING job runs
// become CANCELLED (SPEC section 4, "In-flight claims end with their owner").
void cancel_open_runs(BuildStrings& strings, BuildSummaryState& s, const BuildEvent& event) {
  std::string text;  // made once, for the first run it ends
  for (auto& run : s.job_runs) {
    if (run.status != v1::JOB_SCHEDULED && run.status != v1::JOB_RUNNING) continue;
    if (text.empty()) {
      text = build_ended_text(string_of(strings, s.build_request_id), s.status) +
             " before the job run ended";
    }
    set_job_run(strings, run, v1::JOB_CANCELLED, event, text);
  }
}

// Indexes the last of `size` entries in `map`, or all of them when `map` is still empty (the list
// has just passed kIndexedFrom).
template <class Map, class KeyOf>
void index_last(Map& map, size_t size, KeyOf key_of) {
  for (size_t i = map.empty() ? 0 : size - 1; i < size; ++i) {
    map.emplace(key_of(i), static_cast<uint32_t>(i));
  }
}

}  // namespace

void BuildSummaryState::index_new_entry(bool partition) {
  const size_t size = partition ? partitions.size() : job_runs.size();
  if (size <= kIndexedFrom) return;
  if (index_ == nullptr) index_ = std::make_unique<Index>();
  if (partition) {
    index_last(index_->partitions, size, [&](size_t i) { return partitions[i].ref; });
  } else {
    index_last(index_->job_runs, size, [&](size_t i) { return job_runs[i].id(); });
  }
}

size_t BuildSummaryState::partition_index(Id ref, bool add) {
  if (index_ != nullptr && !index_->partitions.empty()) {
    if (auto it = index_->partitions.find(ref); it != index_->partitions.end()) return it->second;
  } else {
    for (size_t i = 0; i < partitions.size(); ++i) {
      if (partitions[i].ref == ref) return i;
    }
  }
  const size_t pos = partitions.size();
  if (!add) return pos;
  partitions.emplace_back();
  partitions.back().ref = ref;
  index_new_entry(/*partition=*/true);
  return pos;
}

const BuildSummaryState::JobRun* BuildSummaryState::job_run(std::string_view id) const {
  if (index_ != nullptr && !index_->job_runs.empty()) {
    auto it = index_->job_runs.find(id);
    return it == index_->job_runs.end() ? nullptr : &job_runs[it->second];
  }
  for (const auto& run : job_runs) {
    if (run.id() == id) return &run;
  }
  return nullptr;
}

BuildSummaryState::JobRun* BuildSummaryState::job_run(std::string_view id) {
  return const_cast<JobRun*>(static_cast<const BuildSummaryState*>(this)->job_run(id));
}

BuildSummaryState::JobRun& BuildSummaryState::add_job_run(BuildStrings& strings,
                                                          std::string_view id) {
  const std::string_view kept = strings.keep(id);
  job_runs.emplace_back();
  job_runs.back().id_data = kept.data();
  job_runs.back().id_size = static_cast<uint32_t>(kept.size());
  index_new_entry(/*partition=*/false);
  return job_runs.back();
}

void BuildSummaryState::apply(BuildStrings& strings, const BuildEvent& event) {
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
      if (requested_count == 0) {
        add_span(strings, *this, e.requested_partitions(), ref_str, &requested_begin,
                 &requested_count);
      }
      if (!e.message().empty()) message = strings.intern(e.message());
      if (is_terminal_build_status(status)) cancel_open_runs(strings, *this, event);
      return;
    }
    case BuildEvent::kBuildCancelEvent:
      status = v1::BUILD_REQUEST_CANCELLED;
      cancel_reason = id_of(strings, event.build_cancel_event().reason());
      if (cancel_reason != kNone) message = cancel_reason;
      cancel_open_runs(strings, *this, event);
      return;
    case BuildEvent::kPartitionEvent:
      set_partition(strings, *this, event.partition_event().partition_ref().str(),
                    event.partition_event().status_code(), nullptr);
      return;
    case BuildEvent::kDelegationEvent:
      set_partition(strings, *this, event.delegation_event().partition_ref().str(),
                    v1::PARTITION_DELEGATED,
                    &event.delegation_event().delegated_to_build_request_id());
      return;
    case BuildEvent::kJobEvent: {
      const JobEvent& e = event.job_event();
      JobRun* run = job_run(e.job_run_id());
      if (run == nullptr) {
        run = &add_job_run(strings, e.job_run_id());
        run->job_label = id_of(strings, e.job_label().label());
      }
      if (run->targets_count == 0) {
        add_span(strings, *this, e.target_partitions(), ref_str, &run->targets_begin,
                 &run->targets_count);
      }
      set_job_run(strings, *run, e.status_code(), event, e.message());
      return;
    }
    case BuildEvent::kJobRunCancelEvent: {
      // Only a run this request already has.
      const JobRunCancelEvent& e = event.job_run_cancel_event();
      if (JobRun* run = job_run(e.job_run_id())) {
        set_job_run(strings, *run, v1::JOB_CANCELLED, event, e.reason());
      }
      return;
    }
    default:
      return;
  }
}

BuildRequestSummary BuildSummaryState::to_summary(const BuildStrings& strings,
                                                  int64_t as_of_idx) const {
  BuildRequestSummary out;
  out.set_build_request_id(string_of(strings, build_request_id));
  fill_status(&out, status);
  for (uint32_t i = 0; i < requested_count; ++i) {
    out.add_requested_partitions(string_of(strings, refs[requested_begin + i]));
  }
  out.set_created_at(created_at);
  out.set_updated_at(updated_at);
  out.set_first_idx(first_idx);
  out.set_last_idx(last_idx);
  out.set_event_count(event_count);
  for (const auto& p : partitions) {
    auto* q = out.add_partitions();
    q->set_partition_ref(string_of(strings, p.ref));
    fill_status(q, p.status);
    q->set_delegated_to_build_request_id(string_of(strings, p.delegated_to_build_request_id));
  }
  StatusCounts by_status;  // counted here rather than kept: a few runs, asked for rarely
  for (const auto& run : job_runs) by_status.add(run.status, 1);
  by_status.fill<JobStatus>(out.mutable_job_runs_by_status());
  out.set_cancel_reason(string_of(strings, cancel_reason));
  out.set_message(string_of(strings, message));
  add_failures(strings, out.mutable_failures());
  out.set_as_of_idx(as_of_idx);
  return out;
}

void BuildSummaryState::add_failures(const BuildStrings& strings,
                                     google::protobuf::RepeatedPtrField<BuildFailure>* out) const {
  std::vector<const JobRun*> ended;
  for (const auto& run : job_runs) {
    if (run.status == v1::JOB_FAILED || run.status == v1::JOB_CANCELLED) ended.push_back(&run);
  }
  std::sort(ended.begin(), ended.end(), [&](const JobRun* a, const JobRun* b) {
    if (a->ended_idx != b->ended_idx) return a->ended_idx > b->ended_idx;
    return a->id() < b->id();
  });
  if (ended.size() > static_cast<size_t>(kMaxFailures)) ended.resize(kMaxFailures);
  for (const JobRun* run : ended) {
    auto* f = out->Add();
    f->set_job_run_id(std::string(run->id()));
    f->set_job_label(string_of(strings, run->job_label));
    f->set_status_name(response_status_name(run->status));
    f->set_message(std::string(message_of(strings, *run)));
    for (uint32_t i = 0; i < run->targets_count; ++i) {
      f->add_partition_refs(string_of(strings, refs[run->targets_begin + i]));
    }
  }
}

void BuildSummaryState::to_snapshot(const BuildStrings& strings, snap::BuildState* out) const {
  out->set_build_request_id(string_of(strings, build_request_id));
  out->set_status_code(status);
  for (uint32_t i = 0; i < requested_count; ++i) {
    out->add_requested_partitions(string_of(strings, refs[requested_begin + i]));
  }
  out->set_created_at(created_at);
  out->set_updated_at(updated_at);
  out->set_first_idx(first_idx);
  out->set_last_idx(last_idx);
  out->set_event_count(event_count);
  for (const auto& p : partitions) {
    auto* q = out->add_partitions();
    q->set_partition_ref(string_of(strings, p.ref));
    q->set_status_code(p.status);
    q->set_delegated_to_build_request_id(string_of(strings, p.delegated_to_build_request_id));
  }
  // Sorted by id, so that equal states give equal bytes.
  std::vector<const JobRun*> runs;
  runs.reserve(job_runs.size());
  for (const auto& run : job_runs) runs.push_back(&run);
  std::sort(runs.begin(), runs.end(),
            [&](const JobRun* a, const JobRun* b) { return a->id() < b->id(); });
  for (const JobRun* run : runs) {
    auto* r = out->add_job_runs();
    r->set_job_run_id(std::string(run->id()));
    r->set_status_code(run->status);
    r->set_job_label(string_of(strings, run->job_label));
    for (uint32_t i = 0; i < run->targets_count; ++i) {
      r->add_target_partitions(string_of(strings, refs[run->targets_begin + i]));
    }
    r->set_message(std::string(message_of(strings, *run)));
    r->set_ended_idx(run->ended_idx);
  }
  out->set_cancel_reason(string_of(strings, cancel_reason));
  out->set_message(string_of(strings, message));
}

Result<BuildSummaryState> BuildSummaryState::from_snapshot(BuildStrings& strings,
                                                           const snap::BuildState& in) {
  const std::string& build_id = in.build_request_id();
  BuildSummaryState s(strings.intern(build_id));  // as apply() names it: an id even when empty
  s.status = static_cast<BuildRequestStatus>(in.status_code());
  s.created_at = in.created_at();
  s.updated_at = in.updated_at();
  s.first_idx = in.first_idx();
  s.last_idx = in.last_idx();
  s.event_count = in.event_count();
  if (s.event_count <= 0 || s.first_idx <= 0 || s.last_idx < s.first_idx) {
    return make_error(ErrorCode::storage_corrupt,
                      "build request " + build_id + " has no events or bad idx");
  }
  size_t refs = static_cast<size_t>(in.requested_partitions_size());
  for (const auto& r : in.job_runs()) refs += static_cast<size_t>(r.target_partitions_size());
  s.refs.reserve(refs);  // exactly: a restored build holds no slack (330k builds at 10M events)
  add_span(strings, s, in.requested_partitions(), plain_str, &s.requested_begin,
           &s.requested_count);
  s.partitions.reserve(static_cast<size_t>(in.partitions_size()));
  for (const auto& p : in.partitions()) {
    const size_t pos = s.partition_index(id_of(strings, p.partition_ref()), /*add=*/true);
    if (pos + 1 != s.partitions.size()) {
      return make_error(
          ErrorCode::storage_corrupt,
          "build request " + build_id + " lists partition " + p.partition_ref() + " twice");
    }
    s.partitions[pos].status = static_cast<PartitionStatus>(p.status_code());
    s.partitions[pos].delegated_to_build_request_id =
        id_of(strings, p.delegated_to_build_request_id());
  }
  s.job_runs.reserve(static_cast<size_t>(in.job_runs_size()));
  for (const auto& r : in.job_runs()) {
    if (s.job_run(r.job_run_id()) != nullptr) {
      return make_error(
          ErrorCode::storage_corrupt,
          "build request " + build_id + " lists job run " + r.job_run_id() + " twice");
    }
    JobRun& run = s.add_job_run(strings, r.job_run_id());
    run.job_label = id_of(strings, r.job_label());
    add_span(strings, s, r.target_partitions(), plain_str, &run.targets_begin, &run.targets_count);
    run.status = static_cast<JobStatus>(r.status_code());
    set_message(strings, run, kNone, r.message());
    run.ended_idx = r.ended_idx();
  }
  s.cancel_reason = id_of(strings, in.cancel_reason());
  s.message = id_of(strings, in.message());
  return s;
}

void BuildSummaryState::move_strings(const BuildStrings& from, BuildStrings& to) {
  auto move = [&](Id& id) { id = id == kNone ? kNone : to.intern(from.str(id)); };
  move(build_request_id);
  move(cancel_reason);
  move(message);
  for (auto& p : partitions) {
    move(p.ref);
    move(p.delegated_to_build_request_id);
  }
  for (auto& run : job_runs) {
    const std::string_view kept = to.keep(run.id());
    run.id_data = kept.data();
    move(run.job_label);
    set_message(to, run, kNone, message_of(from, run));
  }
  for (auto& ref : refs) move(ref);
  if (index_ == nullptr) return;
  // The index is keyed by ids: make it again (an empty map takes every entry) from the moved ones.
  index_.reset();
  index_new_entry(/*partition=*/true);
  index_new_entry(/*partition=*/false);
}

void BuildSummaryState::free_drafts(BuildStrings& strings) const {
  for (const auto& run : job_runs) {
    if (holds_draft(run.status)) strings.free_draft(run.message_size);
  }
}

// ---- RecentBuildSummaries ------------------------------------------------------------------

void RecentBuildSummaries::add_newest(std::string_view id) {
  builds_.emplace_front(strings_.intern(id));
  if (builds_.size() > static_cast<size_t>(kRecentCount)) {
    builds_.back().free_drafts(strings_);
    builds_.pop_back();
  }
  if (strings_.held() <= held_after_rebuild_ + kRebuildAbove) return;
  // Most strings now name dropped builds: keep only the kept summaries' strings.
  BuildStrings fresh;
  for (auto& b : builds_) b.move_strings(strings_, fresh);
  strings_ = std::move(fresh);
  held_after_rebuild_ = strings_.held();
}

void RecentBuildSummaries::apply(const BuildEvent& event) {
  const Id id = strings_.find(event.build_request_id());
  if (id == StringPool::kNone) return;
  for (auto& b : builds_) {
    if (b.build_request_id == id) {
      b.apply(strings_, event);
      return;
    }
  }
}

bool RecentBuildSummaries::contains(std::string_view id) const {
  const Id found = strings_.find(id);
  if (found == StringPool::kNone) return false;
  for (const auto& b : builds_) {
    if (b.build_request_id == found) return true;
  }
  return false;
}

void RecentBuildSummaries::add_summaries(
    google::protobuf::RepeatedPtrField<BuildRequestSummary>* out, int64_t as_of_idx) const {
  for (const auto& b : builds_) *out->Add() = b.to_summary(strings_, as_of_idx);
}

void RecentBuildSummaries::write(int number, SnapshotWriter* out) const {
  out->add_each<snap::BuildState>(
      number, builds_,
      [&](const BuildSummaryState& b, snap::BuildState* build) { b.to_snapshot(strings_, build); });
}

Result<BuildSummaryState> RecentBuildSummaries::from_snapshot(const snap::BuildState& in) {
  return BuildSummaryState::from_snapshot(strings_, in);
}

// ---- BuildSummaryView ----------------------------------------------------------------------

uint32_t BuildSummaryView::position(std::string_view id) const {
  const StringPool::Id found = strings_.find(id);
  return found < index_.size() ? index_[found] : kNoBuild;
}

void BuildSummaryView::set_position(StringPool::Id id, uint32_t position) {
  if (id >= index_.size()) index_.resize(strings_.size(), kNoBuild);
  index_[id] = position;
}

void BuildSummaryView::apply(const BuildEvent& event) {
  as_of_idx_ = event.idx();
  if (event.has_partition_invalidation_event()) {
    const uint32_t known = position(event.build_request_id());
    const BuildRequestStatus so_far =
        known == kNoBuild ? v1::BUILD_REQUEST_UNKNOWN : builds_[known].status;
    if (is_operator_action(event, so_far)) return;
  }
  const StringPool::Id id = strings_.intern(event.build_request_id());
  uint32_t at = id < index_.size() ? index_[id] : kNoBuild;
  if (at == kNoBuild) {
    at = static_cast<uint32_t>(builds_.size());
    set_position(id, at);
    builds_.emplace_back(id);
    counts_.add(v1::BUILD_REQUEST_UNKNOWN, 1);
  }
  BuildSummaryState& b = builds_[at];
  const BuildRequestStatus before = b.status;
  b.apply(strings_, event);
  if (b.status != before) {
    counts_.add(before, -1);
    counts_.add(b.status, 1);
  }
}

Result<BuildRequestSummary> BuildSummaryView::summary(const std::string& build_request_id) const {
  const uint32_t at = position(build_request_id);
  if (at == kNoBuild) {
    return make_error(ErrorCode::not_found, "build request " + build_request_id + " not found");
  }
  return builds_[at].to_summary(strings_, as_of_idx_);
}

Result<BuildsListResponse> BuildSummaryView::list(const BuildsListRequest& request) const {
  auto page = check_page(request.limit(), request.offset());
  if (!page.ok()) return page.error();
  const std::set<int> filter(request.status_filter().begin(), request.status_filter().end());
  const int64_t total = counts_.matching(filter, static_cast<int64_t>(builds_.size()));

  BuildsListResponse out;
  out.set_as_of_idx(as_of_idx_);
  // Without a filter every build matches: the page starts `offset` builds from the newest.
  int64_t matched = 0;
  auto it = builds_.rbegin();
  if (filter.empty()) {
    matched = std::min<int64_t>(page->offset, total);
    it += matched;
  }
  for (; it != builds_.rend() && out.builds_size() < page->limit && matched < total; ++it) {
    if (!filter.empty() && filter.count(it->status) == 0) continue;
    if (++matched > page->offset) *out.add_builds() = it->to_summary(strings_, as_of_idx_);
  }
  set_page_totals(&out, *page, out.builds_size(), total);
  return out;
}

std::string BuildSummaryView::serialize(SnapshotTarget target) const {
  snap::BuildSummarySnapshot header;
  header.set_entry_count(static_cast<int64_t>(builds_.size()));
  SnapshotWriter out = start_snapshot(kName, kVersion, header, std::move(target));
  out.add_each<snap::BuildState>(
      snap::BuildSummarySnapshot::kBuildsFieldNumber, builds_,
      [&](const BuildSummaryState& b, snap::BuildState* entry) { b.to_snapshot(strings_, entry); });
  return out.take();
}

Result<BuildSummaryView> BuildSummaryView::restore(const std::string& bytes) {
  SnapshotInput in(bytes);
  return restore(in);
}

Result<BuildSummaryView> BuildSummaryView::restore(SnapshotInput& in) {
  using Snapshot = snap::BuildSummarySnapshot;
  BuildSummaryView view;
  auto visit = [&](snap::BuildState& b, SnapshotEntryOrder& order) -> Status {
    auto state = BuildSummaryState::from_snapshot(view.strings_, b);
    if (!state.ok()) return snapshot_error(kName, state.error().message);
    BEL_RETURN_IF_ERROR(order.check("build request", b.build_request_id(), state->first_idx,
                                    state->last_idx,
                                    view.position(b.build_request_id()) != kNoBuild));
    view.set_position(state->build_request_id, static_cast<uint32_t>(view.builds_.size()));
    view.counts_.add(state->status, 1);
    view.builds_.push_back(std::move(*state));
    return ok_status();
  };
  BEL_RETURN_IF_ERROR((view.restore_entry_list<Snapshot, snap::BuildState>(
      kName, kVersion, in, Snapshot::kBuildsFieldNumber, &view.builds_, &view.index_, visit)));
  return view;
}

}  // namespace bel::projections
