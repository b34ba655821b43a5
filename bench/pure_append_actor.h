// A diagnostic for `bel bench --via pure-actor` (docs/performance.md, "Where P1's limit is"): the
// least any actor design can do for P1's single-event appends on this machine. One detached
// actor takes each append, writes it as one row of the pure-append ceiling's table (integer key,
// the serialized event; no id, no index, no rules, no views) or, for `--via ids-actor`, as that
// row with its event_id under a UNIQUE index (what SPEC's idempotency needs of every
// acknowledged append), commits what it holds when its mailbox runs dry, and answers each append
// after that COMMIT, as bel's storage actor does. Rows are inserted as they arrive, in statements
// of kRowsPerStatement rows (bench/raw_sqlite.h), the last few of a group one at a time.
//
//   auto pure = spawn_pure_append_actor(system, dir + "/pure.db", /*durability_full=*/true,
//                                       PureRows::payload);
//   if (!pure.ok()) return pure.error();                  // names the file and SQLite's message
//   self->request(*pure, infinite, append_atom::value, event).then([](const AppendAck&) {...});
//   self->request(*pure, timeout, stats_atom::value)      // commits and group sizes, as bel's
//
// An append that cannot be written or committed is answered with storage_unavailable naming
// the file. Only for measuring: it checks nothing and keeps no promise bel makes.
#ifndef BEL_BENCH_PURE_APPEND_ACTOR_H_
#define BEL_BENCH_PURE_APPEND_ACTOR_H_

#include <caf/all.hpp>
#include <string>

#include "messages/error.h"

namespace bel::bench {

// What each append becomes.
enum class PureRows {
  payload,   // (idx INTEGER PRIMARY KEY, payload): the pure-append ceiling's row
  with_ids,  // (idx, event_id UNIQUE, payload): the row and the id index idempotency needs
};

// Creates `path` afresh (it must not exist) and spawns the actor on it.
Result<caf::actor> spawn_pure_append_actor(caf::actor_system& system, const std::string& path,
                                           bool durability_full, PureRows rows);

}  // namespace bel::bench

#endif  // BEL_BENCH_PURE_APPEND_ACTOR_H_
