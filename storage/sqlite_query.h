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
#include "storage/storage_backend.h"

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

// SELECT <kEventRowColumns> FROM events WHERE idx in `range` AND <filter> ORDER BY idx [DESC]
// [LIMIT row_limit]; no LIMIT when row_limit is 0. REQUIRES: check_filter(filter).ok()
SqlQuery list_events_query(IdxRange range, const EventFilter& filter, int64_t row_limit,
                           ScanOrder order = ScanOrder::ascending);

// One stretch of a filtered scan: the idx range and whether it reads through event_keys.
struct ScanSegment {
  IdxRange range;
  bool through_keys = false;
};

// The page query for a filter whose only key criterion is one exact value (one partition ref, job
// label, job run id or build request id, and no patterns; event types may be set too):
//   SELECT <columns> FROM event_keys CROSS JOIN events ON events.idx = event_keys.idx
//   WHERE kind = ? AND key = ? AND event_keys.idx > ? AND event_keys.idx <= ?
//   [AND event_type IN (...)] ORDER BY event_keys.idx [DESC] [LIMIT ?]
// The primary key of event_keys holds one key's rows in idx order, so the read walks them from
// `range`'s end it starts at and stops at the limit: one index row per event read, however many
// events the key has, where `idx IN (SELECT ...)` collects all of them first. Such a criterion
// needs no count to decide it is selective. Nothing for any other filter.
std::optional<SqlQuery> single_key_query(IdxRange range, const EventFilter& filter,
                                         int64_t row_limit, ScanOrder order = ScanOrder::ascending);

// The stretches a scan of `range` in `order` reads one after the other when event_keys covers
// idx <= indexed_idx: the indexed part through the keys, the unindexed tail above it by decoding
// each event (ascending: indexed part first; descending: the tail first). Without a key
// criterion (uses_keys false) one segment that never reads through the keys. Empty ranges are
// left out.
std::vector<ScanSegment> scan_segments(IdxRange range, int64_t indexed_idx, bool uses_keys,
                                       ScanOrder order);

// SELECT count(*) of the event_keys rows (idx in `range`) that the filter's criterion of `kind`
// selects, counting no further than `cap`. REQUIRES: that criterion is non-empty.
SqlQuery key_count_query(KeyKind kind, IdxRange range, const EventFilter& filter, int64_t cap);

// How many index rows a key criterion may select and still drive a read of `range` through
// event_keys (at or above it, events are read in idx order and the criterion is checked on each).
// Through the keys a page costs about one index row per matching key plus one row per event
// returned; the scan costs about rows-in-range / matches decoded rows per event returned, and a
// decoded row costs some 16 index rows. The two meet near 4 * sqrt((limit + 1) * rows in range),
// which is returned within [floor, ceiling] (counting the rows is bounded by the ceiling).
int64_t selective_key_rows(IdxRange range, int limit, int64_t floor, int64_t ceiling);

// The smallest string above every string that starts with `prefix` (bytewise, as SQLite's BINARY
// collation compares), or nothing when there is none (prefix empty or all 0xFF bytes).
std::optional<std::string> prefix_upper_bound(std::string prefix);

}  // namespace bel::storage

#endif  // BEL_STORAGE_SQLITE_QUERY_H_
