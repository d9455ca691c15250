#!/usr/bin/env bash
# Every event of a stdout run arrives in each Redis mode, once, byte for byte (event.id,
# random per run, blanked on both sides): stream (XRANGE, TCP), list LPUSH (unix socket
# and SELECT 2), list RPUSH, channel (a subscriber started before the run). Also: MAXLEN
# trims the stream, and a WRONGTYPE reply loses nothing (spooled, replayed later).
. "$(dirname "$0")/lib.sh"
redis_start
n=3000
gen $n "$tmp/a.pcap"
"$dw" run --workers 1 -r "$tmp/a.pcap" --log all >"$tmp/stdout.json" 2>/dev/null
blank() { sed -E 's/"id":"[0-9a-f]{32}"/"id":""/'; }
blank <"$tmp/stdout.json" >"$tmp/want"
[ "$(wc -l <"$tmp/want")" -eq $n ] && ok || bad "stdout run gave $(wc -l <"$tmp/want") events, not $n"

# same NAME FILE: FILE (Redis content) equals the stdout run, with unique ids.
same() {
    local ids
    ids=$(grep -oE '"id":"[0-9a-f]{32}"' "$2" | sort -u | wc -l)
    if blank <"$2" | cmp -s - "$tmp/want" && [ "$ids" -eq $n ]; then
        ok
    else
        bad "$1: Redis content differs from the stdout run ($(wc -l <"$2") lines, $ids ids)"
        blank <"$2" | diff - "$tmp/want" | head -5
    fi
}
run() { "$dw" run --workers 1 -r "$tmp/a.pcap" --log all --output redis --spool-dir "$tmp/spool" "$@" 2>"$tmp/err"; }

# stream over TCP
run --redis "redis://127.0.0.1:$port" || bad "stream run failed: $(cat "$tmp/err")"
grep -q "all $n events in Redis" "$tmp/err" && ok || bad "stream: no 'all $n events in Redis': $(cat "$tmp/err")"
rcli --raw XRANGE dnswatch:events - + | awk 'NR % 3 == 0' >"$tmp/got"
same stream "$tmp/got"
[ "$(rcli --raw XRANGE dnswatch:events - + COUNT 1 | sed -n 2p)" = event ] && ok || bad "stream field is not 'event'"

# list (LPUSH: newest first) over the unix socket, database 2, own key
run --redis "unix://$sock?db=2" --redis-mode list --redis-key dw:list || bad "list run failed: $(cat "$tmp/err")"
rcli -n 2 --raw LRANGE dw:list 0 -1 | tac >"$tmp/got"
same list "$tmp/got"
[ "$(rcli -n 0 EXISTS dw:list)" = 0 ] && ok || bad "list landed in database 0, not 2"

# list in arrival order (RPUSH), what Logstash and Vector pop from the left
run --redis "redis://127.0.0.1:$port/3" --redis-mode rpush --redis-key dw:rlist || bad "rpush run failed"
rcli -n 3 --raw LRANGE dw:rlist 0 -1 >"$tmp/got"
same rpush "$tmp/got"

# channel: a subscriber started before the run
rcli --raw SUBSCRIBE dw:chan >"$tmp/sub" 2>/dev/null &
sub=$!
extra_pids="$extra_pids $sub"
for _ in $(seq 50); do [ "$(rcli PUBSUB NUMSUB dw:chan | tail -1)" = 1 ] && break; sleep 0.1; done
run --redis "redis://127.0.0.1:$port" --redis-mode channel --redis-key dw:chan || bad "channel run failed"
for _ in $(seq 50); do [ "$(grep -c '^{' "$tmp/sub")" -ge $n ] && break; sleep 0.1; done
kill "$sub"
grep '^{' "$tmp/sub" >"$tmp/got"
same channel "$tmp/got"

# MAXLEN ~ trims (approximately: whole radix-tree nodes)
run --redis "redis://127.0.0.1:$port" --redis-key dw:trim --redis-maxlen 500 || bad "maxlen run failed"
len=$(rcli XLEN dw:trim)
[ "$len" -ge 500 ] && [ "$len" -lt $n ] && ok || bad "MAXLEN ~ 500 left $len entries"

# Hostile reply: the key holds a string, so XADD answers WRONGTYPE. Nothing is lost: the
# events stay in the spool (logged once), and a later run delivers them first, in order.
rcli SET dw:wrong notastream >/dev/null
run --redis "redis://127.0.0.1:$port" --redis-key dw:wrong --redis-wait 300
grep -q "WRONGTYPE" "$tmp/err" && ok || bad "WRONGTYPE not reported: $(cat "$tmp/err")"
[ "$(grep -c WRONGTYPE "$tmp/err")" -eq 1 ] && ok || bad "WRONGTYPE logged more than once"
grep -q "$n events left in the spool $tmp/spool" "$tmp/err" && ok || bad "spool count not reported: $(cat "$tmp/err")"
rcli DEL dw:wrong >/dev/null
gen 1 "$tmp/one.pcap"
"$dw" run --workers 1 -r "$tmp/one.pcap" --log all --output redis --spool-dir "$tmp/spool" \
    --redis "redis://127.0.0.1:$port" --redis-key dw:wrong 2>"$tmp/err"
grep -q "replayed $n," "$tmp/err" && ok || bad "replay not counted: $(cat "$tmp/err")"
rcli --raw XRANGE dw:wrong - + | awk 'NR % 3 == 0' | head -$n >"$tmp/got"
same wrongtype-replay "$tmp/got"
[ "$(rcli XLEN dw:wrong)" -eq $((n + 1)) ] && ok || bad "after replay XLEN is $(rcli XLEN dw:wrong)"
[ -z "$(ls "$tmp/spool" | grep seg-)" ] && ok || bad "spool segments left after replay"

# A bad URL fails at start, exit 1, one clear line.
"$dw" run --workers 1 -r "$tmp/a.pcap" --output redis --redis "redis://u:pw@h" --spool-dir "$tmp/spool" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "password does not belong in the URL" "$tmp/err" && ok || bad "bad URL: $(cat "$tmp/err")"
finish
