#!/usr/bin/env bash
# Runs the node runtime's benchmark (otp-bench) and prints its RESULT lines on stdout, in the
# anchors' format. Builds nothing: `make bench` builds first (build/release).
#
#   bash bench/run.sh                       # ~3 min on 2 cores
#   OTP_BUILD_DIR=build/h-bench bash bench/run.sh
#   OTP_BENCH_REPS=3 OTP_BENCH_DUR_MS=1000 OTP_BENCH_ONLY=call,cast bash bench/run.sh
#
# Then otp-bench-toolbox (Registry, Table, Agent, Task figures), otp-bench-dist (calls, casts
# and nodedown between node processes) and otp-bench-global (global names between nodes), if
# they were built; then otp-swim-bench (SWIM membership between otp-node processes, beside
# serf_membership.sh), if it was built.
# Files: ${OTP_BENCH_OUT:-${TMPDIR:-/tmp}/otp-bench-results/<timestamp>}/{env.txt,ours.txt,*.log}
# Tunables: every OTP_BENCH_* variable of bench/otp_bench.cpp, plus OTP_BENCH_TIMEOUT_S (660),
# the hard bound on the whole run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${OTP_BUILD_DIR:-build/release}"
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
BIN="$BUILD_DIR/bench/otp-bench"
LIMIT="${OTP_BENCH_TIMEOUT_S:-660}"
if [ ! -x "$BIN" ]; then
  echo "run.sh: $BIN not found: run 'make build' first (or point OTP_BUILD_DIR at a build)" >&2
  exit 1
fi
OUT="${OTP_BENCH_OUT:-${TMPDIR:-/tmp}/otp-bench-results/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"

CHILD=""
cleanup() {  # only the one process this script started (timeout forwards TERM to otp-bench)
  if [ -n "$CHILD" ]; then
    kill -TERM "$CHILD" 2>/dev/null || true
    wait "$CHILD" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{
  echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# host: $(nproc) cpus ($(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
  echo "# build: $BUILD_DIR ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo no-git)$(git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || echo '+changes'))"
  echo "# loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/env.txt" >&2

echo "# running otp-bench (bound ${LIMIT} s; diagnostics in $OUT/ours.log) ..." >&2
rc=0
timeout -s TERM -k 10 "$LIMIT" "$BIN" > "$OUT/ours.txt" 2> "$OUT/ours.log" &
CHILD=$!
wait "$CHILD" || rc=$?
CHILD=""
# extra <name> <binary> <skip variable>: runs another benchmark binary of the build, if it was
# built and the variable is not 0, after the ones before succeeded; its RESULT lines join ours.txt.
extra() {
  local name=$1 bin="$BUILD_DIR/bench/$2" skip=$3
  if [ "$rc" -eq 0 ] && [ "${!skip:-1}" != 0 ] && [ -x "$bin" ]; then
    echo "# running $2 (bound 300 s; diagnostics in $OUT/$name.log) ..." >&2
    timeout -s TERM -k 10 300 "$bin" > "$OUT/$name.txt" 2> "$OUT/$name.log" &
    CHILD=$!
    wait "$CHILD" || rc=$?
    CHILD=""
    grep '^RESULT ' "$OUT/$name.txt" >> "$OUT/ours.txt" || true
  fi
}
# Registry, Table, Agent and Task figures (OTP_BENCH_TOOLBOX=0 skips them).
extra toolbox otp-bench-toolbox OTP_BENCH_TOOLBOX
# otp.dist.*: calls, casts, nodedown between two OS processes (OTP_BENCH_DIST=0 skips them).
extra dist otp-bench-dist OTP_BENCH_DIST
# otp.dist.global_*: global names (register, visibility, whereis, calls by name, registrations/s,
# 100k names joining and going away) between nodes on loopback (OTP_BENCH_GLOBAL=0 skips them).
extra global otp-bench-global OTP_BENCH_GLOBAL
# otp.swim.*: SWIM membership between 5 and 10 otp-node processes on loopback, measured like
# the Serf anchor's serf_membership.sh (OTP_BENCH_SWIM=0 skips it; OTP_SWIM_SIZES ("5 10"),
# OTP_SWIM_REPS (5)).
extra swim otp-swim-bench OTP_BENCH_SWIM
grep '^# otp N=' "$OUT/swim.log" >&2 2>/dev/null || true
echo "# loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/env.txt" >&2
# The runtime's own log lines (crash reports, shutdown warnings), folded: pids and counts as N.
grep -E '^\[' "$OUT/ours.log" | sed -E 's/<[0-9.]+>/<pid>/g; s/[0-9]+/N/g' | sort | uniq -c |
  sort -rn | head -n 20 | sed 's/^ */# runtime log (lines x): /' >&2 || true
grep '^RESULT ' "$OUT/ours.txt" || true
if [ "$rc" -ne 0 ]; then
  echo "run.sh: a benchmark exited with status $rc (see $OUT/ours.log, $OUT/toolbox.log," \
    "$OUT/swim.log)" >&2
  tail -n 5 "$OUT/ours.log" >&2 || true
  exit "$rc"
fi
echo "# files: $OUT" >&2
