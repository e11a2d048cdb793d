# shellcheck shell=bash
# Shared by rt-host-tune.sh and rt-guest-tune.sh (sourced, not run): their common options and
# checks, cpu-list helpers, the state-recording setters behind --dry-run and --undo, and the
# tuning steps both apply.
#
# The state file has one change per line, tab-separated, oldest first:
#   write <path> <old value>       a sysfs/procfs file we wrote
#   chrt <pid> <policy> <prio>     a thread whose scheduling we changed (policy as chrt prints)
#   swapon <device>                a swap device we turned off
# Only the first change of a path or pid is recorded, so re-running keeps the original values.

shopt -s extglob
RT_DRY_RUN=0
RT_STATE=""
RT_CHANGES=0

rt_die() { echo "$(basename "$0"): $*" >&2; exit 2; }

# In an option loop: dies unless the option $2 has a value ($1 = the arguments left, $#).
rt_need_value() { (($1 >= 2)) || rt_die "$2: needs a value"; }

# The options both scripts take. rt_common_option "$@" sets RT_SHIFT to the number of arguments
# it used, or returns 1 when $1 is none of them. (The RT_* values are read by the scripts.)
# shellcheck disable=SC2034
RT_HK="" RT_THROTTLE=0 RT_IDLE_POLL=0 RT_UNDO=0 RT_SHIFT=0
# shellcheck disable=SC2034
rt_common_option() {
  RT_SHIFT=1
  case $1 in
    --housekeeping-cores) rt_need_value $# "$1"; RT_HK=$2; RT_SHIFT=2 ;;
    --disable-rt-throttling) RT_THROTTLE=1 ;;
    --idle-poll) RT_IDLE_POLL=1 ;;
    --dry-run) RT_DRY_RUN=1 ;;
    --undo) RT_UNDO=1 ;;
    --state) rt_need_value $# "$1"; RT_STATE=$2; RT_SHIFT=2 ;;
    *) return 1 ;;
  esac
}

