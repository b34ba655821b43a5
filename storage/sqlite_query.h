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
// Every value from the filter is a bound parameter, never SQL text. The key index is postings
// (storage/sqlite_indexer.h): key_postings rows of (kind, key, last_idx, first_idx, idxs), idxs a
// JSON array expanded by json_each. Each partition / job label / job run / build request
// criterion becomes
//   idx IN (SELECT j.value FROM key_postings AS p, json_each(p.idxs) AS j
//           WHERE p.kind = ? AND p.last_idx > ? AND p.first_idx <= ? AND j.value > ?
//           AND j.value <= ? AND p.key IN (...)
//           UNION ALL ... AND p.key >= ? AND p.key < ? AND p.key GLOB ?   -- per prefix
//           UNION ALL ... AND (p.key GLOB ? OR ...))                      -- no prefix
// so the primary key of key_postings serves exact refs and patterns with a literal prefix alike
// (one OR would need ANALYZE statistics before SQLite used the index for it), and the idx range
// skips the postings rows outside it. SQLite's GLOB has the semantics of messages/glob.h for
// ASCII refs.
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

// A filter whose only key criterion is one exact value (one partition ref, job label, job run id
// or build request id, and no patterns; event types may be set too): that key. Such a criterion
// is read through its postings whatever their number, newest or oldest first, and needs no count
// to decide it is selective. Nothing for any other filter.
struct SingleKey {
  KeyKind kind;
  std::string key;
};
std::optional<SingleKey> single_key_of(const EventFilter& filter);

// SELECT idxs FROM key_postings WHERE kind = ? AND key = ? AND <the rows that may hold idx in
// `range`> ORDER BY last_idx [DESC]: the key's postings rows in idx order, from the primary key
// without a sort. Rows of one key do not overlap (one per index batch, or per 1 024 idx of a
// batch), so reading them in order, each row's idx sorted, reads the key's events in idx order,
// and a page of 10 reads about one row.
SqlQuery postings_query(const SingleKey& key, IdxRange range, ScanOrder order);

// SELECT <kEventRowColumns> FROM events WHERE idx IN (SELECT value FROM json_each(?1)) AND idx in
// `range` [AND event_type IN (...)] ORDER BY idx [DESC]: the events of one postings row, whose
// text the caller binds to ?1 for each row in turn (the query's own first value is "[]").
SqlQuery events_of_postings_query(IdxRange range, const EventFilter& filter, ScanOrder order);

// The stretches a scan of `range` in `order` reads one after the other when event_keys covers
// idx <= indexed_idx: the indexed part through the keys, the unindexed tail above it by decoding
// each event (ascending: indexed part first; descending: the tail first). Without a key
// criterion (uses_keys false) one segment that never reads through the keys. Empty ranges are
// left out.
std::vector<ScanSegment> scan_segments(IdxRange range, int64_t indexed_idx, bool uses_keys,
                                       ScanOrder order);

// SELECT count(*) of the index rows, (kind, key, idx) (idx in `range`), that the filter's criterion
// of `kind` selects, counting no further than `cap`. REQUIRES: that criterion is non-empty.
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
