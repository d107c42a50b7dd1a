#!/usr/bin/env bash
# Builds the two images of docker/docker-compose.yml without any registry (`make docker-image`
# builds the programs first, then runs this):
#   otp-cluster:latest             FROM scratch: otp-node, otp-ctl, loader, the libraries ldd lists
#   otp-cluster-prometheus:latest  FROM scratch: Debian's prometheus + promtool, docker/prometheus.yml
# and writes docker/cookie (the cluster's secret, random, mode 0600) when it does not exist.
#
# Uses the Docker daemon $DOCKER_HOST (or the default socket) names when one answers; otherwise
# starts our own (scripts/dockerd.sh), builds into it and stops it again: the images stay in its
# data root (build/docker/daemon) for `make test-compose` and `scripts/dockerd.sh start`.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DOCKER="${DOCKER:-/usr/bin/docker}"
BIN_DIR="${BIN_DIR:-$ROOT/build/release/apps}"
STAGE="$ROOT/build/docker"

for prog in "$BIN_DIR/otp-node" "$BIN_DIR/otp-ctl" /usr/bin/prometheus /usr/bin/promtool; do
  [ -x "$prog" ] || { echo "docker-image: $prog missing (make docker-image builds it)" >&2; exit 1; }
done

if ! timeout 10 "$DOCKER" version >/dev/null 2>&1; then
  echo "docker-image: no Docker daemon answers; starting our own (scripts/dockerd.sh)"
  DOCKER_HOST="$(bash "$ROOT/scripts/dockerd.sh" start)"
  export DOCKER_HOST
  trap 'bash "$ROOT/scripts/dockerd.sh" stop' EXIT
fi

if [ ! -f "$ROOT/docker/cookie" ]; then
  (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$ROOT/docker/cookie")
  echo "docker-image: wrote a new random cookie to docker/cookie"
fi

build() {  # build TAG DOCKERFILE CONTEXT
  # The classic builder: FROM scratch needs nothing from a registry.
  DOCKER_BUILDKIT=0 "$DOCKER" build --quiet --tag "$1" --file "$2" "$3" >/dev/null
  local bytes
  bytes="$("$DOCKER" image inspect --format '{{.Size}}' "$1")"
  echo "docker-image: $1 built, $((bytes / 1024)) KiB ($(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1e6}') MB)"
}

echo "docker-image: otp-cluster:latest"
bash "$ROOT/scripts/docker-rootfs.sh" "$STAGE/otp-rootfs" "$BIN_DIR/otp-node" "$BIN_DIR/otp-ctl"
build otp-cluster:latest "$ROOT/docker/Dockerfile" "$STAGE/otp-rootfs"

echo "docker-image: otp-cluster-prometheus:latest"
bash "$ROOT/scripts/docker-rootfs.sh" "$STAGE/prometheus-rootfs" /usr/bin/prometheus /usr/bin/promtool
mkdir -p "$STAGE/prometheus-rootfs/etc/prometheus" "$STAGE/prometheus-rootfs/prometheus"
cp "$ROOT/docker/prometheus.yml" "$STAGE/prometheus-rootfs/etc/prometheus/prometheus.yml"
build otp-cluster-prometheus:latest "$ROOT/docker/prometheus.Dockerfile" "$STAGE/prometheus-rootfs"
