#include "projections/partition_status_fold.h"

#include <algorithm>
#include <utility>

#include "messages/status_names.h"
#include "projections/view_snapshots.pb.h"
#include "projections/views.h"

namespace bel::projections {

namespace snap = bel::snapshots::v1;

PartitionStatusResponse to_partition_status_response(std::string_view ref,
                                                     const PartitionStatusEntry& entry,
                                                     int64_t as_of_idx) {
  PartitionStatusResponse out;
  out.set_partition_ref(ref.data(), ref.size());
  out.set_as_of_idx(as_of_idx);
  // A ref never seen says so by name too (its status_code, 0, is proto3's default).
  fill_status(&out, entry.status);
  if (entry.status == v1::PARTITION_UNKNOWN) return out;
  out.set_last_updated(entry.last_updated);
  out.set_last_idx(entry.last_idx);
  out.set_build_request_id(entry.build_request_id.data(), entry.build_request_id.size());
  out.set_job_run_id(entry.job_run_id.data(), entry.job_run_id.size());
  out.set_message(entry.message.data(), entry.message.size());
  return out;
}

bool sets_partition_status(const BuildEvent& event, const std::string& ref) {
  if (event.has_partition_invalidation_event()) {
    return event.partition_invalidation_event().partition_ref().str() == ref;
  }
  return event.has_partition_event() && event.partition_event().partition_ref().str() == ref &&
         event.partition_event().status_code() != v1::PARTITION_DELEGATED &&
         event.partition_event().status_code() != v1::PARTITION_UNKNOWN;
}

void PartitionStatusFold::apply(const BuildEvent& event, std::vector<Change>* changes) {
  apply(event, changes, Ids{});
}

void PartitionStatusFold::apply(const BuildEvent& event, std::vector<Change>* changes, Ids ids) {
  switch (event.event_type_case()) {
    case BuildEvent::kPartitionEvent:
      on_partition_event(event, ids, changes);
      return;
    case BuildEvent::kDelegationEvent: {
      // Only a claim the request holds can end here: nothing is created.
      if (ids.slot == StringPool::kNone) {
        ids.slot = ref_ids_.find(event.delegation_event().partition_ref().str());
      }
      if (ids.build == StringPool::kNone) ids.build = build_ids_.find(event.build_request_id());
      if (ids.slot != StringPool::kNone && ids.build != StringPool::kNone) {
        drop_claim(ids.slot, ids.build);
      }
      return;
    }
    case BuildEvent::kPartitionInvalidationEvent:
      on_invalidation(event, ids, changes);
      return;
    case BuildEvent::kBuildRequestEvent:
      if (is_terminal_build_status(event.build_request_event().status_code())) {
        end_build(event.build_request_id(), ids.build, event, changes);
      }
      return;
    case BuildEvent::kBuildCancelEvent:
      end_build(event.build_request_id(), ids.build, event, changes);
      return;
    case BuildEvent::kJobEvent: {
      const JobEvent& je = event.job_event();
      const JobStatus status = je.status_code();
      const bool opens = status == v1::JOB_SCHEDULED || status == v1::JOB_RUNNING;
      uint32_t build = ids.build;
      if (opens && build == StringPool::kNone) build = build_ids_.intern(event.build_request_id());
      job_runs_.on_job_event(je.job_run_id(), build, status);
      if (status == v1::JOB_FAILED || status == v1::JOB_CANCELLED) {
        end_job_run(je.job_run_id(), status, event, changes);
      }
      return;
    }
    case BuildEvent::kJobRunCancelEvent:
      job_runs_.on_cancel(event.job_run_cancel_event().job_run_id());
      end_job_run(event.job_run_cancel_event().job_run_id(), v1::JOB_CANCELLED, event, changes);
      return;
    default:
      return;
  }
}

void PartitionStatusFold::on_partition_event(const BuildEvent& event, Ids ids,
                                             std::vector<Change>* changes) {
  const auto& pe = event.partition_event();
  const uint32_t slot =
      ids.slot != StringPool::kNone ? ids.slot : slot_of(pe.partition_ref().str());
  const uint32_t build =
      ids.build != StringPool::kNone ? ids.build : build_ids_.intern(event.build_request_id());
  drop_claim(slot, build);
  // DELEGATED describes one request's relation to the partition, not the partition (and, like
  // UNKNOWN, is not in flight, so it makes no claim either).
  if (pe.status_code() == v1::PARTITION_DELEGATED || pe.status_code() == v1::PARTITION_UNKNOWN) {
    return;
  }
  const bool in_flight = is_in_progress_partition_status(pe.status_code());
  const std::string& job = pe.job_run_id();
  const std::string& message = pe.message();
  const size_t bytes = TextArena::record_size(job.size(), message.size());
  make_room(in_flight ? 2 * bytes : bytes);
  uint32_t source = kNotLive;
  if (in_flight) {
    source = runs_.acquire(job);  // the status's reference
    // A claim naming a job run that already ended FAILED or CANCELLED is not live: it never
    // becomes the status again. The status it sets still ends with its build request or run.
    if (!job_runs_.dead(job)) {
      Claim claim{event.idx(), texts_.add(job, message), pe.status_code(), build, source, kNil};
      claim.build_link = use_build(slot, build);
      claim.run_link = use_run(slot, source);
      push_claim(slot, claim);
      runs_.acquire(source);  // the claim's
    }
  }
  changes->push_back(Change{slot, refs_[slot].status});
  set_current(
      slot,
      Current{pe.status_code(), event.timestamp(), event.idx(), build, texts_.add(job, message)},
      source);
}

void PartitionStatusFold::on_invalidation(const BuildEvent& event, Ids ids,
                                          std::vector<Change>* changes) {
  const auto& inv = event.partition_invalidation_event();
  const uint32_t slot =
      ids.slot != StringPool::kNone ? ids.slot : slot_of(inv.partition_ref().str());
  const uint32_t build =
      ids.build != StringPool::kNone ? ids.build : build_ids_.intern(event.build_request_id());
  changes->push_back(Change{slot, refs_[slot].status});
  make_room(TextArena::record_size(0, inv.reason().size()));
  set_current(slot,
              Current{v1::PARTITION_INVALIDATED, event.timestamp(), event.idx(), build,
                      texts_.add("", inv.reason())},
              kNotLive);
}

void PartitionStatusFold::drop_claim(uint32_t slot, uint32_t build) {
  // The oldest claim of the request (there is at most one unless a snapshot listed more).
  uint32_t* at = nullptr;
  for (uint32_t* p = &refs_[slot].claims; *p != kNil; p = &claims_[*p].next) {
    if (claims_[*p].build == build) at = p;
  }
  if (at == nullptr) return;
  const uint32_t node = *at;
  const Claim& c = claims_[node];
  *at = c.next;
  unuse(&by_build_[c.build], c.build_link);
  if (c.run_link != kNil) unuse(&by_job_run_[c.run], c.run_link);
  free_claim(node);
}

void PartitionStatusFold::end_build(const std::string& id, uint32_t build, const BuildEvent& event,
                                    std::vector<Change>* changes) {
  if (build == StringPool::kNone) build = build_ids_.find(id);
  if (build == StringPool::kNone) return;
  // Its open job runs are cancelled at the same event: the claims naming them end too.
  ended_runs_.clear();
  job_runs_.end_build(build, &ended_runs_);
  ending_.clear();
  for (ClaimRuns::Id run : ended_runs_) {
    const uint32_t named = runs_.find(job_runs_.str(run));
    if (named != kNoRun && named < by_job_run_.size() && by_job_run_[named] != kNil) {
      ending_.push_back(named);
    }
  }
  const bool holds = build < by_build_.size() && by_build_[build] != kNil;
  if (!holds && ending_.empty()) return;
  const BuildRequestStatus status = event.has_build_cancel_event()
                                        ? v1::BUILD_REQUEST_CANCELLED
                                        : event.build_request_event().status_code();
  end_claims(build, event, build_ended_text(id, status) + " before the partition was built",
             "was cancelled", changes);
}

void PartitionStatusFold::end_job_run(const std::string& id, JobStatus status,
                                      const BuildEvent& event, std::vector<Change>* changes) {
  const uint32_t run = runs_.find(id);
  if (run == kNoRun || run >= by_job_run_.size() || by_job_run_[run] == kNil) return;
  ending_.assign(1, run);
  end_claims(StringPool::kNone, event, "", status == v1::JOB_FAILED ? "failed" : "was cancelled",
             changes);
}

void PartitionStatusFold::end_claims(uint32_t build, const BuildEvent& event,
                                     const std::string& build_why, const char* run_what,
                                     std::vector<Change>* changes) {
  // The ending job run ids are kept while this runs, so that their runs_ ids name them
  // throughout; flagged for held().
  if (is_ending_.size() < runs_.id_limit()) is_ending_.resize(runs_.id_limit(), false);
  for (uint32_t run : ending_) {
    runs_.acquire(run);
    is_ending_[run] = true;
  }
  auto by_build = [&](uint32_t b) { return build != StringPool::kNone && b == build; };
  auto by_run = [&](uint32_t r) { return r != kNoRun && r < is_ending_.size() && is_ending_[r]; };
  taken_.clear();
  taken_links_.clear();
  if (build != StringPool::kNone && build < by_build_.size()) take_slots(&by_build_[build]);
  for (uint32_t run : ending_) take_slots(&by_job_run_[run]);
  std::sort(taken_.begin(), taken_.end(),
            [this](uint32_t a, uint32_t b) { return ref(a) > ref(b); });
  taken_.erase(std::unique(taken_.begin(), taken_.end()), taken_.end());
  for (uint32_t slot : taken_) {
    for (uint32_t* p = &refs_[slot].claims; *p != kNil;) {
      const uint32_t node = *p;
      const Claim& c = claims_[node];
      if (!by_build(c.build) && !by_run(c.run)) {
        p = &claims_[node].next;
        continue;
      }
      *p = c.next;
      // The ending holders' sets went with take_slots; the others may still be used.
      if (!by_build(c.build)) unuse(&by_build_[c.build], c.build_link);
      if (c.run_link != kNil && !by_run(c.run)) unuse(&by_job_run_[c.run], c.run_link);
      free_claim(node);
    }
    Ref& r = refs_[slot];
    if (r.source == kNotLive || (!by_build(r.build) && !by_run(r.source))) continue;
    if (by_build(r.build)) r.source_build_link = kNil;  // taken with the set
    if (by_run(r.source)) r.source_run_link = kNil;
    fire(slot, event,
         by_build(r.build) ? build_why
                           : "job run " + std::string(runs_.str(r.source)) + " " + run_what +
                                 " before the partition was built",
         changes);
  }
  free_taken();
  for (uint32_t run : ending_) {
    is_ending_[run] = false;
    runs_.release(run);
  }
}

void PartitionStatusFold::fire(uint32_t slot, const BuildEvent& event, const std::string& why,
                               std::vector<Change>* changes) {
  changes->push_back(Change{slot, refs_[slot].status});
  const Ref& r = refs_[slot];
  // The chain's head is the newest live claim.
  if (r.claims != kNil) {
    const Claim& best = claims_[r.claims];
    // make_room may move the texts, so they are read after it.
    make_room(
        TextArena::record_size(texts_.first(best.text).size(), texts_.second(best.text).size()));
    runs_.acquire(best.run);
    set_current(slot,
                Current{best.status, event.timestamp(), event.idx(), best.build,
                        texts_.add(texts_.first(best.text), texts_.second(best.text))},
                best.run);
    return;
  }
  make_room(TextArena::record_size(texts_.first(r.text).size(), why.size()));
  set_current(slot,
              Current{v1::PARTITION_FAILED, event.timestamp(), event.idx(), r.build,
                      texts_.add(texts_.first(r.text), why)},
              kNotLive);
}

void PartitionStatusFold::set_current(uint32_t slot, const Current& next, uint32_t source) {
  // The new source joins its sets before the old one leaves, so a member they share stays.
  uint32_t build_link = kNil;
  uint32_t run_link = kNil;
  if (source != kNotLive) {
    build_link = use_build(slot, next.build);
    run_link = use_run(slot, source);
  }
  Ref& r = refs_[slot];
  const uint32_t old_source = r.source;
  const uint32_t old_build = r.build;
  const uint32_t old_build_link = r.source_build_link;
  const uint32_t old_run_link = r.source_run_link;
  texts_.drop(r.text);
  r.status = next.status;
  r.last_updated = next.last_updated;
  r.last_idx = next.last_idx;
  r.build = next.build;
  r.text = next.text;
  r.source = source;
  r.source_build_link = build_link;
  r.source_run_link = run_link;
  if (old_source != kNotLive) {
    if (old_build_link != kNil) unuse(&by_build_[old_build], old_build_link);
    if (old_run_link != kNil) unuse(&by_job_run_[old_source], old_run_link);
    runs_.release(old_source);
  }
}

void PartitionStatusFold::push_claim(uint32_t slot, const Claim& claim) {
  Claim linked = claim;
  linked.next = refs_[slot].claims;
  const uint32_t node = take_node(&claims_, &free_claims_, linked);
  refs_[slot].claims = node;
}

void PartitionStatusFold::free_claim(uint32_t node) {
  Claim& c = claims_[node];
  texts_.drop(c.text);
  runs_.release(c.run);
  c.text = TextArena::kNone;
  c.run = kNoRun;
  give_node(&claims_, &free_claims_, node);
}

void PartitionStatusFold::make_room(size_t bytes) {
  if (texts_.fits(bytes)) return;
  if (texts_.dead_bytes() * 4 < texts_.size()) {
    texts_.grow(bytes);
    return;
  }
  // Copy the live texts into a fresh arena a half larger than they need: each copy is paid for
  // by the bytes added since the last one.
  TextArena fresh(std::max<size_t>(1024, (texts_.live_bytes() + bytes) * 3 / 2));
  auto copy = [&](Text* text) {
    if (*text == TextArena::kNone) return;  // free claim nodes too
    const std::string_view first = texts_.first(*text);
    const std::string_view second = texts_.second(*text);
    const size_t need = TextArena::record_size(first.size(), second.size());
    if (!fresh.fits(need)) fresh.grow(need);  // only if the live count were off; safe here
    *text = fresh.add(first, second);
  };
  for (Ref& r : refs_) copy(&r.text);
  for (Claim& c : claims_) copy(&c.text);
  if (!fresh.fits(bytes)) fresh.grow(bytes);
  texts_ = std::move(fresh);
}

uint32_t PartitionStatusFold::use_build(uint32_t slot, uint32_t build) {
  const Ref& r = refs_[slot];
  uint32_t shared = kNil;
  for (uint32_t n = r.claims; n != kNil && shared == kNil; n = claims_[n].next) {
    if (claims_[n].build == build) shared = claims_[n].build_link;
  }
  if (shared == kNil && r.source != kNotLive && r.build == build) shared = r.source_build_link;
  if (by_build_.size() <= build) by_build_.resize(build_ids_.size(), kNil);
  return use(&by_build_[build], shared, slot);
}

uint32_t PartitionStatusFold::use_run(uint32_t slot, uint32_t run) {
  if (run == kNoRun) return kNil;
  const Ref& r = refs_[slot];
  uint32_t shared = kNil;
  for (uint32_t n = r.claims; n != kNil && shared == kNil; n = claims_[n].next) {
    if (claims_[n].run == run) shared = claims_[n].run_link;
  }
  if (shared == kNil && r.source == run) shared = r.source_run_link;
  return use(run_head(run), shared, slot);
}

uint32_t PartitionStatusFold::use(uint32_t* head, uint32_t shared, uint32_t slot) {
  if (shared != kNil) {
    ++links_[shared].uses;
    return shared;
  }
  const uint32_t node = take_node(&links_, &free_links_, Link{slot, kNil, *head, 1});
  if (*head != kNil) links_[*head].prev = node;
  *head = node;
  return node;
}

void PartitionStatusFold::unuse(uint32_t* head, uint32_t node) {
  if (node == kNil || --links_[node].uses > 0) return;
  const Link& l = links_[node];
  if (l.prev == kNil) {
    *head = l.next;
  } else {
    links_[l.prev].next = l.next;
  }
  if (l.next != kNil) links_[l.next].prev = l.prev;
  give_node(&links_, &free_links_, node);
}

uint32_t* PartitionStatusFold::run_head(uint32_t run) {
  if (by_job_run_.size() <= run) by_job_run_.resize(runs_.id_limit(), kNil);
  return &by_job_run_[run];
}

void PartitionStatusFold::take_slots(uint32_t* head) {
  for (uint32_t n = *head; n != kNil; n = links_[n].next) {
    taken_.push_back(links_[n].slot);
    taken_links_.push_back(n);
  }
  *head = kNil;
}

void PartitionStatusFold::free_taken() {
  for (uint32_t node : taken_links_) give_node(&links_, &free_links_, node);
  taken_links_.clear();
}

uint32_t PartitionStatusFold::slot_of(std::string_view ref) {
  const uint32_t slot = ref_ids_.intern(ref);
  if (slot == refs_.size()) refs_.emplace_back();
  return slot;
}

std::optional<uint32_t> PartitionStatusFold::find(std::string_view ref) const {
  const uint32_t slot = ref_ids_.find(ref);
  if (slot == StringPool::kNone) return std::nullopt;
  return slot;
}

PartitionStatusEntry PartitionStatusFold::entry(uint32_t slot) const {
  const Ref& r = refs_[slot];
  PartitionStatusEntry out;
  out.status = r.status;
  if (r.status == v1::PARTITION_UNKNOWN) return out;
  out.last_updated = r.last_updated;
  out.last_idx = r.last_idx;
  out.build_request_id = build_ids_.str(r.build);
  out.job_run_id = texts_.first(r.text);
  out.message = texts_.second(r.text);
  return out;
}

PartitionStatusResponse PartitionStatusFold::response(uint32_t slot, int64_t as_of_idx) const {
  return to_partition_status_response(ref(slot), entry(slot), as_of_idx);
}

// ---- snapshots -----------------------------------------------------------------------------

void PartitionStatusFold::to_snapshot(uint32_t slot, snap::PartitionStatusEntry* out) const {
  const Ref& r = refs_[slot];
  const std::string_view name = ref(slot);
  const std::string_view build = build_ids_.str(r.build);
  const std::string_view job = texts_.first(r.text);
  const std::string_view message = texts_.second(r.text);
  out->set_partition_ref(name.data(), name.size());
  out->set_status_code(r.status);
  out->set_last_updated(r.last_updated);
  out->set_last_idx(r.last_idx);
  out->set_build_request_id(build.data(), build.size());
  out->set_job_run_id(job.data(), job.size());
  out->set_message(message.data(), message.size());
  out->set_source_live(r.source != kNotLive);
  // Ascending idx: the chain is newest first, so fill from the back.
  int count = 0;
  for (uint32_t n = r.claims; n != kNil; n = claims_[n].next) {
    out->add_claims();
    ++count;
  }
  for (uint32_t n = r.claims; n != kNil; n = claims_[n].next) {
    const Claim& c = claims_[n];
    auto* claim = out->mutable_claims(--count);
    const std::string_view claim_build = build_ids_.str(c.build);
    const std::string_view claim_job = texts_.first(c.text);
    const std::string_view claim_message = texts_.second(c.text);
    claim->set_build_request_id(claim_build.data(), claim_build.size());
    claim->set_job_run_id(claim_job.data(), claim_job.size());
    claim->set_status_code(c.status);
    claim->set_message(claim_message.data(), claim_message.size());
    claim->set_idx(c.idx);
  }
}

void PartitionStatusFold::reserve(size_t refs, size_t builds) {
  refs_.reserve(refs);
  ref_ids_.reserve(refs);
  build_ids_.reserve(builds);
}

Result<uint32_t> PartitionStatusFold::restore_entry(const snap::PartitionStatusEntry& in) {
  const std::string& name = in.partition_ref();
  if (in.status_code() == v1::PARTITION_UNKNOWN) {
    return make_error(ErrorCode::storage_corrupt, "partition " + name + " has no status");
  }
  const uint32_t slot = slot_of(name);
  if (refs_[slot].status != v1::PARTITION_UNKNOWN) {
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
    const uint32_t build = build_ids_.intern(c.build_request_id());
    const uint32_t run = runs_.acquire(c.job_run_id());
    make_room(TextArena::record_size(c.job_run_id().size(), c.message().size()));
    Claim claim{c.idx(), texts_.add(c.job_run_id(), c.message()), status, build, run, kNil};
    claim.build_link = use_build(slot, build);
    claim.run_link = use_run(slot, run);
    push_claim(slot, claim);
  }
  make_room(TextArena::record_size(in.job_run_id().size(), in.message().size()));
  const uint32_t source = in.source_live() ? runs_.acquire(in.job_run_id()) : kNotLive;
  set_current(
      slot,
      Current{static_cast<PartitionStatus>(in.status_code()), in.last_updated(), in.last_idx(),
              build_ids_.intern(in.build_request_id()), texts_.add(in.job_run_id(), in.message())},
      source);
  return slot;
}

std::vector<snap::ClaimRun> PartitionStatusFold::runs_to_snapshot() const {
  return job_runs_.to_snapshot(build_ids_);
}

Status PartitionStatusFold::restore_run(const snap::ClaimRun& in) {
  return job_runs_.restore(in, &build_ids_);
}

bool PartitionStatusFold::same_runs(const PartitionStatusFold& other) const {
  return job_runs_.same(build_ids_, other.job_runs_, other.build_ids_);
}

}  // namespace bel::projections
