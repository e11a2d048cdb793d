#!/bin/bash
# Starts one test guest (scripts/guest-image.sh) with a vhost-user NIC. QEMU is the vhost-user
# socket server, so the switch connects as a vhostuserclient (the production mode).
set -euo pipefail

usage() {
  cat <<USAGE
usage: qemu-guest.sh --sock PATH --log FILE [options]
  --name NAME        guest name (default guest)
  --sock PATH        vhost-user socket QEMU listens on (required)
  --mac MAC          NIC MAC address (default 52:54:00:00:00:01)
  --ip CIDR          guest address (default 10.0.0.1/24)
  --test LIST        comma-separated guest tests: ping ping-stream serve tcp-send cyclictest idle
                     stop-rx
  --duration SEC     test duration (default 60)
  --peer IP          peer address for ping, ping-stream, tcp-send, stop-rx
  --mtu N            eth0 MTU (default 1500)
  --mem MB           guest memory (default 256)
  --log FILE         serial console output (required)
  --pidfile FILE     write QEMU's PID there
  --cpu N            pin QEMU to host CPU N
  --rt-prio N        vCPU threads SCHED_FIFO at N (KVM only; ignored under TCG)
  --accel A          auto|kvm|tcg (default: \$RTVS_QEMU_ACCEL, else auto: KVM only if the guest
                     image boots to /init under KVM within \$RTVS_QEMU_ACCEL_PROBE_S (default
                     20) s, else TCG; the verdict is cached per boot in
                     \$RTVS_QEMU_ACCEL_CACHE_DIR (default \$XDG_RUNTIME_DIR or /tmp))
  --probe-accel      only print the accelerator verdict (accel=kvm|tcg and why) and exit
  --image DIR        guest image directory (default <repo>/build/guest, built if needed)
  --append ARGS      extra kernel arguments (e.g. "rtvs.count=1000 rtvs.interval=0.01")
  --foreground       exec QEMU in the foreground instead of printing its PID and returning
Prints "accel=kvm|tcg" and the reason, then (background mode) "pid=N".
USAGE
}

die() { echo "qemu-guest.sh: $*" >&2; exit 1; }
need() { [[ $2 -ge 2 ]] || die "$1: missing value"; }

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
name=guest sock="" mac=52:54:00:00:00:01 ip=10.0.0.1/24 test=idle duration=60 peer="" mtu=1500
mem=256 log="" pidfile="" cpu="" rt_prio="" accel=auto image="$repo_root/build/guest" append=""
foreground=0 probe_only=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --name) need "$1" $#; name=$2; shift 2 ;;
    --sock) need "$1" $#; sock=$2; shift 2 ;;
    --mac) need "$1" $#; mac=$2; shift 2 ;;
    --ip) need "$1" $#; ip=$2; shift 2 ;;
    --test) need "$1" $#; test=$2; shift 2 ;;
    --duration) need "$1" $#; duration=$2; shift 2 ;;
    --peer) need "$1" $#; peer=$2; shift 2 ;;
    --mtu) need "$1" $#; mtu=$2; shift 2 ;;
    --mem) need "$1" $#; mem=$2; shift 2 ;;
    --log) need "$1" $#; log=$2; shift 2 ;;
    --pidfile) need "$1" $#; pidfile=$2; shift 2 ;;
    --cpu) need "$1" $#; cpu=$2; shift 2 ;;
    --rt-prio) need "$1" $#; rt_prio=$2; shift 2 ;;
    --accel) need "$1" $#; accel=$2; shift 2 ;;
    --image) need "$1" $#; image=$2; shift 2 ;;
    --append) need "$1" $#; append=$2; shift 2 ;;
    --foreground) foreground=1; shift ;;
    --probe-accel) probe_only=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
if [[ $probe_only -eq 0 ]]; then
  [[ -n "$sock" ]] || die "--sock: required"
  [[ -n "$log" ]] || die "--log: required"
