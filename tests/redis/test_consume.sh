#!/usr/bin/env bash
# The consumer acknowledges only what it has written: two consumers die (kill -9) while
# blocked writing to a FIFO nobody reads, with entries in hand. A restarted consumer of
# the same name re-delivers its own pending entries; another one claims (XAUTOCLAIM) the
# dead one's. Every event comes out once, and nothing stays pending.
. "$(dirname "$0")/lib.sh"
redis_start
url="redis://127.0.0.1:$port"
n=3000
gen $n "$tmp/a.pcap"
"$dw" run --workers 1 -r "$tmp/a.pcap" --log all --output redis --redis "$url" --spool-dir "$tmp/spool" 2>/dev/null
[ "$(rcli XLEN dnswatch:events)" -eq $n ] && ok || bad "publisher wrote $(rcli XLEN dnswatch:events) entries"

pending_of() { rcli --raw XPENDING dnswatch:events dnswatch - + 100000 "$1" | awk 'NR % 4 == 1' | grep -c .; }
# stuck NAME: a consumer writing to a FIFO that is open but never read.
stuck() {
    mkfifo "$tmp/$1.fifo"
    exec {fd}<>"$tmp/$1.fifo"
    "$dw" consume --redis "$url" --consumer "$1" --count 500 --claim-idle 0 --out "$tmp/$1.fifo" \
        2>"$tmp/$1.err" &
    eval "pid_$1=$!"
    extra_pids="$extra_pids $!"
    for _ in $(seq 50); do [ "$(pending_of "$1")" -ge 500 ] && break; sleep 0.1; done
}
stuck A
stuck A2
[ "$(pending_of A)" -eq 500 ] && [ "$(pending_of A2)" -eq 500 ] && ok ||
    bad "stuck consumers hold $(pending_of A) and $(pending_of A2) entries, want 500 each"
kill -9 "$pid_A" "$pid_A2"
wait "$pid_A" "$pid_A2" 2>/dev/null
sleep 0.4 # idle longer than B's --claim-idle

"$dw" consume --redis "$url" --consumer A --count 100 --claim-idle 0 --out "$tmp/A.out" 2>"$tmp/A.err" &
a=$!
"$dw" consume --redis "unix://$sock" --consumer B --count 100 --claim-idle 200 --out "$tmp/B.out" 2>"$tmp/B.err" &
b=$!
extra_pids="$extra_pids $a $b"
lines() { cat "$tmp/A.out" "$tmp/B.out" 2>/dev/null | wc -l; }
for _ in $(seq 100); do [ "$(lines)" -ge $n ] && break; sleep 0.1; done
sleep 0.3 # a duplicate would show up now
kill -TERM $a $b
wait $a && wait $b && ok || bad "consumers did not exit 0 on SIGTERM: $(cat "$tmp/A.err" "$tmp/B.err")"
cat "$tmp/A.out" "$tmp/B.out" | grep -oE '"id":"[0-9a-f]{32}"' | sort >"$tmp/ids"
[ "$(wc -l <"$tmp/ids")" -eq $n ] && [ "$(sort -u "$tmp/ids" | wc -l)" -eq $n ] && ok ||
    bad "consumers wrote $(wc -l <"$tmp/ids") events, $(sort -u "$tmp/ids" | wc -l) distinct, want $n"
[ "$(rcli --raw XPENDING dnswatch:events dnswatch | head -1)" -eq 0 ] && ok || bad "entries still pending"
[ "$(pending_of A2)" -eq 0 ] && [ -s "$tmp/B.out" ] && ok || bad "B did not claim A2's entries"
# The output is the events themselves, one per line, as the publisher sent them.
"$dw" run --workers 1 -r "$tmp/a.pcap" --log all 2>/dev/null | sed -E 's/"id":"[0-9a-f]{32}"/"id":""/' | sort >"$tmp/want"
cat "$tmp/A.out" "$tmp/B.out" | sed -E 's/"id":"[0-9a-f]{32}"/"id":""/' | sort | cmp -s - "$tmp/want" && ok ||
    bad "consumed lines differ from the events"

# A restart resumes: new events go to the same group from where it stopped.
"$dw" run --workers 1 -r "$tmp/a.pcap" --log all --output redis --redis "$url" --spool-dir "$tmp/spool" 2>/dev/null
"$dw" consume --redis "$url" --consumer A --out "$tmp/A2.out" 2>/dev/null &
a=$!
extra_pids="$extra_pids $a"
for _ in $(seq 50); do [ "$(cat "$tmp/A2.out" 2>/dev/null | wc -l)" -ge $n ] && break; sleep 0.1; done
kill -INT $a
wait $a && [ "$(wc -l <"$tmp/A2.out")" -eq $n ] && ok || bad "resumed consumer wrote $(wc -l <"$tmp/A2.out"), want $n"

# --from-now: a new group starts at the end of the stream.
"$dw" consume --redis "$url" --group fresh --from-now --out "$tmp/fresh.out" 2>/dev/null &
f=$!
extra_pids="$extra_pids $f"
sleep 0.5
kill -TERM $f
wait $f
[ ! -s "$tmp/fresh.out" ] && ok || bad "--from-now delivered old entries"
"$dw" consume --bogus 2>/dev/null
[ $? -eq 2 ] && ok || bad "consume usage error is not exit 2"
finish
