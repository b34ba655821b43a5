// The SQLite schema of a bel log and its migrations (DESIGN: SQLite schema).
//
// The schema is built by a list of steps, each taking the log from one version to the next; a
// fresh database is version 0 and runs every step. meta.schema_version records the version.
//
//   auto version = read_schema_version(db, uri);        // inside the caller's transaction
//   if (!version.ok()) return version.error();
//   BEL_RETURN_IF_ERROR(check_not_too_new(uri, *version));
//   BEL_RETURN_IF_ERROR(migrate(db, uri, *version));    // same transaction; COMMIT after
//
// Tables:
//   events(idx, event_id, timestamp, build_request_id, event_type, payload)
//       payload is the serialized BuildEvent without the fields the row keeps in columns
//       (idx, event_id, timestamp, build_request_id: version 5; sqlite_support.h, stored_payload);
//       event_type its oneof field number; event_id is a 16-byte BLOB for a canonical lowercase
//       UUID, TEXT for any other id (version 2), so the UNIQUE index on it stays small. The UNIQUE
//       index on event_id is the only index an acknowledged commit writes (idempotency needs it)
//   key_postings(kind, key, last_idx, first_idx, idxs) WITHOUT ROWID   the key index (version 6):
//       kind is messages/event_keys.h KeyKind; one row per key and index batch (at most 1 024
//       idx), idxs the JSON array of the idx whose event has the key: keys_of(event) and the
//       event's build_request_id (version 4; until then an index events_by_build_request on
//       events), used by partition / job label / job run / build request filters. Derived, and
//       behind the log: it holds exactly the events with idx <= meta.indexed_idx (version 3;
//       storage/sqlite_indexer.h)
//   event_keys(kind, key, idx)   a view of key_postings, one row per key and event (versions 1-5
//       kept these rows in a table of their own)
//   snapshots(view, version, applied_idx, data)   one row per (view, version)
//   meta(key, value)                              schema_version, indexed_idx, log_id,
//                                                 writer_path (sqlite_wal_names.h), settings
#ifndef BEL_STORAGE_SQLITE_SCHEMA_H_
#define BEL_STORAGE_SQLITE_SCHEMA_H_

#include <string>
#include <vector>

#include "messages/error.h"

struct sqlite3;

namespace bel::storage {

// One migration step: the statements that take a log at to_version - 1 to to_version.
struct Migration {
  int to_version;
  std::vector<const char*> statements;
};

// Every step, ascending; the last one reaches kSchemaVersion.
const std::vector<Migration>& sqlite_migrations();

// The log's schema version: 0 for a database with no tables (a new file). storage_corrupt
// ("<uri>: not a bel log: ...") for a database with tables but no usable meta.schema_version.
Result<int> read_schema_version(sqlite3* db, const std::string& uri);

// schema_too_new when `version` is newer than kSchemaVersion.
Status check_not_too_new(const std::string& uri, int version);

// Runs every step above `from_version` and records kSchemaVersion. Runs inside the caller's
// transaction, so a failure leaves the log as it was once the caller rolls back.
// REQUIRES: 0 <= from_version <= kSchemaVersion
Status migrate(sqlite3* db, const std::string& uri, int from_version);

}  // namespace bel::storage

#endif  // BEL_STORAGE_SQLITE_SCHEMA_H_
