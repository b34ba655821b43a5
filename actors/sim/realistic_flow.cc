// The realistic mode of the workload generator (workload.h): planned DataBuild build requests
// carried out against an in-memory picture of the partitions (who is building what, who built
// what), so that delegations and invalidations point at real build requests.
#include <algorithm>
#include <cstdio>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "actors/sim/flow_events.h"
#include "actors/sim/flow_steps.h"
#include "actors/sim/plan.h"
#include "actors/sim/workload_flow.h"

namespace bel::sim {
namespace {

constexpr int64_t kDaysPerRegion = 730;  // a unit is a date; past two years, a region too

class RealisticFlow : public Workload::Flow {
 public:
  explicit RealisticFlow(const WorkloadOptions& options)
      : Flow(options), per_unit_(static_cast<int64_t>(catalogue().size())) {
    units_ = std::max<int64_t>(1, (options.partitions + per_unit_ - 1) / per_unit_);
    regions_ = (units_ + kDaysPerRegion - 1) / kDaysPerRegion;
    hot_units_ = std::clamp<int64_t>(
        static_cast<int64_t>(static_cast<double>(units_) * options.hot_fraction), 1, units_);
    building_by_.assign(static_cast<size_t>(units_ * per_unit_), 0);
    built_by_.assign(static_cast<size_t>(units_ * per_unit_), 0);
    rates_.failure_rate = options.failure_rate;
    rates_.cancel_rate = options.cancel_rate;
    rates_.invalidate_rate = options.invalidate_rate;
  }

  std::string partition_ref(int64_t n) const override {
    return std::string(catalogue()[static_cast<size_t>(n % per_unit_)].name) + "/" +
           unit_name(n / per_unit_);
  }
  int64_t partition_count() const override { return units_ * per_unit_; }

 private:
  struct Part {
    int64_t pid = 0;  // in the partition space
    PartOutcome outcome = PartOutcome::open;
    PartOutcome result = PartOutcome::open;  // the outcome once its queue is logged
    bool cancel_job = false;                 // its job run is cancelled while running
    std::string job_run_id;
    std::deque<BuildEvent> queue;  // its events still to log
    int64_t running_ns = 0;        // timestamp of its JOB_RUNNING
  };
  struct Build {
    enum Phase { planning, executing, ending };
    PlannedBuild plan;
    std::vector<Part> parts;
    std::deque<BuildEvent> queue;  // request-level events still to log
    Phase phase = planning;
    int wave = -1;
    int max_wave = 0;
  };

  void step() override {
    if (options_.operator_invalidation_rate > 0 &&
        rng_.chance(options_.operator_invalidation_rate)) {
      operator_invalidation();
      return;
    }
    if (open_.size() < static_cast<size_t>(options_.concurrent_builds) &&
        (open_.empty() || rng_.percent(20))) {
      start_build();
      return;
    }
    const size_t k = rng_.below(open_.size());
    advance(*open_[k]);
    if (open_[k]->phase == Build::ending && open_[k]->queue.empty()) {
      for (const auto& part : open_[k]->parts) release(part.pid, open_[k]->plan.number);
      open_.erase(open_.begin() + static_cast<std::ptrdiff_t>(k));
    }
  }

  // ---- The partition space ----

  std::string unit_name(int64_t unit) const {
    const std::string date = date_after_base(-static_cast<int>(unit / regions_));
    if (regions_ == 1) return date;
    char region[32];
    std::snprintf(region, sizeof region, "r%02lld/", static_cast<long long>(unit % regions_));
    return region + date;
  }

  // The skew: a share hot_share of the picks lands on the first hot_units_ units.
  int64_t pick_unit() {
    const bool hot = rng_.chance(options_.hot_share);
    return static_cast<int64_t>(rng_.below(static_cast<uint64_t>(hot ? hot_units_ : units_)));
  }

  std::string build_id(int64_t number) const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "-%06lld", static_cast<long long>(number));
    return "br-" + prefix_ + buf;
  }

