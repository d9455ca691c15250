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
# pub QUEUE URL KEY: as pub, for another transport (URL), the events checked under KEY
# by asking redis-cli ARGS... (set in $check).
pubto() {
    local out secs n_pub
    out=$("$bin/tests/redis_pub_bench" "$2" "$tmp/spool" "$n" bench:pub 256 "$1")
    echo "  $out" >&2
    secs=$(echo "$out" | awk '{print $4}')
    n_pub=$(echo "$out" | awk '{print $6}')
    [ "$n_pub" -eq "$n" ] || echo "  published $n_pub, not $n!" >&2
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
[ "${DW_BENCH_FLEET:-1}" = 1 ] || exit 0

# ---- the fleet transports: TLS, WAIT on a replica, Sentinel, Cluster --------------------
# Each against redis-benchmark on the same server(s) in the same run.
fleet_pids=
trap '[ -n "$redis_pid" ] && kill $redis_pid; for p in $fleet_pids; do kill $p; done; wait; rm -rf "$tmp"' EXIT
start() { # NAME PORT EXTRA-ARGS...
    local name=$1 p=$2
    shift 2
    mkdir -p "$tmp/$name"
    redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp/$name" "$@" \
        >"$tmp/$name/log" 2>&1 &
    fleet_pids="$fleet_pids $!"
    for _ in $(seq 50); do redis-cli -p "$p" PING 2>/dev/null | grep -q PONG && return 0; sleep 0.1; done
}
# TLS: the same server type on a TLS port.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/k.pem" -out "$tmp/c.pem" -days 1 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
tp=$((port + 1))
start tls $((port + 2)) --tls-port "$tp" --tls-cert-file "$tmp/c.pem" --tls-key-file "$tmp/k.pem" \
    --tls-ca-cert-file "$tmp/c.pem" --tls-auth-clients no
tls_ceiling=$(redis-benchmark -p "$tp" --tls --cacert "$tmp/c.pem" -q -n "$n" -P 256 -c 1 \
    xadd bench:stream '*' event "$ev" | tr '\r' '\n' | grep -oE '[0-9.]+ requests per second' |
    tail -1 | cut -d' ' -f1)
tls_pub=$(DW_BENCH_TLS_CA=$tmp/c.pem pubto "$n" "rediss://127.0.0.1:$tp")
# WAIT: a replica of the first server.
rp=$((port + 3))
start replica "$rp" --replicaof 127.0.0.1 "$port"
for _ in $(seq 100); do redis-cli -p "$port" INFO replication | grep -q 'state=online' && break; sleep 0.1; done
wait_pub=$(DW_BENCH_WAIT_REPLICAS=1 pubto "$n" "redis://127.0.0.1:$port")
# Sentinel: one Sentinel naming the first server.
sp=$((port + 4))
mkdir -p "$tmp/sentinel"
printf 'port %s\nbind 127.0.0.1\ndir %s\nsentinel monitor m 127.0.0.1 %s 1\n' "$sp" "$tmp/sentinel" "$port" \
    >"$tmp/sentinel/sentinel.conf"
redis-server "$tmp/sentinel/sentinel.conf" --sentinel >"$tmp/sentinel/log" 2>&1 &
fleet_pids="$fleet_pids $!"
for _ in $(seq 50); do redis-cli -p "$sp" PING 2>/dev/null | grep -q PONG && break; sleep 0.1; done
sent_pub=$(pubto "$n" "sentinel://127.0.0.1:$sp/m")
# Cluster: three masters; the ceiling is redis-benchmark on the node holding the stream.
cports=()
for i in 1 2 3; do
    cp_=$((port + 10 + i))
    cports+=("$cp_")
    start "c$i" "$cp_" --cluster-enabled yes --cluster-config-file "$tmp/c$i/nodes.conf"
done
redis-cli --cluster create "127.0.0.1:${cports[0]}" "127.0.0.1:${cports[1]}" "127.0.0.1:${cports[2]}" \
    --cluster-yes >/dev/null 2>&1
for _ in $(seq 100); do redis-cli -p "${cports[0]}" CLUSTER INFO | grep -q 'cluster_state:ok' && break; sleep 0.1; done
ckey='bench:pub:{bench}'
slot=$(redis-cli -p "${cports[0]}" CLUSTER KEYSLOT "$ckey")
owner=$(redis-cli -c -p "${cports[0]}" CLUSTER NODES | awk -v s="$slot" '$3 ~ /master/ {
    for (i = 9; i <= NF; i++) { split($i, r, "-"); if (s >= r[1] && s <= (r[2] == "" ? r[1] : r[2])) { split($2, a, "[:@]"); print a[2] } } }')
cl_ceiling=$(redis-benchmark -p "$owner" -q -n "$n" -P 256 -c 1 xadd "$ckey" '*' event "$ev" |
    tr '\r' '\n' | grep -oE '[0-9.]+ requests per second' | tail -1 | cut -d' ' -f1)
cl_pub=$(DW_BENCH_NAME=bench pubto "$n" "cluster://127.0.0.1:${cports[0]}")
echo
row "TLS: redis-benchmark --tls -P 256 -c 1" "${tls_ceiling%.*}"
row "TLS: publisher (rediss://)" "$tls_pub"
row "WAIT 1 replica: publisher (plain ceiling -c 1 above)" "$wait_pub"
row "Sentinel: publisher (sentinel://, same server)" "$sent_pub"
row "Cluster: redis-benchmark -P 256 -c 1 on the owner" "${cl_ceiling%.*}"
row "Cluster: publisher (cluster://)" "$cl_pub"
awk "BEGIN { printf \"TLS %.0f%% of its ceiling; WAIT %.0f%%, Sentinel %.0f%% of the plain one; cluster %.0f%%\n\", \
    100 * $tls_pub / $tls_ceiling, 100 * $wait_pub / $c1, 100 * $sent_pub / $c1, 100 * $cl_pub / $cl_ceiling }"
