#include "tests/support/postgres.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

namespace bel::testing {

std::optional<std::string> fresh_postgres_uri() {
  const char* base = std::getenv("BEL_TEST_PG");
  if (base == nullptr || *base == '\0') return std::nullopt;
  static std::atomic<int> counter{0};
  const std::string schema =
      "t_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1));
  PGconn* conn = PQconnectdb(base);
  if (PQstatus(conn) != CONNECTION_OK) {
    ADD_FAILURE() << "BEL_TEST_PG " << base << ": " << PQerrorMessage(conn);
    PQfinish(conn);
    return std::nullopt;
  }
  PGresult* r = PQexec(conn, ("CREATE SCHEMA " + schema).c_str());
  const bool created = PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!created) ADD_FAILURE() << "CREATE SCHEMA " << schema << ": " << PQerrorMessage(conn);
  PQclear(r);
  PQfinish(conn);
  if (!created) return std::nullopt;
  std::string uri = base;
  uri += uri.find('?') == std::string::npos ? "?" : "&";
  return uri + "options=-csearch_path%3D" + schema;
}

bool postgres_ctl(const std::string& args) {
  const char* ctl = std::getenv("BEL_TEST_PG_CTL");
  if (ctl == nullptr || *ctl == '\0') return false;
  return std::system((std::string(ctl) + " " + args + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace bel::testing
