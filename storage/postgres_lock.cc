#include "storage/postgres_lock.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

#include "storage/postgres_support.h"

namespace bel::storage {
namespace {

// One advisory-lock space for bel; the second key is the schema's hash (one lock per log).
constexpr int32_t kLockSpace = 1650814067;

// The session other than this one that holds the log's lock, stalled in a COPY as
// end_stalled_lock_holder says, with how many bytes its COPY has read ($1: the stall limit). A
// lock on two int4 keys shows in pg_locks as classid, objid (as oids) and objsubid 2.
std::string stalled_holder_sql() {
  return fmt::format(
      "SELECT a.pid, p.bytes_processed FROM pg_locks l"
      " JOIN pg_stat_activity a ON a.pid = l.pid"
      " JOIN pg_stat_progress_copy p ON p.pid = l.pid"
      " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
      " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
      " AND l.classid = {}::oid AND l.objid = hashtext(current_schema())::oid"
      " AND a.pid <> pg_backend_pid() AND a.state = 'active' AND a.wait_event = 'ClientRead'"
      " AND now() - a.query_start > $1::interval",
      kLockSpace);
}

}  // namespace

std::string pg_take_log_lock_sql() {
  return fmt::format("SELECT pg_advisory_xact_lock({}, hashtext(current_schema()))", kLockSpace);
}

std::string pg_lock_sql(const StorageOptions& options) {
  return fmt::format(
      "SET LOCAL lock_timeout = {}; SET LOCAL idle_in_transaction_session_timeout = {}; {}",
      std::max<int64_t>(1, options.postgres_lock_wait.count()),
      std::max<int64_t>(1, options.postgres_stall_limit.count()), pg_take_log_lock_sql());
}

bool end_stalled_lock_holder(PgConnection& db, const StorageOptions& options) {
  const std::string limit =
      std::to_string(std::max<int64_t>(1, options.postgres_stall_limit.count())) + " milliseconds";
  auto first = db.exec(stalled_holder_sql(), {limit}, "lock: looking for a stalled holder");
  if (!first.ok() || pq().PQntuples(first->get()) != 1) return false;
  const std::string pid = pg_cell(first->get(), 0, 0);
  const std::string bytes = pg_cell(first->get(), 0, 1);
  // A client still sending moves bytes_processed on; one stopped does not.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto ended = db.exec("SELECT pg_terminate_backend(s.pid) FROM (" + stalled_holder_sql() +
                           ") s WHERE s.pid = $2::int AND s.bytes_processed = $3::bigint",
                       {limit, pid, bytes}, "lock: ending a stalled holder");
  return ended.ok() && pq().PQntuples(ended->get()) == 1 && pg_cell(ended->get(), 0, 0) == "t";
}

}  // namespace bel::storage
