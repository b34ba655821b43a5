// The supervisor (SPEC section 5): spawns the storage actor, the query actor with its readers and
// one projection actor per view, restarts whichever fails, and is the bel_api every client talks
// to, so a restarted child never leaves a client holding a dead handle.
//
//   SupervisorConfig config;
//   config.open_writer = [uri] { ... };   // to reopen the log after the storage actor died
//   config.open_reader = [uri] { ... };   // a new read-only handle per reader
//   BelApi api = spawn_supervisor(system, std::move(writer), config);
//   ...
//   caf::anon_send_exit(api, caf::exit_reason::user_shutdown);   // stops every child, in order
//
// Restart policy: a child that terminates unexpectedly is started again (a view reloads its
// snapshot and catches up; the query actor gets fresh readers; a new storage actor reopens the
// log, and the views are restarted so they subscribe to it). More than max_restarts of one child
// within restart_window and the supervisor gives up on it: its queries use the fallback scan, or
// appends answer storage_unavailable.
#ifndef BEL_ACTORS_SUPERVISOR_H_
#define BEL_ACTORS_SUPERVISOR_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "actors/bel_api.h"
#include "actors/write/log_writer.h"
#include "actors/read/reader_actor.h"
#include "actors/write/storage_actor.h"
#include "actors/read/view_actor.h"

namespace bel::actors {

struct SupervisorConfig {
  // The log's URI, for messages.
  std::string log_uri;
  // Opens the log for writing again after the storage actor died.
  std::function<Result<std::unique_ptr<LogWriter>>()> open_writer;
  // A new read-only handle onto the log, one per reader actor.
  std::function<Result<std::unique_ptr<storage::Storage>>()> open_reader;
  StorageActorConfig storage;
  ViewActorConfig views;
  ReaderOptions reader;
  int query_readers = 2;
  int max_restarts = 10;
  std::chrono::seconds restart_window{60};
  // Test seam: called on the supervisor's thread with every view actor it starts or restarts (so
  // a test can kill one). Never set in production.
  std::function<void(projections::ViewKind, const ViewActor&)> on_view_started;
};

// Spawns the supervisor and, through it, every actor of the coordinator. `writer` is the log
// already opened for writing (so that opening errors reach the caller, not a log line).
BelApi spawn_supervisor(caf::actor_system& system, std::unique_ptr<LogWriter> writer,
                        SupervisorConfig config);

}  // namespace bel::actors

#endif  // BEL_ACTORS_SUPERVISOR_H_
