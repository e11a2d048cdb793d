#!/usr/bin/env bash
# Applies the run-time part of what `vswitchctl host check` recommends for rtvswitch PMD cores,
# records every original value for --undo, and prints the kernel command line to add.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR
source "$HERE/rt-tune-common.sh"

usage() {
  cat <<EOF
Usage: $(basename "$0") --pmd-cores LIST [options]

Tunes this host at run time for poll-mode PMD threads on LIST (e.g. 2-3):
  IRQ affinity and default_smp_affinity to the housekeeping cores, unbound workqueues to the
  housekeeping cores, KSM off, swap off, soft and NMI watchdogs off, timer migration off,
  transparent hugepages 'madvise', governor 'performance' on the PMD cores, per-cpu kthreads
  (ksoftirqd, rcuc, ktimers) of the PMD cores above --pmd-priority, and RT throttling off
  (only with --disable-rt-throttling). Then prints the kernel command line to add.
  Idempotent: what already has the wanted value is left alone.

Options:
  --pmd-cores LIST            cores of the PMD threads (required)
  --housekeeping-cores LIST   cores for everything else (default: online cores minus PMD cores)
  --vcpu-cores LIST           cores of RT guest vCPUs: isolated like the PMD cores
  --pmd-priority N            SCHED_FIFO priority of the PMDs (1-98); 0 (default) = SCHED_OTHER
  --disable-rt-throttling     kernel.sched_rt_runtime_us=-1 (needed for FIFO PMDs; only on a
                              host whose PMD cores are isolated)
  --idle-poll                 add idle=poll to the printed command line
  --dry-run                   print what would be done; change nothing
  --undo                      restore what the state file recorded, then delete it
  --state FILE                state file (default /var/lib/rtvswitch/rt-host-tune.state)
  -h, --help                  this text
EOF
}

PMD="" VCPU="" PRIO=0
RT_STATE=/var/lib/rtvswitch/rt-host-tune.state
rt_parse_options --pmd-cores PMD --vcpu-cores VCPU --pmd-priority PRIO -- "$@"

[[ -n $PMD ]] || rt_die "--pmd-cores: required (e.g. --pmd-cores 2-3)"
rt_check_priority "$PRIO" --pmd-priority " (SCHED_OTHER)"
pmd=$(rt_expand_cpus "$PMD" --pmd-cores)
vcpu=""
[[ -n $VCPU ]] && vcpu=$(rt_expand_cpus "$VCPU" --vcpu-cores)
online=$(rt_online_cpus)
rt_require_online "$online" --pmd-cores/--vcpu-cores "$pmd $vcpu"
isolated="$pmd${vcpu:+ $vcpu}"
rt_housekeeping "$online" "$isolated" "the PMD/vCPU cores" "no core left for housekeeping"
rt_final_checks "$PRIO" --pmd-priority

iso_list=$(rt_list_text "$isolated")
echo "== rt-host-tune: PMD cores $(rt_list_text "$pmd")${vcpu:+, vCPU cores $(rt_list_text "$vcpu")}," \
  "housekeeping $RT_HK_LIST$(rt_dry_run_banner)"

rt_tune_interrupts_and_timers "$isolated" "isolated cores" ""
rt_tune_fifo "$pmd" "$PRIO" "a FIFO PMD never sleeps: no throttling"
if ((PRIO > 0 && !RT_THROTTLE)); then
  rt_note "note: FIFO PMDs need kernel.sched_rt_runtime_us=-1 (--disable-rt-throttling)"
fi
rt_tune_memory
echo "-- cpu frequency"
for c in $isolated; do
  rt_set "/sys/devices/system/cpu/cpu$c/cpufreq/scaling_governor" performance "fixed clock"
done
rt_report_changes

cmdline="$(rt_isolation_cmdline "$iso_list") rcu_nocb_poll"
((RT_IDLE_POLL)) && cmdline+=" idle=poll"
cmdline+=" processor.max_cstate=1"
grep -q GenuineIntel /proc/cpuinfo 2>/dev/null &&
  cmdline+=" intel_idle.max_cstate=0 intel_pstate=disable"
cmdline+=" tsc=reliable nosoftlockup nmi_watchdog=0 mce=off transparent_hugepage=never"
cat <<EOF
-- kernel command line to add (boot-time settings; see configs/kernel-cmdline.example):
$cmdline
   Debian: append it to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub, reboot.
   Reserve hugepages on the PMD node too, e.g. default_hugepagesz=1G hugepagesz=1G hugepages=8.
EOF
