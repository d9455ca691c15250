#!/usr/bin/env bash
# Redis publisher throughput against the ceiling: the publisher (tests/redis_pub_bench,
# one connection, pipelined batches, through the queue and thread) publishing N small
# events in stream mode, next to redis-benchmark's pipelined XADD (-P 256) on the same
# server, with 1 client (like the publisher) and 50 (its default). Not part of ctest.
#
#   tests/bench/bench_redis.sh [N]      (default 1000000)
# Env: DW_BIN (build tree; default: build a Release tree in the temp dir), DW_SRC.
set -u
n=${1:-1000000}
src=${DW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
    { echo "needs redis-server and redis-benchmark" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dw-bench-redis.XXXXXX") || exit 1
redis_pid=
trap '[ -n "$redis_pid" ] && kill $redis_pid; wait; rm -rf "$tmp"' EXIT

bin=${DW_BIN:-}
if [ -z "$bin" ]; then
    bin=$tmp/build
    echo "building Release tree in $bin ..."
    cmake -S "$src" -B "$bin" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake.log" 2>&1 &&
        ninja -C "$bin" tests/redis_pub_bench >"$tmp/build.log" 2>&1 ||
        { cat "$tmp/cmake.log" "$tmp/build.log"; exit 1; }
fi

port=$((20000 + RANDOM % 40000))
printf 'port %s\nbind 127.0.0.1\nsave ""\nappendonly no\ndir %s\n' "$port" "$tmp" >"$tmp/redis.conf"
redis-server "$tmp/redis.conf" >"$tmp/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 50); do redis-cli -p "$port" PING 2>/dev/null | grep -q PONG && break; sleep 0.1; done

ev='{"@timestamp":"2026-11-27T10:00:00.000000Z","event":{"kind":"event","id":"00000000000000000000000000000001"},"dns":{"question":{"name":"pypi.org","type":"A"},"resolved_ip":["151.101.0.223"]}}'
ceiling() { # CLIENTS
    redis-cli -p "$port" DEL bench:stream >/dev/null
    redis-benchmark -p "$port" -q -n "$n" -P 256 -c "$1" xadd bench:stream '*' event "$ev" |
        tr '\r' '\n' | grep -oE '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1
}
c50=$(ceiling 50)
c1=$(ceiling 1)
# pub QUEUE: the publisher's rate, end to end (submit to the last acknowledgement).
pub() {
    redis-cli -p "$port" DEL bench:pub >/dev/null
    local out secs n_pub
    out=$("$bin/tests/redis_pub_bench" "redis://127.0.0.1:$port" "$tmp/spool" "$n" bench:pub 256 "$1")
    echo "  $out" >&2
    secs=$(echo "$out" | awk '{print $4}')
    n_pub=$(echo "$out" | awk '{print $6}')
    [ "$(redis-cli -p "$port" XLEN bench:pub)" -eq "$n" ] || echo "  XLEN is not $n!" >&2
    awk "BEGIN { printf \"%.0f\", $n_pub / $secs }"
}
# A queue as large as the run: what one connection sustains. The default queue (65536):
# a burst this large overflows into the spool and is replayed from it (nothing lost).
big=$(pub "$n")
dflt=$(pub 65536)
row() { printf '%-52s %10s events/s\n' "$1" "$2"; }
row "redis-benchmark XADD -P 256 -c 50 (ceiling)" "${c50%.*}"
row "redis-benchmark XADD -P 256 -c 1" "${c1%.*}"
row "publisher, queue $n (sustained, 1 connection)" "$big"
row "publisher, queue 65536 (burst overflows to spool)" "$dflt"
awk "BEGIN { printf \"sustained publisher / ceiling: %.0f%% (-c 50), %.0f%% (-c 1)\n\", \
    100 * $big / $c50, 100 * $big / $c1 }"
