#include "tests/support/reference_fold.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <utility>

#include "messages/event_keys.h"
#include "messages/glob.h"
#include "messages/status_names.h"

namespace bel::testing {
namespace {

// SPEC section 4: limit 0 = 50, at most 1000; bad values are errors, not clamped.
struct Window {
  int64_t limit;
  int64_t offset;
};

Result<Window> window(int64_t limit, int64_t offset) {
  if (limit < 0) return make_error(ErrorCode::invalid_argument, "negative limit");
  if (limit > 1000) return make_error(ErrorCode::invalid_argument, "limit above 1000");
  if (offset < 0) return make_error(ErrorCode::invalid_argument, "negative offset");
  return Window{limit == 0 ? 50 : limit, offset};
}

// The slice [offset, offset + limit) of `all`.
template <class T>
std::vector<T> slice(const std::vector<T>& all, const Window& w) {
  std::vector<T> out;
  for (int64_t i = w.offset; i < static_cast<int64_t>(all.size()) && i < w.offset + w.limit; ++i) {
    out.push_back(all[static_cast<size_t>(i)]);
  }
  return out;
}

template <class Enum>
std::string name_of(Enum e) {
  const std::string& n = status_name(e);
  return n.empty() ? std::to_string(static_cast<int>(e)) : n;
}

bool build_done(BuildRequestStatus s) {
  return s == v1::BUILD_REQUEST_COMPLETED || s == v1::BUILD_REQUEST_FAILED ||
         s == v1::BUILD_REQUEST_CANCELLED;
}

bool job_done(JobStatus s) {
  return s == v1::JOB_COMPLETED || s == v1::JOB_FAILED || s == v1::JOB_CANCELLED ||
         s == v1::JOB_SKIPPED;
}

template <class Enum, class Filter>
bool selected(const Filter& filter, Enum status) {
  if (filter.empty()) return true;
  for (auto s : filter) {
    if (s == status) return true;
  }
  return false;
}

}  // namespace

ReferenceFold::ReferenceFold(const std::vector<BuildEvent>& events) : events_(events) {
  std::set<std::string> announced;  // ids with a BuildRequestEvent or BuildCancelEvent so far
  for (const BuildEvent& e : events_) {
    if (e.has_build_request_event() || e.has_build_cancel_event()) {
      announced.insert(e.build_request_id());
    }
    // SPEC section 2: an invalidation by an id never received as a build request is an
    // operator's action, part of no build summary, build list or build count.
    const bool by_operator =
        e.has_partition_invalidation_event() && announced.count(e.build_request_id()) == 0;
    if (!by_operator) by_build_[e.build_request_id()].push_back(&e);
    if (e.has_job_event()) by_run_[e.job_event().job_run_id()].push_back(&e);
    if (e.has_job_run_cancel_event()) by_run_[e.job_run_cancel_event().job_run_id()].push_back(&e);
    if (e.has_partition_event()) by_ref_[e.partition_event().partition_ref().str()].push_back(&e);
    if (e.has_delegation_event()) {
      by_ref_[e.delegation_event().partition_ref().str()].push_back(&e);
    }
    if (e.has_partition_invalidation_event()) {
      by_ref_[e.partition_invalidation_event().partition_ref().str()].push_back(&e);
    }
  }
  replay_partition_statuses();
}

const ReferenceFold::Bucket& ReferenceFold::bucket(const std::map<std::string, Bucket>& m,
                                                   const std::string& key) const {
  static const Bucket kEmpty;
  auto it = m.find(key);
  return it == m.end() ? kEmpty : it->second;
}

int64_t ReferenceFold::as_of_idx() const { return events_.empty() ? 0 : events_.back().idx(); }

// ---- partitions ----------------------------------------------------------------------------

PartitionStatusResponse ReferenceFold::partition_status(const std::string& ref) const {
  PartitionStatusResponse out;
  auto it = statuses_.find(ref);
  if (it != statuses_.end()) out = it->second;
  out.set_partition_ref(ref);
  out.set_as_of_idx(as_of_idx());
  if (out.status_code() == v1::PARTITION_UNKNOWN) out.set_status_name("PARTITION_UNKNOWN");
  return out;
}

namespace {

bool in_flight(PartitionStatus s) {
  return s == v1::PARTITION_REQUESTED || s == v1::PARTITION_SCHEDULED ||
         s == v1::PARTITION_BUILDING;
}

// The build request `e` ends (a terminal BuildRequestEvent or a BuildCancelEvent), or "".
std::string build_ended_by(const BuildEvent& e) {
  if (e.has_build_cancel_event()) return e.build_request_id();
  if (e.has_build_request_event() && build_done(e.build_request_event().status_code())) {
    return e.build_request_id();
  }
  return "";
}

// The job run `e` ends FAILED or CANCELLED (JobEvent or JobRunCancelEvent), or "".
std::string job_run_ended_by(const BuildEvent& e) {
  if (e.has_job_run_cancel_event()) return e.job_run_cancel_event().job_run_id();
  if (e.has_job_event() && (e.job_event().status_code() == v1::JOB_FAILED ||
                            e.job_event().status_code() == v1::JOB_CANCELLED)) {
    return e.job_event().job_run_id();
  }
  return "";
}

BuildRequestStatus terminal_status(const BuildEvent& e) {
  return e.has_build_cancel_event() ? v1::BUILD_REQUEST_CANCELLED
                                    : e.build_request_event().status_code();
}

std::string build_end_words(BuildRequestStatus s) {
  if (s == v1::BUILD_REQUEST_CANCELLED) return "was cancelled";
  if (s == v1::BUILD_REQUEST_FAILED) return "failed";
  return "completed";
}

// A job run's status after `e`, an event of its timeline (ReferenceFold::run_timeline), from
// `status` before it, with the message `e` gives; nothing when `e` (its build request's end
// after the run ended) changes nothing.
std::optional<JobStatus> status_after(JobStatus status, const BuildEvent& e, std::string* message) {
  if (e.has_job_event()) {
    *message = e.job_event().message();
    return e.job_event().status_code();
  }
  if (e.has_job_run_cancel_event()) {
    *message = e.job_run_cancel_event().reason();
    return v1::JOB_CANCELLED;
  }
  if (status != v1::JOB_SCHEDULED && status != v1::JOB_RUNNING) return std::nullopt;
  *message = "build " + e.build_request_id() + " " + build_end_words(terminal_status(e)) +
             " before the job run ended";
  return v1::JOB_CANCELLED;
}

}  // namespace

bool ReferenceFold::claim_ended(const std::string& build, const std::string& job, int64_t since,
                                int64_t upto) const {
  for (const BuildEvent* e : bucket(by_build_, build)) {
    if (e->idx() > since && e->idx() <= upto && !build_ended_by(*e).empty()) return true;
  }
  if (job.empty()) return false;
  const JobStatus at_claim = run_status_at(job, since);
  if (at_claim == v1::JOB_FAILED || at_claim == v1::JOB_CANCELLED) return true;
  for (const BuildEvent* e : bucket(by_run_, job)) {
    if (e->idx() > since && e->idx() <= upto && job_run_ended_by(*e) == job) return true;
  }
  for (const BuildEvent* e : run_timeline(job)) {
    if (e->idx() > since && e->idx() <= upto && !build_ended_by(*e).empty() &&
        cancels_open_run(*e, job)) {
      return true;
    }
  }
  return false;
}

bool ReferenceFold::cancels_open_run(const BuildEvent& e, const std::string& job) const {
  const std::vector<const BuildEvent*> timeline = run_timeline(job);
  if (timeline.empty() || timeline.front()->build_request_id() != build_ended_by(e)) return false;
  const JobStatus before = run_status_at(job, e.idx() - 1);
  return before == v1::JOB_SCHEDULED || before == v1::JOB_RUNNING;
}

// SPEC section 4, "Partition status" and "In-flight claims end with their owner", replayed in
// idx order. A status is "tied" while it is in flight and the claim it came from has not ended;
// that claim is (build, job) from `since` on.
void ReferenceFold::replay_partition_statuses() {
  struct Tie {
    bool tied = false;
    std::string build;
    std::string job;
  };
  std::map<std::string, Tie> ties;
  // (request, ref) -> the request's latest PartitionEvent or DelegationEvent for the ref.
  std::map<std::pair<std::string, std::string>, const BuildEvent*> latest;
  for (const BuildEvent& e : events_) {
    if (e.has_partition_event()) {
      const auto& pe = e.partition_event();
      const std::string& ref = pe.partition_ref().str();
      latest[{e.build_request_id(), ref}] = &e;
      if (pe.status_code() == v1::PARTITION_DELEGATED) continue;
      if (pe.status_code() == v1::PARTITION_UNKNOWN) continue;
      PartitionStatusResponse& out = statuses_[ref];
      out.set_status_code(pe.status_code());
      out.set_status_name(name_of(pe.status_code()));
      out.set_message(pe.message());
      out.set_job_run_id(pe.job_run_id());
      out.set_last_updated(e.timestamp());
      out.set_last_idx(e.idx());
      out.set_build_request_id(e.build_request_id());
      ties[ref] = Tie{in_flight(pe.status_code()), e.build_request_id(), pe.job_run_id()};
      continue;
    }
    if (e.has_delegation_event()) {
      latest[{e.build_request_id(), e.delegation_event().partition_ref().str()}] = &e;
      continue;
    }
    if (e.has_partition_invalidation_event()) {
      const std::string& ref = e.partition_invalidation_event().partition_ref().str();
      PartitionStatusResponse& out = statuses_[ref];
      out.set_status_code(v1::PARTITION_INVALIDATED);
      out.set_status_name("PARTITION_INVALIDATED");
      out.set_message(e.partition_invalidation_event().reason());
      out.set_job_run_id("");
      out.set_last_updated(e.timestamp());
      out.set_last_idx(e.idx());
      out.set_build_request_id(e.build_request_id());
      ties[ref] = Tie{};
      continue;
    }
    const std::string ended_build = build_ended_by(e);
    const std::string ended_job = job_run_ended_by(e);
    if (ended_build.empty() && ended_job.empty()) continue;
    for (auto& [ref, tie] : ties) {
      if (!tie.tied) continue;
      const bool ended = (!ended_build.empty() && tie.build == ended_build) ||
                         (!ended_job.empty() && tie.job == ended_job) ||
                         (!ended_build.empty() && !tie.job.empty() && cancels_open_run(e, tie.job));
      if (!ended) continue;
      // The most recent claim on ref still live after e.
      const BuildEvent* best = nullptr;
      for (const auto& [key, claim] : latest) {
        if (key.second != ref || !claim->has_partition_event()) continue;
        if (!in_flight(claim->partition_event().status_code())) continue;
        if (claim_ended(claim->build_request_id(), claim->partition_event().job_run_id(),
                        claim->idx(), e.idx())) {
          continue;
        }
        if (best == nullptr || claim->idx() > best->idx()) best = claim;
      }
      PartitionStatusResponse& out = statuses_[ref];
      out.set_last_updated(e.timestamp());
      out.set_last_idx(e.idx());
      if (best != nullptr) {
        const auto& pe = best->partition_event();
        out.set_status_code(pe.status_code());
        out.set_status_name(name_of(pe.status_code()));
        out.set_build_request_id(best->build_request_id());
        out.set_job_run_id(pe.job_run_id());
        out.set_message(pe.message());
        tie = Tie{true, best->build_request_id(), pe.job_run_id()};
      } else {
        out.set_status_code(v1::PARTITION_FAILED);
        out.set_status_name("PARTITION_FAILED");
        if (!ended_build.empty() && tie.build == ended_build) {
          out.set_message("build " + ended_build + " " + build_end_words(terminal_status(e)) +
                          " before the partition was built");
        } else {
          // Its job run failed or was cancelled, by a JobEvent, a JobRunCancelEvent or the end
          // of the run's build request.
          const bool failed = e.has_job_event() && e.job_event().status_code() == v1::JOB_FAILED;
          out.set_message("job run " + tie.job + (failed ? " failed" : " was cancelled") +
                          " before the partition was built");
        }
        tie.tied = false;
      }
    }
  }
}

BuildRequestStatus ReferenceFold::build_status(const std::string& id) const {
  const Bucket& evs = bucket(by_build_, id);
  for (auto it = evs.rbegin(); it != evs.rend(); ++it) {
    if ((*it)->has_build_request_event()) return (*it)->build_request_event().status_code();
    if ((*it)->has_build_cancel_event()) return v1::BUILD_REQUEST_CANCELLED;
  }
  return v1::BUILD_REQUEST_UNKNOWN;
}

ActiveBuildsResponse ReferenceFold::active_builds(const std::string& ref) const {
  ActiveBuildsResponse out;
  out.set_partition_ref(ref);
  out.set_as_of_idx(as_of_idx());
  std::map<std::string, PartitionStatus> own;  // each request's latest status for ref
  for (const BuildEvent* e : bucket(by_ref_, ref)) {
    if (e->has_partition_event()) own[e->build_request_id()] = e->partition_event().status_code();
    if (e->has_delegation_event()) own[e->build_request_id()] = v1::PARTITION_DELEGATED;
  }
  for (const auto& [id, s] : own) {
    const bool in_progress = s == v1::PARTITION_REQUESTED || s == v1::PARTITION_SCHEDULED ||
                             s == v1::PARTITION_BUILDING;
    if (in_progress && !build_done(build_status(id))) out.add_build_request_ids(id);
  }
  return out;
}

Result<PartitionsListResponse> ReferenceFold::list_partitions(
    const PartitionsListRequest& request) const {
  auto w = window(request.limit(), request.offset());
  if (!w.ok()) return w.error();
  if (!request.pattern().empty()) {
    auto ok = check_glob(request.pattern());
    if (!ok.ok()) return ok.error();
  }
  std::vector<PartitionStatusResponse> all;
  for (const auto& entry : by_ref_) {
    PartitionStatusResponse s = partition_status(entry.first);
    if (s.status_code() == v1::PARTITION_UNKNOWN) continue;
    if (!selected(request.status_filter(), s.status_code())) continue;
    if (!request.pattern().empty() && !glob_match(request.pattern(), s.partition_ref())) continue;
    all.push_back(std::move(s));
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    if (a.last_idx() != b.last_idx()) return a.last_idx() > b.last_idx();
    return a.partition_ref() < b.partition_ref();  // one event ending several claims
  });
  PartitionsListResponse out;
  for (auto& s : slice(all, *w)) *out.add_partitions() = std::move(s);
  out.set_total_count(static_cast<int64_t>(all.size()));
  out.set_has_more(w->offset + out.partitions_size() < static_cast<int64_t>(all.size()));
  out.set_as_of_idx(as_of_idx());
  return out;
}

