# Installing bel: `cmake --install build --prefix P` and `cpack -G DEB` (docs/embedding.md).
#   P/bin/bel                      the console and coordinator
#   P/lib/libbel_*.a               the static libraries that embed the coordinator and the client tier
#   P/include/bel/...              the public headers, under their source paths (actors/..., messages/...)
#   P/lib/cmake/bel/               find_package(bel CONFIG) -> bel::bel
#   P/lib/pkgconfig/bel.pc         pkg-config --cflags --libs bel
# Included last from the top CMakeLists, after every target exists; nothing else installs.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(BEL_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/bel)
set(BEL_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/bel)

# What an embedder links: the console endpoint (and the web view it serves), the client tier and
# the coordinator beneath them, each library before those it uses (the order bel.pc lists them
# in). Not the simulator, `bel check`, the benchmarks or the console.
set(BEL_EMBED_LIBRARIES bel_web bel_client bel_net bel_actors bel_read bel_write bel_projections bel_storage
                        bel_write_rules bel_caf bel_messages)

# bel::bel: one target for all of them; CMake derives the link order from their dependencies.
add_library(bel_library INTERFACE)
set_target_properties(bel_library PROPERTIES EXPORT_NAME bel)
target_link_libraries(bel_library INTERFACE bel_web bel_client)
target_compile_features(bel_library INTERFACE cxx_std_17)
add_library(bel::bel ALIAS bel_library)

install(TARGETS bel RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS bel_library ${BEL_EMBED_LIBRARIES}
        EXPORT belTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${BEL_INSTALL_INCLUDEDIR})
install(EXPORT belTargets NAMESPACE bel:: DESTINATION ${BEL_INSTALL_CMAKEDIR})

# The public headers (the contract is docs/embedding.md). Each compiles against the installed
# prefix alone: tests/install/example_test.sh checks that.
file(GLOB BEL_CLIENT_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/actors/client/*.h)
install(FILES actors/bel_api.h actors/caf_support.h actors/coordinator.h
        DESTINATION ${BEL_INSTALL_INCLUDEDIR}/actors)
install(FILES ${BEL_CLIENT_HEADERS} DESTINATION ${BEL_INSTALL_INCLUDEDIR}/actors/client)
install(FILES actors/web/console_endpoint.h DESTINATION ${BEL_INSTALL_INCLUDEDIR}/actors/web)
install(FILES messages/error.h messages/event_id.h messages/types.h messages/bel.proto
              ${PROJECT_BINARY_DIR}/messages/bel.pb.h
        DESTINATION ${BEL_INSTALL_INCLUDEDIR}/messages)

# The CMake package: belConfig.cmake finds the dependencies (CAF and cpp-httplib through our find
# modules, installed beside it), then imports the targets.
configure_package_config_file(cmake/belConfig.cmake.in ${PROJECT_BINARY_DIR}/belConfig.cmake
                              INSTALL_DESTINATION ${BEL_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/belConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/belConfig.cmake ${PROJECT_BINARY_DIR}/belConfigVersion.cmake
              cmake/FindCAF.cmake cmake/FindCppHttplib.cmake
        DESTINATION ${BEL_INSTALL_CMAKEDIR})

# bel.pc, relocatable: the prefix is found from the .pc file's own directory, so
# `cmake --install --prefix` anywhere and the Debian package (/usr) both work.
file(RELATIVE_PATH BEL_PC_TO_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" BEL_PC_TO_PREFIX "${BEL_PC_TO_PREFIX}")
string(REPLACE ";" " -l" BEL_PC_LIBS "-l${BEL_EMBED_LIBRARIES}")
configure_file(cmake/bel.pc.in ${PROJECT_BINARY_DIR}/bel.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/bel.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# `cpack -G DEB`: one package, `bel`, with the binary and the library. Depends lists the shared
# libraries the binary links (dpkg -S on its ldd output, Debian 12); embedding also needs the
# -dev packages, suggested.
set(BEL_PACKAGE_CONTACT "bel maintainers <bel-maintainers@example.org>"
    CACHE STRING "Maintainer of the Debian package (name <email>)")
set(CPACK_PACKAGE_NAME bel)
set(CPACK_PACKAGE_VENDOR "bel")
set(CPACK_PACKAGE_CONTACT "${BEL_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "build event log: the bel console and coordinator, and the library to embed it")
set(CPACK_PACKAGE_DESCRIPTION
    "bel records what a partition-oriented data build coordinator does as an append-only log of events and answers questions about it. This package holds the bel binary and the static libraries, headers, CMake package and pkg-config file to embed the coordinator.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${BEL_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6 (>= 2.36), libstdc++6 (>= 12), libgcc-s1, libcaf-core0.17, libcaf-io0.17, libprotobuf32, libsqlite3-0, libzstd1, zlib1g, libspdlog1.10, libfmt9, libedit2, libutf8proc2, libcpp-httplib0.11, libjemalloc2")
# libpq is loaded with dlopen the first time a PostgreSQL log is opened (storage/libpq_api.h):
# recommended, not depended on, and never compiled against by an embedder.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libpq5")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "libcaf-dev, libprotobuf-dev, libsqlite3-dev, libzstd-dev, zlib1g-dev, libspdlog-dev, libfmt-dev, libcpp-httplib-dev, pkg-config")
set(CPACK_GENERATOR DEB)
include(CPack)
