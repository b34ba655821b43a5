// The flags of the simulated build workers that `bel run` and `bel serve` start, shared so that
// both commands spell, default-print and check them alike.
//
//   sim::SimulationOptions sim;       // its defaults are what --help shows
//   add_simulation_options(cmd, sim, "");
//   ... in the callback: if (!check_simulation_flags(ctx, sim)) return;
#ifndef BEL_APP_SIMULATION_FLAGS_H_
#define BEL_APP_SIMULATION_FLAGS_H_

#include <CLI/CLI.hpp>
#include <string>

#include "actors/sim/simulator.h"
#include "app/commands.h"

namespace bel::app {

// Adds --workers, --builds, --rate and --seed, which fill `options`. `qualifier` opens each help
// text (serve's "With --simulate"); `builds_until` ends the --builds one (serve's "then stop
// simulating (0: until the coordinator stops)").
void add_simulation_options(CLI::App* cmd, sim::SimulationOptions& options,
                            const std::string& qualifier, const std::string& builds_until = "");

// A usage error (and false) for --workers outside 1..1000, a negative --builds, or a --rate
// outside 0..10000000: found before a coordinator starts.
bool check_simulation_flags(Context& ctx, const sim::SimulationOptions& options);

}  // namespace bel::app

#endif  // BEL_APP_SIMULATION_FLAGS_H_
