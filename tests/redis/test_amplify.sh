#!/usr/bin/env bash
# Amplification (issue 9, item 8): 200 responses for fresh names with 3990 private
# addresses each (a 429 KB alert apiece before the event size bound), then a real forged
# pypi.org answer (gen_pcap r_amplify). The real alert must reach Redis, and, with Redis
# away and a small spool, the spool: the flood of one rule+violations class is shed past
# the spool's high-water mark (counted) and leaves room for it. Every event fits 64 KiB,
# the queue overflows into the spool past redis.queue_bytes, and the sensor's peak RSS
# stays bounded (measured with /usr/bin/time -v).
. "$(dirname "$0")/lib.sh"
rules=$DW_SRC/tests/rules/violations.yaml
dw_need_mmdb_writer
dw_make_mmdb "$tmp/asn.mmdb"
"$DW_BIN/tests/gen_pcap" r_amplify "$tmp/amp.pcap" || exit 1
"$DW_BIN/tests/gen_pcap" udp4_a "$tmp/quiet.pcap" || exit 1
redis_start

# Peak RSS: measured unless the binary carries a sanitizer (its shadow memory is not ours).
timev=
if [ -x /usr/bin/time ] && ! grep -q AddressSanitizer "$dw"; then timev="/usr/bin/time -v"; fi
rss_max_kb=${DW_RSS_MAX_KB:-49152}
# ThreadSanitizer keeps shadow memory and a history per thread (about 2x more here, far
# more than the flood could add): its build's peak is held to a bound scaled alike, so
# the 200 amplification alerts at ~400 KB each (main: 100 MB and more) still fail it.
if grep -q '^DNSWATCH_SANITIZE:[A-Z]*=.*thread' "$DW_BIN/CMakeCache.txt" 2>/dev/null; then
    rss_max_kb=${DW_RSS_MAX_KB:-196608}
fi

# 1. Redis up: all 201 alerts arrive, none above 64 KiB, the real one among them.
# shellcheck disable=SC2086  # timev is a word list on purpose
$timev "$dw" run --workers 1 -r "$tmp/amp.pcap" --rules "$rules" --asn-db "$tmp/asn.mmdb" \
    --output redis --redis "redis://127.0.0.1:$port" --spool-dir "$tmp/spool1" \
    >/dev/null 2>"$tmp/err1"
rc=$?
[ $rc -eq 0 ] && ok || bad "run (Redis up) exit $rc: $(head -5 "$tmp/err1")"
[ "$(rcli XLEN dnswatch:events)" = 201 ] && ok || bad "Redis holds $(rcli XLEN dnswatch:events) events, want 201"
rcli --raw XRANGE dnswatch:events - + | awk 'NR % 3 == 0' >"$tmp/got1"
awk 'length($0) + 1 > 65536 { n++ } END { exit n > 0 }' "$tmp/got1" && ok ||
    bad "an event in Redis exceeds 64 KiB ($(awk '{print length($0)}' "$tmp/got1" | sort -n | tail -1) bytes)"
[ "$(grep -c '"rule":{"id":"t-asn"' "$tmp/got1")" = 1 ] && ok || bad "the pypi.org alert is not in Redis"
if [ -n "$timev" ]; then
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/err1")
    echo "peak RSS with Redis up: ${rss} kB (bound ${rss_max_kb} kB)"
    [ -n "$rss" ] && [ "$rss" -le "$rss_max_kb" ] && ok || bad "peak RSS ${rss} kB above ${rss_max_kb} kB"
fi

# 2. The queue is bounded in bytes: Redis pauses writes, the 201 alerts (~1.3 MB) cannot
# all wait in a 1 MiB queue (redis.queue_bytes), the rest goes to the spool; all arrive.
printf 'redis:\n  queue_bytes: 1M\n' >"$tmp/q.yaml"
rcli DEL dnswatch:events >/dev/null
# Paused until the whole capture is judged (the run says so), whatever the build's speed.
rcli CLIENT PAUSE 60000 WRITE >/dev/null
"$dw" run -c "$tmp/q.yaml" --workers 1 -r "$tmp/amp.pcap" --rules "$rules" \
    --asn-db "$tmp/asn.mmdb" --output redis --redis "redis://127.0.0.1:$port" \
    --spool-dir "$tmp/spool1" --redis-wait 30000 >/dev/null 2>"$tmp/errq" &
