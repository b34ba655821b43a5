// The "derived rows" check of `bel check` on a postgresql:// log: every row derived from the
// event payloads agrees with them. Each event's columns (event_uuid or event_text, timestamp,
// build_request_id, event_type) equal its payload's fields, and event_keys holds exactly the
// keys of the events (partition, job label, job run and build request keys alike; what the
// filtered reads and the write rules' lookups use). Compared as counts and order-independent
// hashes (row_digest.h), reading each table once through a cursor, in one REPEATABLE READ
// READ ONLY transaction: one consistent snapshot, beside running coordinators, in bounded
// memory at any log size.
//
//   CheckResult derived = check_postgres_derived_rows("postgresql://bel@db/builds");
//
// A log that cannot be reached or read gives a failed check naming why, never an error.
// There is no --repair for a PostgreSQL log: the detail of a failed check says what differs.
// Thread-safety: each call opens its own connection.
#ifndef BEL_ACTORS_CHECK_POSTGRES_CHECK_H_
#define BEL_ACTORS_CHECK_POSTGRES_CHECK_H_

#include <string>

#include "actors/check/scan_check.h"

namespace bel::check {

CheckResult check_postgres_derived_rows(const std::string& uri);

}  // namespace bel::check

#endif  // BEL_ACTORS_CHECK_POSTGRES_CHECK_H_
