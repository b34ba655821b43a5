#include "projections/partition_status_fold.h"

#include <algorithm>
#include <utility>

#include "messages/status_names.h"
#include "projections/view_snapshots.pb.h"
#include "projections/views.h"

namespace bel::projections {

namespace snap = bel::snapshots::v1;

PartitionStatusResponse to_partition_status_response(const std::string& ref,
                                                     const PartitionStatusEntry& entry,
                                                     int64_t as_of_idx) {
  PartitionStatusResponse out;
  out.set_partition_ref(ref);
  out.set_as_of_idx(as_of_idx);
  if (entry.status == v1::PARTITION_UNKNOWN) return out;
  fill_status(&out, entry.status);
  out.set_last_updated(entry.last_updated);
  out.set_last_idx(entry.last_idx);
  out.set_build_request_id(entry.build_request_id);
  out.set_job_run_id(entry.job_run_id);
  out.set_message(entry.message);
  return out;
}

namespace {

std::string job_run_end_text(const std::string& id, JobStatus status) {
  const char* what = status == v1::JOB_FAILED ? "failed" : "was cancelled";
  return "job run " + id + " " + what + " before the partition was built";
}

}  // namespace

bool sets_partition_status(const BuildEvent& event, const std::string& ref) {
  if (event.has_partition_invalidation_event()) {
    return event.partition_invalidation_event().partition_ref().str() == ref;
  }
  return event.has_partition_event() && event.partition_event().partition_ref().str() == ref &&
         event.partition_event().status_code() != v1::PARTITION_DELEGATED &&
         event.partition_event().status_code() != v1::PARTITION_UNKNOWN;
}

void PartitionStatusFold::apply(const BuildEvent& event, std::vector<Change>* changes) {
  switch (event.event_type_case()) {
    case BuildEvent::kPartitionEvent:
      on_partition_event(event, changes);
      return;
    case BuildEvent::kDelegationEvent:
      if (auto slot = find(event.delegation_event().partition_ref().str())) {
        drop_claim(*slot, event.build_request_id());
      }
      return;
    case BuildEvent::kPartitionInvalidationEvent:
      on_invalidation(event, changes);
      return;
    case BuildEvent::kBuildRequestEvent:
      if (is_terminal_build_status(event.build_request_event().status_code())) {
        end_build(event.build_request_id(), event, changes);
      }
      return;
    case BuildEvent::kBuildCancelEvent:
      end_build(event.build_request_id(), event, changes);
      return;
    case BuildEvent::kJobEvent: {
      const JobStatus status = event.job_event().status_code();
      if (status == v1::JOB_FAILED || status == v1::JOB_CANCELLED) {
        end_job_run(event.job_event().job_run_id(), status, event, changes);
      }
      return;
    }
    case BuildEvent::kJobRunCancelEvent:
      end_job_run(event.job_run_cancel_event().job_run_id(), v1::JOB_CANCELLED, event, changes);
      return;
    default:
      return;
  }
}

void PartitionStatusFold::on_partition_event(const BuildEvent& event,
                                             std::vector<Change>* changes) {
  const auto& pe = event.partition_event();
  const uint32_t slot = slot_of(pe.partition_ref().str());
  const std::string& id = event.build_request_id();
  drop_claim(slot, id);
  const bool in_flight = is_in_progress_partition_status(pe.status_code());
  if (in_flight) {
    refs_[slot].claims.push_back(
        Claim{id, pe.job_run_id(), pe.status_code(), pe.message(), event.idx()});
    index(slot, id, pe.job_run_id());
  }
  // DELEGATED describes one request's relation to the partition, not the partition.
  if (pe.status_code() == v1::PARTITION_DELEGATED || pe.status_code() == v1::PARTITION_UNKNOWN) {
    return;
  }
  changes->push_back(Change{slot, refs_[slot].current.status});
  set_current(slot,
              PartitionStatusEntry{pe.status_code(), event.timestamp(), event.idx(), id,
                                   pe.job_run_id(), pe.message()},
              in_flight);
}

void PartitionStatusFold::on_invalidation(const BuildEvent& event, std::vector<Change>* changes) {
  const auto& inv = event.partition_invalidation_event();
  const uint32_t slot = slot_of(inv.partition_ref().str());
  changes->push_back(Change{slot, refs_[slot].current.status});
  set_current(slot,
              PartitionStatusEntry{v1::PARTITION_INVALIDATED, event.timestamp(), event.idx(),
                                   event.build_request_id(), "", inv.reason()},
              /*source_live=*/false);
}

void PartitionStatusFold::drop_claim(uint32_t slot, const std::string& build_request_id) {
  auto& claims = refs_[slot].claims;
  auto it = std::find_if(claims.begin(), claims.end(),
                         [&](const Claim& c) { return c.build_request_id == build_request_id; });
  if (it == claims.end()) return;
  const std::string job_run_id = it->job_run_id;
  claims.erase(it);
  unindex_unused(slot, &build_request_id, &job_run_id);
}

void PartitionStatusFold::end_build(const std::string& id, const BuildEvent& event,
                                    std::vector<Change>* changes) {
  const BuildRequestStatus status = event.has_build_cancel_event()
                                        ? v1::BUILD_REQUEST_CANCELLED
                                        : event.build_request_event().status_code();
  end_claims(/*by_build=*/true, id, event,
             build_ended_text(id, status) + " before the partition was built", changes);
}

void PartitionStatusFold::end_job_run(const std::string& id, JobStatus status,
                                      const BuildEvent& event, std::vector<Change>* changes) {
  if (id.empty()) return;
  end_claims(/*by_build=*/false, id, event, job_run_end_text(id, status), changes);
}

void PartitionStatusFold::end_claims(bool by_build, const std::string& id, const BuildEvent& event,
                                     const std::string& why, std::vector<Change>* changes) {
  auto held = [&](const std::string& build_request_id, const std::string& job_run_id) {
    return (by_build ? build_request_id : job_run_id) == id;
  };
  for (uint32_t slot : take_slots(by_build ? by_build_ : by_job_run_, id)) {
    Ref& r = refs_[slot];
    for (auto it = r.claims.begin(); it != r.claims.end();) {
      if (!held(it->build_request_id, it->job_run_id)) {
        ++it;
        continue;
      }
      const Claim ended = std::move(*it);
      it = r.claims.erase(it);
      // The holder's own index entry went with take_slots; the other one may still be used.
      unindex_unused(slot, by_build ? nullptr : &ended.build_request_id,
                     by_build ? &ended.job_run_id : nullptr);
    }
    if (r.source_live && held(r.current.build_request_id, r.current.job_run_id)) {
      fire(slot, event, why, changes);
    }
  }
}

void PartitionStatusFold::fire(uint32_t slot, const BuildEvent& event, std::string why,
                               std::vector<Change>* changes) {
  Ref& r = refs_[slot];
  changes->push_back(Change{slot, r.current.status});
  PartitionStatusEntry next{v1::PARTITION_FAILED,       event.timestamp(),    event.idx(),
                            r.current.build_request_id, r.current.job_run_id, std::move(why)};
  // Claims are kept in ascending idx, so the last one is the most recent live claim.
  if (!r.claims.empty()) {
    const Claim& best = r.claims.back();
    next.status = best.status;
    next.build_request_id = best.build_request_id;
    next.job_run_id = best.job_run_id;
    next.message = best.message;
  }
  set_current(slot, std::move(next), !r.claims.empty());
}

void PartitionStatusFold::set_current(uint32_t slot, PartitionStatusEntry entry, bool source_live) {
  Ref& r = refs_[slot];
  const bool was_live = r.source_live;
  const std::string old_build = std::move(r.current.build_request_id);
  const std::string old_job = std::move(r.current.job_run_id);
  r.current = std::move(entry);
  r.source_live = source_live;
  if (source_live) index(slot, r.current.build_request_id, r.current.job_run_id);
  if (was_live) unindex_unused(slot, &old_build, &old_job);
}

void PartitionStatusFold::index(uint32_t slot, const std::string& build_request_id,
                                const std::string& job_run_id) {
  by_build_[build_request_id].insert(slot);
  if (!job_run_id.empty()) by_job_run_[job_run_id].insert(slot);
}

void PartitionStatusFold::unindex_unused(uint32_t slot, const std::string* build_request_id,
                                         const std::string* job_run_id) {
  const Ref& r = refs_[slot];
  auto erase = [slot](Index& index, const std::string& key) {
    auto it = index.find(key);
    if (it == index.end()) return;
    it->second.erase(slot);
    if (it->second.empty()) index.erase(it);
  };
  if (build_request_id != nullptr) {
    bool used = r.source_live && r.current.build_request_id == *build_request_id;
    for (const Claim& c : r.claims) used = used || c.build_request_id == *build_request_id;
    if (!used) erase(by_build_, *build_request_id);
  }
  if (job_run_id != nullptr && !job_run_id->empty()) {
    bool used = r.source_live && r.current.job_run_id == *job_run_id;
    for (const Claim& c : r.claims) used = used || c.job_run_id == *job_run_id;
    if (!used) erase(by_job_run_, *job_run_id);
  }
}

std::vector<uint32_t> PartitionStatusFold::take_slots(Index& index, const std::string& id) {
  std::vector<uint32_t> slots;
  auto it = index.find(id);
  if (it == index.end()) return slots;
  slots.assign(it->second.begin(), it->second.end());
  index.erase(it);
  std::sort(slots.begin(), slots.end(),
            [this](uint32_t a, uint32_t b) { return refs_[a].ref > refs_[b].ref; });
  return slots;
}

uint32_t PartitionStatusFold::slot_of(const std::string& ref) {
  auto [it, inserted] = slots_.try_emplace(ref, static_cast<uint32_t>(refs_.size()));
  if (inserted) {
    refs_.emplace_back();
    refs_.back().ref = ref;
  }
  return it->second;
}

std::optional<uint32_t> PartitionStatusFold::find(const std::string& ref) const {
  auto it = slots_.find(ref);
  if (it == slots_.end()) return std::nullopt;
  return it->second;
}

// ---- snapshots -----------------------------------------------------------------------------

void PartitionStatusFold::to_snapshot(uint32_t slot, snap::PartitionStatusEntry* out) const {
  const Ref& r = refs_[slot];
  out->set_partition_ref(r.ref);
  out->set_status_code(r.current.status);
  out->set_last_updated(r.current.last_updated);
  out->set_last_idx(r.current.last_idx);
  out->set_build_request_id(r.current.build_request_id);
  out->set_job_run_id(r.current.job_run_id);
  out->set_message(r.current.message);
  out->set_source_live(r.source_live);
  for (const Claim& c : r.claims) {
    auto* claim = out->add_claims();
    claim->set_build_request_id(c.build_request_id);
    claim->set_job_run_id(c.job_run_id);
    claim->set_status_code(c.status);
    claim->set_message(c.message);
    claim->set_idx(c.idx);
  }
}

Result<uint32_t> PartitionStatusFold::restore_entry(const snap::PartitionStatusEntry& in) {
  const std::string& name = in.partition_ref();
  if (in.status_code() == v1::PARTITION_UNKNOWN) {
    return make_error(ErrorCode::storage_corrupt, "partition " + name + " has no status");
  }
  const uint32_t slot = slot_of(name);
  Ref& r = refs_[slot];
  if (r.current.status != v1::PARTITION_UNKNOWN) {
    return make_error(ErrorCode::storage_corrupt, "partition " + name + " appears twice");
  }
  int64_t previous_idx = 0;
  for (const auto& c : in.claims()) {
    const auto status = static_cast<PartitionStatus>(c.status_code());
    if (!is_in_progress_partition_status(status) || c.idx() <= previous_idx ||
        c.idx() > in.last_idx()) {
      return make_error(ErrorCode::storage_corrupt,
                        "partition " + name + ": claim of " + c.build_request_id() + " is invalid");
    }
    previous_idx = c.idx();
    r.claims.push_back(Claim{c.build_request_id(), c.job_run_id(), status, c.message(), c.idx()});
    index(slot, c.build_request_id(), c.job_run_id());
  }
  set_current(
      slot,
      PartitionStatusEntry{static_cast<PartitionStatus>(in.status_code()), in.last_updated(),
                           in.last_idx(), in.build_request_id(), in.job_run_id(), in.message()},
      in.source_live());
  return slot;
}

}  // namespace bel::projections
