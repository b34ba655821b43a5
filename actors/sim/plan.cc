#include "actors/sim/plan.h"

#include <algorithm>
#include <utility>

namespace bel::sim {

PlannedBuild plan_for_unit(const PlanRates& rates, Rng& rng, int64_t number,
                           std::string build_request_id, const std::string& unit) {
  const auto& datasets = catalogue();
  PlannedBuild plan;
  plan.number = number;
  plan.build_request_id = std::move(build_request_id);

  // 1 to 3 wanted datasets, by weight.
  int total_weight = 0;
  for (const auto& d : datasets) total_weight += d.weight;
  std::vector<int> wanted;
  const int want = 1 + static_cast<int>(rng.below(3));
  for (int tries = 0; static_cast<int>(wanted.size()) < want && tries < 10; ++tries) {
    int r = static_cast<int>(rng.below(static_cast<uint64_t>(total_weight)));
    int pick = 0;
    while (r >= datasets[static_cast<size_t>(pick)].weight) {
      r -= datasets[static_cast<size_t>(pick)].weight;
      ++pick;
    }
    if (std::find(wanted.begin(), wanted.end(), pick) == wanted.end()) wanted.push_back(pick);
  }
  std::sort(wanted.begin(), wanted.end());

  // The closure, upstream first (dataset order is already topological).
  std::vector<bool> needed(datasets.size(), false);
  for (int w : wanted) needed[static_cast<size_t>(w)] = true;
  for (size_t d = datasets.size(); d-- > 0;) {
    if (!needed[d]) continue;
    for (int dep : datasets[d].deps) needed[static_cast<size_t>(dep)] = true;
  }
  std::vector<int> index_of(datasets.size(), -1);
  for (size_t d = 0; d < datasets.size(); ++d) {
    if (!needed[d]) continue;
    const Dataset& ds = datasets[d];
    PlannedPartition p;
    p.ref = std::string(ds.name) + "/" + unit;
    p.job_label = ds.job_label;
    p.dataset = static_cast<int>(d);
    for (int dep : ds.deps) {
      const size_t u = static_cast<size_t>(index_of[static_cast<size_t>(dep)]);
      p.upstream.push_back(u);
      p.wave = std::max(p.wave, plan.partitions[u].wave + 1);
    }
    p.job_fails = rng.chance(rates.failure_rate);
    p.failure_message = format_text(rng.pick(ds.failures), unit);
    p.invalidate_if_available = rng.chance(rates.invalidate_rate);
    const uint64_t style = rng.below(10);
    p.delegation_style = style < 4 ? 0 : style < 7 ? 1 : style < 9 ? 2 : 3;
    p.run_ns = rng.between(ds.run_min_s, ds.run_max_s) * kSecond + rng.between(0, 999) * kMs;
    p.rows = rng.between(20000, 5000000);
    index_of[d] = static_cast<int>(plan.partitions.size());
    if (std::find(wanted.begin(), wanted.end(), static_cast<int>(d)) != wanted.end()) {
      plan.requested_partitions.push_back(p.ref);
    }
    plan.partitions.push_back(std::move(p));
  }
  if (rng.chance(rates.cancel_rate)) {
    plan.cancel_wave = static_cast<int>(rng.below(static_cast<uint64_t>(max_wave(plan) + 1)));
    plan.cancel_reason = rng.pick(cancel_reasons());
  }
  plan.requested_by = rng.pick(requesters());
  plan.planning_ns = rng.between(800, 6000) * kMs;
  return plan;
}

Rng build_rng(uint64_t seed, int64_t number) {
  return Rng(mix(seed * 0x2545f4914f6cdd1dULL ^ mix(static_cast<uint64_t>(number))));
}

int max_wave(const PlannedBuild& plan) {
  int out = 0;
  for (const auto& p : plan.partitions) out = std::max(out, p.wave);
  return out;
}

}  // namespace bel::sim
