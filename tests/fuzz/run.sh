#!/usr/bin/env bash
# Builds the protocol's libFuzzer targets with clang (ASan + UBSan) in their own build dir and runs
# each for a bounded time from the committed seed corpus. Fails on any crash, leak, sanitizer
# report or timeout; the crashing input is saved as build/fuzz/crash-<target>-*.
#   FUZZ_SECONDS=30   seconds per target (default 30)
#   FUZZ_BUILD_DIR    build directory (default build/fuzz)
# New inputs the fuzzer finds go to a temporary directory: the committed corpus stays as it is
# (regenerate it with build/fuzz/make_corpus tests/fuzz/corpus after a wire format change).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${FUZZ_SECONDS:-30}"
build="${FUZZ_BUILD_DIR:-build/fuzz}"

CC=clang CXX=clang++ cmake -S tests/fuzz -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  >/dev/null
cmake --build "$build"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in frame_message handshake; do
  echo "== fuzz_$target for ${seconds}s"
  mkdir -p "$work/$target"
  if ! "$build/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$build/crash-$target-" \
       "$work/$target" "tests/fuzz/corpus/$target" >"$work/$target.log" 2>&1; then
    tail -n 60 "$work/$target.log"
    echo "fuzz_$target FAILED (input saved under $build/crash-$target-*)" >&2
    exit 1
  fi
  grep -E '^Done|number_of_executed_units|new_units_added' "$work/$target.log" || true
done
echo "== fuzz: no crashes"
