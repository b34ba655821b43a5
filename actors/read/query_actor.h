// The query actor (SPEC section 5, DESIGN "Read path"): routes each query to the view that
// answers it, and answers from a fallback scan on one of its readers when there is no view to
// ask (or the view hands the query back: failed, rebuilding, or behind beyond its wait budget),
// with a bounded number of those scans in flight (QueryActorOptions).
// It also serves list_events from its readers. Its readers are linked to it: if one dies, the
// query actor dies too and its supervisor starts both afresh.
//
//   QueryActor q = spawn_query_actor(system, std::move(readers));
//   caf::anon_send(q, set_atom::value, int32_t(ViewKind::partition_status), view);
//   self->request(q, kTimeout, query_atom::value, query).then(...);
#ifndef BEL_ACTORS_READ_QUERY_ACTOR_H_
#define BEL_ACTORS_READ_QUERY_ACTOR_H_

#include <caf/all.hpp>
#include <vector>

#include "actors/bel_api.h"
#include "actors/caf_support.h"
#include "actors/read/reader_actor.h"
#include "actors/read/view_actor.h"

namespace bel::actors {

// fallback_atom: always from a scan (what views hand back; also `bel check`'s reference answer).
// overloaded when max_fallbacks_in_flight scans run and max_waiting_fallbacks wait.
using QueryActor = FallbackActor::extend<
    // invalid_argument at once for a bad query; else the view's answer or the fallback's.
    caf::replies_to<query_atom, Query>::with<QueryResult>,
    // Each question as the one above, kQueriesInFlightPerMessage at a time (bel_api.h).
    caf::replies_to<query_atom, each_atom, std::vector<Query>>::with<QueryOutcomes>,
    caf::replies_to<list_atom, ListEventsRequest>::with<EventPage>,
    // The current actor of a view (a ViewKind as int32); an invalid handle means none.
    caf::reacts_to<set_atom, int32_t, ViewActor>,
    // How many queries went to a fallback scan.
    caf::replies_to<fallbacks_atom>::with<int64_t>>;

// How many fallback scans run at once. A scan reads and folds on a reader's thread for as long as
// the question needs (a whole-log question: the whole log), so excess scans wait here in a
// bounded queue, oldest first, rather than piling up in the readers' mailboxes; past the queue a
// query is answered `overloaded` at once (SPEC section 7). Queries a view answers never count.
struct QueryActorOptions {
  // Scans handed to the readers at once (0 counts as 1); 2 per reader keeps each busy.
  size_t max_fallbacks_in_flight = 4;
  // Scans waiting for a slot; one more is `overloaded`.
  size_t max_waiting_fallbacks = 256;
};

// REQUIRES: !readers.empty()
QueryActor spawn_query_actor(caf::actor_system& system, std::vector<ReaderActor> readers,
                             QueryActorOptions options = {});

}  // namespace bel::actors

#endif  // BEL_ACTORS_READ_QUERY_ACTOR_H_
