// Simulated in-process build workers for `bel serve --simulate` and `bel run`: event-based CAF
// actors that drive seeded, DataBuild-like build requests through bel_api (SPEC section 5), with
// a bounded number of requests in flight per worker.
//
//   bel::app::SimulationOptions options;
//   options.seed = 7;
//   options.builds = 40;
//   auto report = bel::app::run_simulation(system, api, options, std::chrono::seconds(30));
//   if (!report.ok()) die(report.error());      // invalid options, or it did not finish in time
//   std::printf("%lld events\n", static_cast<long long>(report->events_appended));
//
//   // bel serve --simulate: keep going until stopped.
//   options.builds = 0;
//   auto sim = bel::app::start_simulation(system, api, options,
//                                         [](const SimulationReport& r) { log(r); });
//   ...
//   caf::anon_send(*sim, bel::app::stop_atom::value);  // finishes the builds under way (no
//                                                      // longer paced), then calls on_done
//                                                      // and terminates
//
// What the workers log. A catalogue of datasets, each built by one job per date
// ("raw/orders/2026-11-21" by "//raw:ingest", "clean/orders/..." by "//clean:orders" from it,
// "sales/daily/..." by "//sales:daily", "reports/revenue/..." by "//reports:revenue", ...) and a
// stream of build requests, each wanting a few partitions of one recent date, so requests
// collide.
// A worker takes one build request at a time:
//   1. RECEIVED, PLANNING (one batch).
//   2. The status of every partition the request needs (its wanted partitions and everything
//      upstream of them, same date). An AVAILABLE one is delegated to the build request that
//      built it (DelegationEvent, a JOB_SKIPPED job run, sometimes a PartitionEvent DELEGATED),
//      unless the plan says its data arrived late: then it is invalidated
//      (PartitionInvalidationEvent, and everything downstream of it in the request too) and
//      rebuilt. Then one batch: JobGraphEvent, the delegations and invalidations, REQUESTED for
//      every partition to build, ANALYSIS_COMPLETED, EXECUTING.
//   3. The partitions to build in waves, upstream first (all partitions of one wave at once):
//      if an older build request of this simulation run has it in progress (active_builds), it
//      is delegated to the oldest such (DelegationEvent and/or PartitionEvent DELEGATED; only
//      to older ones, so two requests never delegate to each other); if something
//      upstream failed in this request it is FAILED without a job; else a job run: JOB_SCHEDULED
//      + SCHEDULED, JOB_RUNNING + BUILDING, then JOB_COMPLETED + AVAILABLE, or by seeded chance
//      JOB_FAILED + FAILED with a message like "exit code 1: upstream file missing: ...".
//   4. COMPLETED, or FAILED naming the failed partitions. A build request the plan cancels is
//      cancelled once its jobs of one wave are running: JobRunCancelEvent for each, then
//      BuildCancelEvent.
// Every event is valid under the strict rules of SPEC section 2. A delegating request does not
// wait for the partition it delegated to be built (a simulation shortcut).
//
// Ids: build requests "br-<run_id>-<n>" (n = 1, 2, ... zero-padded to 6 digits), job runs
// "jr-<run_id>-<n>-<k>", so runs on one log never collide. Event ids are left to the log.
//
// Timestamps: the workers leave them to the log, which stamps each event with its clock at
// commit, so a worker's events never go back in time (along idx) and none predates the run. A
// job's manifest says when it really ran.
//
// Pace: `rate` events per second in all (shared evenly by the workers), 0 for as fast as the log
// takes them. `bel serve --simulate` paces by default so that a person can watch it and a demo
// left running does not fill the disk; `bel run` does not.
//
// Reproducibility: the plan of build request n (its partitions, failures, cancellation,
// invalidations, durations) is a pure function of the seed and n, whatever the number of
// workers. What still varies between runs: the run id in every id (unless run_id is given), the
// timestamps, and the interleaving of the workers, hence which partitions a request finds
// already built or in progress (delegated rather than built). With workers = 1 and window = 1 on
// a fresh log and a fixed run_id the events are the same on every run but for their times.
//
// Code: the plans, the catalogue and the events of each step are the workload generator's
// (plan.h, flow_steps.h, library bel_workload); the worker actors are in sim_worker.{h,cc} (the
// transport: window, retries, errors) and sim_steps.cc (one build request, step by step); this
// file's .cc holds the controller that hands out build numbers and collects the report.
//
// Errors: a passing refusal is retried after a delay (doubling, bounded): `overloaded`, and
// `storage_unavailable` or `timeout` while the coordinator is up (a PostgreSQL server restarting;
// each event carries an event_id from its first attempt, so a retry of an append that was
// committed after all is answered duplicate). Any other error is counted in the report, the
// build request is ended (FAILED, best effort) and the worker carries on. After max_errors errors,
// or when the coordinator goes down, no new build request starts. Nothing throws.
#ifndef BEL_ACTORS_SIM_SIMULATOR_H_
#define BEL_ACTORS_SIM_SIMULATOR_H_

#include <caf/all.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actors/bel_api.h"
#include "actors/sim/plan.h"
#include "messages/error.h"

