#!/usr/bin/env bash
# Sets up a Debian 12 machine for rtvswitch and builds it. Idempotent: run it as often as you like.
#   scripts/setup.sh [--hugepages-mb N] [--build-dir DIR] [--no-build] [--no-install]
# Installs the Debian packages the build, the tests and the demo need, reserves N MiB of 2 MiB
# hugepages (default 1024; only ever raised), mounts hugetlbfs on /dev/hugepages where missing,
# and builds into build/ (CMake + Ninja).
set -euo pipefail

HUGEPAGES_MB=${HUGEPAGES_MB:-1024}
BUILD_DIR=build
DO_BUILD=1
DO_INSTALL=1
ROOT=$(cd "$(dirname "$0")/.." && pwd)

usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --hugepages-mb) HUGEPAGES_MB=$2; shift 2 ;;
    --build-dir) BUILD_DIR=$2; shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    --no-install) DO_INSTALL=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "setup.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$HUGEPAGES_MB" in ''|*[!0-9]*) echo "setup.sh: --hugepages-mb: not a number: $HUGEPAGES_MB" >&2; exit 2 ;; esac

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

PACKAGES=(
  build-essential cmake ninja-build pkg-config git python3
  libdpdk-dev dpdk dpdk-dev libnuma-dev libspdlog-dev libcli11-dev libgtest-dev libgmock-dev
  nlohmann-json3-dev libtomlplusplus-dev libsystemd-dev libbenchmark-dev
  clang libclang-rt-14-dev clang-format clang-tidy
  iproute2 procps kmod rt-tests
  qemu-system-x86 linux-image-amd64 busybox-static cpio xz-utils
  prometheus libvirt-clients gnuplot-nox
  # OpenStack integration and its tests (label openstack, docs/openstack.md)
  python3-neutron neutron-server python3-nova python3-os-vif python3-openstacksdk
  python3-oslotest python3-flake8 python3-pymysql rabbitmq-server mariadb-server
  libvirt-daemon-system libxml2-utils
  debhelper help2man lintian mmdebstrap ccache
  # KubeVirt DRA driver (kubevirt/, docs/kubevirt.md) and its tests (label kubevirt)
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libcurl4-openssl-dev
  python3-grpcio python3-protobuf python3-jsonschema python3-yaml python3-kubernetes openssl
)

if [ "$DO_INSTALL" = 1 ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing: ${missing[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "== packages: all present"
  fi
fi

# Hugepages: 2 MiB pages, raised to the wanted amount, never lowered (others may use them).
want=$(( HUGEPAGES_MB / 2 ))
nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
have=$(cat "$nr")
if [ "$have" -lt "$want" ]; then
  echo "$want" | $SUDO tee "$nr" >/dev/null
  have=$(cat "$nr")
  [ "$have" -ge "$want" ] || echo "setup.sh: warning: only $have of $want hugepages could be reserved" >&2
fi
echo "== hugepages: $have x 2 MiB reserved ($(grep HugePages_Free /proc/meminfo | awk '{print $2}') free)"
if ! mountpoint -q /dev/hugepages; then
  $SUDO mkdir -p /dev/hugepages
  $SUDO mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages
  echo "== mounted hugetlbfs on /dev/hugepages"
fi

if [ "$DO_BUILD" = 1 ]; then
  cd "$ROOT"
  # Warnings as errors here (developers, CI); a plain cmake build (users, packagers) has them off.
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRTVS_WERROR=ON >/dev/null
  ninja -C "$BUILD_DIR" -j"$(nproc)"
  echo "== built into $ROOT/$BUILD_DIR"
fi
