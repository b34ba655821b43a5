#include "app/simulation_flags.h"

#include <fmt/format.h>

#include <cctype>

namespace bel::app {
namespace {

// "Simulated build workers", or "With --simulate: simulated build workers".
std::string qualified(const std::string& qualifier, std::string text) {
  if (qualifier.empty()) {
    text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
    return text;
  }
  return qualifier + ": " + text;
}

}  // namespace

void add_simulation_options(CLI::App* cmd, sim::SimulationOptions& options,
                            const std::string& qualifier, const std::string& builds_until) {
  cmd->add_option("--workers", options.workers, qualified(qualifier, "simulated build workers"))
      ->capture_default_str();
  cmd->add_option("--builds", options.builds,
                  qualified(qualifier, "build requests to simulate" +
                                           (builds_until.empty() ? "" : ", " + builds_until)))
      ->capture_default_str();
  cmd->add_option("--rate", options.rate,
                  qualified(qualifier,
                            "events per second, all workers together (0: as fast as "
                            "the log takes them)"))
      ->capture_default_str();
  not_negative(
      cmd->add_option(
          "--seed", options.seed,
          qualified(qualifier,
                    "seed of the simulation (same seed, same plan for each build request; the "
                    "workers' interleaving, and so what is delegated and the event "
                    "counts, vary from run to run)")))
      ->capture_default_str();
}

bool check_simulation_flags(Context& ctx, const sim::SimulationOptions& options) {
  if (options.workers < 1 || options.workers > 1000) {
    ctx.usage_error("--workers: must be between 1 and 1000, got " +
                    std::to_string(options.workers));
    return false;
  }
  if (options.builds < 0) {
    ctx.usage_error("--builds: must not be negative, got " + std::to_string(options.builds));
    return false;
  }
  if (!sim::rate_in_range(options.rate)) {
    ctx.usage_error(fmt::format(
        "--rate: must be 0 (no pace) or between {} and {:.0f} events/s, got {}",
        sim::SimulationOptions::kMinRate, sim::SimulationOptions::kMaxRate, options.rate));
    return false;
  }
  return true;
}

}  // namespace bel::app
