# shellcheck shell=bash
# Shared by rt-host-tune.sh and rt-guest-tune.sh (sourced, not run): cpu-list helpers and the
# state-recording setters behind --dry-run and --undo.
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
