#!/usr/bin/env bash
# A Docker daemon of our own, for machines where none is reachable (CI, a fresh machine).
#
#   scripts/dockerd.sh start    start it unless it runs; prints the DOCKER_HOST to use
#   scripts/dockerd.sh host     prints that DOCKER_HOST (whether or not it runs)
#   scripts/dockerd.sh running  exit 0 when our daemon answers
#   scripts/dockerd.sh stop     stop it by its PID file, remove its network namespace
#
# As ../shared/design/TESTING.md says: dockerd runs inside a network namespace of its own
# (`ip netns add` + `nsenter --net`), so the bridges and veths of its networks live there and
# nothing it does touches the machine's network; with --iptables=false --ip6tables=false
# --ip-forward=false --bridge=none it changes no firewall or sysctl either. Its data root, exec
# root, socket and PID file are its own (the data root is build/docker/daemon of this checkout,
# so built images stay for the next run). It never talks to another daemon. Needs root.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# One daemon per checkout: names derived from the checkout's path.
ID="$(printf '%s' "$ROOT" | md5sum | cut -c1-8)"
NETNS="otp-docker-$ID"
RUN_DIR="/run/otp-docker-$ID"          # exec root, socket, PID file (short: socket path limits)
DATA_DIR="$ROOT/build/docker/daemon"   # images, containers, volumes
SOCKET="$RUN_DIR/docker.sock"
PIDFILE="$RUN_DIR/dockerd.pid"
LOG="$ROOT/build/docker/dockerd.log"
DOCKER="${DOCKER:-/usr/bin/docker}"    # not a static client that may sit in /usr/local/bin
START_DEADLINE_S="${DOCKERD_START_DEADLINE_S:-60}"
STOP_DEADLINE_S="${DOCKERD_STOP_DEADLINE_S:-30}"

host() { echo "unix://$SOCKET"; }

running() {
  [ -S "$SOCKET" ] && DOCKER_HOST="$(host)" timeout 10 "$DOCKER" version >/dev/null 2>&1
}

pid_alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  if running; then host; return 0; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "dockerd.sh: no daemon of ours runs and starting one needs root" >&2
    return 1
  fi
  for tool in /usr/sbin/dockerd "$DOCKER" nsenter ip; do
    command -v "$tool" >/dev/null || { echo "dockerd.sh: $tool missing (make deps)" >&2; return 1; }
  done
  if pid_alive; then
    echo "dockerd.sh: dockerd $(cat "$PIDFILE") runs but does not answer on $SOCKET; stopping it" >&2
    stop
  fi
  mkdir -p "$RUN_DIR" "$DATA_DIR" "$(dirname "$LOG")"
  ip netns list | grep -qw "^$NETNS" || ip netns add "$NETNS"
  ip -n "$NETNS" link set lo up
  # setsid: the daemon is the leader of its own session, stopped only by the PID in its file.
  setsid nsenter --net="/run/netns/$NETNS" /usr/sbin/dockerd \
    --host "unix://$SOCKET" --pidfile "$PIDFILE" \
    --data-root "$DATA_DIR" --exec-root "$RUN_DIR/exec" \
    --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --bridge=none \
    --userland-proxy=false --storage-driver=overlay2 \
    >"$LOG" 2>&1 </dev/null &
  local deadline=$((SECONDS + START_DEADLINE_S))
  until running; do
    if [ $SECONDS -ge $deadline ]; then
      echo "dockerd.sh: dockerd did not answer on $SOCKET within ${START_DEADLINE_S} s; its log:" >&2
      tail -20 "$LOG" >&2
      stop
      return 1
    fi
    sleep 0.2
  done
  host
}

stop() {
  if pid_alive; then
    local pid
    pid="$(cat "$PIDFILE")"
    kill -TERM "$pid"
    local deadline=$((SECONDS + STOP_DEADLINE_S))
    while kill -0 "$pid" 2>/dev/null; do
      if [ $SECONDS -ge $deadline ]; then
        echo "dockerd.sh: dockerd $pid still runs after ${STOP_DEADLINE_S} s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.2
    done
  fi
  rm -f "$PIDFILE"
  if ip netns list | grep -qw "^$NETNS"; then
    # What the daemon started and left in its namespace (containerd, shims after a KILL): only
    # processes of that namespace, each by its PID.
    local left
    left="$(ip netns pids "$NETNS" 2>/dev/null || true)"
    if [ -n "$left" ]; then
      echo "dockerd.sh: killing what dockerd left in $NETNS: $(echo $left)" >&2
      kill -KILL $left 2>/dev/null || true
    fi
    ip netns del "$NETNS"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  host) host ;;
  running) running ;;
  *) echo "usage: $0 start|stop|host|running" >&2; exit 2 ;;
esac
