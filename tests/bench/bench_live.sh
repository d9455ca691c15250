#!/usr/bin/env bash
# Live benchmark on a veth pair inside a network namespace made for it: tcpreplay sends
# the benchmark capture at increasing rates from one end, dnswatch captures on the other.
# For each rate it reports what tcpreplay achieved and the drops at every stage (kernel,
# interface, worker rings), and the highest rate with zero drops. Then it runs at a steady
# rate for DURATION seconds and samples dnswatch's RSS every 10 s (it must stay flat).
# Traffic stays inside the namespace. Not part of ctest. Needs root.
#
#   tests/bench/bench_live.sh [DURATION_S]     (default 600; DW_BIN = build tree)
#   DW_LIVE_RATES="50000 100000 200000 300000"  rates to try (packets/s)
#   DW_LIVE_ARGS="--rules deploy/rules --asn-db none"
set -u
dur=${1:-600}
src=${DW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
bin=${DW_BIN:?set DW_BIN to a Release build tree}
dw=$bin/sensor/dnswatch
rates=${DW_LIVE_RATES:-"50000 100000 150000 200000 250000 300000 400000"}
read -r -a extra <<<"${DW_LIVE_ARGS:---rules $src/deploy/rules --asn-db none}"
[ "$(id -u)" -eq 0 ] || { echo "needs root"; exit 2; }
command -v tcpreplay >/dev/null || { echo "needs tcpreplay"; exit 2; }

ns=dwbench$$
tmp=$(mktemp -d)
chmod 755 "$tmp"
cleanup() { [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null; ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
ip netns add "$ns" && ip netns exec "$ns" ip link add va type veth peer name vb &&
    ip netns exec "$ns" ip link set va up && ip netns exec "$ns" ip link set vb up || exit 2
"$bin/tests/gen_pcap" bench 500000 "$tmp/bench.pcap" >/dev/null

start() {
    ip netns exec "$ns" "$dw" run -i vb "${extra[@]}" --user nobody >/dev/null 2>"$tmp/err" &
    pid=$!
    for _ in $(seq 100); do grep -q "capturing on" "$tmp/err" && return; sleep 0.1; done
    echo "dnswatch did not start: $(cat "$tmp/err")"; exit 1
}
stop() {
    kill -TERM "$pid"; wait "$pid" 2>/dev/null; pid=
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024/1024) " GiB"}' /proc/meminfo); dnswatch ${extra[*]}"
best=0
for rate in $rates; do
    start
    out=$(ip netns exec "$ns" tcpreplay -i va --pps "$rate" --limit 400000 "$tmp/bench.pcap" 2>&1)
    sleep 1
    stop
    actual=$(sed -n 's/.*Rated: [0-9.]* Bps, [0-9.]* Mbps, \([0-9.]*\) pps.*/\1/p' <<<"$out" | head -1)
    kern=$(sed -n 's/.*kernel: received \([0-9]*\), dropped \([0-9]*\), interface dropped \([0-9]*\).*/\1 \2 \3/p' "$tmp/err")
    read -r recv kdrop ifdrop <<<"$kern"
    ring=$(sed -n 's/.*worker ring full: \([0-9]*\).*/\1/p' "$tmp/err"); ring=${ring:-0}
    resp=$(sed -n 's/.*DNS responses seen: \([0-9]*\).*/\1/p' "$tmp/err")
    printf 'asked %7s pps  sent %9s pps  received %7s  kernel drops %6s  if drops %s  ring drops %6s  responses %s\n' \
        "$rate" "${actual:-?}" "${recv:-?}" "${kdrop:-?}" "${ifdrop:-?}" "$ring" "${resp:-?}"
    if [ "${kdrop:-1}" = 0 ] && [ "${ifdrop:-1}" = 0 ] && [ "$ring" = 0 ] && [ "${recv:-0}" -ge 400000 ]; then
        best=${actual%.*}
    fi
done
echo "highest rate sent with zero drops at every stage: $best packets/s (tcpreplay shares the 2 cores)"

[ "$dur" -gt 0 ] || exit 0
steady=${DW_LIVE_STEADY:-$(( best > 0 ? best / 2 : 50000 ))}
echo "steady run: $steady packets/s for $dur s; RSS of dnswatch every 10 s (KB):"
start
ip netns exec "$ns" tcpreplay -i va --pps "$steady" --loop 0 --duration "$dur" "$tmp/bench.pcap" >/dev/null 2>&1 &
rp=$!
samples=()
for _ in $(seq $((dur / 10))); do
    sleep 10
    samples+=("$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")")
done
wait "$rp" 2>/dev/null
stop
echo "${samples[*]}"
grep -E "kernel:|ring full|responses seen" "$tmp/err"
