#!/usr/bin/env bash
# The habits CI enforces (.ci/run runs this after scripts/setup.sh, before the test suite):
#   format  every C++ file of the project is as .clang-format says (clang-format 14, Debian 12's)
#   tidy    clang-tidy with the checks of .clang-tidy (bugprone, performance, concurrency, a
#           function-size limit) on the sources of the switch, vswitchctl, hostcheck and
#           rtvswitch-dra, warnings are errors
#   rt      the PMD's room (switch/dataplane) does not log, throw, allocate, lock, sleep or make
#           syscalls, except on lines marked `// rt: <why>` at their end or on the line before
#           (start-up, documented exceptions)
#   asan    the unit tests built with ASan + UBSan (RTVS_SANITIZE, build-asan/) and run
#
#   scripts/lint.sh [format|tidy|rt|asan ...]      (all four by default)
#   scripts/lint.sh --fix-format                   rewrites the files clang-format would change
# Needs the build tree of scripts/setup.sh (build/compile_commands.json) for tidy.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
JOBS=$(nproc)
RT_DIR=${RTVS_LINT_RT_DIR:-switch/dataplane}  # another folder only for the check's own test

cxx_files() { git ls-files '*.cpp' '*.h' '*.hpp' '*.cc'; }

lint_format() {
  local bad=()
  while read -r f; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done < <(cxx_files)
  if ((${#bad[@]})); then
    echo "lint format: ${#bad[@]} file(s) differ from .clang-format (scripts/lint.sh --fix-format):"
    printf '  %s\n' "${bad[@]}"
    return 1
  fi
  echo "lint format: ok ($(cxx_files | wc -l) files)"
}

lint_tidy() {
  [[ -f build/compile_commands.json ]] || { echo "lint tidy: no build/compile_commands.json (run scripts/setup.sh)"; return 1; }
  local files
  files=$(git ls-files 'switch/*.cpp' 'control/*.cpp' 'hostcheck/*.cpp' 'kubevirt/*.cpp')
  local log
  log=$(mktemp)
  # -Wno-unknown-warning-option: GCC-only flags in the compile commands (-Wno-restrict).
  if ! printf '%s\n' $files | xargs -P "$JOBS" -n 4 clang-tidy -p build --quiet \
      --extra-arg=-Wno-unknown-warning-option >"$log" 2>&1; then
    grep -E "(warning|error):" "$log" | sort -u
    echo "lint tidy: findings above (.clang-tidy)"
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
  echo "lint tidy: ok ($(printf '%s\n' $files | wc -l) files)"
}

lint_rt() {
  # What a PMD must not do on its packet path; a line that does it at start-up or under a
  # documented exception says so with `// rt: <why>`.
  local pattern='spdlog|RTE_LOG|printf|syslog|std::cout|std::cerr|\bthrow\b|\bnew\b|malloc|make_unique|make_shared|push_back|emplace_back|\.resize\(|std::mutex|lock_guard|unique_lock|rte_spinlock_lock|\bsleep|usleep|nanosleep|sched_yield|\bioctl\(|\bwrite\(|\bread\('
  local hits
  # Code only: a line's comment is not matched, a line marked `// rt: <why>` is skipped.
  # The mark may also stand alone on the line before.
  hits=$(PATTERN="$pattern" perl -ne 'my $m = $marked; $marked = m{^\s*// rt: \S};
           if (!$m && !m{// rt: \S}) { my $c = $_; $c =~ s{//.*}{};
             print "$ARGV:$.: $_" if $c =~ /$ENV{PATTERN}/ }
           if (eof) { close ARGV; $marked = 0 }' \
           "$RT_DIR"/*.cpp "$RT_DIR"/*.h)
  if [[ -n "$hits" ]]; then
    echo "lint rt: the PMD's room logs, throws, allocates, locks, sleeps or makes a syscall:"
    echo "$hits"
    echo "(move it out of switch/dataplane, or mark a start-up or documented line with // rt: <why>)"
    return 1
  fi
  echo "lint rt: ok ($RT_DIR)"
}

lint_asan() {
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRTVS_SANITIZE=ON \
    -DRTVS_WERROR=ON >/dev/null
  ninja -C build-asan unit_tests >build-asan/lint.log 2>&1 || { tail -n 60 build-asan/lint.log; return 1; }
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build-asan/tests/unit_tests --gtest_brief=1 >build-asan/unit.log 2>&1 ||
    { tail -n 80 build-asan/unit.log; echo "lint asan: the unit tests failed under ASan+UBSan"; return 1; }
  echo "lint asan: ok ($(grep -oE '[0-9]+ tests? from [0-9]+ test suites? ran' build-asan/unit.log | head -1))"
}

if [[ "${1:-}" == "--fix-format" ]]; then
  cxx_files | xargs clang-format -i
  exit 0
fi
steps=("$@")
((${#steps[@]})) || steps=(format tidy rt asan)
rc=0
for s in "${steps[@]}"; do
  case "$s" in
    format|tidy|rt|asan) start=$SECONDS; "lint_$s" || rc=1; echo "   ($s: $((SECONDS - start)) s)" ;;
    *) echo "lint.sh: unknown step '$s' (format, tidy, rt, asan)" >&2; exit 2 ;;
  esac
done
exit $rc
