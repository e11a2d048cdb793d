#!/usr/bin/env bash
# Sets up the machine and builds (scripts/setup.sh), then runs the demo: rtvswitch with the example
# configuration, two DPDK guests exchanging traffic, vswitchctl showing ports, counters and live
# latency; everything stopped cleanly at the end.
#   scripts/demo.sh [--duration SECONDS] [--rate PPS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/setup.sh"
exec python3 "$ROOT/scripts/demo.py" --build-dir "$ROOT/build" "$@"
