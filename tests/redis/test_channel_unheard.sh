#!/usr/bin/env bash
# Channel mode with nobody subscribed: PUBLISH answers 0 receivers and the events are gone.
# The sensor says so on stderr once (rate-limited: at most once a minute), counts them in
# dnswatch_redis_unheard_total and in its end-of-run summary. With a subscriber: silent.
. "$(dirname "$0")/lib.sh"
redis_start
n=2000
gen $n "$tmp/a.pcap"
printf 'metrics: {textfile: %s/m.prom}\n' "$tmp" >"$tmp/c.yaml"
run_channel() {
    "$dw" run --workers 1 -c "$tmp/c.yaml" -r "$tmp/a.pcap" --log all --output redis \
        --redis "redis://127.0.0.1:$port" --redis-mode channel --redis-key dw:chan \
        --spool-dir "$tmp/spool" 2>"$tmp/err"
}

run_channel || bad "channel run failed: $(cat "$tmp/err")"
[ "$(grep -c 'published to a channel with no subscriber' "$tmp/err")" -eq 1 ] && ok ||
    bad "want one no-subscriber warning, got: $(cat "$tmp/err")"
grep -q "redis: $n of the events published reached no subscriber of the channel" "$tmp/err" && ok ||
    bad "summary does not count the unheard events: $(cat "$tmp/err")"
v=$(awk '$1 == "dnswatch_redis_unheard_total" {print $2}' "$tmp/m.prom")
[ -n "$v" ] && [ "$v" -gt 0 ] && [ "$v" -le $n ] && ok || bad "dnswatch_redis_unheard_total is '$v'"

# The benign twin: a subscriber listening from the start; no warning, nothing unheard.
rcli --raw SUBSCRIBE dw:chan >"$tmp/sub" 2>/dev/null &
sub=$!
extra_pids="$extra_pids $sub"
for _ in $(seq 50); do [ "$(rcli PUBSUB NUMSUB dw:chan | tail -1)" = 1 ] && break; sleep 0.1; done
run_channel || bad "channel run with a subscriber failed"
for _ in $(seq 50); do [ "$(grep -c '^{' "$tmp/sub")" -ge $n ] && break; sleep 0.1; done
kill "$sub"
[ "$(grep -c '^{' "$tmp/sub")" -eq $n ] && ok || bad "subscriber got $(grep -c '^{' "$tmp/sub") events"
! grep -q 'no subscriber' "$tmp/err" && ok || bad "warned with a subscriber listening: $(cat "$tmp/err")"
v=$(awk '$1 == "dnswatch_redis_unheard_total" {print $2}' "$tmp/m.prom")
[ "$v" = 0 ] && ok || bad "dnswatch_redis_unheard_total is '$v' with a subscriber"
finish
