// A log opened inside the console process: the storage actor over the log for appends (so every
// rule of SPEC section 2 applies exactly as in the coordinator), plus a reader for scans.
//
//   auto log = bel::app::LocalLog::open("sqlite://bel.db", {});
//   auto acks = (*log)->append(events);      // blocks until committed or rejected
//   auto page = (*log)->reader().list_events(0, filter, 100);
#ifndef BEL_APP_LOCAL_LOG_H_
#define BEL_APP_LOCAL_LOG_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/storage_actor.h"
#include "messages/error.h"
#include "storage/storage.h"

namespace bel::app {

struct LocalLogOptions {
  bool durability_full = true;
  std::chrono::seconds timeout{60};
};

class LocalLog {
 public:
  static Result<std::unique_ptr<LocalLog>> open(const std::string& uri, LocalLogOptions options);
  ~LocalLog();

  // Appends `events` as one atomic batch through the storage actor; one ack per event.
  Result<std::vector<AppendAck>> append(std::vector<BuildEvent> events);

  storage::Storage& reader() { return *reader_; }
  caf::actor_system& system() { return *system_; }
  actors::StorageActor storage_actor() const { return storage_; }

 private:
  LocalLog() = default;
  LocalLogOptions options_;
  std::unique_ptr<caf::actor_system_config> config_;
  std::unique_ptr<caf::actor_system> system_;
  actors::StorageActor storage_;
  std::unique_ptr<storage::Storage> reader_;
};

}  // namespace bel::app

#endif  // BEL_APP_LOCAL_LOG_H_
