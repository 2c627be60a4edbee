#!/usr/bin/env bash
# README command 2: install what is missing, build (Release), run the whole test suite; then the
# same suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
#   SDF_SHARED   reference material (default ../shared beside the checkout)
#   SDF_TEST_NO_SANITIZE=1  skip the sanitizer pass (local iteration only; CI always runs it)
#   SDF_TEST_NO_FUZZ=1      skip the libFuzzer smoke run (SDF_FUZZ_SECONDS per target, default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")
if [[ "${SDF_TEST_NO_SANITIZE:-0}" != "1" ]]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSDF_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
     SDF_SANITIZER_BUILD=1 ctest --output-on-failure -j"$jobs")
fi
if [[ "${SDF_TEST_NO_FUZZ:-0}" != "1" ]]; then
  SDF_FUZZ_SECONDS="${SDF_FUZZ_SECONDS:-5}" bash scripts/fuzz-smoke.sh
fi