run=$!
extra_pids="$extra_pids $run"
for _ in $(seq 300); do
    grep -q "alerts written" "$tmp/errq" && break
    sleep 0.1
done
rcli CLIENT UNPAUSE >/dev/null
wait $run
rc=$?
[ $rc -eq 0 ] && ok || bad "run (queue_bytes 1M) exit $rc: $(head -5 "$tmp/errq")"
grep -qE "redis: published 201, spooled [1-9]" "$tmp/errq" && ok ||
    bad "a paused Redis and a 1 MiB queue spooled nothing: $(grep redis "$tmp/errq")"
[ "$(rcli XLEN dnswatch:events)" = 201 ] && ok || bad "queue_bytes: $(rcli XLEN dnswatch:events) events in Redis, want 201"

# 3. Redis away, a 384 KiB spool: the flood fills it to the high-water mark, its class is
# held to its quota, the real alert goes in. Then Redis returns and the spool is replayed.
# The quarter above the mark (96 KiB) holds the flood's quota of 8 alerts (~7.7 KB each
# since the ECS fields, issue 14) and the real alert (~11 KB) after them.
redis_stop
# shellcheck disable=SC2086
$timev "$dw" run --workers 1 -r "$tmp/amp.pcap" --rules "$rules" --asn-db "$tmp/asn.mmdb" \
    --output redis --redis "redis://127.0.0.1:$port" --spool-dir "$tmp/spool2" \
    --spool-max-bytes 393216 --redis-wait 0 >/dev/null 2>"$tmp/err2"
rc=$?
# The shed flood alerts are lost events, counted: such a run exits 1.
[ $rc -eq 1 ] && ok || bad "run (Redis away) exit $rc, want 1 (events shed): $(head -5 "$tmp/err2")"
bytes=$(cat "$tmp"/spool2/seg-* | wc -c)
[ "$bytes" -le 393216 ] && ok || bad "the spool holds $bytes bytes, above its 393216"
grep -q "of the dropped, [1-9][0-9]* alerts were shed (flood quota)" "$tmp/err2" && ok ||
    bad "no shed alerts reported: $(grep redis "$tmp/err2")"
grep -q 'alerts of rule t-rebind \["rebinding"\] shed' "$tmp/err2" && ok ||
    bad "the shed class is not named: $(grep redis "$tmp/err2")"
if [ -n "$timev" ]; then
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/err2")
    echo "peak RSS with Redis away: ${rss} kB (bound ${rss_max_kb} kB)"
    [ -n "$rss" ] && [ "$rss" -le "$rss_max_kb" ] && ok || bad "peak RSS ${rss} kB above ${rss_max_kb} kB"
fi
rcli_del() { rcli DEL dnswatch:events >/dev/null; }
redis_launch || { echo "redis did not come back"; exit 1; }
rcli_del
"$dw" run --workers 1 -r "$tmp/quiet.pcap" --output redis --redis "redis://127.0.0.1:$port" \
    --spool-dir "$tmp/spool2" --redis-wait 20000 >/dev/null 2>"$tmp/err3"
rc=$?
[ $rc -eq 0 ] && ok || bad "replay run exit $rc: $(head -5 "$tmp/err3")"
grep -q "all [0-9]* events in Redis" "$tmp/err3" && ok || bad "spool not replayed: $(cat "$tmp/err3")"
rcli --raw XRANGE dnswatch:events - + | awk 'NR % 3 == 0' >"$tmp/got3"
[ "$(grep -c '"rule":{"id":"t-asn"' "$tmp/got3")" = 1 ] && ok ||
    bad "the pypi.org alert did not survive the outage ($(wc -l <"$tmp/got3") events replayed)"
finish
