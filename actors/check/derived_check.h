// The file-level checks of `bel check` on an SQLite log (SPEC section 9, R8), and its --repair.
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
//    (event_keys) holds exactly the keys of the events up to its watermark (meta indexed_idx) and
//    nothing above it (partition, job label, job run and build request keys alike); each event's
//    event_id and build_request_id columns equal its payload's; the event_id index, read through
//    the index itself, holds exactly the (id, idx) pairs of the table. Compared as counts and
//    order-independent hashes, in one pass over each side: bounded memory at any log size.
//
// Repair rebuilds every derived structure from the event rows alone, never reading an index: it
// checkpoints the WAL, copies the events, snapshots and meta rows (tables read in rowid order)
// into a fresh file with a fresh schema, builds event_keys and the SQL indexes there, and
// renames it over the log. A crash before the rename leaves the log as it was; after it, the
// new file is complete. Damage to the event rows themselves cannot be repaired this way: the
// copy fails with storage_corrupt naming it.
//
// Thread-safety: none needed; each call opens its own connections.
#ifndef BEL_ACTORS_CHECK_DERIVED_CHECK_H_
#define BEL_ACTORS_CHECK_DERIVED_CHECK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "actors/check/scan_check.h"
#include "messages/error.h"

namespace bel::check {

// "integrity" (unless `integrity` is false) and "derived rows" for the SQLite log file `path`
// (`uri` names it in details). A file that cannot be opened gives failed checks naming why,
// never an error.
std::vector<CheckResult> check_sqlite_file(const std::string& uri, const std::string& path,
                                           bool integrity = true);

struct RepairReport {
  int64_t events = 0;    // event rows copied
  int64_t key_rows = 0;  // event_keys rows built
  int64_t snapshots = 0;
};

// Rebuilds the derived data of the log file `path` (see above).
// REQUIRES: the caller holds the log's writer lock (storage/writer_lock.h): no coordinator or
// other writer has the file open.
// Errors: storage_unavailable when a file cannot be written or renamed, storage_corrupt when the
// event rows cannot be read, schema_too_new / storage_unavailable for a log of another schema
// version (open it once for writing to migrate it first).
Result<RepairReport> repair_sqlite_file(const std::string& uri, const std::string& path);

}  // namespace bel::check

#endif  // BEL_ACTORS_CHECK_DERIVED_CHECK_H_