// ---- build requests ------------------------------------------------------------------------

Result<BuildRequestSummary> ReferenceFold::build_summary(const std::string& id) const {
  const Bucket& evs = bucket(by_build_, id);
  if (evs.empty()) return make_error(ErrorCode::not_found, "no build request " + id);
  BuildRequestSummary out;
  out.set_build_request_id(id);
  out.set_status_code(build_status(id));
  out.set_status_name(name_of(out.status_code()));
  for (const BuildEvent* e : evs) {
    if (e->has_build_request_event() && e->build_request_event().requested_partitions_size() > 0) {
      for (const auto& r : e->build_request_event().requested_partitions()) {
        out.add_requested_partitions(r.str());
      }
      break;
    }
  }
  out.set_created_at(evs.front()->timestamp());
  out.set_updated_at(evs.back()->timestamp());
  out.set_first_idx(evs.front()->idx());
  out.set_last_idx(evs.back()->idx());
  out.set_event_count(static_cast<int64_t>(evs.size()));

  // Partitions in order of first appearance, then each one's latest status and delegation.
  std::vector<std::string> refs;
  auto ref_of = [](const BuildEvent* e) -> const std::string* {
    if (e->has_partition_event()) return &e->partition_event().partition_ref().str();
    if (e->has_delegation_event()) return &e->delegation_event().partition_ref().str();
    return nullptr;
  };
  for (const BuildEvent* e : evs) {
    const std::string* r = ref_of(e);
    if (r != nullptr && std::find(refs.begin(), refs.end(), *r) == refs.end()) refs.push_back(*r);
  }
  for (const auto& r : refs) {
    auto* p = out.add_partitions();
    p->set_partition_ref(r);
    bool have_status = false;
    for (auto it = evs.rbegin(); it != evs.rend(); ++it) {
      const std::string* er = ref_of(*it);
      if (er == nullptr || *er != r) continue;
      if (!have_status) {
        PartitionStatus s = (*it)->has_delegation_event() ? v1::PARTITION_DELEGATED
                                                          : (*it)->partition_event().status_code();
        p->set_status_code(s);
        p->set_status_name(name_of(s));
        have_status = true;
      }
      if ((*it)->has_delegation_event()) {
        p->set_delegated_to_build_request_id(
            (*it)->delegation_event().delegated_to_build_request_id());
        break;
      }
    }
  }

  // Job runs named by this request's JobEvents; status from this request's events. A run that
  // ended FAILED or CANCELLED is a failure, newest first by the event that ended it.
  std::set<std::string> runs;
  for (const BuildEvent* e : evs) {
    if (e->has_job_event()) runs.insert(e->job_event().job_run_id());
  }
  struct Failure {
    int64_t ended_idx;
    BuildFailure failure;
  };
  std::vector<Failure> failures;
  for (const auto& run : runs) {
    JobStatus status = v1::JOB_UNKNOWN;
    bool seen = false;
    int64_t ended_idx = 0;
    BuildFailure f;
    f.set_job_run_id(run);
    for (const BuildEvent* e : evs) {
      JobStatus next = status;
      std::string message;
      if (e->has_job_event() && e->job_event().job_run_id() == run) {
        if (!seen) f.set_job_label(e->job_event().job_label().label());
        if (f.partition_refs_size() == 0) {
          for (const auto& r : e->job_event().target_partitions()) f.add_partition_refs(r.str());
        }
        next = e->job_event().status_code();
        message = e->job_event().message();
        seen = true;
      } else if (seen && e->has_job_run_cancel_event() &&
                 e->job_run_cancel_event().job_run_id() == run) {
        next = v1::JOB_CANCELLED;
        message = e->job_run_cancel_event().reason();
      } else if (seen && !build_ended_by(*e).empty() &&
                 (status == v1::JOB_SCHEDULED || status == v1::JOB_RUNNING)) {
        next = v1::JOB_CANCELLED;  // the request ended while the run was open
        message = "build " + id + " " + build_end_words(terminal_status(*e)) +
                  " before the job run ended";
      } else {
        continue;
      }
      if (!message.empty()) f.set_message(message);
      if (!job_done(next)) {
        ended_idx = 0;
      } else if (!job_done(status)) {
        ended_idx = e->idx();
      }
      status = next;
    }
    (*out.mutable_job_runs_by_status())[name_of(status)] += 1;
    if (status == v1::JOB_FAILED || status == v1::JOB_CANCELLED) {
      f.set_status_name(name_of(status));
      failures.push_back(Failure{ended_idx, f});
    }
  }
  std::sort(failures.begin(), failures.end(), [](const Failure& a, const Failure& b) {
    if (a.ended_idx != b.ended_idx) return a.ended_idx > b.ended_idx;
    return a.failure.job_run_id() < b.failure.job_run_id();
  });
  for (size_t i = 0; i < failures.size() && i < 20; ++i) *out.add_failures() = failures[i].failure;

  for (auto it = evs.rbegin(); it != evs.rend(); ++it) {
    if ((*it)->has_build_cancel_event()) {
      out.set_cancel_reason((*it)->build_cancel_event().reason());
      break;
    }
  }
  // message: the latest non-empty BuildRequestEvent message or cancel reason.
  for (auto it = evs.rbegin(); it != evs.rend(); ++it) {
    const std::string* m = nullptr;
    if ((*it)->has_build_request_event()) m = &(*it)->build_request_event().message();
    if ((*it)->has_build_cancel_event()) m = &(*it)->build_cancel_event().reason();
    if (m != nullptr && !m->empty()) {
      out.set_message(*m);
      break;
    }
  }
  out.set_as_of_idx(as_of_idx());
  return out;
}