fi
[[ "$name" =~ ^[A-Za-z0-9_.-]+$ ]] || die "--name: '$name' must be letters, digits, _ . -"
[[ "$mac" =~ ^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$ ]] || die "--mac: '$mac' is not a MAC address"
(( 16#${mac:1:1} % 2 == 0 )) || die "--mac: '$mac' is a multicast address"
[[ "$ip" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$ ]] || die "--ip: '$ip' is not an IPv4 CIDR"
[[ -z "$peer" || "$peer" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]] || die "--peer: '$peer' is not IPv4"
for t in ${test//,/ }; do
  [[ "$t" =~ ^(ping|ping-stream|serve|tcp-send|cyclictest|idle|stop-rx)$ ]] ||
    die "--test: unknown test '$t' (ping ping-stream serve tcp-send cyclictest idle stop-rx)"
done
[[ "$test" =~ ^[a-z-]+(,[a-z-]+)*$ ]] || die "--test: '$test' is not a comma-separated test list"
{ is_uint "$duration" && (( duration > 0 )); } ||
  die "--duration: '$duration' must be a positive integer"
{ is_uint "$mtu" && (( mtu >= 68 && mtu <= 65535 )); } || die "--mtu: '$mtu' must be 68..65535"
{ is_uint "$mem" && (( mem >= 64 )); } || die "--mem: '$mem' must be an integer >= 64 (MB)"
[[ -z "$cpu" ]] || is_uint "$cpu" || die "--cpu: '$cpu' must be a CPU number"
[[ -z "$cpu" ]] || (( cpu < $(nproc --all) )) || die "--cpu: CPU $cpu does not exist"
[[ -z "$rt_prio" ]] || { is_uint "$rt_prio" && (( rt_prio >= 1 && rt_prio <= 99 )); } ||
  die "--rt-prio: '$rt_prio' must be 1..99"
[[ "$accel" =~ ^(auto|kvm|tcg)$ ]] || die "--accel: '$accel' must be auto, kvm or tcg"
if [[ $probe_only -eq 0 ]]; then
  [[ -d "$(dirname "$sock")" ]] || die "--sock: directory $(dirname "$sock") does not exist"
  [[ ! -e "$sock" ]] || die "--sock: $sock already exists (another guest, or a stale socket)"
  [[ -d "$(dirname "$log")" ]] || die "--log: directory $(dirname "$log") does not exist"
fi
for word in $append; do
  [[ "$word" =~ ^[A-Za-z0-9_.,:/=-]+$ ]] ||
    die "--append: '$word' has characters a kernel argument cannot have"
done

mapfile -t files < <("$script_dir/guest-image.sh" --out "$image")
kernel=${files[0]} initrd=${files[1]}

# The accelerator. KVM only if the guest image itself boots to /init under it: on PVM hosts
# /dev/kvm exists and a bare QEMU start survives, yet every real kernel dies (emulation failure).
# The verdict of the probe is cached per boot, QEMU and guest kernel, so a test suite pays it once.
cache_dir=${RTVS_QEMU_ACCEL_CACHE_DIR:-${XDG_RUNTIME_DIR:-/tmp}}
probe_bound_s=${RTVS_QEMU_ACCEL_PROBE_S:-20}
is_uint "$probe_bound_s" && (( probe_bound_s > 0 )) ||
  die "RTVS_QEMU_ACCEL_PROBE_S: '$probe_bound_s' must be a positive integer (seconds)"

# Boots the guest under KVM with no NIC; success = its RTVS-BOOT line within the bound.
probe_kvm() {
  [[ -r /dev/kvm && -w /dev/kvm ]] || { reason="no accessible /dev/kvm"; return 1; }
  local dir pid t0 rc=1
  dir=$(mktemp -d "${TMPDIR:-/tmp}/rtvs-kvm-probe.XXXXXX")
  qemu-system-x86_64 -accel kvm -cpu host -machine pc -smp 1 -m 128M -nodefaults \
    -no-user-config -display none -monitor none -no-reboot \
    -kernel "$kernel" -initrd "$initrd" -serial "file:$dir/console" \
    -append "console=ttyS0 quiet panic=-1 rtvs.test=idle rtvs.duration=1 rtvs.margin=1" \
    </dev/null >"$dir/qemu" 2>&1 &
  pid=$!
  t0=$SECONDS
  while :; do
    if grep -qs 'RTVS-BOOT' "$dir/console"; then
      rc=0 reason="the guest image reached /init under KVM in $((SECONDS - t0)) s"; break
    fi
    if grep -qsE 'KVM internal error|emulation failure' "$dir/qemu"; then
      reason="the guest died under KVM: $(grep -m1 -E 'KVM internal error|emulation failure' \
        "$dir/qemu")"; break
    fi
    if grep -qs 'Kernel panic' "$dir/console"; then
      reason="the guest kernel panicked under KVM"; break
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      reason="QEMU with -accel kvm exited: $(tail -c 200 "$dir/qemu" | tr -s '\n' ' ' | sed 's/ *$//')"; break
    fi
    if (( SECONDS - t0 >= probe_bound_s )); then
      reason="the guest image did not reach /init under KVM within $probe_bound_s s"; break
    fi
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  return $rc
}

# Prints "kvm|tcg<TAB>reason" from the cache, probing (under a lock) when it has no verdict.
host_verdict() {
  local boot_id qemu_ver key cache lock line
  boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
  qemu_ver=$(qemu-system-x86_64 --version 2>/dev/null | head -n1)
  key="$boot_id|$qemu_ver|$(stat -Lc '%s:%Y' "$kernel")|$(stat -Lc '%i' /dev/kvm 2>/dev/null)"
  cache="$cache_dir/rtvs-qemu-accel-$(id -u)"
  lock="$cache.lock"
  exec {lock_fd}>>"$lock"
  flock "$lock_fd"
  if [[ -f "$cache" ]] && line=$(sed -n '2p' "$cache") && [[ "$(sed -n '1p' "$cache")" == "$key" ]]
  then
    exec {lock_fd}>&-
    printf '%s (cached in %s)\n' "$line" "$cache"
    return
  fi
  if probe_kvm; then line="kvm	$reason"; else line="tcg	$reason"; fi
  printf '%s\n%s\n' "$key" "$line" >"$cache.tmp.$$" && mv -f "$cache.tmp.$$" "$cache"
  exec {lock_fd}>&-
  echo "qemu-guest.sh: accelerator probe: ${line%%	*}: ${line#*	}" >&2
  printf '%s\n' "$line"
}

# --accel beats RTVS_QEMU_ACCEL, which beats the probe.
if [[ "$accel" == auto && -n "${RTVS_QEMU_ACCEL:-}" ]]; then
  [[ "$RTVS_QEMU_ACCEL" =~ ^(auto|kvm|tcg)$ ]] ||
    die "RTVS_QEMU_ACCEL: '$RTVS_QEMU_ACCEL' must be auto, kvm or tcg"
  accel=$RTVS_QEMU_ACCEL
  [[ "$accel" == auto ]] || reason="RTVS_QEMU_ACCEL=$accel"
else
  reason="--accel $accel"
fi
if [[ "$accel" == auto ]]; then
  verdict=$(host_verdict)
  accel=${verdict%%	*} reason=${verdict#*	}
fi
echo "accel=$accel ($reason)"
[[ $probe_only -eq 0 ]] || exit 0
if [[ "$accel" == kvm ]]; then
  accel_args=(-accel kvm -cpu host)
else
  accel_args=(-accel tcg -cpu max)
  [[ -z "$rt_prio" ]] || echo "qemu-guest.sh: --rt-prio ignored under TCG (vCPUs are not real CPUs)"
fi

cmdline="console=ttyS0 quiet panic=-1 rtvs.ip=$ip rtvs.test=$test rtvs.duration=$duration"
cmdline+=" rtvs.mtu=$mtu${peer:+ rtvs.peer=$peer}${append:+ $append}"
qemu=(qemu-system-x86_64 -name "$name,debug-threads=on" "${accel_args[@]}"
  -machine "pc,memory-backend=mem0" -smp 1 -m "${mem}M" -nodefaults -no-user-config
  -display none -monitor none -no-reboot
  # vhost-user maps guest memory into the switch: it must be shared, or no packet flows.
  -object "memory-backend-memfd,id=mem0,size=${mem}M,share=on"
  -kernel "$kernel" -initrd "$initrd" -append "$cmdline"
  -serial "file:$log"
  -chardev "socket,id=vu0,path=$sock,server=on,wait=off"
  -netdev "vhost-user,id=net0,chardev=vu0"
  # vectors=0 (INTx): QEMU 7.2 segfaults with MSI-X + vhost-user under TCG.
  -device "virtio-net-pci,netdev=net0,mac=$mac,vectors=0")
[[ -z "$pidfile" ]] || qemu+=(-pidfile "$pidfile")
[[ -z "$cpu" ]] || qemu=(taskset -c "$cpu" "${qemu[@]}")

# Sets SCHED_FIFO on the vCPU threads once QEMU has named them ("CPU 0/KVM").
set_rt_prio() {
  local pid=$1 tid n=0
  for _ in $(seq 50); do
    for tid in /proc/"$pid"/task/*; do
      if grep -q '^CPU .*/KVM' "$tid/comm" 2>/dev/null; then
        chrt -f -p "$rt_prio" "${tid##*/}" >/dev/null && n=$((n + 1))
      fi
    done
    [[ $n -eq 0 ]] || { echo "rt-prio: $n vCPU thread(s) SCHED_FIFO $rt_prio"; return 0; }
    sleep 0.1
  done
  echo "qemu-guest.sh: --rt-prio: no vCPU thread found" >&2
}

if [[ $foreground -eq 1 ]]; then
  if [[ "$accel" == kvm && -n "$rt_prio" ]]; then
    (sleep 0.5; set_rt_prio $$) &
  fi
  exec "${qemu[@]}"
fi
"${qemu[@]}" </dev/null >"$log.qemu" 2>&1 &
pid=$!
sleep 0.5
if ! kill -0 "$pid" 2>/dev/null; then
  die "QEMU exited at once: $(tr '\n' ' ' <"$log.qemu")"
fi
[[ "$accel" == kvm && -n "$rt_prio" ]] && set_rt_prio "$pid"
echo "pid=$pid"
