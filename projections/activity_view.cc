#include "projections/activity_view.h"

#include <algorithm>
#include <vector>

#include "projections/snapshot_reader.h"
#include "projections/view_snapshots.pb.h"

namespace bel::projections {

namespace snap = bel::snapshots::v1;

void ActivityView::apply_to_build(const BuildEvent& event, uint32_t build_id) {
  const std::string& id = event.build_request_id();
  BuildState& build = build_state(build_id);
  const bool inserted = !build.known;
  build.known = true;
  if (inserted) ++known_builds_;
  if (inserted) {
    build_counts_.add(v1::BUILD_REQUEST_UNKNOWN, 1);
    recent_builds_.add_newest(id);  // the newest build request by first_idx
  }
  BuildRequestStatus status = build.status;
  if (event.has_build_request_event()) status = event.build_request_event().status_code();
  if (event.has_build_cancel_event()) status = v1::BUILD_REQUEST_CANCELLED;
  if (status != build.status) {
    build_counts_.add(build.status, -1);
    build_counts_.add(status, 1);
    build.status = status;
  }
  recent_builds_.apply(event);
}

ActivityView::BuildState& ActivityView::build_state(uint32_t id) {
  if (builds_.size() <= id) builds_.resize(own_fold_.build_ids().size());
  return builds_[id];
}

ActivityView::BuildState& ActivityView::build_state(std::string_view id) {
  return build_state(own_fold_.build_ids().intern(id));
}

const ActivityView::BuildState* ActivityView::find_build(std::string_view id) const {
  const uint32_t build = own_fold_.build_ids().find(id);
  if (build >= builds_.size() || !builds_[build].known) return nullptr;
  return &builds_[build];
}

BuildRequestStatus ActivityView::build_status(const std::string& id) const {
  const BuildState* build = find_build(id);
  return build == nullptr ? v1::BUILD_REQUEST_UNKNOWN : build->status;
}

void ActivityView::apply(const BuildEvent& event) {
  as_of_idx_ = event.idx();
  ++event_count_;

  // Only an invalidation can be an operator's: no status lookup for any other event.
  const bool by_operator = event.has_partition_invalidation_event() &&
                           is_operator_action(event, build_status(event.build_request_id()));
  // The build request id is looked up once, here, and handed to the fold.
  PartitionStatusFold::Ids ids;
  if (!by_operator) {
    ids.build = own_fold_.build_ids().intern(event.build_request_id());
    apply_to_build(event, ids.build);
  }
  // A shared fold has applied the event already (share_fold): its changes are read from there.
  const std::vector<PartitionStatusFold::Change>* changes = &changes_;
  if (shared_ != nullptr) {
    changes = &shared_->last_changes();
  } else {
    changes_.clear();
    own_fold_.apply(event, &changes_, ids);
  }
  const PartitionStatusFold& partitions = fold();
  // One event's changes come by descending ref: pushed to the front, the ties read ascending.
  for (const auto& change : *changes) {
    if (change.before != v1::PARTITION_UNKNOWN) {
      partition_counts_.add(change.before, -1);
      --known_partitions_;
    }
    partition_counts_.add(partitions.status(change.slot), 1);
    ++known_partitions_;
    auto old = std::find(recent_partitions_.begin(), recent_partitions_.end(), change.slot);
    if (old != recent_partitions_.end()) recent_partitions_.erase(old);
    recent_partitions_.push_front(change.slot);
    if (recent_partitions_.size() > static_cast<size_t>(kRecentCount)) {
      recent_partitions_.pop_back();
    }
  }
}

bool ActivityView::share_fold(const PartitionStatusView* partitions) {
  if (as_of_idx_ != 0 || event_count_ != 0 || own_fold_.size() != 0 ||
      partitions->as_of_idx() != 0 || partitions->fold().size() != 0) {
    return false;
  }
  shared_ = partitions;
  return true;
}

ActivityResponse ActivityView::activity() const {
  ActivityResponse out;
  int64_t active = 0;
  for (const auto& [status, count] : build_counts_.counts()) {
    if (!is_terminal_build_status(static_cast<BuildRequestStatus>(status))) active += count;
  }
  out.set_active_builds_count(active);
  out.set_total_build_requests(known_builds_);
  out.set_total_partitions(known_partitions_);
  build_counts_.fill<BuildRequestStatus>(out.mutable_build_requests_by_status());
  partition_counts_.fill<PartitionStatus>(out.mutable_partitions_by_status());
  recent_builds_.add_summaries(out.mutable_recent_builds(), as_of_idx_);
  const PartitionStatusFold& partitions = fold();
  for (uint32_t slot : recent_partitions_) {
    *out.add_recent_partitions() = partitions.response(slot, as_of_idx_);
  }
  out.set_event_count(event_count_);
  out.set_as_of_idx(as_of_idx_);
  return out;
}

std::string ActivityView::serialize(SnapshotTarget target) const {
  snap::ActivitySnapshot header;
  header.set_event_count(event_count_);
  header.set_partition_count(known_partitions_);
  header.set_build_count(known_builds_);
  SnapshotWriter out = start_snapshot(kName, kVersion, std::move(header), std::move(target));
  // Build requests by ascending id, so that equal views give equal bytes.
  const StringPool& ids = own_fold_.build_ids();
  std::vector<uint32_t> builds;
  builds.reserve(static_cast<size_t>(known_builds_));
  for (uint32_t build = 0; build < builds_.size(); ++build) {
    if (builds_[build].known) builds.push_back(build);
  }
  std::sort(builds.begin(), builds.end(),
            [&](uint32_t a, uint32_t b) { return ids.str(a) < ids.str(b); });
  out.add_each<snap::IdStatus>(snap::ActivitySnapshot::kBuildRequestsFieldNumber, builds,
                               [&](uint32_t build, snap::IdStatus* e) {
                                 const std::string_view id = ids.str(build);
                                 e->set_id(id.data(), id.size());
                                 e->set_status_code(builds_[build].status);
                               });
  const PartitionStatusFold& partitions = fold();
  std::vector<uint32_t> known;
  for (uint32_t slot = 0; slot < partitions.size(); ++slot) {
    if (partitions.status(slot) != v1::PARTITION_UNKNOWN) known.push_back(slot);
  }
  std::sort(known.begin(), known.end(),
            [&](uint32_t a, uint32_t b) { return partitions.ref(a) < partitions.ref(b); });
  // Field-number order (recent builds 7, recent partitions 8, partitions 9), as serializing the
  // whole message would write them.
  recent_builds_.write(snap::ActivitySnapshot::kRecentBuildsFieldNumber, &out);
  out.add_each<snap::PartitionStatusEntry>(snap::ActivitySnapshot::kRecentPartitionsFieldNumber,
                                           recent_partitions_,
                                           [&](uint32_t slot, snap::PartitionStatusEntry* entry) {
                                             const std::string_view ref = partitions.ref(slot);
                                             entry->set_partition_ref(ref.data(), ref.size());
                                             entry->set_last_idx(partitions.last_idx(slot));
                                           });
  out.add_each<snap::PartitionStatusEntry>(snap::ActivitySnapshot::kPartitionsFieldNumber, known,
                                           [&](uint32_t slot, snap::PartitionStatusEntry* entry) {
                                             partitions.to_snapshot(slot, entry);
                                           });
  for (const snap::ClaimRun& run : partitions.runs_to_snapshot()) {
    out.add(snap::ActivitySnapshot::kRunsFieldNumber, run);
  }
  return out.take();
}

Result<ActivityView> ActivityView::restore(const std::string& bytes) {
  SnapshotInput in(bytes);
  return restore(in);
}

Result<ActivityView> ActivityView::restore(SnapshotInput& in) {
  using Snapshot = snap::ActivitySnapshot;
  Snapshot s;
  ActivityView view;
  BEL_RETURN_IF_ERROR(view.read_header(kName, kVersion, in, &s));
  view.event_count_ = s.event_count();
  const size_t builds = in.entries_hint(s.build_count(), Snapshot::kBuildRequestsFieldNumber);
  view.own_fold_.reserve(in.entries_hint(s.partition_count(), Snapshot::kPartitionsFieldNumber),
                         builds);
  view.builds_.reserve(builds);
  // Build requests and partitions are restored as they come; the recent entries, written between
  // them and checked against both, are kept (a few) until the end.
  const std::string too_many = "more than " + std::to_string(kRecentCount) + " recent entries";
  snap::IdStatus b;
  snap::PartitionStatusEntry p;
  snap::ClaimRun run;
  while (true) {
    auto number = in.next_entry();
    if (!number.ok()) return number.error();
    if (*number == 0) break;
    if (*number == Snapshot::kBuildRequestsFieldNumber) {
      BEL_RETURN_IF_ERROR(in.parse_entry(&b));
      auto status = static_cast<BuildRequestStatus>(b.status_code());
      BuildState& build = view.build_state(b.id());
      if (build.known) {
        return snapshot_error(kName, "build request " + b.id() + " appears twice");
      }
      build = BuildState{status, true};
      ++view.known_builds_;
      view.build_counts_.add(status, 1);
    } else if (*number == Snapshot::kPartitionsFieldNumber) {
      BEL_RETURN_IF_ERROR(in.parse_entry(&p));
      auto slot = view.own_fold_.restore_entry(p);
      if (!slot.ok()) return snapshot_error(kName, slot.error().message);
      view.partition_counts_.add(p.status_code(), 1);
      ++view.known_partitions_;
    } else if (*number == Snapshot::kRunsFieldNumber) {
      BEL_RETURN_IF_ERROR(in.parse_entry(&run));
      if (auto ok = view.own_fold_.restore_run(run); !ok.ok()) {
        return snapshot_error(kName, ok.error().message);
      }
    } else if (*number == Snapshot::kRecentBuildsFieldNumber) {
      if (s.recent_builds_size() >= kRecentCount) return snapshot_error(kName, too_many);
      BEL_RETURN_IF_ERROR(in.parse_entry(s.add_recent_builds()));
    } else if (*number == Snapshot::kRecentPartitionsFieldNumber) {
      if (s.recent_partitions_size() >= kRecentCount) return snapshot_error(kName, too_many);
      BEL_RETURN_IF_ERROR(in.parse_entry(s.add_recent_partitions()));
    } else {
      BEL_RETURN_IF_ERROR(in.skip_entry());
    }
  }
  for (const snap::BuildState& b : s.recent_builds()) {
    auto state = view.recent_builds_.from_snapshot(b);
    if (!state.ok()) return snapshot_error(kName, state.error().message);
    const BuildState* known = view.find_build(b.build_request_id());
    if (known == nullptr || known->status != state->status) {
      return snapshot_error(kName, "recent build request " + b.build_request_id() +
                                       " does not match its status entry");
    }
    if (!view.recent_builds_.empty() &&
        view.recent_builds_.oldest().first_idx <= state->first_idx) {
      return snapshot_error(kName, "recent build requests out of order");
    }
    if (view.recent_builds_.contains(b.build_request_id())) {
      return snapshot_error(kName,
                            "recent build request " + b.build_request_id() + " appears twice");
    }
    view.recent_builds_.push_oldest(std::move(*state));
  }
  bool first = true;
  int64_t previous_idx = 0;
  std::string previous_ref;
  for (const snap::PartitionStatusEntry& p : s.recent_partitions()) {
    auto slot = view.own_fold_.find(p.partition_ref());
    if (!slot || view.own_fold_.status(*slot) == v1::PARTITION_UNKNOWN ||
        view.own_fold_.last_idx(*slot) != p.last_idx()) {
      return snapshot_error(
          kName, "recent partition " + p.partition_ref() + " does not match its status entry");
    }
    // Newest first; one event's ties by ascending ref (so a ref cannot appear twice either).
    if (!first && (previous_idx < p.last_idx() ||
                   (previous_idx == p.last_idx() && previous_ref >= p.partition_ref()))) {
      return snapshot_error(kName, "recent partitions out of order");
    }
    first = false;
    previous_idx = p.last_idx();
    previous_ref = p.partition_ref();
    view.recent_partitions_.push_back(*slot);
  }
  return view;
}

}  // namespace bel::projections
