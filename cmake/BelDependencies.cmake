# Finds every third-party dependency bel uses, all from Debian packages.
find_package(Threads REQUIRED)

# CAF 0.17 (Debian libcaf-dev) ships no CMake config or pkg-config file: import it by hand.
# The target names match those of CAF >= 0.18's own config, so an upgrade keeps them.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
find_library(CAF_IO_LIBRARY caf_io REQUIRED)
if(NOT TARGET CAF::core)
  add_library(CAF::core UNKNOWN IMPORTED)
  set_target_properties(CAF::core PROPERTIES
    IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
  add_library(CAF::io UNKNOWN IMPORTED)
  set_target_properties(CAF::io PROPERTIES
    IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
    INTERFACE_LINK_LIBRARIES CAF::core)
endif()

find_package(Protobuf REQUIRED)          # protobuf::libprotobuf, protobuf_generate()
find_package(SQLite3 REQUIRED)           # SQLite::SQLite3
find_package(fmt REQUIRED)               # fmt::fmt
find_package(spdlog REQUIRED)            # spdlog::spdlog
find_package(CLI11 REQUIRED)             # CLI11::CLI11
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBEDIT REQUIRED IMPORTED_TARGET libedit)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)  # display widths of table cells
if(BEL_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(BEL_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
