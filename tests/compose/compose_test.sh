#!/usr/bin/env bash
# `make test-compose`: the compose cluster of docker/docker-compose.yml, tested from outside only,
# through otp-ctl (run inside the containers with `docker exec`: they live in the daemon's
# network), Prometheus' HTTP API (promtool query, inside the Prometheus container) and docker.
#
# Steps: build the images; up 5 nodes (figure: time to 5 healthy nodes in one membership); every
# node lists 5 alive members; `call counter` from every node returns increasing values;
# `docker kill` the counter's owner -> the others mark it failed, the counter answers from another
# node (figure: kill to answer); a partition of the counter's owner (`docker network disconnect`)
# and its heal (`connect --alias node`) -> one membership and one owner per name again;
# Prometheus reports up == 1 for every live node; `docker stop` of a node -> the others see it
# left; `down` leaves nothing; up 10 nodes (figure) and down again.
#
# Uses the Docker daemon that answers ($DOCKER_HOST or the default socket), touching only its
# own compose projects and images; when none answers it starts its own (scripts/dockerd.sh, as
# root) and stops it at the end. It FAILS, never skips, when Docker cannot run. Every wait has a
# deadline and prints what it saw when it fails.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DOCKER="${DOCKER:-/usr/bin/docker}"   # not a static client that may sit in /usr/local/bin
PROJECT="otp-compose-test"
COMPOSE_FILE="$ROOT/docker/docker-compose.yml"
NETWORK="${PROJECT}_cluster"
JSON="python3 $ROOT/tests/compose/json_field.py"
COUNTER_ADD='{"type":"svc.add","value":{"by":1}}'
T0=$SECONDS
PASSED=0
STARTED_DAEMON=0
SEEN=""            # what the last check saw, printed when a wait fails

