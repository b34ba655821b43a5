// The plan of one DataBuild build request: which partitions of one date (or unit) it wants,
// everything upstream of them in the catalogue, and what will happen to each (a failing job,
// late data that forces a rebuild, how a delegation is logged, how long things take), plus
// whether and when the request is cancelled. The simulator's workers and the workload generator
// both carry out these plans.
//
//   bel::sim::Rng rng = bel::sim::build_rng(seed, number);
//   bel::sim::PlanRates rates;           // failure_rate, cancel_rate, invalidate_rate
//   auto plan = bel::sim::plan_for_unit(rates, rng, number, "br-x-000007", "2026-11-21");
//   for (const auto& p : plan.partitions) ...   // upstream first; p.wave orders the jobs
//
// Pure code: no I/O, no clock.
#ifndef BEL_ACTORS_SIM_PLAN_H_
#define BEL_ACTORS_SIM_PLAN_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "actors/sim/catalogue.h"

namespace bel::sim {

struct PlannedPartition {
  std::string ref;               // "sales/daily/2026-11-21"
  std::string job_label;         // "//sales:daily"
  int dataset = 0;               // index into catalogue()
  std::vector<size_t> upstream;  // indexes into PlannedBuild::partitions, all before this one
  int wave = 0;                  // 0 for sources, else 1 + the highest wave upstream
  bool job_fails = false;
  std::string failure_message;           // when job_fails: "exit code 1: ..."
  bool invalidate_if_available = false;  // late data arrived: rebuild it even if AVAILABLE
  int delegation_style = 0;  // 0: DelegationEvent; 1: and then PartitionEvent DELEGATED;
                             // 2: PartitionEvent DELEGATED, then DelegationEvent; 3: only the
                             // PartitionEvent
  int64_t run_ns = 0;        // how long the job is expected to run: it picks the worker pool
  int64_t rows = 0;          // rows written when the job completes
};

struct PlannedBuild {
  int64_t number = 0;
  std::string build_request_id;
  std::vector<std::string> requested_partitions;
  std::vector<PlannedPartition> partitions;  // requested ones and their upstream, upstream first
  int cancel_wave = -1;       // cancelled when its jobs of this wave run; -1: not cancelled
  std::string requested_by;   // RECEIVED message
  std::string cancel_reason;  // when cancel_wave >= 0
  int64_t planning_ns = 0;    // simulated time from RECEIVED to ANALYSIS_COMPLETED
};

// Chances, each drawn once per partition or request: a job run fails; a build request is
// cancelled midway; an available partition a request needs got late data, so the request
// invalidates it (and whatever it needs downstream of it) and rebuilds it.
struct PlanRates {
  double failure_rate = 0.05;
  double cancel_rate = 0.08;
  double invalidate_rate = 0.03;
};

// The plan of build request `number` with id `build_request_id`, wanting 1 to 3 datasets (by
// catalogue weight) of `unit`; a partition's ref is "<dataset name>/<unit>". Draws from `rng`
// only, so the same rng state gives the same plan.
PlannedBuild plan_for_unit(const PlanRates& rates, Rng& rng, int64_t number,
                           std::string build_request_id, const std::string& unit);

// The rng of build request `number`'s plan under `seed`: each request gets its own stream, so a
// plan does not depend on the plans before it.
Rng build_rng(uint64_t seed, int64_t number);

// The highest wave of `plan` (0 when it has no partitions).
int max_wave(const PlannedBuild& plan);

}  // namespace bel::sim

#endif  // BEL_ACTORS_SIM_PLAN_H_
