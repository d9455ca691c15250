#!/usr/bin/env bash
# The whole test suite: installs what it needs, then builds and runs every test twice,
# once in a normal gcc build and once in a clang build with AddressSanitizer and
# UndefinedBehaviorSanitizer. Fuzz corpora are replayed as ctest cases in both.
# Usage: tests/run.sh            (build dirs under build/)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/deploy/install-deps.sh"
jobs=$(nproc)

run_suite() {
    local dir=$1; shift
    cmake -S "$top" -B "$dir" -G Ninja "$@" >/dev/null
    ninja -C "$dir"
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600
}

echo "== normal build (gcc) =="
run_suite "$top/build/test" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== sanitizer build (clang, address+undefined) =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite "$top/build/asan" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
    -DDNSWATCH_SANITIZE=address,undefined
