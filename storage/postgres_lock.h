// The log's lock on PostgreSQL (docs/scale-out.md, "No coordinator holds the others up"): each
// append transaction takes a transaction-scoped advisory lock keyed by the log's schema, with a
// bounded wait; the transaction holding it may wait on its own client a bounded time.
//
//   db.command(pg_lock_sql(options), "append: lock");       // in the append's transaction
//   // on lock_timeout (SQLSTATE 55P03), after ROLLBACK:
//   end_stalled_lock_holder(db, options);                  // then fail: a retry is safe
#ifndef BEL_STORAGE_POSTGRES_LOCK_H_
#define BEL_STORAGE_POSTGRES_LOCK_H_

#include <string>

#include "storage/storage.h"

namespace bel::storage {

class PgConnection;  // storage/postgres_support.h (libpq's types stay out of this header)

// The statement that takes the log's lock (in a transaction; keyed by the log's schema).
std::string pg_take_log_lock_sql();

// Sets this transaction's lock_timeout (options.postgres_lock_wait) and
// idle_in_transaction_session_timeout (options.postgres_stall_limit), then takes the log's lock.
std::string pg_lock_sql(const StorageOptions& options);

// Ends the session that holds the log's lock when its client stopped in the middle of a COPY:
// the server then waits on that client's data, where idle_in_transaction_session_timeout does
// not apply (it ends only a session idle between statements), so a coordinator stopped there
// (SIGSTOP, a paused VM) would hold every other writer up until it woke. Stalled means: its
// COPY started over options.postgres_stall_limit ago, it waits on its client (ClientRead), and
// it read no byte more in a second look a second later (a client still sending is left alone:
// PgConnection::copy_in sends in messages of 64 KiB, and the server counts each as it arrives).
// Ended with pg_terminate_backend, its transaction rolls back (nothing of it was acknowledged) and
// the lock is free. Call it outside a transaction, after the lock's wait timed out. True when it
// ended one; false when the holder is not stalled, is gone, or cannot be ended (another role
// without pg_signal_backend, a server before PostgreSQL 14, which has no pg_stat_progress_copy):
// the waiter fails as before.
bool end_stalled_lock_holder(PgConnection& db, const StorageOptions& options);

}  // namespace bel::storage

#endif  // BEL_STORAGE_POSTGRES_LOCK_H_
