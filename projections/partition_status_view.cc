#include "projections/partition_status_view.h"

#include <algorithm>
#include <utility>

#include "messages/glob.h"
#include "projections/snapshot_reader.h"
#include "projections/view_snapshots.pb.h"

namespace bel::projections {

namespace snap = bel::snapshots::v1;

// ---- apply ---------------------------------------------------------------------------------

void PartitionStatusView::apply(const BuildEvent& event) {
  as_of_idx_ = event.idx();
  const std::string& id = event.build_request_id();
  changes_.clear();
  fold_.apply(event, &changes_);
  if (refs_.size() < fold_.size()) refs_.resize(fold_.size());
  for (const auto& change : changes_) on_status_change(change.slot, change.before);
  switch (event.event_type_case()) {
    case BuildEvent::kBuildRequestEvent:
      set_request_status(id, event.build_request_event().status_code());
      return;
    case BuildEvent::kBuildCancelEvent:
      set_request_status(id, v1::BUILD_REQUEST_CANCELLED);
      return;
    case BuildEvent::kPartitionEvent:
      set_pair_status(id, slot_of(event.partition_event().partition_ref().str()),
                      event.partition_event().status_code());
      return;
    case BuildEvent::kDelegationEvent:
      set_pair_status(id, slot_of(event.delegation_event().partition_ref().str()),
                      v1::PARTITION_DELEGATED);
      return;
    default:
      return;
  }
}

uint32_t PartitionStatusView::slot_of(const std::string& ref) {
  const uint32_t slot = fold_.slot_of(ref);
  if (refs_.size() < fold_.size()) refs_.resize(fold_.size());
  return slot;
}

void PartitionStatusView::on_status_change(uint32_t slot, PartitionStatus before) {
  RefState& r = refs_[slot];
  if (before != v1::PARTITION_UNKNOWN) {
    counts_.add(before, -1);
    --known_;
  }
  if (r.order_pos != kNoPos) {
    order_[r.order_pos] = kStale;
    ++stale_;
    r.order_pos = kNoPos;
  }
  const PartitionStatus now = fold_.entry(slot).status;
  // The fold never sets UNKNOWN; the check keeps the invariants if it did.
  if (now != v1::PARTITION_UNKNOWN) {
    counts_.add(now, 1);
    ++known_;
    r.order_pos = order_.size();
    order_.push_back(slot);
  }
  if (stale_ > 1024 && stale_ > order_.size() / 2) compact_order();
}

void PartitionStatusView::compact_order() {
  size_t out = 0;
  for (uint32_t slot : order_) {
    if (slot == kStale) continue;
    refs_[slot].order_pos = out;
    order_[out++] = slot;
  }
  order_.resize(out);
  stale_ = 0;
}

void PartitionStatusView::set_request_status(const std::string& id, BuildRequestStatus status) {
  RequestState& req = requests_[id];
  const bool was_terminal = is_terminal_build_status(req.status);
  req.status = status;
  const bool now_terminal = is_terminal_build_status(status);
  if (was_terminal == now_terminal) return;
  // Only a lenient log reopens a terminal request, but the definition covers it.
  for (uint32_t slot : req.in_progress) {
    if (now_terminal) {
      refs_[slot].active.erase(id);
    } else {
      refs_[slot].active.insert(id);
    }
  }
}

void PartitionStatusView::set_pair_status(const std::string& id, uint32_t slot,
                                          PartitionStatus status) {
  RequestState& req = requests_[id];
  const bool now = is_in_progress_partition_status(status);
  const bool was = req.in_progress.count(slot) > 0;
  if (now == was) return;
  if (now) {
    req.in_progress.insert(slot);
  } else {
    req.in_progress.erase(slot);
  }
  if (is_terminal_build_status(req.status)) return;
  if (now) {
    refs_[slot].active.insert(id);
  } else {
    refs_[slot].active.erase(id);
  }
}

// ---- queries -------------------------------------------------------------------------------

PartitionStatusResponse PartitionStatusView::status(const std::string& ref) const {
  auto slot = fold_.find(ref);
  return to_partition_status_response(ref, slot ? fold_.entry(*slot) : PartitionStatusEntry{},
                                      as_of_idx_);
}

ActiveBuildsResponse PartitionStatusView::active_builds(const std::string& ref) const {
  ActiveBuildsResponse out;
  out.set_partition_ref(ref);
  out.set_as_of_idx(as_of_idx_);
  if (auto slot = fold_.find(ref)) {
    for (const auto& id : refs_[*slot].active) out.add_build_request_ids(id);
  }
  return out;
}

Result<PartitionsListResponse> PartitionStatusView::list(
    const PartitionsListRequest& request) const {
  auto page = check_page(request.limit(), request.offset());
  if (!page.ok()) return page.error();
  const std::string& pattern = request.pattern();
  if (!pattern.empty()) BEL_RETURN_IF_ERROR(check_glob(pattern));
  const std::set<int> filter(request.status_filter().begin(), request.status_filter().end());

  PartitionsListResponse out;
  out.set_as_of_idx(as_of_idx_);
  // Without a pattern the total comes from the counts and the walk stops at the page's end.
  int64_t total = -1;
  if (pattern.empty()) total = counts_.matching(filter, known_);
  int64_t matched = 0;
  if (total != 0) {
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
      if (*it == kStale) continue;
      const PartitionStatusEntry& entry = fold_.entry(*it);
      const std::string& ref = fold_.ref(*it);
      if (!filter.empty() && filter.count(entry.status) == 0) continue;
      if (!pattern.empty() && !glob_match(pattern, ref)) continue;
      ++matched;
      if (matched > page->offset && out.partitions_size() < page->limit) {
        *out.add_partitions() = to_partition_status_response(ref, entry, as_of_idx_);
      }
      if (total >= 0 && out.partitions_size() == page->limit) break;
    }
  }
  if (total < 0) total = matched;
  set_page_totals(&out, *page, out.partitions_size(), total);
  return out;
}

