#include "projections/partition_status_view.h"

#include <algorithm>
#include <limits>
#include <set>
#include <string_view>
#include <utility>

#include "messages/glob.h"
#include "projections/snapshot_reader.h"
#include "projections/view_snapshots.pb.h"

namespace bel::projections {

namespace snap = bel::snapshots::v1;

// ---- apply ---------------------------------------------------------------------------------

void PartitionStatusView::apply(const BuildEvent& event) {
  as_of_idx_ = event.idx();
  // The request and ref are looked up once, here, and handed to the fold.
  PartitionStatusFold::Ids ids;
  const auto type = event.event_type_case();
  if (type == BuildEvent::kPartitionEvent) {
    ids.slot = fold_.slot_of(event.partition_event().partition_ref().str());
  } else if (type == BuildEvent::kDelegationEvent) {
    ids.slot = fold_.slot_of(event.delegation_event().partition_ref().str());
  }
  if (ids.slot != StringPool::kNone || type == BuildEvent::kBuildRequestEvent ||
      type == BuildEvent::kBuildCancelEvent) {
    ids.build = fold_.build_ids().intern(event.build_request_id());
  }
  changes_.clear();
  fold_.apply(event, &changes_, ids);
  if (refs_.size() < fold_.size()) refs_.resize(fold_.size());
  for (const auto& change : changes_) on_status_change(change.slot, change.before);
  switch (type) {
    case BuildEvent::kBuildRequestEvent:
    case BuildEvent::kBuildCancelEvent: {
      // Requests that end no longer count as active; active_builds() reads their status.
      RequestState& req = request(ids.build);
      req.known = true;
      req.status = event.has_build_cancel_event() ? v1::BUILD_REQUEST_CANCELLED
                                                  : event.build_request_event().status_code();
      return;
    }
    case BuildEvent::kPartitionEvent:
      set_pair_status(ids.build, ids.slot, event.partition_event().status_code());
      count_claim_event(ids.slot);
      return;
    case BuildEvent::kDelegationEvent:
      set_pair_status(ids.build, ids.slot, v1::PARTITION_DELEGATED);
      count_claim_event(ids.slot);
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
  const PartitionStatus now = fold_.status(slot);
  // The fold never sets UNKNOWN; the check keeps the invariants if it did.
  if (now != v1::PARTITION_UNKNOWN) {
    counts_.add(now, 1);
    ++known_;
    r.order_pos = static_cast<uint32_t>(order_.size());
    order_.push_back(slot);
  }
  if (stale_ > 1024 && stale_ > order_.size() / 2) compact_order();
}

void PartitionStatusView::compact_order() {
  size_t out = 0;
  for (uint32_t slot : order_) {
    if (slot == kStale) continue;
    refs_[slot].order_pos = static_cast<uint32_t>(out);
    order_[out++] = slot;
  }
  order_.resize(out);
  stale_ = 0;
}

PartitionStatusView::RequestState& PartitionStatusView::request(uint32_t build) {
  if (requests_.size() <= build) requests_.resize(fold_.build_ids().size());
  return requests_[build];
}

uint32_t* PartitionStatusView::find_pair(uint32_t slot, uint32_t build) {
  for (uint32_t* p = &refs_[slot].in_progress; *p != kNil; p = &pairs_[*p].next) {
    if (pairs_[*p].build == build) return p;
  }
  return nullptr;
}

void PartitionStatusView::add_pair(uint32_t slot, uint32_t build) {
  refs_[slot].in_progress =
      take_node(&pairs_, &free_pairs_, Pair{build, refs_[slot].in_progress});
}

void PartitionStatusView::set_pair_status(uint32_t build, uint32_t slot, PartitionStatus status) {
  request(build).known = true;
  const bool now = is_in_progress_partition_status(status);
  uint32_t* at = find_pair(slot, build);
  if (now == (at != nullptr)) return;
  if (now) {
    add_pair(slot, build);
    return;
  }
  const uint32_t node = *at;
  *at = pairs_[node].next;
  give_node(&pairs_, &free_pairs_, node);
}

void PartitionStatusView::count_claim_event(uint32_t slot) {
  if (refs_[slot].order_pos == kNoPos) return;  // no status: no snapshot entry to keep it
  if (claim_events_.size() <= slot) claim_events_.resize(refs_.size());
  if (claim_events_[slot] < std::numeric_limits<uint16_t>::max()) ++claim_events_[slot];
}

// ---- queries -------------------------------------------------------------------------------

PartitionStatusResponse PartitionStatusView::status(const std::string& ref) const {
  if (auto slot = fold_.find(ref)) return fold_.response(*slot, as_of_idx_);
  return to_partition_status_response(ref, PartitionStatusEntry{}, as_of_idx_);
}

std::vector<ClaimCheckpoint> PartitionStatusView::claim_checkpoints(uint32_t min_events) const {
  std::vector<uint32_t> hot;
  for (uint32_t slot = 0; slot < claim_events_.size(); ++slot) {
    if (claim_events_[slot] >= std::max<uint32_t>(min_events, 1)) hot.push_back(slot);
  }
  std::sort(hot.begin(), hot.end(), [&](uint32_t a, uint32_t b) {
    return claim_events_[a] != claim_events_[b] ? claim_events_[a] > claim_events_[b]
                                                : fold_.ref(a) < fold_.ref(b);
  });
  std::vector<ClaimCheckpoint> out;
  size_t ids_left = kCheckpointMaxIds;
  std::vector<std::string_view> ids;
  for (uint32_t slot : hot) {
    if (out.size() == kCheckpointMaxRefs) break;
    ids.clear();
    for (uint32_t n = refs_[slot].in_progress; n != kNil; n = pairs_[n].next) {
      ids.push_back(fold_.build_ids().str(pairs_[n].build));
    }
    if (ids.size() > ids_left) continue;
    ids_left -= ids.size();
    std::sort(ids.begin(), ids.end());
    ClaimCheckpoint& c = out.emplace_back();
    c.partition_ref = std::string(fold_.ref(slot));
    c.in_progress.assign(ids.begin(), ids.end());
  }
  return out;
}

ActiveBuildsResponse PartitionStatusView::active_builds(const std::string& ref) const {
  ActiveBuildsResponse out;
  out.set_partition_ref(ref);
  out.set_as_of_idx(as_of_idx_);
  auto slot = fold_.find(ref);
  if (!slot) return out;
  std::vector<std::string_view> ids;
  for (uint32_t n = refs_[*slot].in_progress; n != kNil; n = pairs_[n].next) {
    if (!is_terminal_build_status(requests_[pairs_[n].build].status)) {
      ids.push_back(fold_.build_ids().str(pairs_[n].build));
    }
  }
  std::sort(ids.begin(), ids.end());
  for (std::string_view id : ids) out.add_build_request_ids(id.data(), id.size());
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
      if (!filter.empty() && filter.count(fold_.status(*it)) == 0) continue;
      if (!pattern.empty() && !glob_match(pattern, fold_.ref(*it))) continue;
      ++matched;
      if (matched > page->offset && out.partitions_size() < page->limit) {
        *out.add_partitions() = fold_.response(*it, as_of_idx_);
      }
      if (total >= 0 && out.partitions_size() == page->limit) break;
    }
  }
  if (total < 0) total = matched;
  set_page_totals(&out, *page, out.partitions_size(), total);
  return out;
}