Result<BuildsListResponse> ReferenceFold::list_builds(const BuildsListRequest& request) const {
  auto w = window(request.limit(), request.offset());
  if (!w.ok()) return w.error();
  std::vector<std::pair<int64_t, std::string>> ids;  // (first idx, id)
  for (const auto& [id, evs] : by_build_) {
    if (selected(request.status_filter(), build_status(id))) ids.emplace_back(evs.front()->idx(), id);
  }
  std::sort(ids.rbegin(), ids.rend());
  BuildsListResponse out;
  for (const auto& [idx, id] : slice(ids, *w)) *out.add_builds() = *build_summary(id);
  out.set_total_count(static_cast<int64_t>(ids.size()));
  out.set_has_more(w->offset + out.builds_size() < static_cast<int64_t>(ids.size()));
  out.set_as_of_idx(as_of_idx());
  return out;
}

// ---- job runs ------------------------------------------------------------------------------

Result<JobRunSummary> ReferenceFold::job_run(const std::string& job_run_id) const {
  const Bucket& evs = bucket(by_run_, job_run_id);
  auto first = std::find_if(evs.begin(), evs.end(),
                            [](const BuildEvent* e) { return e->has_job_event(); });
  if (first == evs.end()) return make_error(ErrorCode::not_found, "no job run " + job_run_id);
  const Bucket run(first, evs.end());  // a cancel before the first JobEvent does not count

  JobRunSummary out;
  out.set_job_run_id(job_run_id);
  out.set_job_label(run.front()->job_event().job_label().label());
  out.set_build_request_id(run.front()->build_request_id());
  for (const BuildEvent* e : run) {
    if (e->has_job_event() && e->job_event().target_partitions_size() > 0) {
      for (const auto& r : e->job_event().target_partitions()) out.add_target_partitions(r.str());
      break;
    }
  }
  for (const BuildEvent* e : run) {
    if (e->has_job_event() && e->job_event().status_code() == v1::JOB_SCHEDULED) {
      out.set_scheduled_at(e->timestamp());
      break;
    }
  }
  for (const BuildEvent* e : run) {
    if (e->has_job_event() && e->job_event().status_code() == v1::JOB_RUNNING) {
      out.set_started_at(e->timestamp());
      break;
    }
  }
  JobStatus status = v1::JOB_UNKNOWN;
  for (const BuildEvent* e : run_timeline(job_run_id)) {
    std::string message;
    const std::optional<JobStatus> next = status_after(status, *e, &message);
    if (!next) continue;  // the build ended after the run did
    if (!message.empty()) out.set_message(message);
    if (!job_done(*next)) {
      out.set_ended_at(0);
    } else if (!job_done(status)) {
      out.set_ended_at(e->timestamp());
    }
    status = *next;
  }
  out.set_status_code(status);
  out.set_status_name(name_of(status));
  out.set_as_of_idx(as_of_idx());
  return out;
}

