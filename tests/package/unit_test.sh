#!/usr/bin/env bash
# The systemd unit as `cmake --install` puts it (no systemd as PID 1 here: checked offline):
# `systemd-analyze verify` clean in a root holding the install and systemd's own units,
# `systemd-analyze security` at most 5.0, a watchdog and no hard-coded CPU list; then the daemon
# runs with only the unit's capability bounding set and no-new-privileges (setpriv, as systemd
# would start it as root): EAL, mlockall, the control socket and a vhost-user port all work.
#   unit_test.sh BUILD_DIR WORK_DIR
set -euo pipefail
BUILD=$1
WORK=$2
fail() { echo "FAIL: $*" >&2; exit 1; }

rm -rf "$WORK"
ROOT=$WORK/root
DESTDIR=$ROOT cmake --install "$BUILD" > /dev/null
mkdir -p "$ROOT/lib/systemd"
cp -a /lib/systemd/system "$ROOT/lib/systemd/"  # sysinit.target, dev-hugepages.mount, ...
unit=$(cd "$ROOT" && find . -path '*/systemd/system/rtvswitch.service' ! -path './lib/*' | sed 's/^\.//')
[ -n "$unit" ] || fail "cmake --install installed no rtvswitch.service"
echo "unit: $unit"

# Documentation=man:... is checked with man(1), which does not look into the root by itself.
mandir=$(dirname "$(dirname "$(find "$ROOT" -name rtvswitch.8 | head -1)")")
out=$(MANPATH=$mandir systemd-analyze verify --root="$ROOT" "$unit" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify is not clean: $out"

security=$(systemd-analyze security --offline=true --root="$ROOT" --threshold=50 \
  rtvswitch.service 2>&1) || { echo "$security"; fail "systemd-analyze security above 5.0"; }
echo "$security" | grep -v "✓"
score=$(echo "$security" | sed -n 's/.*Overall exposure level for rtvswitch.service: \([0-9.]*\).*/\1/p')
echo "exposure: $score"
awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 5.0) }' || fail "exposure $score > 5.0"

grep -q '^WatchdogSec=' "$ROOT$unit" || fail "no WatchdogSec="
! grep -q '^CPUAffinity=' "$ROOT$unit" || fail "CPUAffinity= is hard-coded"
grep -q '^Type=notify' "$ROOT$unit" || fail "not Type=notify"

# The daemon under the unit's capability bounding set.
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$ROOT$unit" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
bin=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$ROOT$unit")
run=$WORK/run
mkdir -p "$run"
prefix=unit-test-$$
ctl=$run/rtvswitch.ctl
setpriv --bounding-set=-all,"$caps" --inh-caps=-all --no-new-privs \
  "$ROOT$bin" --pmd-cores 1 --housekeeping-cores 0 --control-socket "$ctl" --socket-dir "$run" \
  --file-prefix "$prefix" --memory-mb 256 --mbufs 8192 --state-file "$WORK/ports.json" \
  > "$WORK/daemon.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap cleanup EXIT
grep -q CapBnd /proc/$pid/status
for _ in $(seq 600); do
  [ -S "$ctl" ] && "$BUILD/control/vswitchctl" --socket "$ctl" version > /dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$WORK/daemon.log"; fail "the daemon exited"; }
  sleep 0.1
done
echo "bounding set: $(grep CapBnd /proc/$pid/status)"
"$BUILD/control/vswitchctl" --socket "$ctl" port add a type=vhostuser > /dev/null ||
  { cat "$WORK/daemon.log"; fail "port add under the unit's capabilities"; }
[ -S "$run/a" ] || fail "no vhost-user socket"
! grep -q "mlockall failed" "$WORK/daemon.log" || fail "mlockall failed under the unit's capabilities"
kill -TERM "$pid"
wait "$pid" || fail "the daemon exited with $?"
trap - EXIT
echo PASS
