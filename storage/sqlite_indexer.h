// The derived key index of a SQLite log (partition refs, job labels, job run ids and build request
// ids), built behind the log in large batches instead of inside every acknowledged commit, and
// stored as postings: one key_postings row per key and batch holds the idx of that key's events
// in the batch (schema 6; event_keys is the view of the same (kind, key, idx) rows).
//
//   auto done = index_events(db, uri, /*max_events=*/16384);   // its own transaction
//   if (!done.ok()) return done.error();                      // nothing indexed; retry later
//   int64_t watermark = done->indexed_idx;                     // event_keys is exact up to here
//
// Why: an event's keys land on scattered pages of event_keys (hot and cold partitions), and
// writing them in every acknowledged commit capped appends at 16–32k/s on a 2-core machine's
// disk, against 140–220k/s for the sequential event rows alone. The per-build index (schema 4)
// moved here for the same reason: concurrent builds interleave, so an index on
// (build_request_id, idx) in the commit touched one page per active build. In batches the keys
// are grouped and sorted first, so each index page is written once per batch, and the batch
// needs no fsync of its own (see index_events).
//
// Postings (as Lucene and other log indexes keep them): a batch of 16 384 events has ~2.9 key rows
// per event but only ~0.3 distinct keys per event (hot partitions, a build's or a job run's
// several events), so one B-tree row per key and batch is ~10x fewer inserts than a row per key
// and event, and far fewer bytes. A row holds at most kPostingsPerRow idx, so reading a key's
// newest events parses one short row, whatever the key's history.
//
// The watermark meta.indexed_idx is updated in the same transaction as the rows, so the index
// always covers exactly the events with idx <= indexed_idx. Readers combine the two parts:
// through the index up to the watermark, and by decoding the short unindexed tail above it
// (SqliteStorage::list_events).
#ifndef BEL_STORAGE_SQLITE_INDEXER_H_
#define BEL_STORAGE_SQLITE_INDEXER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "messages/error.h"
#include "messages/event_keys.h"
#include "messages/types.h"
#include "storage/checks.h"  // kIndexedIdxKey, the watermark's meta key

struct sqlite3;

namespace bel::storage {

// The log's watermark: event_keys holds the keys of exactly the events with idx <= it. 0 when
// meta has none (a log whose schema predates it is migrated with the watermark at its end).
Result<int64_t> read_indexed_idx(sqlite3* db, const std::string& uri);

struct IndexProgress {
  int64_t events = 0;       // events indexed by this call
  int64_t indexed_idx = 0;  // the watermark after it
};

// Idx in one key_postings row at most.
inline constexpr size_t kPostingsPerRow = 1024;

// One (kind, key, idx) row of the key index (a key of one event).
struct KeyRow {
  int kind;
  std::string key;
  int64_t idx;
};

// Appends the event_keys rows of `event`, stored at `idx`, to `rows`.
void add_key_rows(const BuildEvent& event, int64_t idx, std::vector<KeyRow>& rows);

// Calls f(kind, key) for each of those rows, in the same order, without copying: the keys
// for_each_key visits, then the event's build_request_id.
template <class F>
void for_each_key_row(const BuildEvent& event, F&& f) {
  for_each_key(event, [&](KeyKind kind, std::string_view key) { f(static_cast<int>(kind), key); });
  f(static_cast<int>(KeyKind::build_request), std::string_view(event.build_request_id()));
}

// The key rows of a writer's unindexed tail, kept from its commits so that the indexer need not
// read those events back. Tracked only while the rows cover the whole tail, in idx order.
class KeptKeyRows {
 public:
  bool tracked() const { return tracked_; }
  // After `events` were committed at first_idx, first_idx + 1, ...: keeps their rows when the
  // kept rows reach first_idx - 1 and the tail above `indexed_idx` stays within `max_tail`
  // events; otherwise stops tracking.
  void on_commit(const std::vector<BuildEvent>& events, int64_t first_idx, int64_t indexed_idx,
                 int64_t max_tail);
  // Removes and returns the rows of the events with idx <= until.
  std::vector<KeyRow> take(int64_t until);
  // Tracks from an empty tail: every event up to `committed_idx` is indexed.
  void restart(int64_t committed_idx);
  void forget();

 private:
  bool tracked_ = false;
  int64_t until_ = 0;  // the last idx whose rows are kept
  std::vector<KeyRow> rows_;
};

// Indexes up to `max_events` events above the watermark in one transaction that also moves the
// watermark. The transaction is committed with synchronous=NORMAL: the index is derived, and the
// next appended commit (FULL) syncs the WAL frames before it anyway; a crash before then loses
// at most this batch, watermark included, and the next call redoes it.
// REQUIRES: a writer connection with no open transaction.
Result<IndexProgress> index_events(sqlite3* db, const std::string& uri, int64_t max_events,
                                   bool durability_full);

// As index_events, with the rows already known (the writer keeps the rows of the events it
// committed, so the indexer need not read and decode them again): `rows` are exactly the key
// rows of the events in (from, until], in any order (grouped by key here). Writes nothing and
// returns nothing indexed ({0, watermark}) when the watermark is not `from`.
Result<IndexProgress> index_rows(sqlite3* db, const std::string& uri, std::vector<KeyRow> rows,
                                 int64_t from, int64_t until, bool durability_full);

}  // namespace bel::storage

#endif  // BEL_STORAGE_SQLITE_INDEXER_H_
