#!/usr/bin/env bash
# dnstap throughput: messages per second through the sensor (--dnstap unix:, listener ->
# workers -> rules -> events) against the floor, fstrm_capture receiving the same stream
# and writing it to /dev/null. Both are fed by fstrm_replay (libfstrm's bidirectional
# writer) from one capture of tests/tools/gen_dnstap. Also the file reader (--dnstap
# file:), which waits for the workers instead of dropping. Not part of ctest: timings
# need a quiet machine.
#
#   tests/bench/bench_dnstap.sh [NPAIRS]     (default 500000 query/response pairs)
#
# Env:
#   DW_BIN          build tree holding tests/gen_dnstap and sensor/dnswatch (required)
#   DW_SRC          source tree (default: two levels above this script)
#   DW_BENCH_ROUNDS rounds of each, alternating (default 3; the median is reported)
#   DW_BENCH_ARGS   more dnswatch arguments (e.g. "--workers 2")
#   DW_KEEP=1       keep the temp dir
# Reports, for the socket run, the messages the sensor dropped (queue to the workers
# full): a rate with drops is the rate the sensor keeps up with only if they are 0.
set -u
npairs=${1:-500000}
rounds=${DW_BENCH_ROUNDS:-3}
src=${DW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
: "${DW_BIN:?set DW_BIN to a build tree}"
dw="$DW_BIN/sensor/dnswatch"
for t in fstrm_capture fstrm_replay perl; do
    command -v "$t" >/dev/null || { echo "bench_dnstap: $t not installed" >&2; exit 2; }
done
[ -n "${EPOCHREALTIME:-}" ] || { echo "needs bash >= 5" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dw-bench-dnstap.XXXXXX") || exit 1
if [ "${DW_KEEP:-0}" = 1 ]; then echo "keeping $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi
calc() { awk "BEGIN { printf \"%.0f\", $1 }"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

"$DW_BIN/tests/gen_dnstap" bench "$npairs" "$tmp/bench.fstrm" || exit 1
msgs=$((npairs * 2))
mkdir -p "$tmp/rules"
cp "$src/deploy/rules/"*.yaml "$tmp/rules/" 2>/dev/null || cp "$src/tests/data/rules/design-example.yaml" "$tmp/rules/"
perl "$src/tests/tools/make_test_mmdb.pl" "$tmp/asn.mmdb" "$src/tests/data/asn-sample.txt" >/dev/null
t="protobuf:dnstap.Dnstap"
sock="$tmp/s.sock"
read -r -a extra <<<"${DW_BENCH_ARGS:-}"

wait_sock() { for _ in $(seq 100); do [ -S "$sock" ] && return 0; sleep 0.05; done; return 1; }

floor_once() {
    rm -f "$sock"
    fstrm_capture -t "$t" -u "$sock" -w /dev/null >/dev/null 2>&1 &
    local cap=$!
    wait_sock
    local t0=$EPOCHREALTIME
    fstrm_replay -t "$t" -r "$tmp/bench.fstrm" -u "$sock" >/dev/null 2>&1
    local t1=$EPOCHREALTIME
    kill -INT "$cap"; wait "$cap" 2>/dev/null
    awk "BEGIN { print $t1 - $t0 }"
}

sensor_once() {
    rm -f "$sock"
    "$dw" run -c none --allow-root --rules "$tmp/rules" --asn-db "$tmp/asn.mmdb" "${extra[@]}" \
        --dnstap "unix:$sock" >/dev/null 2>"$tmp/sensor.err" &
    local pid=$!
    wait_sock
    local t0=$EPOCHREALTIME
    fstrm_replay -t "$t" -r "$tmp/bench.fstrm" -u "$sock" >/dev/null 2>&1
    # The writer is done once the listener answered its STOP; the workers may still be
    # judging: the time runs until the sensor has drained them and exited.
    kill -TERM "$pid"; wait "$pid"
    local t2=$EPOCHREALTIME
    drops=$(sed -n 's/.*queue to the workers full: //p' "$tmp/sensor.err"); drops=${drops:-0}
    ring=$(sed -n 's/.*worker ring full: //p' "$tmp/sensor.err"); ring=${ring:-0}
    echo "$drops $ring" >>"$tmp/drops"
    awk "BEGIN { print $t2 - $t0 }"
}

file_once() {
    local t0=$EPOCHREALTIME
    "$dw" run -c none --rules "$tmp/rules" --asn-db "$tmp/asn.mmdb" "${extra[@]}" \
        --dnstap "file:$tmp/bench.fstrm" >/dev/null 2>/dev/null
    local t1=$EPOCHREALTIME
    awk "BEGIN { print $t1 - $t0 }"
}

: >"$tmp/drops"
for r in $(seq "$rounds"); do
    floor_once >>"$tmp/floor"
    sensor_once >>"$tmp/sensor"
    file_once >>"$tmp/file"
done
f=$(median <"$tmp/floor"); s=$(median <"$tmp/sensor"); fi=$(median <"$tmp/file")
echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "messages: $msgs (${npairs} CLIENT_QUERY/CLIENT_RESPONSE pairs), median of $rounds rounds"
echo "fstrm_capture -w /dev/null (floor): $(calc "$msgs / $f") msg/s ($f s)"
echo "dnswatch --dnstap unix:          : $(calc "$msgs / $s") msg/s ($s s, to the end of the drain); dropped (queue, ring) per round: $(tr '\n' ';' <"$tmp/drops")"
echo "dnswatch --dnstap file:          : $(calc "$msgs / $fi") msg/s ($fi s, start-up and rules included)"
