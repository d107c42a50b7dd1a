#!/usr/bin/env bash
# Installs every Debian package otp-cluster needs to build, test, benchmark and run its demo.
# The only script in the project that installs anything. Idempotent: packages already present are
# skipped without touching apt, so `make test` on a prepared machine costs nothing here.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config   # toolchain
  clang-format                                   # style check in CI
  libcaf-dev                                     # CAF 0.17.6: the actor runtime under node/
  libjemalloc-dev                                # node/: the allocator the runtime links
  libgtest-dev libgmock-dev                      # unit tests
  libbenchmark-dev                               # micro benchmarks
  procps                                         # ps/pgrep for tests that start processes
  nlohmann-json3-dev                             # protocol/: JSON and MessagePack codecs
  libssl-dev                                     # protocol/: HMAC-SHA256 handshake, RAND_bytes
  librapidcheck-dev                              # protocol/: property tests
  clang                                          # tests/fuzz: libFuzzer targets need clang
  libclang-rt-14-dev                             # tests/fuzz: the libFuzzer + sanitizer runtimes
  libboost-system-dev                            # cluster/: Boost.Asio (TCP transport, UDP gossip)
  iproute2 iptables                              # tests/cluster: network namespaces, partitions
  libcli11-dev                                   # apps/: otp-node's and otp-ctl's command lines
  docker.io docker-compose                       # docker/: images, make test-compose (its own dockerd)
  prometheus                                     # promtool checks /metrics; the Prometheus image
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or: sudo $0)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
for attempt in 1 2 3 4 5 6; do   # another apt may hold the lock on a fresh machine
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
    exit 0
  fi
  echo "install-deps: apt failed (attempt $attempt), retrying in 10 s" >&2
  sleep 10
done
echo "install-deps: could not install ${missing[*]}" >&2
exit 1
