#include "storage/libpq_api.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <mutex>
#include <string>

namespace bel::storage {
namespace {

LibPq libpq_table;
std::string libpq_failure;  // empty once loaded
std::once_flag libpq_once;

void load_libpq_once() {
  void* library = dlopen(kLibPqFile, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = dlerror();
    libpq_failure = why != nullptr ? why : "unknown error";
    return;
  }
  LibPq found;
  std::string missing;
#define BEL_LIBPQ_FIND(name)                                                  \
  found.name = reinterpret_cast<decltype(found.name)>(dlsym(library, #name)); \
  if (found.name == nullptr) missing += std::string(missing.empty() ? "" : ", ") + #name;
  BEL_LIBPQ_FUNCTIONS(BEL_LIBPQ_FIND)
#undef BEL_LIBPQ_FIND
  if (!missing.empty()) {
    libpq_failure = "it lacks " + missing;
    dlclose(library);
    return;
  }
  libpq_table = found;  // the library stays loaded for the process's life
}

}  // namespace

Status load_libpq(std::string_view uri) {
  std::call_once(libpq_once, load_libpq_once);
  if (libpq_failure.empty()) return ok_status();
  return make_error(ErrorCode::storage_unavailable,
                    fmt::format("{}: cannot load PostgreSQL's client library {} (Debian package "
                                "libpq5): {}",
                                uri, kLibPqFile, libpq_failure));
}

const LibPq& pq() { return libpq_table; }

}  // namespace bel::storage
