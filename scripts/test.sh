#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds and runs the whole test suite: unit, package, vhost, e2e, openstack, kubevirt.
#   scripts/test.sh [-L LABEL] [extra ctest arguments]
# Benchmarks (label perf) are not part of it: see scripts/bench.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/setup.sh" --hugepages-mb "${HUGEPAGES_MB:-3072}"
cd "$ROOT"
exec ctest --test-dir build --output-on-failure --timeout 900 -LE perf "$@"
