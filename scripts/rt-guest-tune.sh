#!/usr/bin/env bash
# Inside an RT guest of rtvswitch: the run-time tuning for the guest's real-time vCPUs, with
# --dry-run and --undo like rt-host-tune.sh, and the guest kernel command line to add.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR
source "$HERE/rt-tune-common.sh"

usage() {
  cat <<EOF
Usage: $(basename "$0") --rt-cpus LIST [options]

Run inside the guest. Tunes it at run time for real-time work (e.g. a DPDK app or cyclictest)
on the guest CPUs LIST: IRQ affinity and unbound workqueues to the housekeeping vCPUs, swap,
KSM and watchdogs off, timer migration off, transparent hugepages 'madvise', per-cpu kthreads
of the RT vCPUs above --rt-priority, RT throttling off (only with --disable-rt-throttling).
Then prints the guest kernel command line to add. Idempotent.

Options:
  --rt-cpus LIST              guest CPUs for the real-time work (required)
  --housekeeping-cores LIST   guest CPUs for everything else (default: the others)
  --rt-priority N             SCHED_FIFO priority of the RT work (1-98); 0 (default) = none
  --disable-rt-throttling     kernel.sched_rt_runtime_us=-1 (for a FIFO task that never sleeps)
  --idle-poll                 add idle=poll to the printed command line
  --dry-run                   print what would be done; change nothing
  --undo                      restore what the state file recorded, then delete it
  --state FILE                state file (default /var/lib/rtvswitch/rt-guest-tune.state)
  -h, --help                  this text
EOF
}

RTC="" PRIO=0
RT_STATE=/var/lib/rtvswitch/rt-guest-tune.state
while (($#)); do
  case $1 in
    --rt-cpus) rt_need_value $# "$1"; RTC=$2; shift 2 ;;
    --rt-priority) rt_need_value $# "$1"; PRIO=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) rt_common_option "$@" || rt_die "unknown argument '$1' (see --help)"; shift "$RT_SHIFT" ;;
  esac
done
rt_undo_if_asked

[[ -n $RTC ]] || rt_die "--rt-cpus: required (e.g. --rt-cpus 1-3)"
rt_check_priority "$PRIO" --rt-priority ""
rt=$(rt_expand_cpus "$RTC" --rt-cpus)
online=$(rt_online_cpus)
rt_require_online "$online" --rt-cpus "$rt"
if [[ -n $RT_HK ]]; then
  hk=$(rt_expand_cpus "$RT_HK" --housekeeping-cores)
  rt_overlap "$hk" "$rt" && rt_die "--housekeeping-cores: overlaps --rt-cpus"
else
  hk=$(rt_cpus_minus "$online" "$rt")
fi
[[ -n $hk ]] || rt_die "--housekeeping-cores: no vCPU left for housekeeping (give the guest one)"
((RT_THROTTLE && PRIO == 0)) && rt_die "--disable-rt-throttling: only with --rt-priority 1-98"
((RT_DRY_RUN)) || [[ $(id -u) == 0 ]] || rt_die "must run as root (or use --dry-run)"

hk_list=$(rt_list_text "$hk")
hk_mask=$(rt_cpu_mask "$hk")
rt_list=$(rt_list_text "$rt")
dry=""
((RT_DRY_RUN)) && dry=" (dry run: nothing is changed)"
echo "== rt-guest-tune: RT vCPUs $rt_list, housekeeping $hk_list$dry"
if ! grep -q '^flags.* hypervisor' /proc/cpuinfo 2>/dev/null; then
  rt_note "note: no 'hypervisor' cpu flag: this looks like bare metal (use rt-host-tune.sh)"
fi

echo "-- interrupts"
rt_irq_affinity "$hk_list" "$hk_mask" "$rt"
echo "-- kernel threads and timers"
rt_set /sys/devices/virtual/workqueue/cpumask "$hk_mask" "unbound workqueues on housekeeping"
rt_set /proc/sys/kernel/timer_migration 0 "timers stay where they were armed"
rt_set /proc/sys/kernel/watchdog 0 "no lockup-detector hrtimer on RT vCPUs"
rt_set /proc/sys/kernel/nmi_watchdog 0 "no periodic NMIs (each one is a VM exit)"
if ((PRIO > 0)); then
  rt_kthread_priority "$rt" $((PRIO + 1))
  if ((RT_THROTTLE)); then
    rt_set /proc/sys/kernel/sched_rt_runtime_us -1 "a FIFO task that never sleeps: no throttling"
  fi
fi
echo "-- memory"
rt_ksm_off
rt_set /sys/kernel/mm/transparent_hugepage/enabled madvise "no background THP compaction"
rt_swap_off

if ((!RT_DRY_RUN)); then
  echo "-- $RT_CHANGES changes; undo with: $0 --undo --state $RT_STATE"
fi

cmdline="isolcpus=managed_irq,domain,$rt_list nohz_full=$rt_list rcu_nocbs=$rt_list"
cmdline+=" irqaffinity=$hk_list"
if ((RT_IDLE_POLL)); then cmdline+=" idle=poll"; fi
cmdline+=" tsc=reliable nosoftlockup nmi_watchdog=0 transparent_hugepage=never"
cat <<EOF
-- guest kernel command line to add:
$cmdline
   The host must pin each vCPU to its own isolated core with vcpusched fifo (see
   configs/rtvswitch-rt-guest.xml); idle=poll in a guest keeps the host core busy by design.
EOF
