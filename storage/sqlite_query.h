// list_events for SQLite: an EventFilter (SPEC 3.2) turned into parameterised SELECTs.
//
//   // How selective is the partition criterion? (counts index rows, stopping at the cap)
//   IdxRange indexed{since_idx, indexed_idx};   // event_keys covers idx <= indexed_idx only
//   SqlQuery count = key_count_query(KeyKind::partition, indexed, filter, 2000);
//   // The page: criteria left out of `in_sql` are the caller's to check (event_matches).
//   SqlQuery q = list_events_query(indexed, in_sql, limit + 1);
//   // prepare q.sql (its text depends only on the shape of the filter, so it caches well),
//   // bind q.params in order, step.
//
// Every value from the filter is a bound parameter, never SQL text. Each partition / job label /
// job run / build request criterion becomes
//   idx IN (SELECT idx FROM event_keys WHERE kind = ? AND idx > ? AND idx <= ? AND key IN (...)
//           UNION ALL SELECT idx FROM event_keys WHERE kind = ? AND idx > ? AND idx <= ?
//                                AND key >= ? AND key < ? AND key GLOB ?      -- per prefix
//           UNION ALL SELECT ... AND (key GLOB ? OR ...))                     -- no prefix
// so the primary key of event_keys serves exact refs and patterns with a literal prefix alike
// (one OR would need ANALYZE statistics before SQLite used the index for it). SQLite's GLOB has
// the semantics of messages/glob.h for ASCII refs.
#ifndef BEL_STORAGE_SQLITE_QUERY_H_
#define BEL_STORAGE_SQLITE_QUERY_H_

#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "messages/event_keys.h"
#include "messages/types.h"

namespace bel::storage {

using SqlValue = std::variant<int64_t, std::string>;

// The idx range after < idx <= until. event_keys is derived and lags the log (sqlite_storage.h):
// a query through it must stop at the indexed watermark.
struct IdxRange {
  int64_t after = 0;
  int64_t until = INT64_MAX;
};

struct SqlQuery {
  std::string sql;
  std::vector<SqlValue> params;  // in the order of the `?` in sql
};

// SELECT idx, payload FROM events WHERE idx in `range` AND <filter> ORDER BY idx
// [LIMIT row_limit]; no LIMIT when row_limit is 0. REQUIRES: check_filter(filter).ok()
SqlQuery list_events_query(IdxRange range, const EventFilter& filter, int64_t row_limit);

// SELECT count(*) of the event_keys rows (idx in `range`) that the filter's criterion of `kind`
// selects, counting no further than `cap`. REQUIRES: that criterion is non-empty.
SqlQuery key_count_query(KeyKind kind, IdxRange range, const EventFilter& filter, int64_t cap);

// The smallest string above every string that starts with `prefix` (bytewise, as SQLite's BINARY
// collation compares), or nothing when there is none (prefix empty or all 0xFF bytes).
std::optional<std::string> prefix_upper_bound(std::string prefix);

}  // namespace bel::storage

#endif  // BEL_STORAGE_SQLITE_QUERY_H_
