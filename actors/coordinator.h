// Starting the coordinator's actors on a log: open it, check it, spawn the supervisor (which
// spawns the storage actor, readers, views and the query actor) and hand back its bel_api.
//
//   caf::actor_system system{config};                    // configure_actor_system(config) first
//   auto api = bel::actors::start_coordinator(system, "sqlite://bel.db");
//   if (!api.ok()) die(api.error());                     // names the URI and what was wrong
//   ... requests to *api ...
//   bel::actors::stop_coordinator(*api);                 // then system.await_all_actors_done()
#ifndef BEL_ACTORS_COORDINATOR_H_
#define BEL_ACTORS_COORDINATOR_H_

#include <caf/all.hpp>
#include <chrono>
#include <string>

#include "actors/bel_api.h"
#include "messages/error.h"

namespace bel::actors {

// Storage, read-only and supervisor tuning: actors/coordinator_options.h (internal; declared
// here so that this header stays part of the installed client tier without the actors behind it).
struct CoordinatorOptions;

// The CAF settings every bel process uses (the bel error category and message types) and the
// scheduler bel is tuned for: 2 worker threads ("scheduler.max-threads") and no sleep between an
// idle worker's polls ("work-stealing.moderate-poll-attempts" 0). Those two are the whole actor
// system's, so a value the program set on `config` before the call is kept. Call on the config
// before constructing the actor_system; returns `config`, so that a member initializer can read
// `system_(configure_actor_system(config_))`.
caf::actor_system_config& configure_actor_system(caf::actor_system_config& config);

// Opens the log at `uri` for writing (creating or migrating its schema), folds it into the
// transition state, and spawns the coordinator's actors. Errors name the URI. An SQLite log is
// written by one writer at a time (SPEC R7): while another process, or another coordinator of
// this one, writes the same file (through any path: symlink, hard link, relative), this fails
// with storage_unavailable naming the holder; the lock is held until the coordinator stops.
Result<BelApi> start_coordinator(caf::actor_system& system, const std::string& uri);
// The same with `options` (include actors/coordinator_options.h; it is not installed: this
// overload is for bel's own programs and tests).
Result<BelApi> start_coordinator(caf::actor_system& system, const std::string& uri,
                                 CoordinatorOptions options);

// Asks the coordinator to stop: views and queries first, then the storage actor, which commits
// and answers what it has taken; an append that reaches it after the stop began is answered
// storage_unavailable ("the coordinator is stopping") and stores nothing. Call it on every path
// (errors and exceptions too) before the actor system is destroyed: caf::actor_system's
// destructor waits for the coordinator's actors, which run until they are stopped.
void stop_coordinator(const BelApi& api);

// stop_coordinator, then waits until the coordinator's supervisor has stopped: every append it
// took answered and the storage actor gone, its writer lock released, so that this process may
// start a coordinator on the same log again at once (its readers close as they stop, after).
// One exception: a stop that comes while the storage actor is being reopened after a failure
// returns before that reopening ends, which releases the lock within its wait for it (10 s).
// Blocks the calling thread: call it from outside any actor. False when `timeout` passed first
// (the coordinator still stops; the lock is released when it has). True at once for a BelApi
// that holds no actor (default-constructed: a start that failed), as stop_coordinator does
// nothing for it.
bool stop_coordinator_and_wait(caf::actor_system& system, const BelApi& api,
                               std::chrono::milliseconds timeout);

}  // namespace bel::actors

#endif  // BEL_ACTORS_COORDINATOR_H_
