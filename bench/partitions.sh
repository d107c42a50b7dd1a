#!/usr/bin/env bash
# Runs otp-partition-bench (bench/partition_bench.cpp): issue 14's fault scenarios (partitions
# by INPUT and OUTPUT drops, 10 % loss, a starved node, stop and kill) on five hosts of a network
# namespace lab, for otp-node and for Serf (if installed: ../shared/anchors/setup.sh) in the same
# namespaces, and prints their RESULT lines on stdout in the anchors' format. As root. Builds
# nothing: `make bench-partitions` builds first (build/release).
#
#   sudo bash bench/partitions.sh                           # 3 repetitions, ~25 min with Serf
#   OTP_PART_REPS=1 OTP_PART_AGENTS=otp OTP_PART_ONLY="in8 loss" bash bench/partitions.sh
#
# Tunables: every OTP_PART_* variable of bench/partition_bench.cpp, plus OTP_PART_TIMEOUT_S
# (3600), the hard bound on the whole run, and OTP_BUILD_DIR.
# Files: ${OTP_BENCH_OUT:-${TMPDIR:-/tmp}/otp-partition-results/<timestamp>}/{results.txt,run.log}
# The bench deletes its namespaces (otpm<its pid>-*) and kills its agents itself, also on SIGINT;
# should it die harder, this script kills what still runs in them and deletes them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${OTP_BUILD_DIR:-build/release}"
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
BIN="$BUILD_DIR/bench/otp-partition-bench"
LIMIT="${OTP_PART_TIMEOUT_S:-3600}"
if [ "$(id -u)" != 0 ]; then
  echo "partitions.sh: needs root (network namespaces and iptables)" >&2
  exit 1
fi
if [ ! -x "$BIN" ]; then
  echo "partitions.sh: $BIN not found: run 'make build' first (or point OTP_BUILD_DIR at a build)" >&2
  exit 1
fi
OUT="${OTP_BENCH_OUT:-${TMPDIR:-/tmp}/otp-partition-results/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"

CHILD=""
leftovers() {  # namespaces of the bench process $1 still there: kill what runs in them, delete
  local ns p
  for ns in $(ip netns list | awk '{print $1}' | grep "^otpm$1-" || true); do
    for p in $(ip netns pids "$ns" 2>/dev/null || true); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}
stop_child() {  # SIGINT (the bench cleans up), then SIGKILL after 20 s
  [ -n "$CHILD" ] || return 0
  kill -INT "$CHILD" 2>/dev/null || true
  for _ in $(seq 1 200); do kill -0 "$CHILD" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$CHILD" 2>/dev/null || true
  wait "$CHILD" 2>/dev/null || true
}
cleanup() {
  local pid=$CHILD
  stop_child
  [ -n "$pid" ] && leftovers "$pid"
  CHILD=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{
  echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# host: $(nproc) cpus, kernel $(uname -r), serf: $(command -v serf || echo none)"
  echo "# build: $BUILD_DIR ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo no-git)$(git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || echo '+changes'))"
  echo "# loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/env.txt" >&2

echo "# running otp-partition-bench (bound ${LIMIT} s; diagnostics in $OUT/run.log) ..." >&2
rc=0
"$BIN" > "$OUT/results.txt" 2> "$OUT/run.log" &
CHILD=$!
started=$SECONDS
while kill -0 "$CHILD" 2>/dev/null; do
  if [ $((SECONDS - started)) -ge "$LIMIT" ]; then
    echo "partitions.sh: the bench ran past ${LIMIT} s: stopped" >&2
    rc=124
    break
  fi
  sleep 1
done
if [ "$rc" -eq 0 ]; then
  wait "$CHILD" || rc=$?
  leftovers "$CHILD"
  CHILD=""
else
  cleanup
fi
echo "# loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/env.txt" >&2
grep '^# .* rep ' "$OUT/run.log" >&2 || true
grep '^RESULT ' "$OUT/results.txt" || true
if [ "$rc" -ne 0 ]; then
  echo "partitions.sh: the bench exited with status $rc (see $OUT/run.log)" >&2
  tail -n 5 "$OUT/run.log" >&2 || true
  exit "$rc"
fi
echo "# files: $OUT" >&2
