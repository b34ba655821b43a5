// CoordinatorOptions: how start_coordinator (actors/coordinator.h) opens the log and tunes the
// coordinator's actors. Internal: embedders call the overload without options, which uses these
// defaults; the console, the benchmarks and the tests tune the fields.
//
//   bel::actors::CoordinatorOptions options;
//   options.read_only = true;                               // a console command that only reads
//   options.supervisor.views.snapshot_every_events = 0;     // no periodic view snapshots
//   auto api = bel::actors::start_coordinator(system, "sqlite://bel.db", std::move(options));
//
// It lives apart from coordinator.h so that the public header does not pull in the supervisor,
// the write and read paths and the storage tier.
#ifndef BEL_ACTORS_COORDINATOR_OPTIONS_H_
#define BEL_ACTORS_COORDINATOR_OPTIONS_H_

#include <functional>
#include <string>

#include "actors/coordinator.h"
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

// The notice a writer of `uri` gives on stderr (spdlog) before it migrates a log of an older
// schema (StorageOptions::on_migrate): the coordinator's, and any command that opens its own
// writer.
std::function<void(int from_version, int to_version)> migration_notice(const std::string& uri);

}  // namespace bel::actors

#endif  // BEL_ACTORS_COORDINATOR_OPTIONS_H_
