#include "actors/write/transition_rules.h"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <utility>

#include "messages/event_keys.h"
#include "messages/status_names.h"

namespace bel::write {
namespace {

Error invalid_transition(std::string message) {
  return make_error(ErrorCode::invalid_transition, std::move(message));
}

// A status's position along its forward order: equal ranks are alternatives (the terminal ones);
// a status absent from the table is outside the order (rank 0).
template <class Status>
struct Rank {
  Status status;
  int rank;
};

template <class Status, size_t N>
int rank_in(const Rank<Status> (&table)[N], Status s) {
  for (const auto& entry : table) {
    if (entry.status == s) return entry.rank;
  }
  return 0;
}

constexpr Rank<BuildRequestStatus> kBuildRanks[] = {
    {v1::BUILD_REQUEST_RECEIVED, 1},           {v1::BUILD_REQUEST_PLANNING, 2},
    {v1::BUILD_REQUEST_ANALYSIS_COMPLETED, 3}, {v1::BUILD_REQUEST_EXECUTING, 4},
    {v1::BUILD_REQUEST_COMPLETED, 5},          {v1::BUILD_REQUEST_FAILED, 5},
    {v1::BUILD_REQUEST_CANCELLED, 5}};

// SKIPPED is outside the order: only ever a first status.
constexpr Rank<JobStatus> kJobRanks[] = {{v1::JOB_SCHEDULED, 1},
                                         {v1::JOB_RUNNING, 2},
                                         {v1::JOB_COMPLETED, 3},
                                         {v1::JOB_FAILED, 3},
                                         {v1::JOB_CANCELLED, 3}};

// DELEGATED and INVALIDATED are outside the order and handled separately.
constexpr Rank<PartitionStatus> kPartitionRanks[] = {{v1::PARTITION_REQUESTED, 1},
                                                     {v1::PARTITION_SCHEDULED, 2},
                                                     {v1::PARTITION_BUILDING, 3},
                                                     {v1::PARTITION_AVAILABLE, 4},
                                                     {v1::PARTITION_FAILED, 4}};

int rank(BuildRequestStatus s) { return rank_in(kBuildRanks, s); }
int rank(JobStatus s) { return rank_in(kJobRanks, s); }
int rank(PartitionStatus s) { return rank_in(kPartitionRanks, s); }

bool is_terminal(BuildRequestStatus s) { return is_terminal_build_status(s); }
bool is_terminal(JobStatus s) { return is_terminal_job_status(s); }
bool is_terminal(PartitionStatus s) {
  return s == v1::PARTITION_AVAILABLE || s == v1::PARTITION_FAILED || s == v1::PARTITION_DELEGATED;
}

// Undoes one change to `map`: puts back the entry `key` had (`old`), or removes it if it had none.
template <class Map, class Value>
void put_back(Map& map, const std::string& key, std::optional<Value>& old) {
  if (old) {
    map[key] = std::move(*old);
  } else {
    map.erase(key);
  }
}

std::string partition_key(const std::string& build_request_id, const std::string& ref) {
  return build_request_id + '\n' + ref;
}

// The build request of a partition_key ('\n' cannot occur in a ref, so the last one splits).
std::string_view build_request_of(std::string_view key) { return key.substr(0, key.rfind('\n')); }

// Key spaces of the evicted-keys filter.
constexpr std::string_view kBuildKind = "b";
constexpr std::string_view kJobRunKind = "j";

}  // namespace

std::string_view to_string(ValidationMode mode) {
  switch (mode) {
    case ValidationMode::strict:
      return "strict";
    case ValidationMode::lenient:
      return "lenient";
  }
  return "strict";
}

std::optional<ValidationMode> parse_validation_mode(std::string_view text) {
  if (text == "strict") return ValidationMode::strict;
  if (text == "lenient") return ValidationMode::lenient;
  return std::nullopt;
}

TransitionState::TransitionState(ValidationMode mode) : mode_(mode) {}

Status TransitionState::apply(const BuildEvent& event, std::vector<std::string>* warnings) {
  const bool strict = mode_ == ValidationMode::strict;
  const Mark before = mark();
  Status status = check_and_apply(event, strict);
  if (status.ok()) return status;
  if (strict || status.error().code != ErrorCode::invalid_transition) {
    rollback(before);  // check_and_apply changes nothing when it rejects; this makes sure
    return status;
  }
  if (warnings != nullptr) warnings->push_back(status.error().message);
  return ok_status();
}

// Checks `event` and, unless it is illegal and `enforce` is set, applies its effect. Returns the
// first violation found (the event was applied anyway when !enforce).
Status TransitionState::check_and_apply(const BuildEvent& event, bool enforce) {
  const std::string& br_id = event.build_request_id();
  std::optional<Error> violation;
  auto violate = [&](std::string message) {
    if (!violation) violation = invalid_transition(std::move(message));
  };
  auto must_stop = [&] { return violation.has_value() && enforce; };
  auto result = [&]() -> Status {
    if (violation) return *violation;
    return ok_status();
  };

  auto found_br = find_build_request(br_id);
  if (!found_br.ok()) return found_br.error();
  const auto br_it = *found_br;
  const bool br_exists =
      br_it != build_requests_.end() && br_it->second != v1::BUILD_REQUEST_UNKNOWN;
  // Every event but a BuildRequestEvent needs its build request to exist and still be open.
  auto require_open_request = [&](const char* what) {
    if (!br_exists) {
      violate("build request " + br_id +
              " does not exist (its first event must be a build_request_event with "
              "BUILD_REQUEST_RECEIVED)");
    } else if (is_terminal(br_it->second)) {
      violate("build request " + br_id + " is " + response_status_name(br_it->second) +
              " (terminal): no " + what + " may follow");
    }
  };

  switch (event.event_type_case()) {
    case BuildEvent::kBuildRequestEvent: {
      BuildRequestStatus to = event.build_request_event().status_code();
      if (!br_exists) {
        if (to != v1::BUILD_REQUEST_RECEIVED) {
          violate("build request " + br_id + ": first status must be BUILD_REQUEST_RECEIVED, got " +
                  response_status_name(to));
        }
      } else {
        BuildRequestStatus from = br_it->second;
        if (is_terminal(from)) {
          violate("build request " + br_id + ": " + response_status_name(from) + " -> " +
                  response_status_name(to) + " is not allowed (terminal)");
        } else if (rank(to) <= rank(from)) {
          violate("build request " + br_id + ": " + response_status_name(from) + " -> " +
                  response_status_name(to) + " is not allowed (statuses only move forward)");
        }
      }
      if (must_stop()) return result();
      set_build_request(br_id, to);
      return result();
    }

    case BuildEvent::kBuildCancelEvent: {
      if (br_exists && is_terminal(br_it->second)) {
        violate("build request " + br_id + ": " + response_status_name(br_it->second) +
                " -> BUILD_REQUEST_CANCELLED is not allowed (terminal)");
      } else {
        require_open_request("build_cancel_event");
      }
      if (must_stop()) return result();
      set_build_request(br_id, v1::BUILD_REQUEST_CANCELLED);
      return result();
    }

    case BuildEvent::kJobEvent: {
      const auto& e = event.job_event();
      require_open_request("job_event");
      if (must_stop()) return result();
      const std::string& id = e.job_run_id();
      JobStatus to = e.status_code();
      auto found = find_job_run(id);
      if (!found.ok()) return found.error();
      const auto it = *found;
      if (it == job_runs_.end()) {
        if (to != v1::JOB_SCHEDULED && to != v1::JOB_SKIPPED) {
          violate("job run " + id + ": first status must be JOB_SCHEDULED or JOB_SKIPPED, got " +
                  response_status_name(to));
        }
        if (must_stop()) return result();
        set_job_run(id, JobRun{to, br_id, e.job_label().label()});
        return result();
      }
      JobRun run = it->second;
      if (run.build_request_id != br_id) {
        violate("job run " + id + " belongs to build request " + run.build_request_id + ", not " +
                br_id);
      } else if (run.job_label != e.job_label().label()) {
        violate("job run " + id + " has job label " + run.job_label + ", not " +
                e.job_label().label());
      } else if (is_terminal(run.status)) {
        violate("job run " + id + ": " + response_status_name(run.status) + " -> " +
                response_status_name(to) + " is not allowed (terminal)");
      } else if (to == v1::JOB_SKIPPED) {
        violate("job run " + id + ": " + response_status_name(run.status) +
                " -> JOB_SKIPPED is not allowed (JOB_SKIPPED may only be the first status)");
      } else if (rank(to) <= rank(run.status)) {
        violate("job run " + id + ": " + response_status_name(run.status) + " -> " +
                response_status_name(to) + " is not allowed (statuses only move forward)");
      }
      if (must_stop()) return result();
      run.status = to;  // a run keeps the build request and label of its first event
      set_job_run(id, std::move(run));
      return result();
    }

    case BuildEvent::kJobRunCancelEvent: {
      require_open_request("job_run_cancel_event");
      if (must_stop()) return result();
      const std::string& id = event.job_run_cancel_event().job_run_id();
      auto found = find_job_run(id);
      if (!found.ok()) return found.error();
      const auto it = *found;
      JobRun run{v1::JOB_UNKNOWN, br_id, ""};
      if (it == job_runs_.end()) {
        violate("job run " + id +
                " does not exist (its first event must be a job_event with JOB_SCHEDULED or "
                "JOB_SKIPPED)");
      } else {
        run = it->second;
        if (run.build_request_id != br_id) {
          violate("job run " + id + " belongs to build request " + run.build_request_id + ", not " +
                  br_id);
        } else if (is_terminal(run.status)) {
          violate("job run " + id + ": " + response_status_name(run.status) +
                  " -> JOB_CANCELLED is not allowed (terminal)");
        }
      }
      if (must_stop()) return result();
      run.status = v1::JOB_CANCELLED;
      set_job_run(id, std::move(run));
      return result();
    }

    case BuildEvent::kPartitionEvent:
    case BuildEvent::kDelegationEvent: {
      const bool is_delegation = event.has_delegation_event();
      require_open_request(is_delegation ? "delegation_event" : "partition_event");
      if (must_stop()) return result();
      const std::string& ref = is_delegation ? event.delegation_event().partition_ref().str()
                                             : event.partition_event().partition_ref().str();
      const PartitionStatus to =
          is_delegation ? v1::PARTITION_DELEGATED : event.partition_event().status_code();
      const std::string key = partition_key(br_id, ref);
      auto it = partitions_.find(key);
      RequestPartition p = it == partitions_.end() ? RequestPartition{} : it->second;
      // Words of a violation only: most partition events have none.
      auto who = [&] { return "partition " + ref + " in build request " + br_id + ": "; };
      auto move_text = [&] {
        return who() + response_status_name(p.status) + " -> " + response_status_name(to);
      };

      if (to == v1::PARTITION_INVALIDATED) {
        violate(who() +
                "PARTITION_INVALIDATED is not a partition_event status (record an invalidation "
                "with a partition_invalidation_event)");
      } else if (to == v1::PARTITION_DELEGATED) {
        bool& seen = is_delegation ? p.delegation_event_seen : p.delegated_partition_event_seen;
        const bool other_seen =
            is_delegation ? p.delegated_partition_event_seen : p.delegation_event_seen;
        const char* by = is_delegation ? "a delegation_event" : "a partition_event";
        if (seen) {
          violate(move_text() + " is not allowed (already delegated by " + by + ")");
        } else if (p.status == v1::PARTITION_DELEGATED && other_seen) {
          // The pair: a DelegationEvent and a PartitionEvent DELEGATED, in either order.
        } else if (is_terminal(p.status)) {
          violate(move_text() + " is not allowed (terminal)");
        } else if (p.status == v1::PARTITION_BUILDING) {
          violate(move_text() +
                  " is not allowed (PARTITION_DELEGATED may only follow PARTITION_REQUESTED or "
                  "PARTITION_SCHEDULED)");
        }
        seen = true;
      } else if (is_terminal(p.status)) {
        violate(move_text() + " is not allowed (terminal)");
      } else if (rank(to) <= rank(p.status)) {
        violate(move_text() + " is not allowed (statuses only move forward)");
      }
      if (must_stop()) return result();
      p.status = to;
      set_partition(key, std::move(p));
      return result();
    }

    case BuildEvent::kPartitionInvalidationEvent:
      // An invalidation by an id never received as a build request is an operator's action
      // (SPEC section 2; the console names it "operator:<user>"): it needs no build request.
      if (br_exists) require_open_request("partition_invalidation_event");
      return result();
    case BuildEvent::kJobGraphEvent:
      require_open_request("job_graph_event");
      return result();
    case BuildEvent::EVENT_TYPE_NOT_SET:
      break;
  }
  assert(false && "REQUIRES: check_structure(event).ok()");
  return make_error(ErrorCode::internal, "event without an event type reached the transitions");
}

void TransitionState::rollback(Mark m) {
  assert(m <= journal_.size() && "rollback to a mark from before the last commit");
  while (journal_.size() > m) {
    Undo& undo = journal_.back();
    switch (undo.kind) {
      case Undo::build_request:
        put_back(build_requests_, undo.key, undo.old_build_request);
        break;
      case Undo::job_run:
        put_back(job_runs_, undo.key, undo.old_job_run);
        break;
      case Undo::partition:
        put_back(partitions_, undo.key, undo.old_partition);
        break;
    }
    journal_.pop_back();
  }
}

Result<TransitionState::BuildRequests::iterator> TransitionState::find_build_request(
    const std::string& id) {
  if (auto it = build_requests_.find(id); it != build_requests_.end()) return it;
  if (source_ == nullptr || !evicted_.may_contain(kBuildKind, id)) {
    return build_requests_.end();  // all the log holds of it is in memory
  }
  std::vector<BuildEvent> events;
  ++source_reads_;
  BEL_RETURN_IF_ERROR(source_->events_of_build_request(id, events));
  // Its status and partitions depend on its own events only: fold them alone, leniently, as the
  // replay of committed history does. Unjournaled: this is what the log holds.
  TransitionState alone(ValidationMode::lenient);
  for (const auto& e : events) {
    if (e.build_request_id() == id) (void)alone.apply(e);
  }
  auto it = alone.build_requests_.find(id);
  auto back = build_requests_.emplace(
      id, it != alone.build_requests_.end() ? it->second : v1::BUILD_REQUEST_UNKNOWN);
  for (auto& [key, p] : alone.partitions_) partitions_.emplace(key, p);
  return back.first;
}

Result<TransitionState::JobRuns::iterator> TransitionState::find_job_run(const std::string& id) {
  if (auto it = job_runs_.find(id); it != job_runs_.end()) return it;
  if (source_ == nullptr || !evicted_.may_contain(kJobRunKind, id)) {
    return job_runs_.end();  // never in the log
  }
  std::vector<BuildEvent> events;
  ++source_reads_;
  BEL_RETURN_IF_ERROR(source_->events_of_job_run(id, events));
  TransitionState alone(ValidationMode::lenient);  // a run's state depends on its events only
  for (const auto& e : events) (void)alone.apply(e);
  auto it = alone.job_runs_.find(id);
  if (it == alone.job_runs_.end()) return job_runs_.end();
  return job_runs_.emplace(id, it->second).first;
}

size_t TransitionState::maybe_sweep(bool force) {
  assert(journal_.empty() && "sweep with uncommitted applies");
  if (source_ == nullptr) return 0;
  if (!force && resident() < std::max(sweep_floor_, 2 * kept_by_last_sweep_)) return 0;
  const size_t before = resident();
  // Terminal requests take no further legal event; they come back from the log if an event names
  // them again. A request never received is in memory only when read back so (a lenient log's
  // odd events): it goes with its partitions below.
  for (auto it = build_requests_.begin(); it != build_requests_.end();) {
    if (is_terminal(it->second)) {
      evicted_.add(kBuildKind, it->first);
      it = build_requests_.erase(it);
    } else if (it->second == v1::BUILD_REQUEST_UNKNOWN) {
      it = build_requests_.erase(it);  // as good as absent; its partitions are recorded below
    } else {
      ++it;
    }
  }
  for (auto it = job_runs_.begin(); it != job_runs_.end();) {
    if (is_terminal(it->second.status) || build_requests_.count(it->second.build_request_id) == 0) {
      evicted_.add(kJobRunKind, it->first);
      it = job_runs_.erase(it);
    } else {
      ++it;
    }
  }
  // A request's partitions go with it (find_build_request reads them back together), also those
  // of a request never received, which has no entry of its own.
  for (auto it = partitions_.begin(); it != partitions_.end();) {
    const std::string_view br = build_request_of(it->first);
    if (build_requests_.count(std::string(br)) == 0) {
      evicted_.add(kBuildKind, br);
      it = partitions_.erase(it);
    } else {
      ++it;
    }
  }
  kept_by_last_sweep_ = resident();
  return before - kept_by_last_sweep_;
}

std::optional<BuildRequestStatus> TransitionState::build_request_status(const std::string& id) {
  auto it = find_build_request(id);
  if (!it.ok() || *it == build_requests_.end() || (*it)->second == v1::BUILD_REQUEST_UNKNOWN) {
    return std::nullopt;
  }
  return (*it)->second;
}

std::optional<JobStatus> TransitionState::job_run_status(const std::string& job_run_id) {
  auto it = find_job_run(job_run_id);
  if (!it.ok() || *it == job_runs_.end()) return std::nullopt;
  return (*it)->second.status;
}

std::optional<std::string> TransitionState::job_run_summary(const std::string& job_run_id) {
  auto it = find_job_run(job_run_id);
  if (!it.ok() || *it == job_runs_.end()) return std::nullopt;
  const JobRun& run = (*it)->second;
  return std::string(response_status_name(run.status)) + " " + run.build_request_id + " " +
         run.job_label;
}

std::optional<PartitionStatus> TransitionState::partition_status(
    const std::string& build_request_id, const std::string& partition_ref) {
  // Reads a dropped build request back with its partitions.
  if (!find_build_request(build_request_id).ok()) return std::nullopt;
  auto it = partitions_.find(partition_key(build_request_id, partition_ref));
  if (it == partitions_.end()) return std::nullopt;
  return it->second.status;
}

// Each set_ looks its key up once: the undo record takes the previous value (moved out, as the
// new one replaces it), then the new value goes in.
void TransitionState::set_build_request(const std::string& id, BuildRequestStatus status) {
  auto [it, inserted] = build_requests_.try_emplace(id, status);
  Undo& undo = journal_.emplace_back(
      Undo{Undo::build_request, id, std::nullopt, std::nullopt, std::nullopt});
  if (!inserted) undo.old_build_request = std::exchange(it->second, status);
}

void TransitionState::set_job_run(const std::string& id, JobRun run) {
  auto [it, inserted] = job_runs_.try_emplace(id);
  Undo& undo =
      journal_.emplace_back(Undo{Undo::job_run, id, std::nullopt, std::nullopt, std::nullopt});
  if (!inserted) undo.old_job_run = std::move(it->second);
  it->second = std::move(run);
}

void TransitionState::set_partition(const std::string& key, RequestPartition p) {
  auto [it, inserted] = partitions_.try_emplace(key, p);
  Undo& undo =
      journal_.emplace_back(Undo{Undo::partition, key, std::nullopt, std::nullopt, std::nullopt});
  if (!inserted) undo.old_partition = std::exchange(it->second, p);
}

}  // namespace bel::write
