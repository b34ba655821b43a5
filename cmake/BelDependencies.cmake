# Finds every third-party dependency bel uses, all from Debian packages.
find_package(Threads REQUIRED)
find_package(CAF REQUIRED)               # CAF::core, CAF::io (cmake/FindCAF.cmake)
find_package(Protobuf REQUIRED)          # protobuf::libprotobuf, protobuf_generate()
find_package(SQLite3 REQUIRED)           # SQLite::SQLite3
find_package(fmt REQUIRED)               # fmt::fmt
find_package(nlohmann_json 3 REQUIRED)   # nlohmann_json::nlohmann_json: JSON input's keys
find_package(spdlog REQUIRED)            # spdlog::spdlog
find_package(CLI11 REQUIRED)             # CLI11::CLI11
find_package(CppHttplib REQUIRED)        # CppHttplib::CppHttplib (cmake/FindCppHttplib.cmake)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBEDIT REQUIRED IMPORTED_TARGET libedit)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)  # display widths of table cells
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)  # the postgres:// backend
pkg_check_modules(LIBZSTD REQUIRED IMPORTED_TARGET libzstd)  # snapshot compression, storage/
find_package(ZLIB REQUIRED)  # ZLIB::ZLIB: snapshots written before zstd, storage/
if(BEL_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(BEL_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
