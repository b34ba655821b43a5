#!/usr/bin/env bash
# Installs the current build into a temporary prefix and checks what an embedder gets there:
# every installed header compiles on its own against the prefix (and the system's headers), no
# internal header is installed, bel.pc points at the headers, and examples/embedded_coordinator
# builds with find_package(bel) against the prefix, records a build request on a fresh SQLite
# log and reads it back.
#   example_test.sh BUILD_DIR EXAMPLE_DIR CMAKE GENERATOR CXX
set -euo pipefail
build_dir=$1 example_dir=$2 cmake=$3 generator=$4 cxx=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

"$cmake" --install "$build_dir" --prefix "$prefix" >/dev/null

# The public headers, and only those (docs/embedding.md).
include_dir=$prefix/include/bel
for h in actors/bel_api.h actors/coordinator.h actors/caf_support.h actors/client/api_client.h \
         actors/client/session.h actors/web/console_endpoint.h messages/error.h messages/types.h \
         messages/bel.pb.h; do
  [ -f "$include_dir/$h" ] || { echo "not installed: $h" >&2; exit 1; }
done
for internal in storage projections actors/write actors/read actors/supervisor.h \
                actors/web/web_view.h actors/net; do
  [ ! -e "$include_dir/$internal" ] || { echo "internal header installed: $internal" >&2; exit 1; }
done
(cd "$include_dir" && find . -name '*.h' | sed 's|^\./||' | sort) |
  xargs -P2 -I{} sh -c 'echo "#include \"$1\"" |
      "$0" -std=c++17 -fsyntax-only -I"$2" -x c++ - ||
      { echo "does not compile alone against the prefix: $1" >&2; exit 1; }' \
    "$cxx" {} "$include_dir"

# bel.pc is relocatable: its include directory is the prefix's.
cflags=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags bel)
pc_include=$(printf '%s\n' $cflags | sed -n 's/^-I//p' | head -n1)
[ -f "$pc_include/actors/coordinator.h" ] || { echo "bel.pc: bad include dir: $cflags" >&2; exit 1; }

# A dependency missing (cpp-httplib, which comes through pkg-config, or zlib): an optional
# find_package(bel) leaves bel not found and the caller's CMAKE_MODULE_PATH as it was; a required
# one fails naming what is missing.
mkdir -p "$tmp/probe" "$tmp/no-pc"
cat >"$tmp/probe/CMakeLists.txt" <<'PROBE'
cmake_minimum_required(VERSION 3.16)
project(probe CXX)
set(CMAKE_MODULE_PATH "${CMAKE_CURRENT_SOURCE_DIR}/marker")
if(PROBE_REQUIRED)
  find_package(bel CONFIG REQUIRED)
else()
  find_package(bel CONFIG QUIET)
endif()
if(bel_FOUND)
  message(FATAL_ERROR "bel found with a dependency missing")
endif()
if(NOT CMAKE_MODULE_PATH STREQUAL "${CMAKE_CURRENT_SOURCE_DIR}/marker")
  message(FATAL_ERROR "CMAKE_MODULE_PATH left as ${CMAKE_MODULE_PATH}")
endif()
PROBE
# probe [VAR=VALUE...] -- [CMAKE ARG...]: configures the probe afresh, its output in probe.out.
probe() {
  local vars=()
  while [ "$1" != "--" ]; do vars+=("$1"); shift; done
  shift
  rm -rf "$tmp/probe-build"
  env "${vars[@]}" "$cmake" -S "$tmp/probe" -B "$tmp/probe-build" -G "$generator" \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" "$@" >"$tmp/probe.out" 2>&1
}
probe PKG_CONFIG_LIBDIR="$tmp/no-pc" -- ||
  { echo "an optional find_package(bel) without cpp-httplib failed:" >&2
    cat "$tmp/probe.out" >&2; exit 1; }
probe -- -DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=ON ||
  { echo "an optional find_package(bel) without zlib failed:" >&2; cat "$tmp/probe.out" >&2; exit 1; }
if probe PKG_CONFIG_LIBDIR="$tmp/no-pc" -- -DPROBE_REQUIRED=ON; then
  echo "a required find_package(bel) with a dependency missing succeeded" >&2; exit 1
fi
grep -q 'bel needs CppHttplib, which was not found' "$tmp/probe.out" ||
  { echo "a required find_package(bel) did not name what is missing:" >&2
    cat "$tmp/probe.out" >&2; exit 1; }

# The example, against the prefix only.
"$cmake" -S "$example_dir" -B "$tmp/example" -G "$generator" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
"$cmake" --build "$tmp/example" >/dev/null
log="sqlite://$tmp/builds.db"
"$tmp/example/embedded_coordinator" "$log" >"$tmp/out" 2>"$tmp/err" ||
  { cat "$tmp/out" "$tmp/err" >&2; exit 1; }
grep -qx 'build br-example: BUILD_REQUEST_COMPLETED, 6 events' "$tmp/out" ||
  { echo "unexpected output:" >&2; cat "$tmp/out" >&2; exit 1; }
grep -q '^partition sales/daily/2026-11-28: PARTITION_AVAILABLE (job run jr-example-1, as of idx 6)$' \
  "$tmp/out" || { echo "unexpected output:" >&2; cat "$tmp/out" >&2; exit 1; }

# The log outlived the process: a second run finds br-example completed and is refused.
if "$tmp/example/embedded_coordinator" "$log" >"$tmp/out2" 2>"$tmp/err2"; then
  echo "a second run on the same log succeeded" >&2; exit 1
fi
grep -q 'invalid_transition' "$tmp/err2" || { cat "$tmp/err2" >&2; exit 1; }
echo "installed headers, bel.pc and the example work against $prefix"
