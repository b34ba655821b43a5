// same_state() of every view, and the entry comparisons under them: each compares exactly what
// the matching serialize() / to_snapshot() writes, in the order it writes it, resolving each
// side's strings in its own pools (a restored view and a fold from idx 1 number their strings
// differently). Nothing is copied into a message: `bel check` compares ~1M entries this way in a
// fraction of the time answering every question of both views takes
// (tests/projections/same_state_test.cc checks same_state() against comparing the bytes).
#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "projections/activity_view.h"
#include "projections/build_summary_view.h"
#include "projections/job_runs_view.h"
#include "projections/partition_status_fold.h"
#include "projections/partition_status_view.h"

namespace bel::projections {
namespace {

// (string, value) pairs sorted by string, as serialize() orders entries keyed by an id.
template <class Value>
using Keyed = std::vector<std::pair<std::string_view, Value>>;

template <class Value>
void sort_keyed(Keyed<Value>* v) {
  std::sort(v->begin(), v->end(), [](const auto& a, const auto& b) { return a.first < b.first; });
}

// The build requests of `states` (by the pool id in `ids`) whose `known` is set: (id, status) by
// ascending id, as serialize() writes them.
template <class States>
Keyed<BuildRequestStatus> known_by_id(const StringPool& ids, const States& states) {
  Keyed<BuildRequestStatus> out;
  for (uint32_t build = 0; build < states.size(); ++build) {
    if (states[build].known) out.emplace_back(ids.str(build), states[build].status);
  }
  sort_keyed(&out);
  return out;
}

// Whether two lists of build summaries, each with the strings it was interned in, write the same
// entries in the same order.
template <class Builds>
bool same_builds(const Builds& a, const BuildStrings& a_strings, const Builds& b,
                 const BuildStrings& b_strings) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].same_as(a_strings, b[i], b_strings)) return false;
  }
  return true;
}

}  // namespace

// ---- PartitionStatusFold -------------------------------------------------------------------

bool PartitionStatusFold::same_entry(uint32_t slot, const PartitionStatusFold& other,
                                     uint32_t other_slot) const {
  const Ref& a = refs_[slot];
  const Ref& b = other.refs_[other_slot];
  if (a.status != b.status || a.last_updated != b.last_updated || a.last_idx != b.last_idx ||
      (a.source != kNotLive) != (b.source != kNotLive) || ref(slot) != other.ref(other_slot) ||
      build_ids_.str(a.build) != other.build_ids_.str(b.build) ||
      texts_.first(a.text) != other.texts_.first(b.text) ||
      texts_.second(a.text) != other.texts_.second(b.text)) {
    return false;
  }
  // Both chains newest first: the same claims in the same order, or not.
  uint32_t m = a.claims, n = b.claims;
  for (; m != kNil && n != kNil; m = claims_[m].next, n = other.claims_[n].next) {
    const Claim& c = claims_[m];
    const Claim& d = other.claims_[n];
    if (c.idx != d.idx || c.status != d.status ||
        build_ids_.str(c.build) != other.build_ids_.str(d.build) ||
        texts_.first(c.text) != other.texts_.first(d.text) ||
        texts_.second(c.text) != other.texts_.second(d.text)) {
      return false;
    }
  }
  return m == kNil && n == kNil;
}

// ---- PartitionStatusView -------------------------------------------------------------------