// ---- snapshots -----------------------------------------------------------------------------

std::string PartitionStatusView::serialize() const {
  SnapshotWriter out = start_snapshot<snap::PartitionStatusSnapshot>(kName, kVersion);
  snap::PartitionStatusEntry entry;
  for (uint32_t slot : order_) {
    if (slot == kStale) continue;
    entry.Clear();
    fold_.to_snapshot(slot, &entry);
    out.add(snap::PartitionStatusSnapshot::kPartitionsFieldNumber, entry);
  }
  std::vector<const std::pair<const std::string, RequestState>*> requests;
  requests.reserve(requests_.size());
  for (const auto& entry : requests_) requests.push_back(&entry);
  std::sort(requests.begin(), requests.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  std::vector<const std::string*> refs;
  out.add_each<snap::RequestProgress>(
      snap::PartitionStatusSnapshot::kRequestsFieldNumber, requests,
      [&](const auto* entry, snap::RequestProgress* q) {
        q->set_build_request_id(entry->first);
        q->set_status_code(entry->second.status);
        refs.clear();
        for (uint32_t slot : entry->second.in_progress) refs.push_back(&fold_.ref(slot));
        std::sort(refs.begin(), refs.end(), [](const auto* a, const auto* b) { return *a < *b; });
        for (const auto* ref : refs) q->add_in_progress_refs(*ref);
      });
  return out.take();
}

Result<PartitionStatusView> PartitionStatusView::restore(const std::string& bytes) {
  snap::PartitionStatusSnapshot s;
  PartitionStatusView view;
  BEL_RETURN_IF_ERROR(view.read_header(kName, kVersion, bytes, &s));
  int64_t previous_idx = 0;
  std::string previous_ref;
  auto visit_partition = [&](const snap::PartitionStatusEntry& p) -> Status {
    // Ascending last_idx; one event's ties by descending ref (the list reads them backwards).
    const bool in_order =
        previous_idx == 0 || p.last_idx() > previous_idx ||
        (p.last_idx() == previous_idx && p.partition_ref() < previous_ref);
    if (!in_order || p.last_idx() <= 0 || p.last_idx() > s.as_of_idx()) {
      return snapshot_error(kName, "partition " + p.partition_ref() + " has last_idx " +
                                       std::to_string(p.last_idx()) + " out of order");
    }
    previous_idx = p.last_idx();
    previous_ref = p.partition_ref();
    auto slot = view.fold_.restore_entry(p);
    if (!slot.ok()) return snapshot_error(kName, slot.error().message);
    view.refs_.resize(view.fold_.size());
    view.on_status_change(*slot, v1::PARTITION_UNKNOWN);
    return ok_status();
  };
  BEL_RETURN_IF_ERROR(for_each_snapshot_entry<snap::PartitionStatusEntry>(
      kName, bytes, snap::PartitionStatusSnapshot::kPartitionsFieldNumber, visit_partition));
  auto visit_request = [&](const snap::RequestProgress& q) -> Status {
    auto [it, inserted] = view.requests_.try_emplace(q.build_request_id());
    if (!inserted) {
      return snapshot_error(kName, "build request " + q.build_request_id() + " appears twice");
    }
    it->second.status = static_cast<BuildRequestStatus>(q.status_code());
    for (const auto& ref : q.in_progress_refs()) {
      uint32_t slot = view.slot_of(ref);
      if (!it->second.in_progress.insert(slot).second) {
        return snapshot_error(kName,
                              "build request " + q.build_request_id() + " lists " + ref + " twice");
      }
      if (!is_terminal_build_status(it->second.status)) {
        view.refs_[slot].active.insert(q.build_request_id());
      }
    }
    return ok_status();
  };
  BEL_RETURN_IF_ERROR(for_each_snapshot_entry<snap::RequestProgress>(
      kName, bytes, snap::PartitionStatusSnapshot::kRequestsFieldNumber, visit_request));
  return view;
}

}  // namespace bel::projections
