#!/bin/bash
# Builds one libFuzzer target with clang++ (ASan + UBSan) from the sources in switch/core and
# switch/protocol, replays the regression inputs, then fuzzes for a bounded time from the seed
# corpus. Used by CTest (label unit); the main build uses g++, so the fuzzers are compiled here,
# apart from it.
#   run_fuzz.sh TARGET OUT_DIR SECONDS      TARGET: rpc | config
# Exit 0: no finding. Otherwise libFuzzer's report and the crashing input (in OUT_DIR) show it;
# copy that input into tests/fuzz/regressions/TARGET/ once the bug is fixed.
set -euo pipefail

die() { echo "run_fuzz.sh: $*" >&2; exit 2; }
[[ $# -eq 3 ]] || die "usage: run_fuzz.sh rpc|config OUT_DIR SECONDS"
target=$1 out=$2 seconds=$3
[[ "$seconds" =~ ^[0-9]+$ ]] || die "SECONDS: '$seconds' is not a number"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
core=$root/switch/core
proto=$root/switch/protocol
case "$target" in
  rpc) sources=("$proto/jsonrpc.cpp" "$core/port_spec.cpp" "$proto/port_params.cpp"
                "$core/port_policy.cpp" "$core/vlan.cpp"
                "$proto/authz.cpp" "$core/devargs_policy.cpp" "$core/port_state.cpp") ;;
  config) sources=("$core/config.cpp" "$core/config_keys.cpp" "$core/port_spec.cpp" "$core/devargs_policy.cpp"
                   "$core/port_policy.cpp" "$core/vlan.cpp") ;;
  *) die "TARGET: '$target' is not rpc or config" ;;
esac
cxx=$(command -v clang++) || { echo "SKIP: clang++ not installed"; exit 77; }

mkdir -p "$out"
binary=$out/fuzz_$target
# Rebuilt only when a source or header it may use is newer than the binary.
if [[ ! -x "$binary" ]] || [[ -n "$(find "$here/fuzz_$target.cpp" "$core" "$proto" "$0" -newer "$binary" \
    -print -quit)" ]]; then
  echo "building $binary"
  # toml++ header-only, so that its parser is instrumented too. Its internal assertions are off,
  # as in the library the daemon links: toml++ 3.3 asserts on many malformed inputs it then
  # reports as parse errors itself ("[&]", "o=[}"; upstream issue marzer/tomlplusplus#294), so
  # with them on the fuzzer finds only that. Sanitizer reports (e.g. its unreachable code on
  # non-ASCII input, refused by config.cpp since) are findings.
  "$cxx" -std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -DTOML_HEADER_ONLY=1 '-DTOML_ASSERT(expr)=(void)0' \
    -DRTVS_VERSION='"fuzz"' -I"$root" \
    "$here/fuzz_$target.cpp" "${sources[@]}" -o "$binary.tmp" -pthread
  mv "$binary.tmp" "$binary"
fi

# Regression inputs: every crash found so far, replayed first.
regressions=$here/regressions/$target
if [[ -d "$regressions" ]] && compgen -G "$regressions/*" >/dev/null; then
  "$binary" -error_exitcode=1 "$regressions"/*
fi

# Fuzz from a copy of the seed corpus (new inputs stay out of the source tree).
work=$out/corpus_$target
mkdir -p "$work"
cp -n "$here/corpus/$target"/* "$work"/ 2>/dev/null || true
dict=()
[[ ! -f "$here/$target.dict" ]] || dict=(-dict="$here/$target.dict")
cd "$out"
exec "$binary" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -print_final_stats=1 -error_exitcode=1 -timeout_exitcode=1 \
  -artifact_prefix="$out/${target}-" "$work"
