// Internal to bel_sim: the simulation's worker actor. A worker asks the controller for a build
// request number, plans it (plan_build), and carries the plan out through bel_api step by step
// (sim_steps.cc), with at most options.window requests in flight, `overloaded` answers retried
// and other errors ending the request (sim_worker.cc); then it asks for the next number.
//
//   self->spawn<caf::monitored>(worker::sim_worker, options, run_id, api, controller);
//   // the controller answers next_atom with (number, known_idx); number 0 stops the worker
#ifndef BEL_ACTORS_SIM_SIM_WORKER_H_
#define BEL_ACTORS_SIM_SIM_WORKER_H_

#include <spdlog/spdlog.h>

#include <caf/all.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/bel_api.h"
#include "actors/sim/flow_steps.h"
#include "actors/sim/plan.h"
#include "actors/sim/simulator.h"

namespace bel::sim::worker {

// Asked by a worker with its last request's share of the report; answered with the next build
// request number (0: stop) and the highest idx the simulation knows committed.
using next_atom = caf::atom_constant<caf::atom("simnext")>;
// Sent by the controller when the simulation stops: the worker drops its pace and sends what it
// held back for it at once, so the builds under way finish now rather than at the rate.
using hurry_atom = caf::atom_constant<caf::atom("simhurry")>;

// The pace of one worker: `events_per_second` (0: none). Time the worker did not use is not
// banked: after a pause, batches go at the rate again, not in a burst.
class Pace {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Pace(double events_per_second = 0) : rate_(events_per_second) {}
  // When a batch of `events` asked for at `now` may go (now or later); books its share.
  Clock::time_point admit(Clock::time_point now, size_t events);

 private:
  double rate_;
  Clock::time_point free_at_{};  // when the events booked so far have had their time
};

std::shared_ptr<spdlog::logger> sim_log();
int64_t wall_clock_ns();

// Counts an error in `report` (keeping the first kMaxReportedErrors messages) and logs it.
void record_error(SimulationReport& report, const std::string& message);

// The terminal status ("BUILD_REQUEST_CANCELLED", ...) in which an invalid_transition `message`
// says build request `build_request_id` already is, in either wording of the transition rules:
// "build request ID is STATUS (terminal): ..." (an event of its job runs or partitions refused)
// or "build request ID: STATUS -> ... (terminal)" (its own status event refused). "" when the
// message says no such thing.
std::string ended_build_status(const std::string& message, const std::string& build_request_id);

// One partition of the build request a worker drives.
struct PartRun {
  PartOutcome outcome = PartOutcome::open;
  PartitionStatusResponse status;  // as the request found it while planning
  bool invalidated = false;
  std::string job_run_id;
  int64_t running_since = 0;  // wall clock when its job run was acknowledged RUNNING
};

// The build request a worker drives.
struct BuildRun {
  PlannedBuild plan;
  std::vector<PartRun> parts;
  SimulationReport outcome;  // this request's share of the report
  int max_wave = 0;
  int wave = -1;
  size_t wave_open = 0;      // partitions of the current wave not resolved yet
  size_t statuses_open = 0;  // partition_status answers still to come
  bool acked_any = false;    // some event of this request is in the log
  bool ending = false;       // an error: no new steps; FAILED once quiet
  std::string first_error;
  // Someone else (an operator) ended the request or cancelled one of its job runs: the worker
  // stops its steps without counting an error. `request_ended` when the request itself ended
  // (nothing more to append), else the job run it names (the request then ends FAILED).
  bool request_ended = false;
  std::string cancelled_run;
};

struct WorkerState {
  SimulationOptions options;
  std::string run_id;
  actors::BelApi api;
  caf::actor controller;
  int in_flight = 0;                                  // requests to api awaiting an answer
  std::deque<std::function<void()>> waiting;          // requests held back by the window
  std::map<uint64_t, std::function<void()>> retries;  // steps waiting to retry
  bool api_down = false;  // the coordinator went down: nothing is retried
  uint64_t next_token = 0;
  Pace pace;              // options.rate shared evenly by the workers
  int64_t known_idx = 0;  // the highest idx this worker knows committed
  std::unique_ptr<BuildRun> build;
  static inline const char* name = "bel.sim.worker";
};

using WorkerPtr = caf::stateful_actor<WorkerState>*;

// The worker's behavior (see the top of this file).
caf::behavior sim_worker(WorkerPtr self, SimulationOptions options, std::string run_id,
                         actors::BelApi api, caf::actor controller);

// ---- For the steps (sim_steps.cc), from the transport (sim_worker.cc) ----

// Appends `batch` atomically; calls `on_ok` after its COMMIT unless the request is ending.
void append(WorkerPtr self, std::shared_ptr<std::vector<BuildEvent>> batch,
            std::function<void()> on_ok, int attempt = 0);
// `batch` to hand to append(). Its events carry no timestamp: the log stamps them with its clock
// at commit, so a worker's events never go back in time and none predates the run.
std::shared_ptr<std::vector<BuildEvent>> shared(std::vector<BuildEvent> batch);
// Asks `query` with min_idx = what this worker knows; `on_ok` gets the answer.
void ask(WorkerPtr self, Query query, std::function<void(const QueryResult&)> on_ok,
         int attempt = 0);
// The request is over (its last event acknowledged): report it and take the next.
void finish_build(WorkerPtr self);

// ---- For the transport, from the steps ----

// Plans build request `number` and logs its first step.
void start_build(WorkerPtr self, int64_t number);

}  // namespace bel::sim::worker

#endif  // BEL_ACTORS_SIM_SIM_WORKER_H_
