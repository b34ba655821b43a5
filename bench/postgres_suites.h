// The `pg` suite of `bel bench` (bench/postgres_suites.cc): P1 and P2 on PostgreSQL beside SQLite.
#ifndef BEL_BENCH_POSTGRES_SUITES_H_
#define BEL_BENCH_POSTGRES_SUITES_H_

#include <vector>

#include "bench/suites.h"

namespace bel::bench {

// "P1 postgres" and "P2 postgres", each with the SQLite figure of the same run as its baseline;
// "not measured" rows when BenchOptions::postgres is empty.
Result<std::vector<Figure>> measure_postgres(SuiteRun& run);

}  // namespace bel::bench

#endif  // BEL_BENCH_POSTGRES_SUITES_H_