# rt_parse_options OPTION VARIABLE ... -- "$@": a script's whole command line. Each OPTION is one
# of the script's own, taking a value that goes into VARIABLE; the common options set RT_*;
# -h/--help prints the script's usage and exits. With --undo, undoes and exits.
rt_parse_options() {
  local -A own=()
  while [[ $1 != -- ]]; do own[$1]=$2; shift 2; done
  shift
  while (($#)); do
    if [[ -n $1 && -n ${own[$1]:-} ]]; then
      rt_need_value $# "$1"
      printf -v "${own[$1]}" '%s' "$2"
      shift 2
    elif [[ $1 == -h || $1 == --help ]]; then
      usage
      exit 0
    else
      rt_common_option "$@" || rt_die "unknown argument '$1' (see --help)"
      shift "$RT_SHIFT"
    fi
  done
  rt_undo_if_asked
}

# With --undo: restore what the state file recorded and exit.
rt_undo_if_asked() {
  ((RT_UNDO)) || return 0
  echo "== undo from $RT_STATE$( ((RT_DRY_RUN)) && echo ' (dry run)')"
  rt_undo
  exit 0
}

# A SCHED_FIFO priority option: 0 (none: $3 says what that means) or 1-98.
rt_check_priority() {
  if ! [[ $1 =~ ^[0-9]+$ ]] || (($1 > 98)); then
    rt_die "$2: must be 0$3 or 1-98 (kthreads go one above), got '$1'"
  fi
}

# The online cpus, expanded.
rt_online_cpus() {
  rt_expand_cpus "$(cat /sys/devices/system/cpu/online)" /sys/devices/system/cpu/online
}

# Dies naming option $2 unless every cpu of list $3 is in the online list $1.
rt_require_online() {
  local c
  for c in $3; do
    [[ " $1 " == *" $c "* ]] || rt_die "$2: cpu $c is not online"
  done
}

# rt_housekeeping ONLINE ISOLATED WHAT NONE_LEFT: sets RT_HK_CPUS (expanded), RT_HK_LIST and
# RT_HK_MASK to --housekeeping-cores, which must not overlap the ISOLATED cpus (WHAT names them),
# or by default to the ONLINE cpus minus the ISOLATED ones. Dies with NONE_LEFT if none is left.
rt_housekeeping() {
  if [[ -n $RT_HK ]]; then
    RT_HK_CPUS=$(rt_expand_cpus "$RT_HK" --housekeeping-cores)
    if rt_overlap "$RT_HK_CPUS" "$2"; then rt_die "--housekeeping-cores: overlaps $3"; fi
  else
    RT_HK_CPUS=$(rt_cpus_minus "$1" "$2")
  fi
  [[ -n $RT_HK_CPUS ]] || rt_die "--housekeeping-cores: $4"
  RT_HK_LIST=$(rt_list_text "$RT_HK_CPUS")
  RT_HK_MASK=$(rt_cpu_mask "$RT_HK_CPUS")
}

# The checks after the cpus: --disable-rt-throttling needs priority $1 (option $2), and a real
# run needs root.
rt_final_checks() {
  if ((RT_THROTTLE && $1 == 0)); then rt_die "--disable-rt-throttling: only with $2 1-98"; fi
  ((RT_DRY_RUN)) || [[ $(id -u) == 0 ]] || rt_die "must run as root (or use --dry-run)"
}

# Appended to the first line printed.
rt_dry_run_banner() { if ((RT_DRY_RUN)); then echo " (dry run: nothing is changed)"; fi; }

# Interrupts, workqueues, timers and watchdogs off the isolated cpus $1 (called $2 in the notes)
# and onto the housekeeping ones; $3 is added to the NMI watchdog's note.
rt_tune_interrupts_and_timers() {
  echo "-- interrupts"
  rt_irq_affinity "$RT_HK_LIST" "$RT_HK_MASK" "$1"
  echo "-- kernel threads and timers"
  rt_set /sys/devices/virtual/workqueue/cpumask "$RT_HK_MASK" "unbound workqueues on housekeeping"
  rt_set /proc/sys/kernel/timer_migration 0 "timers stay where they were armed"
  rt_set /proc/sys/kernel/watchdog 0 "no lockup-detector hrtimer on $2"
  rt_set /proc/sys/kernel/nmi_watchdog 0 "no periodic NMIs$3"
}

# For SCHED_FIFO work of priority $2 (0: none) on cpus $1: their per-cpu kthreads one above and,
# with --disable-rt-throttling, RT throttling off ($3 says why).
rt_tune_fifo() {
  (($2 > 0)) || return 0
  rt_kthread_priority "$1" $(($2 + 1))
  if ((RT_THROTTLE)); then rt_set /proc/sys/kernel/sched_rt_runtime_us -1 "$3"; fi
}

rt_tune_memory() {
  echo "-- memory"
  rt_ksm_off
  rt_set /sys/kernel/mm/transparent_hugepage/enabled madvise "no background THP compaction"
  rt_swap_off
}

rt_report_changes() {
  ((RT_DRY_RUN)) || echo "-- $RT_CHANGES changes; undo with: $0 --undo --state $RT_STATE"
}

# The start of the kernel command line that isolates cpu list $1 (text) from housekeeping.
rt_isolation_cmdline() {
  echo "isolcpus=managed_irq,domain,$1 nohz_full=$1 rcu_nocbs=$1 irqaffinity=$RT_HK_LIST"
}

rt_note() { echo "  $*"; }

# "0-2,5" -> "0 1 2 5"; dies naming the option on anything else.
rt_expand_cpus() {
  local list=$1 opt=$2 out=() part a b c
  [[ -n $list ]] || rt_die "$opt: empty cpu list"
  IFS=',' read -ra parts <<<"$list"
  for part in "${parts[@]}"; do
    if [[ $part =~ ^([0-9]+)-([0-9]+)$ ]]; then
      a=$((10#${BASH_REMATCH[1]})); b=$((10#${BASH_REMATCH[2]}))
      ((a <= b)) || rt_die "$opt: range '$part' runs backwards"
      for ((c = a; c <= b; c++)); do out+=("$c"); done
    elif [[ $part =~ ^[0-9]+$ ]]; then
      out+=("$((10#$part))")
    else
      rt_die "$opt: bad cpu list '$list': '$part' is not a cpu number or range"
    fi
  done
  echo "${out[*]}"
}

# "0 1 2 5" -> hex mask in the kernel's format (32-bit groups, comma-separated): "00000027".
rt_cpu_mask() {
  local cpus words=() max=0 c i mask=""
  read -ra cpus <<<"$1"
  for c in "${cpus[@]}"; do ((c > max)) && max=$c; done
  for ((i = 0; i <= max / 32; i++)); do words[i]=0; done
  for c in "${cpus[@]}"; do words[c / 32]=$((words[c / 32] | (1 << (c % 32)))); done
  for ((i = ${#words[@]} - 1; i >= 0; i--)); do
    mask+=$(printf '%08x' "${words[i]}")
    ((i > 0)) && mask+=","
  done
  echo "$mask"
}

# The online cpus minus those given: the natural housekeeping set.
rt_cpus_minus() {
  local all drop=" $2 " c out=()
  read -ra all <<<"$1"
  for c in "${all[@]}"; do [[ $drop == *" $c "* ]] || out+=("$c"); done
  echo "${out[*]}"
}

rt_list_text() {
  local a
  read -ra a <<<"$1"
  local IFS=','
  echo "${a[*]}"
}

rt_overlap() {
  local a b=" $2 " c
  read -ra a <<<"$1"
  for c in "${a[@]}"; do [[ $b == *" $c "* ]] && return 0; done
  return 1
}

rt_state_has() { [[ -f $RT_STATE ]] && grep -qF -- "$1" "$RT_STATE"; }

rt_record() {
  local key=$1 line=$2
  if ! rt_state_has "$key"; then
    mkdir -p "$(dirname "$RT_STATE")"
    printf '%s\n' "$line" >>"$RT_STATE"
  fi
}

# rt_set PATH VALUE WHY: writes VALUE unless the file already holds it (compared as the kernel
# prints it, so "[never]" selections and cpu lists compare right via rt_current).
rt_set() {
  local path=$1 value=$2 why=$3 cur
  if [[ ! -e $path ]]; then
    rt_note "skip $path: not present ($why)"
    return 0
  fi
  if ! cur=$(rt_current "$path"); then
    rt_note "skip $path: cannot read"
    return 0
  fi
  if [[ $cur == "$value" ]] || { [[ $path == *affinity || $path == *cpumask ]] &&
    [[ $(rt_mask_norm "$cur") == "$(rt_mask_norm "$value")" ]]; }; then
    rt_note "ok   $path = $value"
    return 0
  fi
  if ((RT_DRY_RUN)); then
    rt_note "would: echo $value > $path   (now: $cur; $why)"
    return 0
  fi
  rt_record $'write\t'"$path"$'\t' "write"$'\t'"$path"$'\t'"$cur"
  if echo "$value" >"$path" 2>/dev/null; then
    rt_note "set  $path = $value   (was: $cur; $why)"
    RT_CHANGES=$((RT_CHANGES + 1))
  else
    rt_note "FAILED to write $value to $path (was: $cur; managed or read-only)"
  fi
}

# Hex masks print with a width that depends on the kernel: compare them without commas and
# leading zeros.
rt_mask_norm() {
  local m=${1//,/}
  m=${m##+(0)}
  echo "${m:-0}"
}

# KSM: 0 (off) is as good as 2 (unmerged and off); only a running KSM needs changing.
rt_ksm_off() {
  local cur
  cur=$(cat /sys/kernel/mm/ksm/run 2>/dev/null) || { rt_note "skip KSM: not present"; return 0; }
  if [[ $cur == 1 ]]; then
    rt_set /sys/kernel/mm/ksm/run 2 "unmerge and stop KSM"
  else
    rt_note "ok   /sys/kernel/mm/ksm/run = $cur"
  fi
}

# The current value as one would write it back: the bracketed choice for selector files.
rt_current() {
  local text
  text=$(cat "$1" 2>/dev/null) || return 1
  if [[ $text =~ \[([^]]+)\] ]]; then echo "${BASH_REMATCH[1]}"; else echo "$text"; fi
}

rt_irq_affinity() {
  local hk_list=$1 hk_mask=$2 pmd=$3 irq cur
  for irq in /proc/irq/[0-9]*; do
    [[ -e $irq/smp_affinity_list ]] || continue
    cur=$(cat "$irq/smp_affinity_list" 2>/dev/null) || continue
    rt_overlap "$(rt_expand_cpus "$cur" "$irq/smp_affinity_list")" "$pmd" || continue
    rt_set "$irq/smp_affinity_list" "$hk_list" "IRQ ${irq##*/} off the isolated cores"
  done
  rt_set /proc/irq/default_smp_affinity "$hk_mask" "new IRQs on housekeeping cores"
}

rt_swap_off() {
  local dev
  while read -r dev _; do
    [[ $dev == Filename || -z $dev ]] && continue
    if ((RT_DRY_RUN)); then
      rt_note "would: swapoff $dev   (a swapped-out page costs ms to fault back)"
    else
      rt_record $'swapon\t'"$dev" "swapon"$'\t'"$dev"
      swapoff "$dev" && rt_note "swapoff $dev" && RT_CHANGES=$((RT_CHANGES + 1))
    fi
  done </proc/swaps
}

# Per-cpu kernel threads on the isolated cores go above the PMD (or RT workload) priority so a
# thread that never sleeps does not starve them.
rt_kthread_priority() {
  local cpu_list=$1 prio=$2 c pid comm policy cur
  for c in $cpu_list; do
    for pid in $(pgrep -x "ksoftirqd/$c|rcuc/$c|ktimers/$c" || true); do
      comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
      policy=$(chrt -p "$pid" | sed -n 's/.*policy: *//p')
      cur=$(chrt -p "$pid" | sed -n 's/.*priority: *//p')
      if [[ $policy == SCHED_FIFO && $cur -ge $prio ]]; then
        rt_note "ok   ${comm}[$pid] $policy:$cur"
      elif ((RT_DRY_RUN)); then
        rt_note "would: chrt -f -p $prio $pid   ($comm now $policy:$cur)"
      else
        rt_record $'chrt\t'"$pid"$'\t' "chrt"$'\t'"$pid"$'\t'"$policy"$'\t'"$cur"
        chrt -f -p "$prio" "$pid" && rt_note "chrt -f -p $prio $pid ($comm, was $policy:$cur)" &&
          RT_CHANGES=$((RT_CHANGES + 1))
      fi
    done
  done
}

rt_undo() {
  [[ -f $RT_STATE ]] || { echo "nothing to undo: no state file $RT_STATE"; return 0; }
  local kind a b c
  # Newest change first.
  while IFS=$'\t' read -r kind a b c; do
    case $kind in
      write)
        if ((RT_DRY_RUN)); then rt_note "would: echo $b > $a"
        elif echo "$b" >"$a" 2>/dev/null; then rt_note "restored $a = $b"
        else rt_note "FAILED to restore $a = $b"; fi ;;
      chrt)
        local opt=-o
        case $b in SCHED_FIFO) opt=-f ;; SCHED_RR) opt=-r ;; SCHED_BATCH) opt=-b ;;
          SCHED_IDLE) opt=-i ;; esac
        if ((RT_DRY_RUN)); then rt_note "would: chrt $opt -p $c $a"
        elif [[ -d /proc/$a ]]; then chrt "$opt" -p "$c" "$a" && rt_note "restored $a $b:$c"
        fi ;;
      swapon)
        if ((RT_DRY_RUN)); then rt_note "would: swapon $a"
        else swapon "$a" && rt_note "swapon $a"; fi ;;
    esac
  done < <(tac "$RT_STATE")
  ((RT_DRY_RUN)) || rm -f "$RT_STATE"
}
