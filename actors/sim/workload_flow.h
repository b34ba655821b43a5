// Internal to the workload generator: the engine of one mode (Workload::Flow) and what every
// engine shares: the seeded rng, the stamping of events (timestamp, event id, idx) and the queue
// of events produced but not yet handed out.
//
//   class MyFlow : public Workload::Flow {
//     void step() override { emit(request_event(id, v1::BUILD_REQUEST_RECEIVED, "")); }
//   };
#ifndef BEL_ACTORS_SIM_WORKLOAD_FLOW_H_
#define BEL_ACTORS_SIM_WORKLOAD_FLOW_H_

#include <deque>
#include <memory>
#include <string>

#include "actors/sim/catalogue.h"
#include "actors/sim/workload.h"

namespace bel::sim {

class Workload::Flow {
 public:
  explicit Flow(const WorkloadOptions& options);
  virtual ~Flow() = default;

  // Moves the next event into `out`, producing more when none is queued.
  void next(BuildEvent& out);

  virtual std::string partition_ref(int64_t n) const = 0;
  virtual int64_t partition_count() const = 0;

 protected:
  // Produces the next events (zero or more) with emit().
  virtual void step() = 0;

  // Stamps `e` (timestamp, event id, idx, as the options say) and queues it; the reference stays
  // valid until the event is handed out.
  BuildEvent& emit(BuildEvent e);

  const WorkloadOptions& options_;
  Rng rng_;
  std::string prefix_;  // of build request and job run ids

 private:
  std::deque<BuildEvent> pending_;
  Rng clock_rng_;  // its own stream, so that a supplied clock changes nothing else
  int64_t time_ns_;
  int64_t emitted_ = 0;
};

std::unique_ptr<Workload::Flow> make_realistic_flow(const WorkloadOptions& options);
std::unique_ptr<Workload::Flow> make_adversarial_flow(const WorkloadOptions& options);

}  // namespace bel::sim

#endif  // BEL_ACTORS_SIM_WORKLOAD_FLOW_H_
