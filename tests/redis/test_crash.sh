#!/usr/bin/env bash
# kill -9 of the sensor while Redis is away: what was handed to the spool survives, and
# the loss is at most what the in-memory queue and one batch held (docs/redis.md). With a
# 200-event queue and 50-event batches, at most 250 of the run's events may be missing
# after a restart replays the spool; none may be duplicated.
. "$(dirname "$0")/lib.sh"
redis_start
n=5000
gen $n "$tmp/a.pcap"
redis_stop
printf 'redis:\n  queue: 200\n  batch: 50\n' >"$tmp/dnswatch.yaml"

mkfifo "$tmp/feed"
"$dw" run -c "$tmp/dnswatch.yaml" --workers 1 -r "$tmp/feed" --log all --output redis \
    --redis "redis://127.0.0.1:$port" --spool-dir "$tmp/spool" 2>"$tmp/err" &
run=$!
extra_pids="$extra_pids $run"
exec 3>"$tmp/feed"
cat "$tmp/a.pcap" >&3 # the FIFO stays open: the run never reaches the end of its input
# Wait until the spool stops growing: every event is decoded and queued or spooled.
last=-1
for _ in $(seq 100); do
    sleep 0.2
    now=$(du -sb "$tmp/spool" 2>/dev/null | cut -f1)
    [ "${now:-0}" -gt 0 ] && [ "$now" = "$last" ] && break
    last=$now
done
kill -9 $run
wait $run 2>/dev/null
exec 3>&-

redis_launch || { echo "redis did not come back"; exit 1; }
# A new run with nothing to read replays the spool first and exits when it is in Redis.
"$DW_BIN/tests/gen_pcap" port5353 "$tmp/empty.pcap" >/dev/null
"$dw" run --workers 1 -r "$tmp/empty.pcap" --output redis --redis "redis://127.0.0.1:$port" \
    --spool-dir "$tmp/spool" 2>"$tmp/err2"
rc=$?
[ $rc -eq 0 ] && ok || bad "replay run exit $rc: $(cat "$tmp/err2")"
got=$(rcli XLEN dnswatch:events)
distinct=$(rcli --raw XRANGE dnswatch:events - + | grep -o '"id":"[0-9a-f]*"' | sort -u | wc -l)
echo "crash: $n events produced, $got in Redis after the replay ($distinct distinct)"
[ "$got" -ge $((n - 250)) ] && [ "$got" -le "$n" ] && ok ||
    bad "after kill -9: $got of $n events in Redis (at most 250 may be lost)"
[ "$distinct" -eq "$got" ] && ok || bad "duplicates after the replay: $got entries, $distinct ids"
finish
