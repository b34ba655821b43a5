#include "actors/sim/simulator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <tuple>
#include <utility>

#include "actors/sim/sim_worker.h"

namespace bel::sim {
namespace {

using worker::next_atom;
using worker::record_error;
using worker::sim_log;
using worker::wall_clock_ns;

constexpr auto kStopGrace = std::chrono::seconds(5);

std::string make_run_id(uint64_t seed) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06llx",
                static_cast<unsigned long long>(mix(seed ^ static_cast<uint64_t>(wall_clock_ns())) &
                                                0xffffffULL));
  return buf;
}

Status check_options(const SimulationOptions& o) {
  auto bad = [](std::string m) {
    return make_error(ErrorCode::invalid_argument, "simulation: " + m);
  };
  if (o.workers < 1) return bad("workers must be at least 1, got " + std::to_string(o.workers));
  if (o.window < 1) return bad("window must be at least 1, got " + std::to_string(o.window));
  if (o.builds < 0) return bad("builds must not be negative, got " + std::to_string(o.builds));
  if (!rate_in_range(o.rate)) {
    return bad(fmt::format("rate must be 0 (no pace) or between {} and {:.0f} events/s, got {}",
                           SimulationOptions::kMinRate, SimulationOptions::kMaxRate, o.rate));
  }
  if (o.days < 1) return bad("days must be at least 1, got " + std::to_string(o.days));
  if (o.builds_per_day < 1) {
    return bad("builds_per_day must be at least 1, got " + std::to_string(o.builds_per_day));
  }
  for (auto [name, rate] : {std::pair<const char*, double>{"failure_rate", o.failure_rate},
                            {"cancel_rate", o.cancel_rate},
                            {"invalidate_rate", o.invalidate_rate}}) {
    if (!(rate >= 0.0 && rate <= 1.0)) {
      return bad(std::string(name) + " must be within [0, 1], got " + std::to_string(rate));
    }
  }
  if (o.request_timeout.count() <= 0) return bad("request_timeout must be positive");
  if (o.max_retries < 0) return bad("max_retries must not be negative");
  if (o.retry_delay.count() <= 0) return bad("retry_delay must be positive");
  if (o.max_errors < 1) return bad("max_errors must be at least 1");
  if (o.run_id.size() > 32) return bad("run_id is longer than 32 characters");
  for (char c : o.run_id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return bad("run_id \"" + o.run_id + "\" may only hold letters, digits, '-' and '_'");
    }
  }
  return ok_status();
}

// ---- The simulation: hands out build numbers, collects the report ----------------------------

struct ControllerState {
  SimulationOptions options;
  std::string run_id;
  actors::BelApi api;
  std::function<void(const SimulationReport&)> on_done;
  SimulationReport report;
  int64_t next_build = 1;
  int workers_running = 0;
  std::vector<caf::actor> workers;  // killed with the simulation when it is ended, not stopped
  bool stopping = false;
  int64_t started_ns = 0;
  static inline const char* name = "bel.sim";
};

using ControllerPtr = caf::stateful_actor<ControllerState>*;

SimulationReport sorted_report(const SimulationReport& report) {
  SimulationReport out = report;
  std::sort(out.build_request_ids.begin(), out.build_request_ids.end());
  return out;
}

void stop_simulation(ControllerPtr self, const char* why) {
  auto& st = self->state;
  if (st.stopping) return;
  st.stopping = true;
  // The builds under way finish unpaced: a slow rate would hold a stop for many seconds.
  for (const auto& w : st.workers) self->send(w, worker::hurry_atom::value);
  sim_log()->info("stopping run={} why=\"{}\" builds_started={}", st.run_id, why,
                  st.next_build - 1);
}

caf::behavior sim_controller(ControllerPtr self, SimulationOptions options, std::string run_id,
                             actors::BelApi api,
                             std::function<void(const SimulationReport&)> on_done) {
  auto& st = self->state;
  st.options = std::move(options);
  st.run_id = std::move(run_id);
  st.api = std::move(api);
  st.on_done = std::move(on_done);
  st.started_ns = wall_clock_ns();
  self->monitor(st.api);
  for (int i = 0; i < st.options.workers; ++i) {
    st.workers.push_back(self->spawn<caf::monitored>(worker::sim_worker, st.options, st.run_id,
                                                     st.api, caf::actor_cast<caf::actor>(self)));
    ++st.workers_running;
  }
  sim_log()->info("started run={} seed={} workers={} builds={} window={}", st.run_id,
                  st.options.seed, st.options.workers, st.options.builds, st.options.window);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    if (msg.source == st.api.address()) {
      record_error(st.report, "the coordinator went down: " + caf::to_string(msg.reason));
      stop_simulation(self, "coordinator down");
      return;
    }
    if (msg.reason && msg.reason != caf::exit_reason::normal) {
      record_error(st.report, "a worker stopped unexpectedly: " + caf::to_string(msg.reason));
    }
    if (--st.workers_running > 0) return;
    SimulationReport final_report = sorted_report(st.report);
    const double secs = static_cast<double>(wall_clock_ns() - st.started_ns) / 1e9;
    sim_log()->info(
        "done run={} builds={} completed={} failed={} cancelled={} delegated_active={} "
        "delegated_historical={} jobs_failed={} invalidations={} events={} errors={} "
        "last_idx={} s={:.2f}",
        st.run_id, final_report.build_request_ids.size(), final_report.builds_completed,
        final_report.builds_failed, final_report.builds_cancelled, final_report.delegations_active,
        final_report.delegations_historical, final_report.jobs_failed, final_report.invalidations,
        final_report.events_appended, final_report.errors, final_report.last_idx, secs);
    if (st.on_done) st.on_done(final_report);
    self->quit();
  });
  self->set_exit_handler([=](caf::exit_msg& msg) {
    if (msg.reason == caf::exit_reason::user_shutdown) {
      stop_simulation(self, "exit message");
    } else {
      // Ended, not stopped: the build requests under way end where they are (the log keeps what
      // it acknowledged), rather than going on against a coordinator that may be gone.
      for (const auto& w : self->state.workers) self->send_exit(w, caf::exit_reason::kill);
      self->quit(msg.reason);
    }
  });
  return {
      [=](next_atom, const SimulationReport& outcome) -> std::tuple<int64_t, int64_t> {
        auto& st = self->state;
        merge_report(st.report, outcome);
        if (st.report.errors >= st.options.max_errors) stop_simulation(self, "too many errors");
        if (st.stopping || (st.options.builds > 0 && st.next_build > st.options.builds)) {
          return std::make_tuple(int64_t{0}, int64_t{0});
        }
        return std::make_tuple(st.next_build++, st.report.last_idx);
      },
      [=](stop_atom) { stop_simulation(self, "stop message"); },
      [=](report_atom) -> SimulationReport { return sorted_report(self->state.report); },
  };
}

}  // namespace