std::vector<const BuildEvent*> ReferenceFold::run_timeline(const std::string& job_run_id) const {
  const Bucket& evs = bucket(by_run_, job_run_id);
  auto first =
      std::find_if(evs.begin(), evs.end(), [](const BuildEvent* e) { return e->has_job_event(); });
  if (first == evs.end()) return {};
  // The run's own events and, after its first, its build request's terminal events, in idx
  // order: a build that ends while the run is SCHEDULED or RUNNING cancels it.
  std::vector<const BuildEvent*> merged(first, evs.end());
  for (const BuildEvent* e : bucket(by_build_, (*first)->build_request_id())) {
    if (e->idx() > (*first)->idx() && !build_ended_by(*e).empty()) merged.push_back(e);
  }
  std::sort(merged.begin(), merged.end(),
            [](const BuildEvent* a, const BuildEvent* b) { return a->idx() < b->idx(); });
  return merged;
}

JobStatus ReferenceFold::run_status_at(const std::string& job_run_id, int64_t upto) const {
  JobStatus status = v1::JOB_UNKNOWN;
  for (const BuildEvent* e : run_timeline(job_run_id)) {
    if (e->idx() > upto) break;
    std::string message;
    if (auto next = status_after(status, *e, &message)) status = *next;
  }
  return status;
}

