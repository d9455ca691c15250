#!/usr/bin/env bash
# The whole test suite: installs what it needs, then builds and runs every test three
# times: in a normal gcc build, in a clang build with AddressSanitizer and
# UndefinedBehaviorSanitizer, and in a clang build with ThreadSanitizer (the capture
# thread, the workers, the Redis publisher and the two-thread rule loader). Fuzz corpora
# are replayed as ctest cases in each. Warnings are errors (DNSWATCH_WERROR), and nothing
# may be skipped: DW_NO_SKIP=1 turns a test's "skipped" (a missing tool, permission or the
# conformance corpus) into a failure, so a machine without a dependency fails loudly.
# Usage: tests/run.sh            (build dirs under build/)
# The conformance corpus is ../shared/corpus beside the source tree; DW_CORPUS=DIR names
# another place (CMake: DNSWATCH_TEST_CORPUS).
set -euo pipefail
export DW_NO_SKIP=1
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/deploy/install-deps.sh"
jobs=$(nproc)

run_suite() {
    local dir=$1; shift
    cmake -S "$top" -B "$dir" -G Ninja -DDNSWATCH_WERROR=ON -DDNSWATCH_NO_SKIP=ON \
        ${DW_CORPUS:+"-DDNSWATCH_TEST_CORPUS=$DW_CORPUS"} "$@" >/dev/null
    ninja -C "$dir"
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600 --no-tests=error
}

echo "== normal build (gcc) =="
run_suite "$top/build/test" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== sanitizer build (clang, address+undefined) =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_suite "$top/build/asan" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
    -DDNSWATCH_SANITIZE=address,undefined
echo "== sanitizer build (clang, thread) =="
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    run_suite "$top/build/tsan" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
    -DDNSWATCH_SANITIZE=thread
