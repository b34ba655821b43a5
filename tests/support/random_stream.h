// Event streams for tests: random_stream, a thin adapter over the adversarial mode of the workload
// generator (actors/sim/workload.h) with the numbering property tests want, and StreamBuilder for
// short hand-written ones.
//
//   bel::testing::RandomStreamOptions options;
//   options.num_events = 3000;
//   auto events = bel::testing::random_stream(42, options);
//   // events[i].idx() == i + 1, timestamps ascending, event_id "ev-42-<i+1>", status names filled.
//
// The stream is valid under the strict transition rules of SPEC section 2 and holds every kind of
// event and edge order (see WorkloadMode::adversarial); partitions come from a small namespace
// ("data/sales/2024-05-01", ...) so that build requests collide on them. The same seed and
// options give the same stream.
#ifndef BEL_TESTS_SUPPORT_RANDOM_STREAM_H_
#define BEL_TESTS_SUPPORT_RANDOM_STREAM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "actors/sim/workload.h"
#include "messages/types.h"

namespace bel::testing {

struct RandomStreamOptions {
  int num_events = 2000;      // exactly this many events
  int concurrent_builds = 6;  // build requests open at the same time, at most
  int partition_space = 24;   // distinct partition refs
};

// `num_events` events, at most `concurrent_builds` build requests open at a time, over
// `partition_space` partition refs; the other options at their defaults.
RandomStreamOptions stream_options(int num_events, int concurrent_builds, int partition_space);

// `num_events` events over few partitions with long histories and many claims on each (six
// refs, six build requests open at a time): the streams of the partition scans' tests.
RandomStreamOptions few_busy_partitions(int num_events);

// The workload options random_stream uses (for tests that want to change one more).
sim::WorkloadOptions random_stream_options(uint64_t seed, const RandomStreamOptions& options = {});

// Workload options that vary with the seed, for property tests over several seeds: adversarial
// for odd seeds and realistic for even ones; UUID event ids unless seed % ids_period is 0
// (sequential then); `partitions` distinct refs.
sim::WorkloadOptions mixed_workload_options(uint64_t seed, int partitions, uint64_t ids_period);

// A strictly valid stream of options.num_events events with idx 1..N.
std::vector<BuildEvent> random_stream(uint64_t seed, const RandomStreamOptions& options = {});

// random_stream(seed) of `num_events` events, its other options at their defaults.
std::vector<BuildEvent> random_events(int num_events, uint64_t seed);

// Partition number `n` of the namespace random_stream uses: "data/<dataset>/<date>".
std::string random_stream_partition(int n);

// Sets idx 1, 2, ... on `events`, in order.
void assign_idx(std::vector<BuildEvent>& events);

// Hand-written streams, one event per call; idx 1, 2, ..., timestamp 1000 * idx unless at() says
// otherwise, status names filled. Nothing is validated: invalid streams are allowed on purpose.
//
//   StreamBuilder s;
//   s.build("br-1", v1::BUILD_REQUEST_RECEIVED, {"data/a"})
//    .partition("br-1", "data/a", v1::PARTITION_REQUESTED)
//    .at(5000).job("br-1", "jr-1", "//jobs:a", v1::JOB_SCHEDULED, {"data/a"});
//   for (const auto& e : s.events()) view.apply(e);
class StreamBuilder {
 public:
  // The timestamp of the next event only.
  StreamBuilder& at(int64_t timestamp);

  StreamBuilder& build(const std::string& build_request_id, BuildRequestStatus status,
                       const std::vector<std::string>& requested = {},
                       const std::string& message = "");
  StreamBuilder& cancel_build(const std::string& build_request_id, const std::string& reason);
  StreamBuilder& partition(const std::string& build_request_id, const std::string& ref,
                           PartitionStatus status, const std::string& job_run_id = "",
                           const std::string& message = "");
  StreamBuilder& delegate(const std::string& build_request_id, const std::string& ref,
                          const std::string& to_build_request_id);
  StreamBuilder& invalidate(const std::string& build_request_id, const std::string& ref,
                            const std::string& reason);
  StreamBuilder& job(const std::string& build_request_id, const std::string& job_run_id,
                     const std::string& label, JobStatus status,
                     const std::vector<std::string>& targets = {}, const std::string& message = "");
  StreamBuilder& cancel_job(const std::string& build_request_id, const std::string& job_run_id,
                            const std::string& reason);
  StreamBuilder& graph(const std::string& build_request_id);

  const std::vector<BuildEvent>& events() const { return events_; }
  const BuildEvent& last() const { return events_.back(); }

 private:
  BuildEvent& next(const std::string& build_request_id);
  StreamBuilder& done();

  std::vector<BuildEvent> events_;
  int64_t next_timestamp_ = 0;  // 0: 1000 * idx
};

// A fresh View with every event of `s` applied, in order.
template <class View>
View fold_stream(const StreamBuilder& s) {
  View view;
  for (const auto& e : s.events()) view.apply(e);
  return view;
}

}  // namespace bel::testing

#endif  // BEL_TESTS_SUPPORT_RANDOM_STREAM_H_