std::vector<std::string> ReferenceFold::runs_with_job_event() const {
  std::vector<std::pair<int64_t, std::string>> runs;
  for (const auto& [id, evs] : by_run_) {
    for (const BuildEvent* e : evs) {
      if (e->has_job_event()) {
        runs.emplace_back(e->idx(), id);
        break;
      }
    }
  }
  std::sort(runs.rbegin(), runs.rend());  // newest first
  std::vector<std::string> out;
  for (auto& r : runs) out.push_back(std::move(r.second));
  return out;
}

Result<JobRunsListResponse> ReferenceFold::list_job_runs(const JobRunsListRequest& request) const {
  auto w = window(request.limit(), request.offset());
  if (!w.ok()) return w.error();
  std::vector<JobRunSummary> all;
  for (const auto& id : runs_with_job_event()) {
    JobRunSummary s = *job_run(id);
    if (!request.job_label().empty() && s.job_label() != request.job_label()) continue;
    if (!request.build_request_id().empty() && s.build_request_id() != request.build_request_id()) {
      continue;
    }
    if (!selected(request.status_filter(), s.status_code())) continue;
    all.push_back(std::move(s));
  }
  JobRunsListResponse out;
  for (auto& s : slice(all, *w)) *out.add_job_runs() = std::move(s);
  out.set_total_count(static_cast<int64_t>(all.size()));
  out.set_has_more(w->offset + out.job_runs_size() < static_cast<int64_t>(all.size()));
  out.set_as_of_idx(as_of_idx());
  return out;
}