bool PartitionStatusView::same_state(const PartitionStatusView& other) const {
  if (as_of_idx_ != other.as_of_idx_ || !fold_.same_runs(other.fold_)) return false;
  // The entries: the slots of order_ that are not stale, in order.
  size_t i = 0, j = 0;
  while (true) {
    while (i < order_.size() && order_[i] == kStale) ++i;
    while (j < other.order_.size() && other.order_[j] == kStale) ++j;
    if (i == order_.size() || j == other.order_.size()) break;
    if (!fold_.same_entry(order_[i], other.fold_, other.order_[j])) return false;
    if (claim_events(order_[i]) != other.claim_events(other.order_[j])) return false;
    ++i;
    ++j;
  }
  if (i != order_.size() || j != other.order_.size()) return false;
  // The known requests by ascending id, each with its refs in progress by ascending ref.
  if (known_by_id(fold_.build_ids(), requests_) !=
      known_by_id(other.fold_.build_ids(), other.requests_)) {
    return false;
  }
  // serialize() lists a pair under its request's rank, which only known requests have: a pair of
  // any other request is left to the comparison of answers.
  auto pairs = [](const PartitionStatusView& v, bool* all_known) {
    std::vector<std::pair<std::string_view, std::string_view>> out;  // (request, ref)
    const StringPool& ids = v.fold_.build_ids();
    for (uint32_t slot = 0; slot < v.refs_.size(); ++slot) {
      for (uint32_t n = v.refs_[slot].in_progress; n != kNil; n = v.pairs_[n].next) {
        const uint32_t build = v.pairs_[n].build;
        if (build >= v.requests_.size() || !v.requests_[build].known) {
          *all_known = false;
          continue;
        }
        out.emplace_back(ids.str(build), v.fold_.ref(slot));
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  bool all_known = true;
  return pairs(*this, &all_known) == pairs(other, &all_known) && all_known;
}

// ---- BuildSummaryState, RecentBuildSummaries, BuildSummaryView -----------------------------

bool BuildSummaryState::same_as(const BuildStrings& strings, const BuildSummaryState& other,
                                const BuildStrings& other_strings) const {
  auto same = [&](Id a, Id b) { return str_of(strings, a) == str_of(other_strings, b); };
  auto same_span = [&](uint32_t begin, uint32_t count, uint32_t other_begin, uint32_t other_count) {
    if (count != other_count) return false;
    for (uint32_t i = 0; i < count; ++i) {
      if (!same(refs[begin + i], other.refs[other_begin + i])) return false;
    }
    return true;
  };
  if (status != other.status || created_at != other.created_at || updated_at != other.updated_at ||
      first_idx != other.first_idx || last_idx != other.last_idx ||
      event_count != other.event_count || partitions.size() != other.partitions.size() ||
      job_runs.size() != other.job_runs.size() || !same(build_request_id, other.build_request_id) ||
      !same(cancel_reason, other.cancel_reason) || !same(message, other.message) ||
      !same_span(requested_begin, requested_count, other.requested_begin, other.requested_count)) {
    return false;
  }
  for (size_t i = 0; i < partitions.size(); ++i) {
    const Partition& p = partitions[i];
    const Partition& q = other.partitions[i];
    if (p.status != q.status || !same(p.ref, q.ref) ||
        !same(p.delegated_to_build_request_id, q.delegated_to_build_request_id)) {
      return false;
    }
  }
  // The runs by ascending id, as to_snapshot() writes them.
  auto by_id = [](const std::vector<JobRun>& runs) {
    std::vector<const JobRun*> out;
    out.reserve(runs.size());
    for (const auto& run : runs) out.push_back(&run);
    std::sort(out.begin(), out.end(),
              [](const JobRun* a, const JobRun* b) { return a->id() < b->id(); });
    return out;
  };
  const auto mine = by_id(job_runs);
  const auto theirs = by_id(other.job_runs);
  for (size_t i = 0; i < mine.size(); ++i) {
    const JobRun& r = *mine[i];
    const JobRun& s = *theirs[i];
    if (r.status != s.status || r.ended_idx != s.ended_idx || r.id() != s.id() ||
        !same(r.job_label, s.job_label) || r.message(strings) != s.message(other_strings) ||
        !same_span(r.targets_begin, r.targets_count, s.targets_begin, s.targets_count)) {
      return false;
    }
  }
  return true;
}

bool RecentBuildSummaries::same_as(const RecentBuildSummaries& other) const {
  return same_builds(builds_, strings_, other.builds_, other.strings_);
}

bool BuildSummaryView::same_state(const BuildSummaryView& other) const {
  return as_of_idx_ == other.as_of_idx_ &&
         same_builds(builds_, strings_, other.builds_, other.strings_);
}

// ---- JobRunsView ---------------------------------------------------------------------------

bool JobRunsView::same_state(const JobRunsView& other) const {
  if (as_of_idx_ != other.as_of_idx_ || runs_.size() != other.runs_.size()) return false;
  constexpr uint8_t kWritten = kHasScheduled | kHasRunning;  // the flags a snapshot keeps
  std::vector<std::string_view> targets;
  for (size_t i = 0; i < runs_.size(); ++i) {
    const Run& r = runs_[i];
    const Run& s = other.runs_[i];
    if (r.first_idx != s.first_idx || r.status != s.status || r.scheduled_at != s.scheduled_at ||
        r.started_at != s.started_at || r.ended_at != s.ended_at ||
        (r.flags & kWritten) != (s.flags & kWritten) ||
        ids_.str(r.job_run_id) != other.ids_.str(s.job_run_id) ||
        ids_.str(r.build_request_id) != other.ids_.str(s.build_request_id) ||
        ids_.str(labels_[r.label].name) != other.ids_.str(other.labels_[s.label].name) ||
        message_of(r) != other.message_of(s)) {
      return false;
    }
    targets.clear();
    for_each_target(r, [&](std::string_view ref) { targets.push_back(ref); });
    size_t next = 0;
    bool same = true;
    other.for_each_target(s, [&](std::string_view ref) {
      same = same && next < targets.size() && targets[next] == ref;
      ++next;
    });
    if (!same || next != targets.size()) return false;
  }
  return true;
}

// ---- ActivityView --------------------------------------------------------------------------

bool ActivityView::same_state(const ActivityView& other) const {
  if (as_of_idx_ != other.as_of_idx_ || event_count_ != other.event_count_ ||
      known_partitions_ != other.known_partitions_ || known_builds_ != other.known_builds_ ||
      recent_partitions_.size() != other.recent_partitions_.size() ||
      !recent_builds_.same_as(other.recent_builds_) || !fold().same_runs(other.fold())) {
    return false;
  }
  if (known_by_id(own_fold_.build_ids(), builds_) !=
      known_by_id(other.own_fold_.build_ids(), other.builds_)) {
    return false;
  }
  for (size_t i = 0; i < recent_partitions_.size(); ++i) {
    const uint32_t a = recent_partitions_[i];
    const uint32_t b = other.recent_partitions_[i];
    if (fold().ref(a) != other.fold().ref(b) || fold().last_idx(a) != other.fold().last_idx(b)) {
      return false;
    }
  }
  // The partitions with a status by ascending ref.
  auto known = [](const ActivityView& v) {
    Keyed<uint32_t> out;
    out.reserve(static_cast<size_t>(v.known_partitions_));
    for (uint32_t slot = 0; slot < v.fold().size(); ++slot) {
      if (v.fold().status(slot) != v1::PARTITION_UNKNOWN) {
        out.emplace_back(v.fold().ref(slot), slot);
      }
    }
    sort_keyed(&out);
    return out;
  };
  const auto mine = known(*this);
  const auto theirs = known(other);
  if (mine.size() != theirs.size()) return false;
  for (size_t i = 0; i < mine.size(); ++i) {
    if (!fold().same_entry(mine[i].second, other.fold(), theirs[i].second)) {
      return false;
    }
  }
  return true;
}

}  // namespace bel::projections
