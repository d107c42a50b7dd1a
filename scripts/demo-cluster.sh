#!/usr/bin/env bash
# `make demo`: a cluster of three otp-node processes on loopback, shown step by step.
#   1. n1 starts; n2 and n3 start with n1's gossip address as their only seed and find each
#      other by gossip (SWIM membership): their "member joined" lines.
#   2. Every node runs a standby for the global name "counter" (--standby-counter counter):
#      exactly one node owns it, and a client (otp-ctl) calls it by name through each node.
#   3. The owner's node is killed (kill -9); the survivors drop its names, one standby registers
#      a new counter (from 0), and the counter answers again from another node: the time from the
#      kill to the first answer is printed.
#   4. Everything started here is stopped, by PID (also on Ctrl-C or an error).
# Binaries: $OTP_NODE_BIN and $OTP_CTL_BIN, else build/release/apps/otp-node and otp-ctl.
# Exit status 0 when every step worked (tests/demo runs this script and checks its output).
set -euo pipefail

build_dir=${BUILD_DIR:-build/release}
otp_node=${OTP_NODE_BIN:-$build_dir/apps/otp-node}
otp_ctl=${OTP_CTL_BIN:-$build_dir/apps/otp-ctl}
for bin in "$otp_node" "$otp_ctl"; do
  [[ -x $bin ]] || { echo "demo: $bin is not built (make demo builds it)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/otp-demo.XXXXXX")
declare -A node_pid port gossip
started=()

