#!/usr/bin/env bash
# ctest demo_cluster: runs `make demo`'s script (scripts/demo-cluster.sh, given as $1) end to end
# with the binaries in $OTP_NODE_BIN and $OTP_CTL_BIN, and checks what it printed: three nodes
# that found each other by gossip, the global counter answered through each of them, answered
# again (from 0, by its new owner) through both survivors after the owner's node was killed, and
# no node of the demo left running. Bounded: the script is killed after 150 s.
set -uo pipefail
script=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT

timeout --kill-after=5 150 bash "$script" >"$out" 2>&1
status=$?
cat "$out"
echo "--- checks"
failed=0
check() {  # check DESCRIPTION REGEX: some line of the output matches REGEX (grep -E)
  if grep -qE -- "$2" "$out"; then
    echo "ok: $1"
  else
    echo "FAILED: $1 (no line matching '$2')"
    failed=1
  fi
}
[[ $status == 0 ]] || { echo "FAILED: the demo exited with status $status"; failed=1; }
for n in n1 n2 n3; do check "$n started" "^  $n@127\.0\.0\.1 \(pid [0-9]+\): data port [0-9]+, gossip port [0-9]+$"; done
check "n3 learned n2 by gossip (it was given only n1)" "^  member (joined|alive) n2@127\.0\.0\.1 "
check "n3 knows n1" "^  member (joined|alive) n1@127\.0\.0\.1 "
for n in n1 n2 n3; do
  check "otp-ctl members lists $n" "n3@127\.0\.0\.1|n2@127\.0\.0\.1|n1@127\.0\.0\.1"
done
check "the counter answered through n1" "^  through n1: counter = 1$"
check "the counter answered through n2" "^  through n2: counter = 2$"
check "the counter answered through n3" "^  through n3: counter = 3$"
check "the counter answered after the kill" "^counter answered again [0-9]+ ms after the kill .*from its new owner n[123]$"
check "a survivor's call after the kill starts from 0" "^  through n[123]: counter = 1   \(a new owner starts from 0\)$"
check "the other survivor's call" "^  through n[123]: counter = 2$"
check "failover time printed" "^failover_ms=[0-9]+$"
# Every node the demo started is gone.
for pid in $(sed -nE 's/^  n[123]@127\.0\.0\.1 \(pid ([0-9]+)\).*/\1/p' "$out"); do
  if kill -0 "$pid" 2>/dev/null && grep -q otp-node "/proc/$pid/cmdline" 2>/dev/null; then
    echo "FAILED: otp-node pid $pid still runs"
    kill -KILL "$pid"
    failed=1
  fi
done
exit "$failed"
