#include "storage/storage_factory.h"

#include <fmt/format.h>

#include "storage/memory_storage.h"
#include "storage/postgres_storage.h"
#include "storage/sqlite_storage.h"
#include "storage/stdout_storage.h"
#include "storage/uri.h"

namespace bel::storage {
namespace {

Result<std::unique_ptr<Storage>> initialized(std::unique_ptr<Storage> storage) {
  // A read-only handle writes nothing here; SqliteStorage checks the log it opened instead.
  BEL_RETURN_IF_ERROR(storage->initialize());
  return storage;
}

}  // namespace

Result<std::unique_ptr<Storage>> open_storage(const std::string& uri,
                                              const StorageOptions& options) {
  auto parsed = parse_storage_uri(uri);
  if (!parsed.ok()) return parsed.error();
  switch (parsed->scheme) {
    case UriScheme::sqlite: {
      auto sqlite = SqliteStorage::open(uri, parsed->path, options);
      if (!sqlite.ok()) return sqlite.error();
      return initialized(std::move(*sqlite));
    }
    case UriScheme::memory:
      return initialized(std::make_unique<MemoryStorage>(uri, options));
    case UriScheme::stdout_sink:
      return initialized(std::make_unique<StdoutStorage>(options));
    case UriScheme::postgres: {
      auto postgres = PostgresStorage::open(uri, options);
      if (!postgres.ok()) return postgres.error();
      return initialized(std::move(*postgres));
    }
  }
  return make_error(ErrorCode::internal, fmt::format("{}: unhandled storage scheme", uri));
}

}  // namespace bel::storage
