#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang and runs each one briefly on its
# seed corpus (tests/fuzz/corpus/<target>/), so CI exercises every parser of outside data with
# mutated input. A crash, leak, timeout or sanitizer report fails the script and leaves the
# reproducer in $SDF_FUZZ_OUT (default build-fuzz/findings).
#   SDF_FUZZ_SECONDS  seconds per target (default 20)
#   SDF_FUZZ_JOBS     build parallelism (default 2)
# Skips (exit 0 with a note) when clang or libFuzzer is not available, unless CI is set.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SDF_FUZZ_SECONDS:-20}
jobs=${SDF_FUZZ_JOBS:-2}
build=build-fuzz
out=${SDF_FUZZ_OUT:-$build/findings}

if ! command -v clang >/dev/null 2>&1 ||
   ! echo 'int LLVMFuzzerTestOneInput(const char*d,unsigned long n){(void)d;(void)n;return 0;}' |
     clang -x c -fsanitize=fuzzer - -o /tmp/sdf-fuzz-probe.$$ >/dev/null 2>&1; then
  rm -f /tmp/sdf-fuzz-probe.$$
  if [[ -n "${CI:-}" && "${CI}" != "0" && "${CI}" != "false" ]]; then
    echo "fuzz-smoke: clang with libFuzzer is required under CI" >&2
    exit 1
  fi
  echo "fuzz-smoke: clang with libFuzzer not found; skipped"
  exit 0
fi
rm -f /tmp/sdf-fuzz-probe.$$

# The library is instrumented too (fuzzer-no-link) so coverage guides the mutations into it;
# clang does not know GCC's -Wno-format-truncation, and its extra warnings are not the point of
# this build (the GCC builds enforce -Werror).
CC=clang cmake -S . -B "$build" -DSDF_FUZZ=ON -DSDF_WERROR=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_C_FLAGS=-Wno-unknown-warning-option -fsanitize=fuzzer-no-link,address,undefined" \
  >/dev/null
targets=()
for src in tests/fuzz/fuzz_*.c; do
  targets+=("$(basename "$src" .c)")
done
cmake --build "$build" -j"$jobs" --target "${targets[@]}"

mkdir -p "$out"
status=0
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  seeds=()
  [[ -d tests/fuzz/corpus/$t ]] && seeds+=("tests/fuzz/corpus/$t")
  dict=()
  [[ -f tests/fuzz/$t.dict ]] && dict=("-dict=tests/fuzz/$t.dict")
  echo "fuzz-smoke: $t for ${secs}s"
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      "./$build/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=0 -artifact_prefix="$out/$t-" "${dict[@]}" "$work" "${seeds[@]}" \
      >"$out/$t.log" 2>&1; then
    echo "fuzz-smoke: $t FAILED; see $out/$t.log and $out/$t-*" >&2
    tail -n 40 "$out/$t.log" >&2
    status=1
  else
    grep -E '^Done [0-9]+ runs' "$out/$t.log" || true
  fi
  rm -rf "$work"
done
exit $status
