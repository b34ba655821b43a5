# FindCAF: CAF 0.17 (Debian libcaf-dev) ships no CMake config or pkg-config file, so bel imports
# it by hand. Used by bel's own build (BelDependencies.cmake) and installed beside belConfig.cmake
# so that find_package(bel) finds CAF the same way for an embedder.
#
#   find_package(CAF REQUIRED)            # defines CAF::core and CAF::io
#   target_link_libraries(app PRIVATE CAF::io)
#
# The target names match those of CAF >= 0.18's own config, so an upgrade keeps them.
include(CMakeFindDependencyMacro)
find_dependency(Threads)
find_path(CAF_INCLUDE_DIR caf/all.hpp)
find_library(CAF_CORE_LIBRARY caf_core)
find_library(CAF_IO_LIBRARY caf_io)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CAF REQUIRED_VARS CAF_CORE_LIBRARY CAF_IO_LIBRARY CAF_INCLUDE_DIR)
if(CAF_FOUND AND NOT TARGET CAF::core)
  add_library(CAF::core UNKNOWN IMPORTED)
  set_target_properties(CAF::core PROPERTIES
    IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()
if(CAF_FOUND AND NOT TARGET CAF::io)
  add_library(CAF::io UNKNOWN IMPORTED)
  set_target_properties(CAF::io PROPERTIES
    IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
    INTERFACE_LINK_LIBRARIES CAF::core)
endif()
