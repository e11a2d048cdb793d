#!/usr/bin/env bash
# The benchmark: rtvswitch against the dpdk-testpmd io-forwarding reference (and OVS-DPDK where
# openvswitch-switch-dpdk is installed), measured from outside by rtvswitch-probe in one run.
#   scripts/bench.sh [--no-setup] [--quick | --smoke] [--runs N] [--out DIR] [bench.py options]
# Sets up the machine and builds (scripts/setup.sh) unless --no-setup, then runs scripts/bench.py
# (--help lists its options). Results: build/bench/<UTC time>/ (summary.md, summary.json, the
# probe's JSON, latency.png). A full run (3 runs) takes about 15 minutes; --quick about 3.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
setup=1
args=()
for a in "$@"; do
  case "$a" in
    --no-setup) setup=0 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exec python3 "$ROOT/scripts/bench.py" --help ;;
    *) args+=("$a") ;;
  esac
done
if [ "$setup" = 1 ]; then
  # A switch (512 MiB), a probe (256 MiB) and OVS-DPDK's 512 MiB, with room to spare.
  "$ROOT/scripts/setup.sh" --hugepages-mb "${HUGEPAGES_MB:-2048}"
fi
exec python3 "$ROOT/scripts/bench.py" ${args[@]+"${args[@]}"}