void merge_report(SimulationReport& into, const SimulationReport& part) {
  into.events_appended += part.events_appended;
  into.builds_completed += part.builds_completed;
  into.builds_failed += part.builds_failed;
  into.builds_cancelled += part.builds_cancelled;
  into.delegations_active += part.delegations_active;
  into.delegations_historical += part.delegations_historical;
  into.jobs_failed += part.jobs_failed;
  into.invalidations += part.invalidations;
  into.errors += part.errors;
  for (const auto& m : part.error_messages) {
    if (into.error_messages.size() < kMaxReportedErrors) into.error_messages.push_back(m);
  }
  into.last_idx = std::max(into.last_idx, part.last_idx);
  for (const auto& id : part.build_request_ids) {
    if (into.build_request_ids.size() < kMaxReportedBuilds) into.build_request_ids.push_back(id);
  }
}

PlannedBuild plan_build(const SimulationOptions& options, const std::string& run_id,
                        int64_t number) {
  Rng rng = build_rng(options.seed, number);
  char id[64];
  std::snprintf(id, sizeof id, "br-%s-%06lld", run_id.c_str(), static_cast<long long>(number));
  // One of the `days` most recent dates; a new date every builds_per_day requests.
  const int64_t newest = (number - 1) / std::max(1, options.builds_per_day);
  const int64_t back = static_cast<int64_t>(
      rng.below(static_cast<uint64_t>(std::min<int64_t>(std::max(1, options.days), newest + 1))));
  const std::string date = date_after_base(static_cast<int>(newest - back));

  PlanRates rates;
  rates.failure_rate = options.failure_rate;
  rates.cancel_rate = options.cancel_rate;
  rates.invalidate_rate = options.invalidate_rate;
  return plan_for_unit(rates, rng, number, id, date);
}

Result<SimulationActor> start_simulation(caf::actor_system& system, const actors::BelApi& api,
                                         SimulationOptions options,
                                         std::function<void(const SimulationReport&)> on_done) {
  if (auto ok = check_options(options); !ok.ok()) return ok.error();
  if (!api) return make_error(ErrorCode::invalid_argument, "simulation: no coordinator (api)");
  std::string run_id = options.run_id.empty() ? make_run_id(options.seed) : options.run_id;
  options.run_id = run_id;
  auto controller =
      system.spawn(sim_controller, std::move(options), std::move(run_id), api, std::move(on_done));
  return caf::actor_cast<SimulationActor>(controller);
}

Result<SimulationReport> run_simulation(
    caf::actor_system& system, const actors::BelApi& api, const SimulationOptions& options,
    std::chrono::milliseconds timeout,
    const std::function<void(const SimulationReport&)>& progress) {
  if (options.builds <= 0) {
    return make_error(ErrorCode::invalid_argument,
                      "simulation: run_simulation needs builds > 0 (use start_simulation to run "
                      "until stopped)");
  }
  auto done = std::make_shared<std::promise<SimulationReport>>();
  auto finished = done->get_future();
  auto sim = start_simulation(system, api, options,
                              [done](const SimulationReport& r) { done->set_value(r); });
  if (!sim.ok()) return sim.error();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  constexpr auto kProgressEvery = std::chrono::milliseconds(200);
  for (;;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    const auto wait =
        progress ? std::min<std::chrono::steady_clock::duration>(left, kProgressEvery) : left;
    if (finished.wait_for(wait) == std::future_status::ready) return finished.get();
    if (std::chrono::steady_clock::now() >= deadline) break;
    caf::scoped_actor self{system};
    self->request(*sim, kProgressEvery, report_atom::value)
        .receive([&](const SimulationReport& so_far) { progress(so_far); },
                 [](const caf::error&) {});  // finished meanwhile: the next wait returns it
  }
  caf::anon_send(*sim, stop_atom::value);
  std::string how = "stopped";
  int64_t builds = 0;
  if (finished.wait_for(kStopGrace) == std::future_status::ready) {
    auto report = finished.get();
    builds = report.builds_completed + report.builds_failed + report.builds_cancelled;
  } else {
    // Ended with its workers (an exit reason other than user_shutdown): nothing of it is left to
    // keep the caller's process from exiting.
    caf::scoped_actor self{system};
    self->send_exit(*sim, caf::make_error(caf::sec::request_timeout));
    how = "killed";
  }
  return make_error(ErrorCode::timeout, "simulation: " + std::to_string(options.builds) +
                                            " build requests did not finish within " +
                                            std::to_string(timeout.count()) + " ms; " + how +
                                            " after " + std::to_string(builds) + " ended");
}

}  // namespace bel::sim
