// The file-level checks of `bel check` on an SQLite log (SPEC section 9, R8), and its --repair
// (sqlite_repair.cc).
// They open the file themselves (read-only for the checks), so they run beside a coordinator
// and see one consistent snapshot of the log.
//
//   for (auto& c : check_sqlite_file("sqlite://bel.db", "/var/bel/bel.db")) report(c);
//   auto repaired = repair_sqlite_file("sqlite://bel.db", "/var/bel/bel.db");  // writer lock held
//
// Checks, each one CheckResult:
//  - "integrity": SQLite's PRAGMA integrity_check; the detail gives its time apart (it reads
//    every page) and the first problems SQLite names.
//  - "derived rows": every row derived from the event payloads agrees with them: the key index
//    (key_postings, behind the event_keys view) holds exactly the keys of the events up to its
//    watermark (meta indexed_idx) and nothing above it (partition, job label, job run and build
//    request keys alike), each postings row read as the reads parse it, its first_idx and
//    last_idx its lowest and highest idx; each event's event_id and build_request_id columns
//    equal its payload's where the payload carries them (rows of schemas before 5; since then
//    they are kept in their columns only), and its event_type column (which the filters select on)
//    its payload's type; the event_id index, read through the index itself, holds exactly the (id,
//    idx) pairs of the table. Compared as counts and order-independent hashes, in one pass over
//    each side: bounded memory at any log size.
//
// Repair rebuilds every derived structure from the event rows alone, never reading an index: it
// folds in the commits a killed writer left beside another name of the file, checkpoints the WAL,
// copies the events (each event_type column derived from its payload again), snapshots and meta
// rows (tables read in rowid order) into a fresh file with a fresh schema, in a directory of mode
// 0700 beside the log, builds event_keys and the SQL indexes there, and writes the fresh file's
// pages over the log's through SQLite's backup API, in one transaction of the log's WAL. The log
// keeps its file: symlinks and hard links still name it, readers with it open by the same name
// read the repaired log, and its mode and owner are kept. A crash before that commit leaves the log
// as it was; after it, the log is complete. Damage to the event rows themselves cannot be repaired
// this way: the copy fails with storage_corrupt naming it. Snapshots are derived data too: a
// snapshots table SQLite cannot read is left out (RepairReport::snapshots_dropped).
//
// A local `bel check` (local_check.h) reads the file's events once for both its scan and the
// derived-rows check: the scan takes its pages from a DerivedRowsPass, which digests each row as
// it hands it over, then reads the key index and the event_id index on a thread of its own while
// the views are compared.
//
//   auto pass = DerivedRowsPass::open(uri, path);          // one read transaction
//   run_local_log_check(*log, options, pass->get());       // the scan reads through it
//   CheckResult derived = (*pass)->result();               // "derived rows"
//
// Thread-safety: check_sqlite_file and repair_sqlite_file need none; each call opens its own
// connections. A DerivedRowsPass is used by one thread at a time (see the class).
#ifndef BEL_ACTORS_CHECK_DERIVED_CHECK_H_
#define BEL_ACTORS_CHECK_DERIVED_CHECK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/check/local_check.h"
#include "actors/check/scan_check.h"
#include "messages/error.h"

namespace bel::check {

// The "derived rows" check of one SQLite log file, over one read transaction, whose event rows
// a local check's first scan can read as its pages (a ScanSource). Whatever events the pages did
// not read, result() reads itself, so the check is the same whether a scan used it or not.
class DerivedRowsPass final : public ScanSource {
 public:
  // Opens `path` read-only and starts its read transaction (`uri` names it in details).
  // Errors: storage_unavailable or storage_corrupt when the file cannot be opened or read.
  static Result<std::unique_ptr<DerivedRowsPass>> open(const std::string& uri,
                                                       const std::string& path);
  ~DerivedRowsPass() override;
  DerivedRowsPass(const DerivedRowsPass&) = delete;
  DerivedRowsPass& operator=(const DerivedRowsPass&) = delete;

  // The last idx of the transaction's snapshot of the log.
  int64_t last_idx() const override;
  // The next events in idx order (every field, as list_events_into with EventDetail::full gives
  // them), at most `limit`, into `page`. REQUIRES: `since` is 0 on the first call and the page
  // before's next_idx after it. Once a page reaches last_idx(), the rest of the check (the key
  // index and the event_id index) starts on a thread of its own. Errors: storage_corrupt for a
  // payload that does not parse, which result() then reports too.
  Status read_page(int64_t since, int limit, EventPage* page) override;
  // Starts the whole check (reading every event itself) on a thread of its own.
  void not_read() override;

  // The "derived rows" CheckResult: waits for the rest of the check, or does it on this thread
  // (reading every event no page read). Call once, with no read_page running.
  CheckResult result();

 private:
  struct State;
  explicit DerivedRowsPass(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// "integrity" (unless `integrity` is false) and "derived rows" for the SQLite log file `path`
// (`uri` names it in details). A file that cannot be opened gives failed checks naming why,
// never an error.
std::vector<CheckResult> check_sqlite_file(const std::string& uri, const std::string& path,
                                           bool integrity = true);
// "integrity" alone, on a connection of its own.
CheckResult check_sqlite_integrity(const std::string& uri, const std::string& path);

struct RepairReport {
  int64_t events = 0;    // event rows copied
  int64_t key_rows = 0;  // event_keys rows built
  int64_t snapshots = 0;
  // Why the snapshots table could not be read (damaged pages), when it could not: then none was
  // kept, and the views fold from idx 1 at the next start (or `bel views rebuild` saves new ones).
  std::string snapshots_dropped;
};

// Rebuilds the derived data of the log file `path` (see above).
// REQUIRES: the caller holds the log's writer lock (storage/writer_lock.h): no coordinator or
// other writer has the file open.
// Errors: storage_unavailable when a file cannot be written, storage_corrupt when the
// event rows cannot be read, schema_too_new / storage_unavailable for a log of another schema
// version (open it once for writing to migrate it first).
Result<RepairReport> repair_sqlite_file(const std::string& uri, const std::string& path);

}  // namespace bel::check

#endif  // BEL_ACTORS_CHECK_DERIVED_CHECK_H_
