// list_events and find_by_event_ids for PostgreSQL: an EventFilter (SPEC 3.2) turned into one
// parameterised SELECT per chunk of a scan (storage/postgres_storage.h).
//
//   PgScanCursor cursor{since_idx, /*backward=*/false};
//   PgQuery q = pg_list_events_query(cursor, filter, 101);
//   // run q; every row is (idx, payload); check each event with event_matches(filter, e),
//   // set cursor.bound to the last idx read, and ask again while a whole chunk came back.
//
// The SQL only narrows: a key criterion whose values are exact refs / labels / run ids, or glob
// patterns with a literal prefix, drives the scan through event_keys (an index range per prefix);
// patterns without a prefix, and every glob itself, are left to event_matches. Every value is a
// bound parameter, never SQL text.
#ifndef BEL_STORAGE_POSTGRES_QUERY_H_
#define BEL_STORAGE_POSTGRES_QUERY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "messages/types.h"
#include "storage/postgres_support.h"

namespace bel::storage {

struct PgQuery {
  std::string sql;
  std::vector<PgParam> params;  // $1, $2, ... in order
};

// Where a scan stands: forward it reads idx > bound, ascending; backward idx < bound (bound 0:
// no upper bound), descending.
struct PgScanCursor {
  int64_t bound = 0;
  bool backward = false;
};

// SELECT idx, payload(text form) ... ORDER BY idx [DESC] LIMIT rows.
// REQUIRES: check_filter(filter).ok(), rows > 0
PgQuery pg_list_events_query(const PgScanCursor& cursor, const EventFilter& filter,
                             int64_t rows);

// SELECT idx, payload of the events whose id is one of `uuids` (canonical UUIDs, stored as
// PostgreSQL uuid) or `texts` (every other id).
PgQuery pg_find_by_event_ids_query(const std::vector<std::string>& uuids,
                                   const std::vector<std::string>& texts);

}  // namespace bel::storage

#endif  // BEL_STORAGE_POSTGRES_QUERY_H_