log() { printf '[compose %4ds] %s\n' $((SECONDS - T0)) "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
pass() { PASSED=$((PASSED + 1)); log "ok: $*"; }

dump() {
  log "--- state at failure"
  "${COMPOSE[@]}" ps 2>&1 || true
  local c
  for c in $(node_containers); do
    echo "--- $(host_of "$c") ($(ip_of "$c")): members"
    timeout 10 "$DOCKER" exec "$c" /usr/bin/otp-ctl --timeout-ms 3000 members 2>&1 || true
    echo "--- $(host_of "$c"): last log lines"
    "$DOCKER" logs --tail 15 "$c" 2>&1 || true
  done
}

fail() {
  log "FAIL: $*"
  dump
  echo "compose: $PASSED passed, 1 failed"
  exit 1
}

# wait_for DESCRIPTION DEADLINE_S CHECK [ARGS]: runs CHECK until it succeeds; CHECK sets SEEN.
wait_for() {
  local what="$1" deadline=$((SECONDS + $2))
  shift 2
  SEEN=""
  until "$@"; do
    if [ $SECONDS -ge $deadline ]; then
      fail "$what: not within the deadline; last seen: ${SEEN:-nothing}"
    fi
    sleep 0.5
  done
}

compose() { "${COMPOSE[@]}" "$@"; }

cleanup() {
  local rc=$?
  set +e
  if [ -n "${COMPOSE[*]:-}" ] && [ -n "${DOCKER_HOST_READY:-}" ]; then
    timeout 120 "${COMPOSE[@]}" down --volumes --remove-orphans --timeout 10 >/dev/null 2>&1
  fi
  if [ $STARTED_DAEMON -eq 1 ]; then bash "$ROOT/scripts/dockerd.sh" stop; fi
  log "took $((SECONDS - T0)) s"
  exit $rc
}
trap cleanup EXIT

# --- containers and nodes -------------------------------------------------------------------
node_containers() {  # running replicas of the service node
  "$DOCKER" ps -q --filter "label=com.docker.compose.project=$PROJECT" \
    --filter "label=com.docker.compose.service=node" | sort
}
project_containers() { "$DOCKER" ps -aq --filter "label=com.docker.compose.project=$PROJECT"; }
host_of() { "$DOCKER" inspect --format '{{.Config.Hostname}}' "$1"; }
ip_of() {
  "$DOCKER" inspect --format "{{with index .NetworkSettings.Networks \"$NETWORK\"}}{{.IPAddress}}{{end}}" "$1"
}
health_of() { "$DOCKER" inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$1"; }
container_of_host() {  # the container whose host name (= node name) is $1
  local c
  for c in $(project_containers); do
    [ "$(host_of "$c")" = "$1" ] && { echo "$c"; return 0; }
  done
  return 1
}
ctl() {  # ctl CONTAINER ARGS...: otp-ctl inside that container, against its own node
  timeout 15 "$DOCKER" exec "$1" /usr/bin/otp-ctl --timeout-ms 5000 "${@:2}"
}
hosts_of() { local c; for c in "$@"; do host_of "$c"; done | sort; }

# --- checks (each sets SEEN) ----------------------------------------------------------------
# every given container is healthy and lists exactly the given containers' nodes as alive
one_membership() {
  local expected c alive
  expected="$(hosts_of "$@" | tr '\n' ' ')"
  SEEN=""
  local ok=0
  for c in "$@"; do
    local health
    health="$(health_of "$c")"
    alive="$(ctl "$c" --json members 2>&1 | $JSON alive 2>&1 | tr '\n' ' ')" || true
    SEEN+="$(host_of "$c") [$health] alive: ${alive:-?}; "
    [ "$health" = healthy ] && [ "$alive" = "$expected" ] || ok=1
  done
  SEEN="expected alive: $expected; $SEEN"
  return $ok
}

# N running node containers
running_nodes() {
  local n
  n="$(node_containers | wc -l)"
  SEEN="$n running node containers"
  [ "$n" -eq "$1" ]
}

# up N replicas and wait (deadlines: RUNNING s for the containers, HEALTHY s for one membership);
# sets NODES and FIG_UP, the seconds from up to N healthy nodes each listing the N as alive
up_cluster() {
  local n="$1" running="$2" healthy="$3" t_up out
  t_up="$(now)"
  out="$(compose up -d --scale node="$n" 2>&1)" || fail "compose up --scale node=$n: $(tail -5 <<<"$out")"
  wait_for "$n node containers running" "$running" running_nodes "$n"
  mapfile -t NODES < <(node_containers)
  wait_for "$n healthy nodes, each listing the $n as alive" "$healthy" one_membership "${NODES[@]}"
  FIG_UP="$(elapsed "$t_up" "$(now)")"
}

# every given container's name table holds counter once, at the same node; sets OWNER
one_counter_owner() {
  local c owners="" ok=0
  SEEN=""
  for c in "$@"; do
    local o
    o="$(ctl "$c" --json names 2>&1 | $JSON owners 2>&1 | awk '$1 == "counter" { print $2 }' | tr '\n' ' ')" || true
    SEEN+="$(host_of "$c") sees counter at: ${o:-none}; "
    [ "$(wc -w <<<"$o")" -eq 1 ] || ok=1
    owners+="$o"$'\n'
  done
  [ "$(sort -u <<<"$owners" | grep -c .)" -eq 1 ] || ok=1
  [ $ok -eq 0 ] && OWNER="$(head -1 <<<"$owners" | tr -d ' ')"
}

# the given node (host) is in state $2 for every one of the other containers
marked() {
  local host="$1" state="$2" c ok=0
  shift 2
  SEEN=""
  for c in "$@"; do
    local s
    s="$(ctl "$c" --json members 2>&1 | $JSON states 2>&1 | awk -v h="$host" '$1 == h { print $2 }')" || true
    SEEN+="$(host_of "$c") sees $host as ${s:-absent}; "
    [ "$s" = "$state" ] || ok=1
  done
  return $ok
}

# a call to counter from container $1 answers a number; sets VALUE
counter_answers() {
  local out
  out="$(ctl "$1" call counter "$COUNTER_ADD" 2>&1)" || { SEEN="call counter: $out"; return 1; }
  SEEN="call counter: $out"
  [[ "$out" =~ ^[0-9]+$ ]] || return 1
  VALUE="$out"
}

# Prometheus' `up` is 1 for exactly the given containers' addresses
prometheus_up() {
  local expected got c
  expected="$(for c in "$@"; do echo "$(ip_of "$c"):9090 1"; done | sort | tr '\n' ' ')"
  got="$(timeout 15 "$DOCKER" exec "$PROMETHEUS" /usr/bin/promtool query instant -o json \
    http://localhost:9090 'up{job="otp-node"}' 2>&1 | $JSON up 2>&1 | tr '\n' ' ')" || true
  SEEN="expected: $expected; Prometheus says: ${got:-nothing}"
  [ "$got" = "$expected" ]
}

# --- the daemon ----------------------------------------------------------------------------
log "Docker client $DOCKER"
[ -x "$DOCKER" ] || fail "$DOCKER is missing (make deps installs docker.io)"
if "$DOCKER" compose version >/dev/null 2>&1; then
  COMPOSE_TOOL=("$DOCKER" compose)
elif [ -x /usr/bin/docker-compose ]; then
  COMPOSE_TOOL=(/usr/bin/docker-compose)
else
  fail "neither docker compose v2 nor docker-compose is installed (make deps)"
fi
COMPOSE=("${COMPOSE_TOOL[@]}" --project-name "$PROJECT" --file "$COMPOSE_FILE")
if timeout 10 "$DOCKER" version >/dev/null 2>&1; then
  log "using the Docker daemon at ${DOCKER_HOST:-the default socket}"
else
  log "no Docker daemon answers: starting our own (scripts/dockerd.sh)"
  STARTED_DAEMON=1
  DOCKER_HOST="$(bash "$ROOT/scripts/dockerd.sh" start)" || fail "could not start dockerd"
  export DOCKER_HOST
fi
DOCKER_HOST_READY=1
log "$("${COMPOSE_TOOL[@]}" version 2>/dev/null | head -1)"
# A run that died before its down leaves its project behind: start from nothing.
compose down --volumes --remove-orphans --timeout 5 >/dev/null 2>&1 || true

# --- 1. the images -------------------------------------------------------------------------
bash "$ROOT/scripts/docker-image.sh" || fail "make docker-image failed"
pass "images built"

# --- 2. five nodes, one membership ----------------------------------------------------------
up_cluster 5 60 120
FIG_UP5="$FIG_UP"
pass "5 healthy nodes in one membership, $FIG_UP5 s after up (figure)"
log "nodes: $(for c in "${NODES[@]}"; do printf '%s@%s ' "$(host_of "$c")" "$(ip_of "$c")"; done)"

# --- 3. the counter from every node ---------------------------------------------------------
wait_for "one owner of counter, the same for every node" 60 one_counter_owner "${NODES[@]}"
last=-1
for c in "${NODES[@]}"; do
  counter_answers "$c" || fail "call counter from $(host_of "$c"): $SEEN"
  [ "$VALUE" -gt "$last" ] || fail "call counter from $(host_of "$c") answered $VALUE after $last"
  last="$VALUE"
done
pass "call counter from every node: increasing values up to $last (owner $OWNER)"

# --- 4. kill the counter's owner ------------------------------------------------------------
killed_host="$OWNER"
killed="$(container_of_host "$killed_host")" || fail "no container has host name $killed_host"
SURVIVORS=()
for c in "${NODES[@]}"; do [ "$c" = "$killed" ] || SURVIVORS+=("$c"); done
caller="${SURVIVORS[0]}"
t_kill="$(now)"
"$DOCKER" kill "$killed" >/dev/null || fail "docker kill $killed"
deadline=$((SECONDS + 60))
until counter_answers "$caller" && one_counter_owner "$caller" && [ "$OWNER" != "$killed_host" ]; do
  [ $SECONDS -lt $deadline ] || fail "counter after the kill of its owner $killed_host: $SEEN"
  sleep 0.2
done
FIG_FAILOVER="$(elapsed "$t_kill" "$(now)")"
pass "docker kill of the owner $killed_host: counter answers $VALUE from $OWNER after $FIG_FAILOVER s (figure; each try is a docker exec of otp-ctl)"
wait_for "the others mark $killed_host failed" 60 marked "$killed_host" failed "${SURVIVORS[@]}"
wait_for "one owner of counter among the survivors" 60 one_counter_owner "${SURVIVORS[@]}"
for c in "${SURVIVORS[@]}"; do
  counter_answers "$c" || fail "call counter from $(host_of "$c") after the kill: $SEEN"
done
pass "the others mark $killed_host failed; counter owned by $OWNER, calls from every survivor answer"

# --- 5. a partition of the counter's owner and its heal -------------------------------------
parted_host="$OWNER"
parted="$(container_of_host "$parted_host")"
parted_ip="$(ip_of "$parted")"
MAJORITY=()
for c in "${SURVIVORS[@]}"; do [ "$c" = "$parted" ] || MAJORITY+=("$c"); done
"$DOCKER" network disconnect "$NETWORK" "$parted" || fail "docker network disconnect"
log "partition: $parted_host ($parted_ip) disconnected"
wait_for "the majority marks $parted_host failed" 60 marked "$parted_host" failed "${MAJORITY[@]}"
wait_for "the majority owns a counter of its own" 60 one_counter_owner "${MAJORITY[@]}"
[ "$OWNER" != "$parted_host" ] || fail "the majority still sees counter at the parted $parted_host"
log "partition: the majority's counter is at $OWNER; $parted_host keeps its own"
# heal: back with its address and the service alias (a plain connect drops the alias)
"$DOCKER" network connect --alias node --ip "$parted_ip" "$NETWORK" "$parted" ||
  fail "docker network connect"
log "partition healed"
wait_for "one membership of 4 after the heal" 120 one_membership "${SURVIVORS[@]}"
wait_for "one owner of counter after the heal" 60 one_counter_owner "${SURVIVORS[@]}"
for c in "${SURVIVORS[@]}"; do
  counter_answers "$c" || fail "call counter from $(host_of "$c") after the heal: $SEEN"
done
pass "partition of $parted_host and its heal: one membership of 4, counter owned by $OWNER only"

# --- 6. Prometheus --------------------------------------------------------------------------
PROMETHEUS="$("$DOCKER" ps -q --filter "label=com.docker.compose.project=$PROJECT" \
  --filter "label=com.docker.compose.service=prometheus")"
[ -n "$PROMETHEUS" ] || fail "the prometheus container does not run"
wait_for "Prometheus: up == 1 for the 4 live nodes only" 90 prometheus_up "${SURVIVORS[@]}"
pass "Prometheus reports up == 1 for each of the 4 live nodes ($SEEN)"

# --- 7. a graceful leave --------------------------------------------------------------------
leaver="${SURVIVORS[${#SURVIVORS[@]}-1]}"
leaver_host="$(host_of "$leaver")"
STAYING=("${SURVIVORS[@]:0:${#SURVIVORS[@]}-1}")
"$DOCKER" stop --time 10 "$leaver" >/dev/null || fail "docker stop"
wait_for "the others see $leaver_host left" 60 marked "$leaver_host" left "${STAYING[@]}"
pass "docker stop of $leaver_host: the others see it left, not failed"

# --- 8. down --------------------------------------------------------------------------------
compose down --volumes --timeout 10 >/dev/null 2>&1 || fail "compose down"
left="$(project_containers | tr '\n' ' ')"
[ -z "$left" ] || fail "containers left after down: $left"
"$DOCKER" network inspect "$NETWORK" >/dev/null 2>&1 && fail "network $NETWORK left after down"
pass "compose down leaves no container and no network"

# --- 9. ten nodes ---------------------------------------------------------------------------
up_cluster 10 90 240
FIG_UP10="$FIG_UP"
pass "10 healthy nodes in one membership, $FIG_UP10 s after up (figure)"
compose down --volumes --timeout 10 >/dev/null 2>&1 || fail "compose down"
[ -z "$(project_containers)" ] || fail "containers left after down"

log "figures: up to 5 healthy in one membership $FIG_UP5 s; to 10: $FIG_UP10 s;" \
  "docker kill of the counter's owner to its answer from another node: $FIG_FAILOVER s"
echo "compose: $PASSED passed, 0 failed"