Result<JobMetrics> ReferenceFold::job_metrics(const std::string& job_label) const {
  std::vector<JobRunSummary> runs;  // newest first
  std::vector<bool> had_running;
  for (const auto& id : runs_with_job_event()) {
    JobRunSummary s = *job_run(id);
    if (s.job_label() != job_label) continue;
    bool running = false;
    for (const BuildEvent* e : bucket(by_run_, id)) {
      running = running || (e->has_job_event() && e->job_event().status_code() == v1::JOB_RUNNING);
    }
    runs.push_back(std::move(s));
    had_running.push_back(running);
  }
  if (runs.empty()) return make_error(ErrorCode::not_found, "no job label " + job_label);
  JobMetrics out;
  out.set_job_label(job_label);
  out.set_total_runs(static_cast<int64_t>(runs.size()));
  int64_t completed = 0;
  int64_t failed = 0;
  __int128 sum = 0;
  int64_t n = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    const JobRunSummary& r = runs[i];
    (*out.mutable_runs_by_status())[r.status_name()] += 1;
    if (r.status_code() == v1::JOB_COMPLETED) ++completed;
    if (r.status_code() == v1::JOB_FAILED) ++failed;
    if (r.status_code() == v1::JOB_COMPLETED && had_running[i]) {
      sum += static_cast<__int128>(r.ended_at()) - r.started_at();
      ++n;
    }
  }
  out.set_success_rate(completed + failed > 0
                           ? static_cast<double>(completed) / static_cast<double>(completed + failed)
                           : 0.0);
  if (n > 0) {
    __int128 mean = sum / n;
    if (mean > std::numeric_limits<int64_t>::max()) mean = std::numeric_limits<int64_t>::max();
    if (mean < std::numeric_limits<int64_t>::min()) mean = std::numeric_limits<int64_t>::min();
    out.set_avg_duration_ns(static_cast<int64_t>(mean));
  }
  *out.mutable_last_run() = runs.front();
  out.set_as_of_idx(as_of_idx());
  return out;
}

