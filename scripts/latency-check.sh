#!/usr/bin/env bash
# Measures the scheduling latency (cyclictest) and OS noise (oslat, where installed) of chosen
# cores and compares the worst case with a threshold. Red Hat qualifies RT-KVM hosts at a maximum
# of 40 us over 12 h; the default threshold here is the same, the duration is yours to choose.
set -euo pipefail

usage() {
  cat <<EOF
Usage: $(basename "$0") [options]

Runs cyclictest (one thread per core, 1 ms interval) and, if installed, oslat on the cores,
prints per-core min/avg/max in us and PASS/FAIL against the threshold.
Exit status: 0 all within the threshold, 1 over it, 2 bad arguments or a tool failed.

Options:
  --cores LIST          cores to measure (default: the isolated cores, else all online)
  --duration SEC        seconds to run (default 60; qualification: 43200)
  --threshold-us N      maximum latency allowed (default 40)
  --priority N          SCHED_FIFO priority of the measuring threads (default 95)
  --policy other|fifo   other = SCHED_OTHER, no RT priority (same as --no-rt); default fifo
  --no-rt               measure at normal priority (for shared machines and tests)
  --no-oslat            skip oslat
  -h, --help            this text
EOF
}

die() { echo "$(basename "$0"): $*" >&2; exit 2; }

CORES="" DURATION=60 THRESHOLD=40 PRIO=95 POLICY=fifo OSLAT=1
while (($#)); do
  case $1 in
    --cores) CORES=${2:?--cores needs a value}; shift 2 ;;
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --threshold-us) THRESHOLD=${2:?--threshold-us needs a value}; shift 2 ;;
    --priority) PRIO=${2:?--priority needs a value}; shift 2 ;;
    --policy) POLICY=${2:?--policy needs a value}; shift 2 ;;
    --no-rt) POLICY=other; shift ;;
    --no-oslat) OSLAT=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "--duration: must be a whole number of seconds > 0, got '$DURATION'"
[[ $THRESHOLD =~ ^[1-9][0-9]*$ ]] || die "--threshold-us: must be a whole number > 0, got '$THRESHOLD'"
[[ $POLICY == other || $POLICY == fifo ]] || die "--policy: must be 'other' or 'fifo', got '$POLICY'"
if [[ $POLICY == fifo ]]; then
  if ! [[ $PRIO =~ ^[0-9]+$ ]] || ((PRIO < 1 || PRIO > 99)); then
    die "--priority: must be 1-99, got '$PRIO'"
  fi
fi
if [[ -z $CORES ]]; then
  CORES=$(cat /sys/devices/system/cpu/isolated 2>/dev/null || true)
  [[ -n $CORES ]] || CORES=$(cat /sys/devices/system/cpu/online)
fi
[[ $CORES =~ ^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$ ]] || die "--cores: bad cpu list '$CORES'"
ncores=0
IFS=',' read -ra parts <<<"$CORES"
for part in "${parts[@]}"; do
  a=${part%-*} b=${part#*-}
  ((a <= b)) || die "--cores: range '$part' runs backwards"
  for ((c = a; c <= b; c++)); do
    [[ -d /sys/devices/system/cpu/cpu$c ]] || die "--cores: cpu $c does not exist"
    ncores=$((ncores + 1))
  done
done
command -v cyclictest >/dev/null || die "cyclictest not found (Debian: apt-get install rt-tests)"

out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "== latency check: cores $CORES, ${DURATION}s, threshold ${THRESHOLD} us," \
  "policy $([[ $POLICY == fifo ]] && echo "SCHED_FIFO:$PRIO" || echo SCHED_OTHER)"
ct=(cyclictest -q -m -i 1000 -a "$CORES" -t "$ncores" -D "$DURATION")
if [[ $POLICY == fifo ]]; then
  ct+=(--policy=fifo -p "$PRIO")
else
  # No -p: with a priority cyclictest switches to SCHED_FIFO. No cpu_dma_latency change either.
  ct+=(--policy=other --default-system)
fi
"${ct[@]}" >"$out" 2>&1 || { cat "$out" >&2; die "cyclictest failed"; }

worst=0
printf '%-10s %-6s %8s %8s %8s  %s\n' tool core min_us avg_us max_us verdict
# "T: 0 ( 1012) P: 0 I:1000 C:   1892 Min:     36 Act:  113 Avg:  166 Max:    8255"
mapfile -t cores_list < <(for p in "${parts[@]}"; do seq "${p%-*}" "${p#*-}"; done)
i=0
while read -r line; do
  [[ $line =~ Min:\ *([0-9]+).*Avg:\ *([0-9]+).*Max:\ *([0-9]+) ]] || continue
  min=${BASH_REMATCH[1]} avg=${BASH_REMATCH[2]} max=${BASH_REMATCH[3]}
  ((max > worst)) && worst=$max
  printf '%-10s %-6s %8s %8s %8s  %s\n' cyclictest "${cores_list[i]:-?}" "$min" "$avg" "$max" \
    "$( ((max <= THRESHOLD)) && echo PASS || echo FAIL)"
  i=$((i + 1))
done <"$out"
((i > 0)) || { cat "$out" >&2; die "no results in cyclictest's output"; }

if ((OSLAT)) && command -v oslat >/dev/null; then
  os=(oslat -q -c "$CORES" -D "$DURATION")
  # oslat busy-loops on the cores; -f only when real-time measuring was asked for.
  [[ $POLICY == fifo ]] && os+=(-f "$PRIO")
  "${os[@]}" >"$out" 2>&1 || { cat "$out" >&2; die "oslat failed"; }
  # "     Maximum:	 20542 19876 (us)" : one column per core
  read -ra mins < <(sed -n 's/^ *Minimum:\s*//p' "$out" | sed 's/(us)//')
  read -ra avgs < <(sed -n 's/^ *Average:\s*//p' "$out" | sed 's/(us)//')
  read -ra maxs < <(sed -n 's/^ *Maximum:\s*//p' "$out" | sed 's/(us)//')
  ((${#maxs[@]} > 0)) || { cat "$out" >&2; die "no results in oslat's output"; }
  for ((i = 0; i < ${#maxs[@]}; i++)); do
    max=${maxs[i]}
    ((max > worst)) && worst=$max
    printf '%-10s %-6s %8s %8s %8s  %s\n' oslat "${cores_list[i]:-?}" "${mins[i]:-?}" \
      "${avgs[i]:-?}" "$max" "$( ((max <= THRESHOLD)) && echo PASS || echo FAIL)"
  done
elif ((OSLAT)); then
  echo "oslat not installed: skipped (Debian: rt-tests)"
fi

if ((worst <= THRESHOLD)); then
  echo "RESULT PASS: worst ${worst} us <= ${THRESHOLD} us"
  exit 0
fi
echo "RESULT FAIL: worst ${worst} us > ${THRESHOLD} us"
exit 1
