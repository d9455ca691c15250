#!/usr/bin/env bash
# dnswatch consume under logrotate, and with entries that are not events:
# - SIGHUP after the output was renamed: the consumer reopens its path; the renamed file
#   keeps what was written before, the new file gets every later line, nothing is lost
#   or written twice;
# - entries whose payload is not one JSON object (text, a JSON array, broken UTF-8, no
#   event field) are skipped, acknowledged (nothing stays pending) and each is said on
#   stderr with its stream id and why; every line written parses as a JSON object.
. "$(dirname "$0")/lib.sh"
redis_start
url="redis://127.0.0.1:$port"
n=500
gen $n "$tmp/a.pcap"
publish() {
    "$dw" run --workers 1 -r "$tmp/a.pcap" --log all --output redis --redis "$url" \
        --spool-dir "$tmp/spool" 2>/dev/null
}
lines() { cat "$@" 2>/dev/null | wc -l; }

# Poison first, between two batches of events.
p1=$(rcli XADD dnswatch:events '*' event 'not json at all')
publish
p2=$(rcli XADD dnswatch:events '*' event '[1,2,3]')
p3=$(rcli XADD dnswatch:events '*' event "$(printf '{"a":"\xff"}')")
p4=$(rcli XADD dnswatch:events '*' other '{"a":1}')
[ "$(rcli XLEN dnswatch:events)" -eq $((n + 4)) ] && ok || bad "stream holds $(rcli XLEN dnswatch:events)"

"$dw" consume --redis "$url" --consumer R --claim-idle 0 --out "$tmp/out.json" 2>"$tmp/R.err" &
r=$!
extra_pids="$extra_pids $r"
for _ in $(seq 100); do [ "$(lines "$tmp/out.json")" -ge $n ] && break; sleep 0.1; done
[ "$(lines "$tmp/out.json")" -eq $n ] && ok || bad "first batch: $(lines "$tmp/out.json") lines, want $n"

# logrotate: rename, then SIGHUP; the new file appears at the next read (within 1 s).
mv "$tmp/out.json" "$tmp/out.json.1"
kill -HUP $r
for _ in $(seq 50); do [ -e "$tmp/out.json" ] && break; sleep 0.1; done
[ -e "$tmp/out.json" ] && ok || bad "no new output file after SIGHUP"
kill -0 $r 2>/dev/null && ok || bad "consumer died on SIGHUP"
publish
for _ in $(seq 100); do [ "$(lines "$tmp/out.json")" -ge $n ] && break; sleep 0.1; done
sleep 0.3 # a duplicate would show up now
kill -TERM $r
wait $r && ok || bad "consumer did not exit 0: $(cat "$tmp/R.err")"
[ "$(lines "$tmp/out.json.1")" -eq $n ] && [ "$(lines "$tmp/out.json")" -eq $n ] && ok ||
    bad "rotated file has $(lines "$tmp/out.json.1") lines, new file $(lines "$tmp/out.json"); want $n each"
cat "$tmp/out.json.1" "$tmp/out.json" | grep -oE '"id":"[0-9a-f]{32}"' | sort >"$tmp/ids"
[ "$(wc -l <"$tmp/ids")" -eq $((2 * n)) ] && [ "$(sort -u "$tmp/ids" | wc -l)" -eq $((2 * n)) ] && ok ||
    bad "wrote $(wc -l <"$tmp/ids") events, $(sort -u "$tmp/ids" | wc -l) distinct, want $((2 * n))"
python3 -c '
import json, sys
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        for no, line in enumerate(f, 1):
            if not isinstance(json.loads(line.decode("utf-8")), dict):
                sys.exit("%s:%d: not an object" % (path, no))
' "$tmp/out.json.1" "$tmp/out.json" && ok || bad "a line written is not a JSON object"

# The poison: skipped, acknowledged, each named with its id and reason.
[ "$(rcli --raw XPENDING dnswatch:events dnswatch | head -1)" -eq 0 ] && ok || bad "entries still pending"
grep -q "skipped stream entry $p1 of dnswatch:events: the event is not a JSON object (not a JSON object at byte 0)" "$tmp/R.err" &&
    grep -q "skipped stream entry $p2 .*not a JSON object" "$tmp/R.err" &&
    grep -q "skipped stream entry $p3 .*invalid UTF-8 at byte 6" "$tmp/R.err" &&
    grep -q "skipped stream entry $p4 .*no 'event' field" "$tmp/R.err" && ok ||
    bad "skipped entries not reported: $(cat "$tmp/R.err")"
grep -q "$((2 * n)) events written, 4 entries skipped" "$tmp/R.err" && ok || bad "summary: $(tail -1 "$tmp/R.err")"

# A restarted consumer does not see them again (they were acknowledged).
"$dw" consume --redis "$url" --consumer R --claim-idle 0 --out "$tmp/again.json" 2>"$tmp/R2.err" &
r=$!
extra_pids="$extra_pids $r"
sleep 0.5
kill -TERM $r
wait $r
[ ! -s "$tmp/again.json" ] && ! grep -q skipped "$tmp/R2.err" && ok || bad "acknowledged entries came back"
finish