JobMetricsList ReferenceFold::all_job_metrics() const {
  JobMetricsList out;
  for (const auto& label : job_labels()) {
    auto m = job_metrics(label);
    if (m.ok()) *out.add_jobs() = *m;
  }
  out.set_as_of_idx(as_of_idx());
  return out;
}

// ---- activity ------------------------------------------------------------------------------

ActivityResponse ReferenceFold::activity() const {
  ActivityResponse out;
  std::vector<std::pair<int64_t, std::string>> builds;
  for (const auto& [id, evs] : by_build_) {
    BuildRequestStatus s = build_status(id);
    (*out.mutable_build_requests_by_status())[name_of(s)] += 1;
    if (!build_done(s)) out.set_active_builds_count(out.active_builds_count() + 1);
    builds.emplace_back(evs.front()->idx(), id);
  }
  out.set_total_build_requests(static_cast<int64_t>(by_build_.size()));
  std::vector<PartitionStatusResponse> parts;
  for (const auto& entry : by_ref_) {
    PartitionStatusResponse s = partition_status(entry.first);
    if (s.status_code() == v1::PARTITION_UNKNOWN) continue;
    (*out.mutable_partitions_by_status())[s.status_name()] += 1;
    parts.push_back(std::move(s));
  }
  out.set_total_partitions(static_cast<int64_t>(parts.size()));
  std::sort(builds.rbegin(), builds.rend());
  for (size_t i = 0; i < builds.size() && i < 10; ++i) {
    *out.add_recent_builds() = *build_summary(builds[i].second);
  }
  std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) {
    if (a.last_idx() != b.last_idx()) return a.last_idx() > b.last_idx();
    return a.partition_ref() < b.partition_ref();
  });
  for (size_t i = 0; i < parts.size() && i < 10; ++i) *out.add_recent_partitions() = parts[i];
  out.set_event_count(static_cast<int64_t>(events_.size()));
  out.set_as_of_idx(as_of_idx());
  return out;
}

