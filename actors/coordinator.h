// Starting the coordinator's actors on a log: open it, check it, spawn the supervisor (which
// spawns the storage actor, readers, views and the query actor) and hand back its bel_api.
//
//   caf::actor_system system{config};                    // configure_actor_system(config) first
//   auto api = bel::actors::start_coordinator(system, "sqlite://bel.db", {});
//   if (!api.ok()) die(api.error());                     // names the URI and what was wrong
//   ... requests to *api ...
//   bel::actors::stop_coordinator(*api);                 // then system.await_all_actors_done()
#ifndef BEL_ACTORS_COORDINATOR_H_
#define BEL_ACTORS_COORDINATOR_H_

#include <string>

#include <caf/all.hpp>

#include "actors/bel_api.h"
#include "actors/supervisor.h"
#include "storage/storage.h"

namespace bel::actors {

struct CoordinatorOptions {
  storage::StorageOptions storage;
  // Open the log read-only: queries and scans only; appends, snapshots and meta changes are
  // refused. For one-shot console commands that only read (no writer lock, no fold of the
  // transition rules).
  bool read_only = false;
  // Everything but the two factories, which start_coordinator fills.
  SupervisorConfig supervisor;
};

// The CAF settings every bel process uses (scheduler size, polling, the bel error category and
// message types). Call on the config before constructing the actor_system.
void configure_actor_system(caf::actor_system_config& config);

// Opens the log at `uri` for writing (creating or migrating its schema), folds it into the
// transition state, and spawns the coordinator's actors. Errors name the URI.
Result<BelApi> start_coordinator(caf::actor_system& system, const std::string& uri,
                                 CoordinatorOptions options = {});

// Asks the coordinator to stop: views and queries first, then the storage actor, which commits
// and answers what is pending.
void stop_coordinator(const BelApi& api);

}  // namespace bel::actors

#endif  // BEL_ACTORS_COORDINATOR_H_
