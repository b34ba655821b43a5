// A small built-in DataBuild scenario for `bel run`: builds that succeed, fail, delegate
// (historically, with a skipped job) and get cancelled, plus an invalidation and a rebuild.
// Every event is valid under the strict rules of SPEC section 2.
//
//   for (auto& step : bel::app::demo_scenario("a1b2")) log.append(step);
#ifndef BEL_APP_SCENARIO_H_
#define BEL_APP_SCENARIO_H_

#include <string>
#include <vector>

#include "messages/types.h"

namespace bel::app {

// The scenario as ordered steps; each step is one atomic batch. Build request and job run ids
// carry `run_id` so that repeated runs on one log do not collide.
std::vector<std::vector<BuildEvent>> demo_scenario(const std::string& run_id);

}  // namespace bel::app

#endif  // BEL_APP_SCENARIO_H_
