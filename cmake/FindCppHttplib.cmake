# Finds cpp-httplib -> CppHttplib::CppHttplib. Debian's libcpp-httplib-dev ships the header and a
# shared library built with OpenSSL, zlib and Brotli support; code including the header must be
# compiled with the same CPPHTTPLIB_* definitions (they change class layouts), which only the
# package's pkg-config file gives, so pkg-config is required.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(PC_CPPHTTPLIB QUIET cpp-httplib)
endif()
find_path(CppHttplib_INCLUDE_DIR httplib.h HINTS ${PC_CPPHTTPLIB_INCLUDE_DIRS})
find_library(CppHttplib_LIBRARY NAMES cpp-httplib HINTS ${PC_CPPHTTPLIB_LIBRARY_DIRS})
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(
  CppHttplib REQUIRED_VARS CppHttplib_LIBRARY CppHttplib_INCLUDE_DIR PC_CPPHTTPLIB_FOUND
  VERSION_VAR PC_CPPHTTPLIB_VERSION)
if(CppHttplib_FOUND AND NOT TARGET CppHttplib::CppHttplib)
  add_library(CppHttplib::CppHttplib UNKNOWN IMPORTED)
  set_target_properties(CppHttplib::CppHttplib PROPERTIES
    IMPORTED_LOCATION "${CppHttplib_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CppHttplib_INCLUDE_DIR}"
    INTERFACE_COMPILE_OPTIONS "${PC_CPPHTTPLIB_CFLAGS_OTHER}")
endif()
mark_as_advanced(CppHttplib_INCLUDE_DIR CppHttplib_LIBRARY)
