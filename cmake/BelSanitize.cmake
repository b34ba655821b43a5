# The sanitizer and fuzzing build (SPEC section 9, R2): -DBEL_SANITIZE=ON with clang compiles
# everything with AddressSanitizer and UndefinedBehaviorSanitizer (any undefined behaviour aborts)
# plus libFuzzer's coverage instrumentation (not test code: bel_test_code in tests/CMakeLists.txt),
# and tests/fuzz then builds one libFuzzer binary per harness (bel_fuzz_*). One build serves both:
# ./scripts/test runs its ctest and the fuzzers.
#
#   CXX=clang++-14 cmake -G Ninja -S . -B build-san -DBEL_SANITIZE=ON -DBEL_BUILD_BENCH=OFF
#
# Third-party libraries (CAF, protobuf, SQLite) come from Debian uninstrumented; ASan still sees
# every heap access bel makes through them. Leak suppressions live in tests/fuzz/lsan.supp,
# exemptions of library code from UBSan in tests/fuzz/ubsan_ignorelist.txt.
option(BEL_SANITIZE "Build with ASan+UBSan and the libFuzzer targets (needs clang)" OFF)

if(BEL_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "BEL_SANITIZE needs clang (libFuzzer): configure with CXX=clang++-14")
  endif()
  # The ignorelist exempts only library code proven faulty (each entry says why).
  set(BEL_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
                         -fno-omit-frame-pointer
                         -fsanitize-ignorelist=${PROJECT_SOURCE_DIR}/tests/fuzz/ubsan_ignorelist.txt)
  add_compile_options(${BEL_SANITIZE_FLAGS} -fsanitize=fuzzer-no-link)
  add_link_options(-fsanitize=address,undefined)
endif()
