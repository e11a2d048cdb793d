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
rt_parse_options --rt-cpus RTC --rt-priority PRIO -- "$@"

[[ -n $RTC ]] || rt_die "--rt-cpus: required (e.g. --rt-cpus 1-3)"
rt_check_priority "$PRIO" --rt-priority ""
rt=$(rt_expand_cpus "$RTC" --rt-cpus)
online=$(rt_online_cpus)
rt_require_online "$online" --rt-cpus "$rt"
rt_housekeeping "$online" "$rt" --rt-cpus "no vCPU left for housekeeping (give the guest one)"
rt_final_checks "$PRIO" --rt-priority

rt_list=$(rt_list_text "$rt")
echo "== rt-guest-tune: RT vCPUs $rt_list, housekeeping $RT_HK_LIST$(rt_dry_run_banner)"
if ! grep -q '^flags.* hypervisor' /proc/cpuinfo 2>/dev/null; then
  rt_note "note: no 'hypervisor' cpu flag: this looks like bare metal (use rt-host-tune.sh)"
fi

rt_tune_interrupts_and_timers "$rt" "RT vCPUs" " (each one is a VM exit)"
rt_tune_fifo "$rt" "$PRIO" "a FIFO task that never sleeps: no throttling"
rt_tune_memory
rt_report_changes

cmdline=$(rt_isolation_cmdline "$rt_list")
if ((RT_IDLE_POLL)); then cmdline+=" idle=poll"; fi
cmdline+=" tsc=reliable nosoftlockup nmi_watchdog=0 transparent_hugepage=never"
cat <<EOF
-- guest kernel command line to add:
$cmdline
   The host must pin each vCPU to its own isolated core with vcpusched fifo (see
   configs/rtvswitch-rt-guest.xml); idle=poll in a guest keeps the host core busy by design.
EOF