// ---- snapshots -----------------------------------------------------------------------------

std::string PartitionStatusView::serialize(SnapshotTarget target) const {
  // Requests by ascending id, each with its refs in progress by ascending ref.
  const StringPool& ids = fold_.build_ids();
  std::vector<uint32_t> requests;
  for (uint32_t build = 0; build < requests_.size(); ++build) {
    if (requests_[build].known) requests.push_back(build);
  }
  snap::PartitionStatusSnapshot header;
  header.set_partition_count(static_cast<int64_t>(
      order_.size() - static_cast<size_t>(std::count(order_.begin(), order_.end(), kStale))));
  header.set_request_count(static_cast<int64_t>(requests.size()));
  SnapshotWriter out = start_snapshot(kName, kVersion, header, std::move(target));
  snap::PartitionStatusEntry entry;
  for (uint32_t slot : order_) {
    if (slot == kStale) continue;
    entry.Clear();
    fold_.to_snapshot(slot, &entry);
    entry.set_claim_events(static_cast<int32_t>(claim_events(slot)));
    out.add(snap::PartitionStatusSnapshot::kPartitionsFieldNumber, entry);
  }
  std::sort(requests.begin(), requests.end(),
            [&](uint32_t a, uint32_t b) { return ids.str(a) < ids.str(b); });
  std::vector<uint32_t> rank(requests_.size());
  for (uint32_t i = 0; i < requests.size(); ++i) rank[requests[i]] = i;
  std::vector<std::pair<uint32_t, uint32_t>> pairs;  // (rank, slot)
  for (uint32_t slot = 0; slot < refs_.size(); ++slot) {
    for (uint32_t n = refs_[slot].in_progress; n != kNil; n = pairs_[n].next) {
      pairs.emplace_back(rank[pairs_[n].build], slot);
    }
  }
  std::sort(pairs.begin(), pairs.end(), [&](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : fold_.ref(a.second) < fold_.ref(b.second);
  });
  size_t next_pair = 0;
  out.add_each<snap::RequestProgress>(
      snap::PartitionStatusSnapshot::kRequestsFieldNumber, requests,
      [&](uint32_t build, snap::RequestProgress* q) {
        const std::string_view id = ids.str(build);
        q->set_build_request_id(id.data(), id.size());
        q->set_status_code(requests_[build].status);
        for (; next_pair < pairs.size() && pairs[next_pair].first == rank[build]; ++next_pair) {
          const std::string_view ref = fold_.ref(pairs[next_pair].second);
          q->add_in_progress_refs(ref.data(), ref.size());
        }
      });
  for (const snap::ClaimRun& run : fold_.runs_to_snapshot()) {
    out.add(snap::PartitionStatusSnapshot::kRunsFieldNumber, run);
  }
  return out.take();
}

