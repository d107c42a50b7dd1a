#!/usr/bin/env bash
# The project as a package, checked the way a user meets it (CI: make test-package, after make
# test, whose release build it reuses):
#  1. `cmake --install` of build/release into a fresh temporary prefix; the installed CMake files
#     must name neither this tree nor its build flags (-Werror, sanitizers);
#  2. examples/, an out-of-tree project, configured with CMAKE_PREFIX_PATH=<that prefix> alone,
#     built from scratch, and its tests run (a 3-node partition test written with otp::testkit);
#  3. the .deb (cpack -G DEB), whose listing must hold the CMake package, headers, libraries and
#     programs, and whose control file the Depends.
# Everything it makes lives in one temporary directory, removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "check-package: $*" >&2; exit 1; }

echo "== build the package's contents (build/release)"
cmake --preset release >/dev/null
cmake --build --preset release --target package-contents

echo "== cmake --install into $work/prefix"
cmake --install build/release --prefix "$work/prefix" >"$work/install.log"
config_dir=$(dirname "$(find "$work/prefix" -name OtpClusterConfig.cmake)")
[ -f "$config_dir/OtpClusterTargets.cmake" ] || fail "no OtpClusterTargets.cmake in $work/prefix"
if grep -rn -e "$root" -e Werror -e fsanitize "$config_dir"; then
  fail "the installed CMake package names the source tree or the build's own flags (above)"
fi

echo "== examples/ against the installed package only"
cmake -S examples -B "$work/example" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$work/example.log" ||
  { cat "$work/example.log"; fail "examples/ does not configure against the installed package"; }
grep -q "OtpCluster_DIR:PATH=$config_dir" "$work/example/CMakeCache.txt" ||
  fail "examples/ found OtpCluster elsewhere than $config_dir"
cmake --build "$work/example"
ctest --test-dir "$work/example" --output-on-failure --no-tests=error --timeout 300

echo "== cpack -G DEB"
(cd build/release && cpack -G DEB -B "$work/deb" >"$work/cpack.log") ||
  { cat "$work/cpack.log"; fail "cpack failed"; }
deb=$(find "$work/deb" -maxdepth 1 -name '*.deb')
[ -n "$deb" ] || fail "cpack made no .deb"
dpkg-deb -c "$deb" | awk '{print $6}' >"$work/deb.list"
for path in ./usr/lib/cmake/OtpCluster/OtpClusterConfig.cmake \
            ./usr/lib/cmake/OtpCluster/OtpClusterTargets.cmake \
            ./usr/include/otp/node.hpp ./usr/include/otp/cluster/cluster.hpp \
            ./usr/include/otp/testkit/testkit.hpp \
            ./usr/lib/libotp_node.a ./usr/lib/libotp_cluster.a ./usr/lib/libotp_testkit.a \
            ./usr/bin/otp-node ./usr/bin/otp-ctl; do
  grep -qx "$path" "$work/deb.list" || fail "$(basename "$deb") lacks $path"
done
echo "$(basename "$deb"): $(wc -l <"$work/deb.list") entries; Depends: $(dpkg-deb -f "$deb" Depends)"
echo "== check-package: ok"