stop_all() {
  local status=$?
  trap - EXIT INT TERM
  if ((${#started[@]})); then
    echo
    echo "== Stopping what the demo started =="
    # SIGTERM to all at once: each node leaves the membership gracefully (and nobody takes over
    # the counter of a node that is leaving anyway); kill -9 after 5 s whatever still runs.
    for name in "${started[@]}"; do kill -TERM "${node_pid[$name]}" 2>/dev/null || true; done
    for name in "${started[@]}"; do
      local pid=${node_pid[$name]}
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      echo "  $name (pid $pid) stopped"
    done
  fi
  if ((status != 0)); then
    echo "demo failed; the nodes' output:" >&2
    for f in "$work"/*.out "$work"/*.err; do
      [[ -s $f ]] && { echo "--- ${f##*/}" >&2; cat "$f" >&2; }
    done
  fi
  rm -rf "$work"
  exit "$status"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }

# wait_for FILE REGEX SECONDS: until a line of FILE matches (grep -E); fails at the deadline.
wait_for() {
  local deadline=$(($(now_ms) + $3 * 1000))
  until grep -qE -- "$2" "$1" 2>/dev/null; do
    if (($(now_ms) > deadline)); then
      echo "demo: no line matching '$2' in ${1##*/} within $3 s" >&2
      return 1
    fi
    sleep 0.05
  done
}

# The cluster's cookie: random, in the environment of the nodes and of otp-ctl (never on a
# command line, where ps shows it).
OTP_COOKIE=$(head -c 24 /dev/urandom | base64)
export OTP_COOKIE

# start_node NAME [SEED]: an otp-node on loopback (ports chosen by the kernel, read from its
# ready line), bounded to 10 minutes in case nothing stops it.
start_node() {
  local name=$1 seed=${2:-}
  "$otp_node" --name "$name" --host 127.0.0.1 --listen 127.0.0.1:0 --gossip 127.0.0.1:0 \
    ${seed:+--seeds "$seed"} --standby-counter counter \
    --threads 1 --max-seconds 600 >"$work/$name.out" 2>"$work/$name.err" &
  node_pid[$name]=$!
  started+=("$name")
  wait_for "$work/$name.out" '^ready ' 15
  local ready
  ready=$(grep -m1 '^ready ' "$work/$name.out")
  port[$name]=$(sed -E 's/.* port=([0-9]+).*/\1/' <<<"$ready")
  gossip[$name]=$(sed -E 's/.* gossip=([0-9]+).*/\1/' <<<"$ready")
  echo "  $name@127.0.0.1 (pid ${node_pid[$name]}): data port ${port[$name]}, gossip port ${gossip[$name]}"
}

add='{"type":"svc.add","value":{"by":1}}'

ctl() {
  local name=$1
  shift
  "$otp_ctl" --node "127.0.0.1:${port[$name]}" --timeout-ms 2000 "$@"
}

# call_through NAME: adds 1 to the counter through NAME's node and prints the answer.
call_through() {
  local value
  value=$(ctl "$1" call counter "$add")
  echo "  through $1: counter = $value"
}

# The owner of "counter" as NAME's last "global registered counter <pid> <node>" line says.
owner_seen_by() {
  grep -E '^global (registered|unregistered) counter ' "$work/$1.out" | tail -1 |
    awk '$2 == "registered" { print $5 }'
}

echo "== otp-cluster: three nodes on loopback, one global counter =="
echo "Starting n1, then n2 and n3 with only n1's gossip address as seed:"
start_node n1
start_node n2 "127.0.0.1:${gossip[n1]}"
start_node n3 "127.0.0.1:${gossip[n1]}"

echo
echo "== Gossip: the nodes find each other =="
for name in n1 n2 n3; do
  for peer in n1 n2 n3; do
    [[ $peer == "$name" ]] || wait_for "$work/$name.out" "^member (joined|alive) $peer@" 20
  done
done
echo "n3 was told only of n1; its membership lines (what it learned by gossip):"
grep -E '^member ' "$work/n3.out" | sed 's/^/  /'
echo "otp-ctl --node 127.0.0.1:${port[n2]} members (n2's view):"
ctl n2 members | sed 's/^/  /'

echo
echo "== One global counter, called by name from every node =="
for name in n1 n2 n3; do wait_for "$work/$name.out" '^global registered counter ' 20; done
owner=$(owner_seen_by n1)
for name in n2 n3; do
  # Every replica agrees (a conflict between standbys that claimed at once settles first).
  deadline=$(($(now_ms) + 20000))
  until [[ -n $owner && $(owner_seen_by "$name") == "$owner" && $(owner_seen_by n1) == "$owner" ]]; do
    (($(now_ms) < deadline)) || { echo "demo: the nodes disagree on the counter's owner" >&2; exit 1; }
    sleep 0.05
    owner=$(owner_seen_by n1)
  done
done
owner_name=${owner%@*}
echo "Every node runs a standby; the one on $owner_name registered the counter, and every node knows it:"
ctl n3 names | sed 's/^/  /'
echo "otp-ctl --node <each node> call counter '$add':"
for name in n1 n2 n3; do call_through "$name"; done

echo
echo "== Failover: the owner's node is killed =="
survivors=()
for name in n1 n2 n3; do [[ $name == "$owner_name" ]] || survivors+=("$name"); done
first=${survivors[0]}
mark=$(wc -l <"$work/$first.out")
{
  kill -KILL "${node_pid[$owner_name]}"
  killed_at=$(now_ms)
  wait "${node_pid[$owner_name]}" || true  # (bash's "Killed" notice goes to /dev/null)
} 2>/dev/null
started=("${survivors[@]}")
echo "kill -9 $owner_name (pid ${node_pid[$owner_name]}), the counter's owner; calling counter through $first until it answers..."
tries=0
until value=$(ctl "$first" call counter "$add" 2>"$work/ctl.err"); do
  tries=$((tries + 1))
  if (($(now_ms) - killed_at > 30000)); then
    echo "demo: the counter did not answer within 30 s: $(cat "$work/ctl.err")" >&2
    exit 1
  fi
  sleep 0.02
done
answered_at=$(now_ms)
# The node prints its registry's lines as it hears of each change, which may come just after a
# call through the new owner already answered: wait (20 s at most) for the line naming it.
new_owner=$(owner_seen_by "$first")
deadline=$(($(now_ms) + 20000))
until [[ -n $new_owner && $new_owner != "$owner" ]] || (($(now_ms) > deadline)); do
  sleep 0.05
  new_owner=$(owner_seen_by "$first")
done
echo "$first saw (its lines since the kill):"
tail -n +"$((mark + 1))" "$work/$first.out" | grep -E '^(nodedown|member|global)' | sed 's/^/  /'
if grep -q '^global conflict counter' <(tail -n +"$((mark + 1))" "$work/$first.out"); then
  echo "(the survivors' standbys registered at once; every node kept the earlier registration and"
  echo " the other counter stopped, not to be restarted)"
fi
echo "counter answered again $((answered_at - killed_at)) ms after the kill ($tries calls failed meanwhile), from its new owner ${new_owner%@*}"
echo "  through $first: counter = $value   (a new owner starts from 0)"
for name in "${survivors[@]:1}"; do call_through "$name"; done
echo "failover_ms=$((answered_at - killed_at))"