namespace bel::sim {

struct SimulationOptions {
  uint64_t seed = 1;
  int workers = 4;  // worker actors, each driving one build request at a time; >= 1
  int builds = 40;  // build requests in total; 0 = until stopped (start_simulation only)
  int window = 16;  // requests in flight per worker, at most; >= 1
  // The catalogue: a request wants partitions of one of the `days` most recent dates; a new date
  // arrives every `builds_per_day` requests (the first date is 2026-11-21).
  int days = 3;
  int builds_per_day = 10;
  // Chances, each drawn once per partition or request by the plan: a job run fails; a build
  // request is cancelled midway; an available partition a request needs got late data, so the
  // request invalidates it (and whatever it needs downstream of it) and rebuilds it.
  double failure_rate = 0.05;
  double cancel_rate = 0.08;
  double invalidate_rate = 0.03;
  // Prefix of build request and job run ids; when empty, 6 hex digits derived from the seed and
  // the clock.
  std::string run_id;
  double rate = 0;  // events per second, all workers together; 0 = no pace (see "Pace")
  static constexpr double kMaxRate = 1e7;            // the highest `rate` check_options takes
  static constexpr double kMinRate = 1e-3;           // the lowest but 0: an event in ~17 minutes
  std::chrono::milliseconds request_timeout{30000};  // per request to bel_api
  int max_retries = 20;                              // retries of a passing refusal per step
  std::chrono::milliseconds retry_delay{10};         // first retry; doubles up to 1 s
  int max_errors = 100;  // no new build request starts after this many errors
};

// Counts since the simulation started. A build request is counted once it ended.
struct SimulationReport {
  int64_t events_appended = 0;  // events the log acknowledged (not duplicates)
  int64_t builds_completed = 0;
  int64_t builds_failed = 0;  // including those ended by an error
  int64_t builds_cancelled = 0;
  int64_t delegations_active = 0;      // to a build request building the partition
  int64_t delegations_historical = 0;  // to the build request that built it (JOB_SKIPPED run)
  int64_t jobs_failed = 0;
  int64_t invalidations = 0;  // PartitionInvalidationEvents
  int64_t errors = 0;         // requests that failed (not counting those retried)
  std::vector<std::string> error_messages;  // the first kMaxReportedErrors
  int64_t last_idx = 0;                     // the highest idx acknowledged
  // Every build request started, ascending by number (at most kMaxReportedBuilds: the first).
  std::vector<std::string> build_request_ids;
};

// True when `rate` is 0 (no pace) or within [kMinRate, kMaxRate]: the options' check and the
// command line's say it the same way. (Below kMinRate an event's share of time would overflow
// the clock's duration and pace nothing.)
inline bool rate_in_range(double rate) {
  return rate == 0 || (rate >= SimulationOptions::kMinRate && rate <= SimulationOptions::kMaxRate);
}

inline constexpr size_t kMaxReportedErrors = 20;
inline constexpr size_t kMaxReportedBuilds = 100000;

// Adds the counts of `part` to `into` (ids and messages appended, within their bounds).
void merge_report(SimulationReport& into, const SimulationReport& part);

// So that a report can travel in CAF messages.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, SimulationReport& x) {
  return f(caf::meta::type_name("bel.app.SimulationReport"), x.events_appended, x.builds_completed,
           x.builds_failed, x.builds_cancelled, x.delegations_active, x.delegations_historical,
           x.jobs_failed, x.invalidations, x.errors, x.error_messages, x.last_idx,
           x.build_request_ids);
}

using stop_atom = caf::atom_constant<caf::atom("stop")>;
using report_atom = caf::atom_constant<caf::atom("report")>;

// The handle of a running simulation.
using SimulationActor = caf::typed_actor<
    // Starts no new build request; the ones under way finish, then on_done is called and the
    // simulation terminates. An exit message with reason user_shutdown does the same; one with
    // any other reason ends it at once, its workers with it (kill itself would leave them going).
    caf::reacts_to<stop_atom>,
    // The counts so far.
    caf::replies_to<report_atom>::with<SimulationReport>>;

// Spawns the simulation's workers on `system`, appending to and querying `api`. `on_done` (may
// be empty) is called once, from an actor thread, with the final report when every worker has
// stopped: after options.builds build requests, or after a stop. invalid_argument for bad
// options. The simulation does not own `api`: stop it before stopping the coordinator (if the
// coordinator goes down first, the simulation stops on its own, counting the errors).
Result<SimulationActor> start_simulation(caf::actor_system& system, const actors::BelApi& api,
                                         SimulationOptions options,
                                         std::function<void(const SimulationReport&)> on_done = {});

// Runs a simulation of options.builds (> 0) build requests and blocks until it is done. When it
// is not done within `timeout` it is stopped (the build requests under way finish, for a few
// seconds at most) and the result is a timeout error saying how far it got. `progress`, when
// given, is called on the calling thread about every 200 ms with the counts so far.
// REQUIRES: not called from an actor.
Result<SimulationReport> run_simulation(
    caf::actor_system& system, const actors::BelApi& api, const SimulationOptions& options,
    std::chrono::milliseconds timeout,
    const std::function<void(const SimulationReport&)>& progress = {});

// ---- The plan (pure; exposed for tests and for printing what a run will do) ------------------

// PlannedBuild and PlannedPartition: actors/sim/plan.h.

// Build request number `number` (>= 1) of the plan of options.seed; ids use `run_id`. The same
// arguments give the same plan.
PlannedBuild plan_build(const SimulationOptions& options, const std::string& run_id,
                        int64_t number);

}  // namespace bel::sim

#endif  // BEL_ACTORS_SIM_SIMULATOR_H_