Result<PartitionStatusView> PartitionStatusView::restore(const std::string& bytes) {
  SnapshotInput in(bytes);
  return restore(in);
}

Result<PartitionStatusView> PartitionStatusView::restore(SnapshotInput& in) {
  using Snapshot = snap::PartitionStatusSnapshot;
  snap::PartitionStatusSnapshot s;
  PartitionStatusView view;
  BEL_RETURN_IF_ERROR(view.read_header(kName, kVersion, in, &s));
  const size_t partitions = in.entries_hint(s.partition_count(), Snapshot::kPartitionsFieldNumber);
  view.fold_.reserve(partitions,
                     in.entries_hint(s.request_count(), Snapshot::kRequestsFieldNumber));
  view.refs_.reserve(partitions);
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
    if (p.claim_events() < 0 || p.claim_events() > std::numeric_limits<uint16_t>::max()) {
      return snapshot_error(kName, "partition " + p.partition_ref() + " has claim_events " +
                                       std::to_string(p.claim_events()));
    }
    if (p.claim_events() > 0) {
      if (view.claim_events_.size() <= *slot) {
        view.claim_events_.resize(std::max<size_t>(partitions, size_t{*slot} + 1));
      }
      view.claim_events_[*slot] = static_cast<uint16_t>(p.claim_events());
    }
    return ok_status();
  };
  auto visit_request = [&](const snap::RequestProgress& q) -> Status {
    const uint32_t build = view.fold_.build_ids().intern(q.build_request_id());
    RequestState& req = view.request(build);
    if (req.known) {
      return snapshot_error(kName, "build request " + q.build_request_id() + " appears twice");
    }
    req.known = true;
    req.status = static_cast<BuildRequestStatus>(q.status_code());
    for (const auto& ref : q.in_progress_refs()) {
      uint32_t slot = view.slot_of(ref);
      if (view.find_pair(slot, build) != nullptr) {
        return snapshot_error(kName,
                              "build request " + q.build_request_id() + " lists " + ref + " twice");
      }
      view.add_pair(slot, build);
    }
    return ok_status();
  };
  // Written partitions first, then requests (which name partitions): read in that order.
  snap::PartitionStatusEntry partition;
  snap::RequestProgress request;
  snap::ClaimRun run;
  bool requests_begun = false;
  while (true) {
    auto number = in.next_entry();
    if (!number.ok()) return number.error();
    if (*number == 0) break;
    if (*number == Snapshot::kPartitionsFieldNumber) {
      if (requests_begun) return snapshot_error(kName, "a partition after the build requests");
      BEL_RETURN_IF_ERROR(in.parse_entry(&partition));
      BEL_RETURN_IF_ERROR(visit_partition(partition));
    } else if (*number == Snapshot::kRequestsFieldNumber) {
      requests_begun = true;
      BEL_RETURN_IF_ERROR(in.parse_entry(&request));
      BEL_RETURN_IF_ERROR(visit_request(request));
    } else if (*number == Snapshot::kRunsFieldNumber) {
      BEL_RETURN_IF_ERROR(in.parse_entry(&run));
      if (auto ok = view.fold_.restore_run(run); !ok.ok()) {
        return snapshot_error(kName, ok.error().message);
      }
    } else {
      BEL_RETURN_IF_ERROR(in.skip_entry());
    }
  }
  return view;
}

}  // namespace bel::projections
