#!/usr/bin/env bash
# Builds the Debian package of the current build with cpack (in a temporary directory, leaving
# the build tree as it was), checks its control fields and contents, unpacks it with dpkg-deb and
# runs the packaged `bel --help`.
#   deb_test.sh BUILD_DIR CPACK
set -euo pipefail
build_dir=$1 cpack=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$cpack" -G DEB --config "$build_dir/CPackConfig.cmake" -B "$tmp/out" >/dev/null
debs=("$tmp"/out/*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || { echo "expected one .deb: ${debs[*]}" >&2; exit 1; }
deb=${debs[0]}

[ "$(dpkg-deb -f "$deb" Package)" = bel ] || { echo "package name is not bel" >&2; exit 1; }
depends=$(dpkg-deb -f "$deb" Depends)
for p in libcaf-core0.17 libcaf-io0.17 libprotobuf32 libsqlite3-0 libzstd1 libspdlog1.10 libfmt9 libedit2 libutf8proc2 \
         libcpp-httplib0.11 libjemalloc2; do
  case ", $depends," in *", $p"[\ ,]*) ;; *) echo "Depends lacks $p: $depends" >&2; exit 1 ;; esac
done
# libpq is dlopen'ed for PostgreSQL logs only: an SQLite user need not install it.
case ", $depends," in *", libpq"*) echo "Depends names libpq: $depends" >&2; exit 1 ;; esac
[ "$(dpkg-deb -f "$deb" Recommends)" = libpq5 ] || { echo "Recommends is not libpq5" >&2; exit 1; }
[ -n "$(dpkg-deb -f "$deb" Maintainer)" ] || { echo "no Maintainer" >&2; exit 1; }

dpkg-deb -x "$deb" "$tmp/root"
for f in usr/bin/bel usr/lib/cmake/bel/belConfig.cmake usr/lib/pkgconfig/bel.pc \
         usr/lib/libbel_client.a usr/include/bel/actors/coordinator.h; do
  [ -e "$tmp/root/$f" ] || { echo "not in the package: $f" >&2; exit 1; }
done

"$tmp/root/usr/bin/bel" --help >"$tmp/help"
for command in append events partitions builds jobs job-runs activity views check serve run \
               console bench; do
  grep -Eq "^  $command( |$)" "$tmp/help" || { echo "help lacks $command:" >&2; cat "$tmp/help" >&2; exit 1; }
done
echo "$(basename "$deb"): bel --help names every command"