// ---- any query -----------------------------------------------------------------------------

namespace {

// `r`, or its error, in the QueryResult field that `field` names.
template <class T>
Result<QueryResult> wrap(Result<T> r, T* (QueryResult::*field)()) {
  if (!r.ok()) return r.error();
  QueryResult out;
  *(out.*field)() = std::move(*r);
  return out;
}

}  // namespace

Result<QueryResult> ReferenceFold::answer(const Query& q) const {
  QueryResult out;
  switch (q.query_case()) {
    case Query::kPartitionStatus:
      *out.mutable_partition_status() = partition_status(q.partition_status().partition_ref());
      return out;
    case Query::kActiveBuilds:
      *out.mutable_active_builds() = active_builds(q.active_builds().partition_ref());
      return out;
    case Query::kPartitionsList:
      return wrap(list_partitions(q.partitions_list()), &QueryResult::mutable_partitions_list);
    case Query::kBuildSummary:
      return wrap(build_summary(q.build_summary().build_request_id()),
                  &QueryResult::mutable_build_summary);
    case Query::kBuildsList:
      return wrap(list_builds(q.builds_list()), &QueryResult::mutable_builds_list);
    case Query::kJobRun:
      return wrap(job_run(q.job_run().job_run_id()), &QueryResult::mutable_job_run);
    case Query::kJobRunsList:
      return wrap(list_job_runs(q.job_runs_list()), &QueryResult::mutable_job_runs_list);
    case Query::kJobMetrics:
      return wrap(job_metrics(q.job_metrics().job_label()), &QueryResult::mutable_job_metrics);
    case Query::kJobMetricsList:
      *out.mutable_job_metrics_list() = all_job_metrics();
      return out;
    case Query::kActivity:
      *out.mutable_activity() = activity();
      return out;
    case Query::QUERY_NOT_SET:
      break;
  }
  return make_error(ErrorCode::invalid_argument, "empty query");
}

// ---- enumeration ---------------------------------------------------------------------------

std::vector<std::string> ReferenceFold::partition_refs() const {
  std::set<std::string> refs;
  for (const BuildEvent& e : events_) {
    for (auto& r : keys_of(e).partitions) refs.insert(std::move(r));
  }
  return {refs.begin(), refs.end()};
}

std::vector<std::string> ReferenceFold::build_request_ids() const {
  std::vector<std::string> out;
  for (const auto& entry : by_build_) out.push_back(entry.first);
  return out;
}

std::vector<std::string> ReferenceFold::job_run_ids() const {
  std::vector<std::string> out;
  for (const auto& entry : by_run_) out.push_back(entry.first);
  return out;
}

std::vector<std::string> ReferenceFold::job_labels() const {
  std::set<std::string> labels;
  for (const BuildEvent& e : events_) {
    if (e.has_job_event()) labels.insert(e.job_event().job_label().label());
  }
  return {labels.begin(), labels.end()};
}

}  // namespace bel::testing
