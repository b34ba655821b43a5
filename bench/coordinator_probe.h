// The child side of P7 and P8 (SPEC section 8): a process that starts a coordinator on a log,
// times its first answered `activity` query, waits until every view has applied the whole log,
// and reports its resident memory. `bel bench` runs it as `bel bench --probe-coordinator URI` in
// a fresh process, so that the memory is the coordinator's alone and nothing is cached in it.
//
//   // in the child:
//   auto probe = bel::bench::probe_coordinator(uri);      // errors name the URI
//   std::printf("%s", bel::bench::probe_text(*probe).c_str());
//   // in the parent, on its standard output:
//   auto parsed = bel::bench::parse_probe(child_stdout);   // invalid_argument when malformed
//
// The coordinator is the one `bel serve` starts (start_coordinator: the log opened for writing,
// the writer's transition state, the storage actor, readers, views, query actor), without the
// console endpoint. The clock starts at probe_coordinator's call.
#ifndef BEL_BENCH_COORDINATOR_PROBE_H_
#define BEL_BENCH_COORDINATOR_PROBE_H_

#include <cstdint>
#include <string>

#include "messages/error.h"

namespace bel::bench {

struct ProbeResult {
  double first_answer_seconds = 0;  // start to the first answered activity query (P7)
  double views_ready_seconds = 0;   // start to every view healthy at the log's last idx
  int64_t rss_bytes = 0;            // VmRSS once the views are ready (P8)
  int64_t peak_rss_bytes = 0;       // VmHWM then
  int64_t last_idx = 0;             // the log's last idx
};

Result<ProbeResult> probe_coordinator(const std::string& uri);

// One "key value" line per field, and back.
std::string probe_text(const ProbeResult& probe);
Result<ProbeResult> parse_probe(const std::string& text);

}  // namespace bel::bench

#endif  // BEL_BENCH_COORDINATOR_PROBE_H_
