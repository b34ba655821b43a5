// The baselines of `bel bench` that write SQLite directly (SPEC section 8): the same schema as a
// bel log (storage::sqlite_migrations(), WAL, the same synchronous setting), the same rows an
// acknowledged bel commit writes (events rows, ids in their compact form; the key index is
// derived and written later, storage/sqlite_indexer.h), but no actors, no validation, no
// idempotency lookups. The pure-append ceiling writes one integer-keyed row per event only.
//
//   auto rows = bel::bench::raw_rows(events);                      // payloads serialized up front
//   auto rate = bel::bench::raw_batch_inserts(dir + "/raw.db", rows, 512, true, progress);
//   if (!rate.ok()) return rate.error();                           // names the file
//   double rows_per_second = rate->per_second;
//
// Every function creates `path` afresh (it must not exist), times only the insert loop, and
// leaves the file behind for the caller to remove. Errors name the file and the SQLite message.
#ifndef BEL_BENCH_RAW_SQLITE_H_
#define BEL_BENCH_RAW_SQLITE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "messages/error.h"
#include "messages/event_keys.h"
#include "messages/types.h"
#include "storage/sqlite_storage.h"

namespace bel::bench {

// Called now and then (at most every 100 ms) with the rows written so far and the total.
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

// One events row and its event_keys rows, ready to bind.
struct RawRow {
  std::string event_id;
  int64_t timestamp = 0;
  std::string build_request_id;
  int event_type = 0;
  std::string payload;  // the serialized BuildEvent, idx cleared, as SqliteStorage stores it
  EventKeys keys;
};

// The rows a bel log stores for `events` (idx 1, 2, ... in order).
std::vector<RawRow> raw_rows(const std::vector<BuildEvent>& events);

struct RawRate {
  int64_t rows = 0;
  int64_t transactions = 0;
  double seconds = 0;
  double per_second = 0;  // rows / seconds
};

// The statements of the ceilings below write rows as bel's append_batch does: this many per
// INSERT while that many of a transaction are left, one at a time after them.
inline constexpr size_t kRowsPerStatement = storage::SqliteStorage::kRowsPerInsert;

// The batch-insert ceiling: `rows` in transactions of `batch_size` rows (the last may be
// smaller), kRowsPerStatement rows per prepared INSERT. REQUIRES: batch_size >= 1
Result<RawRate> raw_batch_inserts(const std::string& path, const std::vector<RawRow>& rows,
                                  int64_t batch_size, bool durability_full,
                                  const ProgressFn& progress = {});

// The pure-append ceiling (SPEC section 8, P1): one row per event in a table keyed by integer
// (idx, payload), no event_id, no other index, in transactions of `batch_size` rows.
Result<RawRate> pure_append_ceiling(const std::string& path, const std::vector<RawRow>& rows,
                                    int64_t batch_size, bool durability_full,
                                    const ProgressFn& progress = {});

// The one-commit-per-row ceiling: raw_batch_inserts with batch_size 1.
Result<RawRate> raw_commit_per_row(const std::string& path, const std::vector<RawRow>& rows,
                                   bool durability_full, const ProgressFn& progress = {});

// The naive design bel replaces: one transaction per event, the payload the event's JSON text
// (to_json, built inside the timed loop, as are its index rows, written in the same
// transaction), no actors, no group commit.
Result<RawRate> naive_json_per_event(const std::string& path, const std::vector<BuildEvent>& events,
                                     bool durability_full, const ProgressFn& progress = {});

}  // namespace bel::bench

#endif  // BEL_BENCH_RAW_SQLITE_H_
