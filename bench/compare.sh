#!/usr/bin/env bash
# `make bench-compare`: runs our benchmark (bench/run.sh), then the anchors that have figures
# paired with ours. The anchors are an optional external input, not part of this repo: the
# directory ../shared/anchors beside the checkout, present in the project's workplace (see
# docs/performance.md); without it this script says so and compares nothing. It runs the
# anchors' loopback_floor.sh, erlang_local.sh, erlang_dist.sh and, when `serf` is installed,
# serf_membership.sh, and prints their side-by-side table (anchors/compare.sh ours.txt
# anchors.txt).
# About 4-5 minutes on 2 cores. Builds nothing (`make bench-compare` builds first).
#
# Env: OTP_BUILD_DIR (build/release), OTP_BENCH_* (see bench/run.sh),
#      OTP_ANCHORS=run|reference (run: run the anchors on this machine, default; reference: use the
#      recorded shared/anchors/results/reference-2026-11-24 instead, e.g. on a machine without root)
# Files: ${TMPDIR:-/tmp}/otp-bench-results/<timestamp>/{ours.txt,anchors.txt,table.txt,*.log}
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ANCHORS="$(cd "$ROOT/.." && pwd)/shared/anchors"
MODE="${OTP_ANCHORS:-run}"
OUT="${TMPDIR:-/tmp}/otp-bench-results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
export OTP_BENCH_OUT="$OUT"

CHILD=""
cleanup() {  # only the one process this script started (timeout forwards TERM to its command)
  if [ -n "$CHILD" ]; then
    kill -TERM "$CHILD" 2>/dev/null || true
    wait "$CHILD" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# bounded <seconds> <out> <log> <command...>: runs the command under timeout, stdout/stderr to files
bounded() {
  local lim=$1 out=$2 log=$3 rc=0
  shift 3
  timeout -s TERM -k 10 "$lim" "$@" > "$out" 2> "$log" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=""
  return "$rc"
}

echo "== ours (bench/run.sh)" >&2
rc=0
bash "$ROOT/bench/run.sh" &
CHILD=$!
wait "$CHILD" || rc=$?
CHILD=""
[ "$rc" -eq 0 ] || exit "$rc"

: > "$OUT/anchors.txt"
if [ ! -d "$ANCHORS" ]; then
  echo "compare.sh: no anchors at $ANCHORS (shared/ must sit beside the repo); nothing to compare" >&2
  exit 1
fi
if [ "$MODE" = reference ]; then
  REF="$ANCHORS/results/reference-2026-11-24/results.txt"
  echo "== anchors: using the recorded reference run $REF (OTP_ANCHORS=reference)" >&2
  grep '^RESULT ' "$REF" > "$OUT/anchors.txt"
else
  if [ "$(id -u)" -eq 0 ]; then
    echo "== anchors: setup.sh (Debian packages: erlang, gcc, ...; log in $OUT/setup.log)" >&2
    bounded 900 "$OUT/setup.log" "$OUT/setup.log.err" "$ANCHORS/setup.sh" ||
      echo "compare.sh: setup.sh failed (see $OUT/setup.log*); anchors that need it will fail" >&2
  else
    echo "compare.sh: NOT ROOT: skipping $ANCHORS/setup.sh (it installs Debian packages and" \
      "needs root); anchors whose tools (erl, gcc) are missing are skipped." \
      "OTP_ANCHORS=reference compares with the recorded reference run instead." >&2
  fi
  for spec in loopback_floor:gcc:90 erlang_local:erl:240 erlang_dist:erl:400 \
    serf_membership:serf:300; do
    IFS=: read -r name tool lim <<< "$spec"
    if ! command -v "$tool" > /dev/null; then
      echo "compare.sh: skipping $name.sh: $tool not installed (run $ANCHORS/setup.sh as root)" >&2
      continue
    fi
    echo "== anchors: $name.sh (bound $lim s)" >&2
    if bounded "$lim" "$OUT/$name.txt" "$OUT/$name.log" "$ANCHORS/$name.sh"; then
      grep '^RESULT ' "$OUT/$name.txt" | tee -a "$OUT/anchors.txt"
    else
      echo "compare.sh: $name.sh failed with status $? (see $OUT/$name.log)" >&2
      grep '^RESULT ' "$OUT/$name.txt" >> "$OUT/anchors.txt" || true
    fi
  done
fi

echo "== table (ours vs anchors; pairs for figures we do not measure yet left out)" >&2
bash "$ANCHORS/compare.sh" "$OUT/ours.txt" "$OUT/anchors.txt" |
  awk 'NR == 1 || $NF != "missing" || $1 ~ /^otp\.(local|dist|swim)\./' | tee "$OUT/table.txt"
echo "# loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "# files: $OUT" >&2
