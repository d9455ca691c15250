#!/usr/bin/env bash
# dnswatch learn -i: a live learn on a veth pair inside a network namespace this test
# creates, while tcpreplay sends the generated week (tests/tools/gen_pcap.c l_week) from
# the other end. The pack must expect what the offline learn of the same capture expects
# (every line but the comments, whose times are the capture's), and SIGINT must end a
# learn early with the pack written. Traffic stays inside the namespace. Skips (exit 77; a
# failure under DW_NO_SKIP=1) where namespaces are not permitted or a tool is missing.
set -u
dw="$DW_BIN/sensor/dnswatch"
gen="$DW_BIN/tests/gen_pcap"
. "$DW_SRC/tests/lib/common.sh"
[ "$(id -u)" -eq 0 ] || dw_skip "needs root for network namespaces"
command -v tcpreplay >/dev/null || dw_skip "tcpreplay not installed"
command -v ip >/dev/null || dw_skip "iproute2 not installed"

ns=dwlearn$$
pids=()
dw_test_cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
}
dw_tmpdir learn-live
ip netns add "$ns" 2>/dev/null || dw_skip "cannot create a network namespace here"
ip netns exec "$ns" ip link add va type veth peer name vb || dw_skip "cannot create a veth pair"
ip netns exec "$ns" ip link set va up && ip netns exec "$ns" ip link set vb up

fail=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
"$gen" l_week "$tmp/week.pcap" >/dev/null
names="pypi.org,files.pythonhosted.org,registry.npmjs.org,github.com,static.crates.io"
names="$names,artifactory.corp.example"

"$dw" learn -r "$tmp/week.pcap" --names "$names" -o "$tmp/offline.yaml" 2>"$tmp/offline.err" ||
    { bad "offline learn failed"; sed 's/^/    /' "$tmp/offline.err"; }

# Learn for 8 s; the week goes out after 1 s, at full speed (7000 frames).
ip netns exec "$ns" "$dw" learn -i va --duration 8 --names "$names" -o "$tmp/live.yaml" \
    2>"$tmp/live.err" &
pids+=($!)
sleep 1
ip netns exec "$ns" tcpreplay -q -i vb --topspeed "$tmp/week.pcap" >"$tmp/replay.log" 2>&1 ||
    { bad "tcpreplay failed"; sed 's/^/    /' "$tmp/replay.log"; }
if wait "${pids[0]}"; then ok; else bad "live learn exited $?"; sed 's/^/    /' "$tmp/live.err"; fi
strip() { grep -v '^ *#' "$1" | sed '/^$/d'; }
if diff -u <(strip "$tmp/offline.yaml") <(strip "$tmp/live.yaml") >"$tmp/diff"; then ok; else
    bad "the live pack expects something else than the offline one:"
    sed 's/^/    /' "$tmp/diff" | head -60
fi
grep -q "from 8 s on va" "$tmp/live.yaml" && ok || bad "the live pack does not say where it came from"
"$dw" check-rules "$tmp/live.yaml" >/dev/null 2>&1 && ok || bad "the live pack does not lint"

# SIGINT ends it early: the pack of what was seen, exit 0, well before --duration.
start=$(date +%s)
ip netns exec "$ns" "$dw" learn -i va --duration 600 --names "$names" -o "$tmp/int.yaml" \
    2>"$tmp/int.err" &
pid=$!
pids+=($pid)
sleep 1
ip netns exec "$ns" tcpreplay -q -i vb --topspeed "$tmp/week.pcap" >/dev/null 2>&1
sleep 0.5
kill -INT "$pid"
if wait "$pid"; then ok; else bad "learn after SIGINT exited $?"; sed 's/^/    /' "$tmp/int.err"; fi
[ $(($(date +%s) - start)) -lt 60 ] && ok || bad "SIGINT did not end the learn"
if diff -u <(strip "$tmp/offline.yaml") <(strip "$tmp/int.yaml") >"$tmp/diff"; then ok; else
    bad "the pack written on SIGINT differs:"
    sed 's/^/    /' "$tmp/diff" | head -40
fi

echo "test_learn_live: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
