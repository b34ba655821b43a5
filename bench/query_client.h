// The candidate side of `bel bench` P4 (SPEC section 8): queries per second through a bel_api,
// pipelined. An event-based client actor keeps up to `window` queries in flight until `count`
// are answered, cycling through `queries`.
//
//   auto rate = bel::bench::measure_query_rate(system, api, queries, 200000, 1000);
//   if (!rate.ok()) return rate.error();   // a query failed: names it and the error
//   double per_second = *rate;
//
// Timing starts at the first query sent and stops at the last answer.
#ifndef BEL_BENCH_QUERY_CLIENT_H_
#define BEL_BENCH_QUERY_CLIENT_H_

#include <caf/all.hpp>
#include <cstdint>
#include <vector>

#include "actors/bel_api.h"
#include "messages/error.h"

namespace bel::bench {

// REQUIRES: !queries.empty(), count >= 1, window >= 1
Result<double> measure_query_rate(caf::actor_system& system, const actors::BelApi& api,
                                  const std::vector<Query>& queries, int64_t count, int window);

}  // namespace bel::bench

#endif  // BEL_BENCH_QUERY_CLIENT_H_
