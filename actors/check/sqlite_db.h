// The file-level checks' own SQLite connections (derived_check.cc, sqlite_repair.cc): each opened
// by path and used by the one thread that opened it.
#ifndef BEL_ACTORS_CHECK_SQLITE_DB_H_
#define BEL_ACTORS_CHECK_SQLITE_DB_H_

#include <sqlite3.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "messages/error.h"

namespace bel::check::derived_rows {

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, CloseDb>;

// `path` opened with `flags` (SQLITE_OPEN_*), without SQLite's mutex, with extended result codes
// and a busy timeout of 5 s; the error names `path`.
Result<Db> open_db(const std::string& uri, const std::string& path, int flags);

// Runs `sql` and hands every row to `row`; the error names `what`.
Status each_row(sqlite3* db, const std::string& uri, const std::string& sql, std::string_view what,
                const std::function<Status(sqlite3_stmt*)>& row);

}  // namespace bel::check::derived_rows

#endif  // BEL_ACTORS_CHECK_SQLITE_DB_H_