  void release(int64_t pid, int64_t number) {
    auto& by = building_by_[static_cast<size_t>(pid)];
    if (by == number) by = 0;
  }

  // ---- Steps ----

  void operator_invalidation() {
    const int64_t pid = pick_unit() * per_unit_ +
                        static_cast<int64_t>(rng_.below(static_cast<uint64_t>(per_unit_)));
    auto& built = built_by_[static_cast<size_t>(pid)];
    if (built == 0) return;
    const std::string user = rng_.pick(operators());
    emit(invalidation_event(
        "operator:" + user, partition_ref(pid),
        "invalidated by " + user + ": bad rows reported downstream of " + build_id(built)));
    built = 0;
  }

  void start_build() {
    const int64_t number = ++builds_;
    const int64_t unit = pick_unit();
    Rng plan_rng = build_rng(options_.seed, number);
    auto b = std::make_unique<Build>();
    b->plan = plan_for_unit(rates_, plan_rng, number, build_id(number), unit_name(unit));
    b->max_wave = max_wave(b->plan);
    b->parts.resize(b->plan.partitions.size());
    for (size_t i = 0; i < b->parts.size(); ++i) {
      b->parts[i].pid = unit * per_unit_ + b->plan.partitions[i].dataset;
      b->parts[i].cancel_job = plan_rng.chance(options_.job_cancel_rate);
    }
    auto received = received_events(b->plan);
    emit(std::move(received[0]));
    b->queue.push_back(std::move(received[1]));  // PLANNING, when the request is next advanced
    open_.push_back(std::move(b));
  }

  void advance(Build& b) {
    if (!b.queue.empty()) {
      emit(std::move(b.queue.front()));
      b.queue.pop_front();
      return;
    }
    switch (b.phase) {
      case Build::planning:
        analyse(b);
        b.phase = Build::executing;
        return;
      case Build::executing:
        execute(b);
        return;
      case Build::ending:
        return;
    }
  }

  // Planning: what is available is delegated to the request that built it, or invalidated
  // when its data arrived late (then rebuilt); the rest is requested.
  void analyse(Build& b) {
    std::vector<Availability> found(b.parts.size());
    for (size_t i = 0; i < b.parts.size(); ++i) {
      const int64_t built = built_by_[static_cast<size_t>(b.parts[i].pid)];
      if (built != 0) found[i].build_request_id = build_id(built);
    }
    PlanningBatch planning = planning_batch(b.plan, found, prefix_);
    for (size_t i = 0; i < b.parts.size(); ++i) {
      if (planning.historical[i]) b.parts[i].outcome = PartOutcome::historical;
      if (planning.invalidated[i]) built_by_[static_cast<size_t>(b.parts[i].pid)] = 0;
    }
    for (auto& e : planning.events) b.queue.push_back(std::move(e));
  }

  // One event of the current wave's partitions, in random order; the next wave (or the end)
  // once they are all logged.
  void execute(Build& b) {
    std::vector<size_t> busy;
    for (size_t i = 0; i < b.parts.size(); ++i) {
      if (!b.parts[i].queue.empty()) busy.push_back(i);
    }
    if (!busy.empty()) {
      emit_part(b, rng_.pick(busy));
      return;
    }
    if (b.wave >= 0 && b.wave == b.plan.cancel_wave) {
      cancel(b);
      return;
    }
    ++b.wave;
    if (b.wave > b.max_wave) {
      complete(b);
      return;
    }
    for (size_t i = 0; i < b.parts.size(); ++i) {
      if (b.plan.partitions[i].wave == b.wave && b.parts[i].outcome == PartOutcome::open)
        resolve(b, i);
    }
  }

