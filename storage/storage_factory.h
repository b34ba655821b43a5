// Opens a Storage by URI (SPEC 3.3):
//   sqlite:///abs/path.db, sqlite://rel/path.db   the embedded default (WAL)
//   memory://                                      in-process, for tests
//   stdout                                         in-process, prints each committed event
//
//   auto log = bel::storage::open_storage(uri, {});
//   if (!log.ok()) { fmt::print(stderr, "{}\n", log.error().message); return 1; }
//
// Errors name the URI: unsupported_uri for an unknown scheme, storage_unavailable for a path that
// cannot be opened (or a read-only open of a log that does not exist), storage_corrupt for a file
// that is not a bel log, schema_too_new for a log written by a newer bel.
#ifndef BEL_STORAGE_STORAGE_FACTORY_H_
#define BEL_STORAGE_STORAGE_FACTORY_H_

#include <memory>
#include <string>

#include "storage/storage.h"

namespace bel::storage {

// Opens and initializes (unless read_only) the log at `uri`.
Result<std::unique_ptr<Storage>> open_storage(const std::string& uri,
                                              const StorageOptions& options);

}  // namespace bel::storage

#endif  // BEL_STORAGE_STORAGE_FACTORY_H_
