// PostgreSQL for tests: scripts/with-postgres starts a throwaway server and sets BEL_TEST_PG to
// its URI; without it the PostgreSQL cases skip.
//
//   auto uri = bel::testing::fresh_postgres_uri();
//   if (!uri) GTEST_SKIP() << "BEL_TEST_PG is not set (run through scripts/with-postgres)";
#ifndef BEL_TESTS_SUPPORT_POSTGRES_H_
#define BEL_TESTS_SUPPORT_POSTGRES_H_

#include <optional>
#include <string>

struct pg_conn;

namespace bel::testing {

// The URI of a new, empty log: a schema of its own in the BEL_TEST_PG database, named once per
// call (the URI selects it with options=-csearch_path). Nothing when BEL_TEST_PG is unset.
// Aborts the test (ADD_FAILURE) when the server cannot be reached.
std::optional<std::string> fresh_postgres_uri();

// Runs `sql` (one statement or several) on `uri` as the test's own client, around bel, to set
// up or damage a case: the number of rows the last statement changed. A connection or statement
// that fails is a test failure naming it (ADD_FAILURE), and -1.
int run_postgres_sql(const std::string& uri, const std::string& sql);

// A connection of the test's own that stays open, for a case that needs another client in the
// middle of something: a transaction holding the log's lock, a COPY begun and never fed.
//   PostgresSession other(uri);
//   other.run("BEGIN");
//   other.run(storage::pg_take_log_lock_sql());
class PostgresSession {
 public:
  explicit PostgresSession(const std::string& uri);  // ADD_FAILURE when it cannot connect
  ~PostgresSession();
  PostgresSession(const PostgresSession&) = delete;
  PostgresSession& operator=(const PostgresSession&) = delete;
  // Runs `sql`; true when it succeeded (or began a COPY FROM STDIN), else ADD_FAILURE naming it.
  bool run(const std::string& sql);
  pg_conn* get() const { return conn_; }  // libpq's PGconn

 private:
  pg_conn* conn_ = nullptr;
};

// Runs BEL_TEST_PG_CTL (pg_ctl of the test server) with `args`, e.g. "restart -m immediate";
// false when it is unset or fails.
bool postgres_ctl(const std::string& args);

}  // namespace bel::testing

#endif  // BEL_TESTS_SUPPORT_POSTGRES_H_