  void emit_part(Build& b, size_t i) {
    Part& part = b.parts[i];
    BuildEvent& e = emit(std::move(part.queue.front()));
    part.queue.pop_front();
    if (e.has_job_event() && e.job_event().status_code() == v1::JOB_RUNNING) {
      part.running_ns = e.timestamp();
    } else if (e.has_job_event() && e.job_event().manifests_size() > 0) {
      e.mutable_job_event()->mutable_manifests(0)->set_start_time(part.running_ns);
      e.mutable_job_event()->mutable_manifests(0)->set_end_time(e.timestamp());
    }
    if (!part.queue.empty()) return;
    part.outcome = part.result;
    if (part.outcome == PartOutcome::available)
      built_by_[static_cast<size_t>(part.pid)] = b.plan.number;
    if (part.outcome != PartOutcome::running) release(part.pid, b.plan.number);
  }

  // Queues the events of partition `i`: FAILED when something upstream failed, a delegation
  // when an older request is building it, else its job run.
  void resolve(Build& b, size_t i) {
    const PlannedPartition& p = b.plan.partitions[i];
    Part& part = b.parts[i];
    const std::string& id = b.plan.build_request_id;
    for (size_t u : p.upstream) {
      if (b.parts[u].outcome != PartOutcome::failed) continue;
      part.queue.push_back(upstream_failed_event(b.plan, i, u));
      part.result = PartOutcome::failed;
      return;
    }
    int64_t& by = building_by_[static_cast<size_t>(part.pid)];
    if (by != 0 && by < b.plan.number) {  // only to older ones: two never delegate to each other
      const std::string to = build_id(by);
      std::vector<BuildEvent> batch;
      add_delegation(batch, id, p.ref, to, p.delegation_style, "being built by " + to);
      for (auto& e : batch) part.queue.push_back(std::move(e));
      part.result = PartOutcome::delegated;
      return;
    }
    if (by == 0) by = b.plan.number;
    part.job_run_id = job_run_id(prefix_, b.plan, i);
    const std::string& run = part.job_run_id;
    std::vector<BuildEvent> batch = schedule_job_events(b.plan, i, run, prefix_);
    for (auto& e : run_job_events(b.plan, i, run)) batch.push_back(std::move(e));
    if (b.wave == b.plan.cancel_wave) {
      part.result = PartOutcome::running;  // cancelled with the build request, once the wave runs
    } else if (part.cancel_job) {
      BuildEvent cancel = base_event(id);
      cancel.mutable_job_run_cancel_event()->set_job_run_id(run);
      cancel.mutable_job_run_cancel_event()->set_reason("cancelled by on-call: job stuck");
      batch.push_back(std::move(cancel));
      batch.push_back(partition_event(id, p.ref, v1::PARTITION_FAILED, run,
                                      "job run " + run + " was cancelled"));
      part.result = PartOutcome::failed;
    } else {
      for (auto& e : end_job_events(b.plan, i, run)) batch.push_back(std::move(e));
      part.result = p.job_fails ? PartOutcome::failed : PartOutcome::available;
    }
    for (auto& e : batch) part.queue.push_back(std::move(e));
  }

  void cancel(Build& b) {
    std::vector<std::string> running;
    for (const auto& part : b.parts) {
      if (part.outcome == PartOutcome::running) running.push_back(part.job_run_id);
    }
    for (auto& e : cancel_events(b.plan, running)) b.queue.push_back(std::move(e));
    b.phase = Build::ending;
  }

  void complete(Build& b) {
    std::vector<PartOutcome> outcomes;
    for (const auto& part : b.parts) outcomes.push_back(part.outcome);
    b.queue.push_back(build_end_event(b.plan, outcomes));
    b.phase = Build::ending;
  }

  const int64_t per_unit_;
  int64_t units_ = 1;
  int64_t regions_ = 1;
  int64_t hot_units_ = 1;
  PlanRates rates_;
  int64_t builds_ = 0;
  std::vector<std::unique_ptr<Build>> open_;
  // Per partition: the number of the open build request building it, and of the last one that
  // made it available (0: none, or invalidated since).
  std::vector<int64_t> building_by_;
  std::vector<int64_t> built_by_;
};

}  // namespace

std::unique_ptr<Workload::Flow> make_realistic_flow(const WorkloadOptions& options) {
  return std::make_unique<RealisticFlow>(options);
}

}  // namespace bel::sim
