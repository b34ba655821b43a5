// The libpq functions the postgres:// backend calls, loaded from the client library (libpq.so.5)
// the first time a PostgreSQL log is opened, not linked into bel. Linked, libpq and the ~20
// libraries it needs (Kerberos, LDAP, SASL, GnuTLS, ...) were loaded at the start of every bel
// process: on a VM whose page faults are slow, ~10 ms of CPU and ~390 page faults, a third of a
// console command's start, for logs that are nearly always SQLite files.
//
//   BEL_RETURN_IF_ERROR(load_libpq(uri));      // once, before the first connection
//   PGconn* conn = pq().PQconnectdb(conninfo);  // then any function of the list below
//
// Thread-safe: the library is loaded once, and the table never changes afterwards.
#ifndef BEL_STORAGE_LIBPQ_API_H_
#define BEL_STORAGE_LIBPQ_API_H_

#include <libpq-fe.h>

#include <string_view>

#include "messages/error.h"

namespace bel::storage {

// Every libpq function bel calls: X(name) for each.
// clang-format off
#define BEL_LIBPQ_FUNCTIONS(X)                                                                   \
  X(PQclear) X(PQconnectdb) X(PQconninfoFree) X(PQconninfoParse) X(PQconsumeInput)              \
  X(PQerrorMessage) X(PQescapeIdentifier) X(PQexec) X(PQexecParams) X(PQexecPrepared)            \
  X(PQfinish) X(PQfreemem) X(PQgetResult) X(PQgetisnull) X(PQgetlength) X(PQgetvalue)            \
  X(PQnfields) X(PQnotifies) X(PQntuples) X(PQprepare) X(PQputCopyData) X(PQputCopyEnd)          \
  X(PQresultErrorField) X(PQresultErrorMessage) X(PQresultStatus) X(PQsetNoticeProcessor)        \
  X(PQsocket) X(PQstatus) X(PQtransactionStatus)
// clang-format on

struct LibPq {
#define BEL_LIBPQ_MEMBER(name) decltype(&::name) name = nullptr;
  BEL_LIBPQ_FUNCTIONS(BEL_LIBPQ_MEMBER)
#undef BEL_LIBPQ_MEMBER
};

// The library's file name, as the libpq5 package installs it.
inline constexpr const char* kLibPqFile = "libpq.so.5";

// Loads libpq and finds every function of the list, once per process; later calls return the
// first one's outcome. storage_unavailable when the library or a function is missing, naming
// `uri` (the log being opened), the file and the loader's reason.
Status load_libpq(std::string_view uri);

// The functions. REQUIRES: load_libpq() succeeded (every PGconn and PGresult comes after it).
const LibPq& pq();

}  // namespace bel::storage

#endif  // BEL_STORAGE_LIBPQ_API_H_
