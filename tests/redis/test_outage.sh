#!/usr/bin/env bash
# Redis stops in the middle of a run and comes back: every event arrives, in order,
# exactly once after dropping the duplicates a replay may add (same event.id). The
# capture is fed through a FIFO so the run lasts as long as the test wants.
# Then a full spool: with Redis away and a tiny spool, the counted drop equals the
# events that never arrived.
. "$(dirname "$0")/lib.sh"
redis_start
n=20000
gen $n "$tmp/a.pcap"
"$dw" run --workers 1 -r "$tmp/a.pcap" --log all 2>/dev/null | sed -E 's/"id":"[0-9a-f]{32}"/"id":""/' >"$tmp/want"
size=$(stat -c %s "$tmp/a.pcap")
third=$((size / 3))

mkfifo "$tmp/feed"
"$dw" run --workers 1 -r "$tmp/feed" --log all --output redis --redis "redis://127.0.0.1:$port" \
    --spool-dir "$tmp/spool" --redis-wait 20000 2>"$tmp/err" &
run=$!
extra_pids="$extra_pids $run"
exec 3>"$tmp/feed"
head -c $third "$tmp/a.pcap" >&3
# Wait until the first third is in Redis (the count stops moving).
before=-1
for _ in $(seq 50); do
    sleep 0.2
    now=$(rcli XLEN dnswatch:events)
    [ "$now" -gt 0 ] && [ "$now" -eq "$before" ] && break
    before=$now
done
redis_stop
tail -c +$((third + 1)) "$tmp/a.pcap" | head -c $third >&3
sleep 1 # the publisher finds Redis gone and spools
spooled_files=$(ls "$tmp/spool" | grep -c '^seg-')
redis_launch || { echo "redis did not come back"; exit 1; }
[ "$(rcli XLEN dnswatch:events)" -ge "$before" ] && ok || bad "restarted Redis lost data ($before before)"
tail -c +$((2 * third + 1)) "$tmp/a.pcap" >&3
exec 3>&-
wait $run
rc=$?
[ $rc -eq 0 ] && ok || bad "run exit $rc: $(cat "$tmp/err")"
[ "$before" -gt 0 ] && [ "$before" -lt $n ] && ok || bad "Redis held $before events when it stopped (want some, not all)"
[ "$spooled_files" -gt 0 ] && ok || bad "nothing was spooled during the outage"
grep -q "spooling to $tmp/spool and retrying" "$tmp/err" && ok || bad "outage not logged: $(cat "$tmp/err")"
grep -q "taking events again" "$tmp/err" && ok || bad "recovery not logged"
grep -q "all [0-9]* events in Redis" "$tmp/err" && ok || bad "not all in Redis: $(cat "$tmp/err")"
rcli --raw XRANGE dnswatch:events - + | awk 'NR % 3 == 0' >"$tmp/got"
python3 - "$tmp/got" "$tmp/want" <<'PY' && ok || bad "outage: events lost, duplicated or out of order"
import re, sys
got = open(sys.argv[1]).read().splitlines()
want = open(sys.argv[2]).read().splitlines()
seen, out = set(), []
for line in got:
    m = re.search(r'"id":"([0-9a-f]{32})"', line)
    if m.group(1) in seen:
        continue
    seen.add(m.group(1))
    out.append(re.sub(r'"id":"[0-9a-f]{32}"', '"id":""', line))
print(f"outage: {len(got)} entries, {len(got) - len(out)} duplicates, {len(out)} events, want {len(want)}")
sys.exit(0 if out == want else 1)
PY

# Spool full: Redis away for the whole run; a 40 kB spool holds about a hundred events.
rcli DEL dnswatch:events >/dev/null
redis_stop
m=2000
gen $m "$tmp/b.pcap"
"$dw" run --workers 1 -r "$tmp/b.pcap" --log all --output redis --redis "redis://127.0.0.1:$port" \
    --spool-dir "$tmp/spool2" --spool-max-bytes 40000 --redis-wait 200 2>"$tmp/err"
rc=$?
# A run that lost events says so in its status, not only on stderr.
[ $rc -eq 1 ] && ok || bad "run that dropped events: exit $rc, want 1"
grep -q "frames or events lost (counted above): exit status 1" "$tmp/err" && ok ||
    bad "no loss summary: $(cat "$tmp/err")"
grep -q "is full (its bound, 40000 bytes): [0-9]* events dropped so far" "$tmp/err" && ok || bad "no drop warning: $(cat "$tmp/err")"
[ "$(grep -c 'events dropped so far' "$tmp/err")" -le 2 ] && ok || bad "drop warning not rate-limited"
dropped=$(sed -nE 's/.*dropped ([0-9]+) \((spool full|shed under pressure)\).*/\1/p' "$tmp/err")
left=$(sed -nE 's/.*: ([0-9]+) events left in the spool.*/\1/p' "$tmp/err")
[ -n "$dropped" ] && [ "$dropped" -gt 0 ] && [ $((dropped + left)) -eq $m ] && ok ||
    bad "dropped '$dropped' + left '$left' != $m: $(cat "$tmp/err")"
redis_launch
gen 1 "$tmp/one.pcap"
"$dw" run --workers 1 -r "$tmp/one.pcap" --log all --output redis --redis "redis://127.0.0.1:$port" \
    --spool-dir "$tmp/spool2" --spool-max-bytes 40000 2>"$tmp/err"
arrived=$(($(rcli XLEN dnswatch:events) - 1))
[ "$arrived" -eq "$left" ] && [ $((arrived + dropped)) -eq $m ] && ok ||
    bad "arrived $arrived + dropped $dropped != $m"
finish
