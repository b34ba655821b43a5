#include "tests/support/postgres.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace bel::testing {

std::optional<std::string> fresh_postgres_uri() {
  const char* base = std::getenv("BEL_TEST_PG");
  if (base == nullptr || *base == '\0') return std::nullopt;
  static std::atomic<int> counter{0};
  const std::string schema =
      "t_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1));
  if (run_postgres_sql(base, "CREATE SCHEMA " + schema) < 0) return std::nullopt;
  std::string uri = base;
  uri += uri.find('?') == std::string::npos ? "?" : "&";
  return uri + "options=-csearch_path%3D" + schema;
}

int run_postgres_sql(const std::string& uri, const std::string& sql) {
  PGconn* conn = PQconnectdb(uri.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    ADD_FAILURE() << "connecting to " << uri << ": " << PQerrorMessage(conn);
    PQfinish(conn);
    return -1;
  }
  PGresult* r = PQexec(conn, sql.c_str());
  int changed = -1;
  if (PQresultStatus(r) == PGRES_COMMAND_OK) {
    const std::string rows = PQcmdTuples(r);
    changed = rows.empty() ? 0 : std::stoi(rows);
  } else {
    ADD_FAILURE() << sql << ": " << PQerrorMessage(conn);
  }
  PQclear(r);
  PQfinish(conn);
  return changed;
}

PostgresSession::PostgresSession(const std::string& uri) : conn_(PQconnectdb(uri.c_str())) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    ADD_FAILURE() << "connecting to " << uri << ": " << PQerrorMessage(conn_);
  }
}

PostgresSession::~PostgresSession() { PQfinish(conn_); }

bool PostgresSession::run(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  const ExecStatusType status = PQresultStatus(r);
  PQclear(r);
  const bool ok =
      status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_IN;
  if (!ok) ADD_FAILURE() << sql << ": " << PQerrorMessage(conn_);
  return ok;
}

bool postgres_ctl(const std::string& args) {
  const char* ctl = std::getenv("BEL_TEST_PG_CTL");
  if (ctl == nullptr || *ctl == '\0') return false;
  return std::system((std::string(ctl) + " " + args + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace bel::testing
