#include <algorithm>
#include <memory>
#include <utility>

#include "actors/sim/flow_events.h"
#include "actors/sim/flow_steps.h"
#include "actors/sim/sim_worker.h"

// The steps of one build request a worker drives (see sim_worker.h): planning, the jobs in
// waves, the end. Each step appends one batch and goes on once it is committed.
namespace bel::sim::worker {
namespace {

void start_wave(WorkerPtr self, int wave);

void cancel_build(WorkerPtr self) {
  BuildRun& b = *self->state.build;
  std::vector<std::string> running;
  for (const auto& part : b.parts) {
    if (part.outcome == PartOutcome::running) running.push_back(part.job_run_id);
  }
  append(self, shared(cancel_events(b.plan, running)), [=] {
    ++self->state.build->outcome.builds_cancelled;
    finish_build(self);
  });
}

void complete_build(WorkerPtr self) {
  BuildRun& b = *self->state.build;
  std::vector<PartOutcome> outcomes;
  for (const auto& part : b.parts) outcomes.push_back(part.outcome);
  BuildEvent end = build_end_event(b.plan, outcomes);
  const bool ok = end.build_request_event().status_code() == v1::BUILD_REQUEST_COMPLETED;
  append(self, shared({std::move(end)}), [=] {
    auto& outcome = self->state.build->outcome;
    ++(ok ? outcome.builds_completed : outcome.builds_failed);
    finish_build(self);
  });
}

// Every partition of the current wave is resolved (or parked, in the wave that is cancelled).
void wave_done(WorkerPtr self) {
  BuildRun& b = *self->state.build;
  if (b.wave == b.plan.cancel_wave) {
    cancel_build(self);
  } else {
    start_wave(self, b.wave + 1);
  }
}

void part_done(WorkerPtr self) {
  BuildRun& b = *self->state.build;
  if (--b.wave_open == 0) wave_done(self);
}

void end_job(WorkerPtr self, size_t i) {
  BuildRun& b = *self->state.build;
  const PlannedPartition& p = b.plan.partitions[i];
  PartRun& part = b.parts[i];
  const int64_t started = part.running_since;
  std::vector<BuildEvent> batch = end_job_events(b.plan, i, part.job_run_id);
  if (!p.job_fails) {
    // The manifest says when the job really ran (the events' times come from the log).
    auto* manifest = batch[0].mutable_job_event()->mutable_manifests(0);
    manifest->set_start_time(started);
    manifest->set_end_time(std::max(started, wall_clock_ns()));
  }
  append(self, shared(std::move(batch)), [=] {
    BuildRun& b = *self->state.build;
    const PlannedPartition& p = b.plan.partitions[i];
    if (p.job_fails) {
      b.parts[i].outcome = PartOutcome::failed;
      ++b.outcome.jobs_failed;
    } else {
      b.parts[i].outcome = PartOutcome::available;
    }
    part_done(self);
  });
}

void run_job(WorkerPtr self, size_t i) {
  BuildRun& b = *self->state.build;
  PartRun& part = b.parts[i];
  std::vector<BuildEvent> batch = run_job_events(b.plan, i, part.job_run_id);
  append(self, shared(std::move(batch)), [=] {
    BuildRun& b = *self->state.build;
    b.parts[i].running_since = wall_clock_ns();
    if (b.wave == b.plan.cancel_wave) {
      // Cancelled once every job of this wave runs: park it.
      b.parts[i].outcome = PartOutcome::running;
      part_done(self);
    } else {
      end_job(self, i);
    }
  });
}

void schedule_job(WorkerPtr self, size_t i) {
  BuildRun& b = *self->state.build;
  PartRun& part = b.parts[i];
  part.job_run_id = job_run_id(self->state.run_id, b.plan, i);
  append(self, shared(schedule_job_events(b.plan, i, part.job_run_id, self->state.run_id)),
         [=] { run_job(self, i); });
}

// The lowest-numbered older build request of this run among `ids`, or "".
std::string older_builder(WorkerPtr self, const ActiveBuildsResponse& active) {
  const BuildRun& b = *self->state.build;
  const std::string prefix = "br-" + self->state.run_id + "-";
  std::string best;
  int64_t best_number = b.plan.number;
  for (const auto& other : active.build_request_ids()) {
    if (other.size() <= prefix.size() || other.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = other.substr(prefix.size());
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        digits.size() > 12) {
      continue;
    }
    const int64_t number = std::stoll(digits);
    if (number < best_number) {
      best_number = number;
      best = other;
    }
  }
  return best;
}

void resolve_partition(WorkerPtr self, size_t i) {
  BuildRun& b = *self->state.build;
  const PlannedPartition& p = b.plan.partitions[i];
  for (size_t u : p.upstream) {
    if (b.parts[u].outcome != PartOutcome::failed) continue;
    auto batch = shared({upstream_failed_event(b.plan, i, u)});
    append(self, batch, [=] {
      self->state.build->parts[i].outcome = PartOutcome::failed;
      part_done(self);
    });
    return;
  }
  Query q;
  q.mutable_active_builds()->set_partition_ref(p.ref);
  ask(self, q, [=](const QueryResult& r) {
    BuildRun& b = *self->state.build;
    const PlannedPartition& p = b.plan.partitions[i];
    const std::string to = older_builder(self, r.active_builds());
    if (to.empty()) {
      schedule_job(self, i);
      return;
    }
    std::vector<BuildEvent> batch;
    add_delegation(batch, b.plan.build_request_id, p.ref, to, p.delegation_style,
                   "being built by " + to);
    append(self, shared(std::move(batch)), [=] {
      BuildRun& b = *self->state.build;
      b.parts[i].outcome = PartOutcome::delegated;
      ++b.outcome.delegations_active;
      part_done(self);
    });
  });
}

void start_wave(WorkerPtr self, int wave) {
  BuildRun& b = *self->state.build;
  if (wave > b.max_wave) {
    complete_build(self);
    return;
  }
  b.wave = wave;
  std::vector<size_t> todo;
  for (size_t i = 0; i < b.parts.size(); ++i) {
    if (b.plan.partitions[i].wave == wave && b.parts[i].outcome == PartOutcome::open) {
      todo.push_back(i);
    }
  }
  b.wave_open = todo.size();
  if (todo.empty()) {
    wave_done(self);
    return;
  }
  for (size_t i : todo) {
    resolve_partition(self, i);
  }
}

// Every partition's status is known: delegate what is available, invalidate what arrived late,
// request the rest.
void analyse(WorkerPtr self) {
  BuildRun& b = *self->state.build;
  std::vector<Availability> found(b.parts.size());
  for (size_t i = 0; i < b.parts.size(); ++i) {
    const auto& status = b.parts[i].status;
    if (status.status_code() != v1::PARTITION_AVAILABLE) continue;
    found[i] = Availability{status.build_request_id(), status.job_run_id()};
  }
  PlanningBatch planning = planning_batch(b.plan, found, self->state.run_id);
  for (size_t i = 0; i < b.parts.size(); ++i) {
    if (planning.historical[i]) b.parts[i].outcome = PartOutcome::historical;
    b.parts[i].invalidated = planning.invalidated[i];
  }
  const int historical = planning.historical_count;
  const int invalidated = planning.invalidated_count;
  append(self, shared(std::move(planning.events)), [=] {
    BuildRun& b = *self->state.build;
    b.outcome.delegations_historical += historical;
    b.outcome.invalidations += invalidated;
    start_wave(self, 0);
  });
}

}  // namespace

void start_build(WorkerPtr self, int64_t number) {
  auto& st = self->state;
  st.build = std::make_unique<BuildRun>();
  BuildRun& b = *st.build;
  b.plan = plan_build(st.options, st.run_id, number);
  b.parts.resize(b.plan.partitions.size());
  for (const auto& p : b.plan.partitions) b.max_wave = std::max(b.max_wave, p.wave);
  b.outcome.build_request_ids.push_back(b.plan.build_request_id);
  std::vector<BuildEvent> batch = received_events(b.plan);
  append(self, shared(std::move(batch)), [=] {
    BuildRun& b = *self->state.build;
    b.statuses_open = b.parts.size();
    for (size_t i = 0; i < b.parts.size(); ++i) {
      Query q;
      q.mutable_partition_status()->set_partition_ref(b.plan.partitions[i].ref);
      ask(self, q, [=](const QueryResult& r) {
        BuildRun& b = *self->state.build;
        b.parts[i].status = r.partition_status();
        if (--b.statuses_open == 0) analyse(self);
      });
    }
  });
}

}  // namespace bel::sim::worker
