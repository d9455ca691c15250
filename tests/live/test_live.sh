#!/usr/bin/env bash
# Live capture on a veth pair inside a network namespace this test creates: the sensor
# listens on one end, tcpreplay sends captures from the other. Checks that
#  - the alerts of the live run equal those of the offline run of the same capture,
#  - the sensor runs as the unprivileged user after start (--user nobody),
#  - SIGHUP with a broken rule file keeps the old rules (and says so in a health event),
#    a later good reload succeeds,
#  - SIGTERM flushes everything and exits 0.
# Traffic stays inside the namespace. Skips (exit 77; a failure under DW_NO_SKIP=1) where
# namespaces are not permitted or a tool is missing.
set -u
dw="$DW_BIN/sensor/dnswatch"
gen="$DW_BIN/tests/gen_pcap"
src=${DW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}

DW_SRC=$src
. "$src/tests/lib/common.sh"
[ "$(id -u)" -eq 0 ] || dw_skip "needs root for network namespaces"
command -v tcpreplay >/dev/null || dw_skip "tcpreplay not installed"
command -v ip >/dev/null || dw_skip "iproute2 not installed"
command -v setpriv >/dev/null || dw_skip "setpriv (util-linux) not installed"
dw_need_mmdb_writer
getent passwd nobody >/dev/null || dw_skip "no user 'nobody'"

ns=dwlive$$
pids=()
dw_test_cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
}
dw_tmpdir live
chmod 755 "$tmp"
ip netns add "$ns" 2>/dev/null || dw_skip "cannot create a network namespace here"
ip netns exec "$ns" ip link add va type veth peer name vb || dw_skip "cannot create a veth pair"
# Jumbo frames, as on a mirror target's link (VXLAN adds 50 bytes to a full-size frame).
ip netns exec "$ns" ip link set va mtu 9000 && ip netns exec "$ns" ip link set vb mtu 9000
ip netns exec "$ns" ip link set va up && ip netns exec "$ns" ip link set vb up
ip netns exec "$ns" ip link set lo up

fail=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# Rules whose answers in the bench capture give a known mix of alerts.
mkdir -p "$tmp/rules"
cp "$src/tests/data/rules/design-example.yaml" "$tmp/rules/"
dw_make_mmdb "$tmp/asn.mmdb"
chmod -R a+rX "$tmp"
"$gen" bench 4000 "$tmp/a.pcap" >/dev/null
"$gen" bench 2000 "$tmp/b.pcap" 7 >/dev/null
args=(--rules "$tmp/rules" --asn-db "$tmp/asn.mmdb" --fold 0)

# What an alert is, for comparing runs: everything but ids and times.
norm() {
    python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e["event"]["kind"] != "alert":
        continue
    print(e["rule"]["id"], e["dns"]["question"]["name"], e["dns"]["id"],
          ",".join(e["dnswatch"]["violations"]), ",".join(e["dns"].get("resolved_ip", [])))
' | sort
}

"$dw" run -r "$tmp/a.pcap" "${args[@]}" 2>/dev/null | norm >"$tmp/offline-a.txt"
"$dw" run -r "$tmp/b.pcap" "${args[@]}" 2>/dev/null | norm >"$tmp/offline-b.txt"
[ -s "$tmp/offline-a.txt" ] && [ -s "$tmp/offline-b.txt" ] && ok || bad "offline runs gave no alerts"

# Metrics on the namespace's loopback (only settable in the config file).
printf 'metrics:\n  listen: "127.0.0.1:19153"\n  interval_s: 1\n' >"$tmp/dnswatch.yaml"
chmod a+r "$tmp/dnswatch.yaml"
scrape() {
    ip netns exec "$ns" python3 -c '
import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:19153/metrics", timeout=5).read().decode())'
}

start_sensor() { # OUT ERR
    ip netns exec "$ns" "$dw" run -c "$tmp/dnswatch.yaml" -i vb "${args[@]}" --user nobody >"$1" 2>"$2" &
    sensor=$!
    pids+=("$sensor")
    for _ in $(seq 100); do
        grep -q "capturing on vb" "$2" && return 0
        sleep 0.1
    done
    bad "sensor did not start: $(cat "$2")"
    return 1
}
replay() { ip netns exec "$ns" timeout 60 tcpreplay -q -i va --pps 4000 "$1" >/dev/null 2>&1; }
stop_sensor() {
    kill -TERM "$sensor"
    for _ in $(seq 100); do kill -0 "$sensor" 2>/dev/null || break; sleep 0.1; done
    wait "$sensor"
}

# 1. Live equals offline; runs unprivileged; SIGTERM flushes.
start_sensor "$tmp/live.jsonl" "$tmp/live.err" || exit 1
uid=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$sensor/status")
[ "$uid" = "65534 65534 65534 65534" ] && ok || bad "sensor uids after start: $uid (want nobody)"
capeff=$(awk '/^CapEff:/ {print $2}' "/proc/$sensor/status")
[ "$capeff" = "0000000000000000" ] && ok || bad "sensor keeps capabilities: $capeff"
replay "$tmp/a.pcap"
sleep 1.5
# Alerts leave within a second of their packet, on a link gone quiet, before any stop.
early=$(norm <"$tmp/live.jsonl" | wc -l)
[ "$early" -eq "$(wc -l <"$tmp/offline-a.txt")" ] && ok ||
    bad "1.5 s after the last packet only $early of $(wc -l <"$tmp/offline-a.txt") alerts were out"
scrape >"$tmp/metrics.txt" 2>&1
grep -q '^dnswatch_dns_responses_total 2000$' "$tmp/metrics.txt" && ok ||
    bad "metrics: responses not 2000: $(grep -E 'responses_total|Error' "$tmp/metrics.txt" | head -3)"
grep -q '^dnswatch_capture_kernel_dropped_total 0$' "$tmp/metrics.txt" && ok ||
    bad "metrics: kernel drops: $(grep kernel_dropped "$tmp/metrics.txt")"
grep -Eq '^dnswatch_alerts_total [1-9]' "$tmp/metrics.txt" && ok || bad "metrics: no alerts counted"
stop_sensor
rc=$?
[ "$rc" -eq 0 ] && ok || bad "sensor exit status $rc after SIGTERM: $(tail -3 "$tmp/live.err")"
grep -q '"kind":"metric","dataset":"dnswatch.metrics".*"dns_responses":' "$tmp/live.jsonl" && ok ||
    bad "no periodic metric event in the output"
norm <"$tmp/live.jsonl" >"$tmp/live-a.txt"
if cmp -s "$tmp/offline-a.txt" "$tmp/live-a.txt"; then ok; else
    bad "live alerts differ from offline ($(wc -l <"$tmp/offline-a.txt") offline, $(wc -l <"$tmp/live-a.txt") live)"
    diff "$tmp/offline-a.txt" "$tmp/live-a.txt" | head -5
fi
grep -q "dropped 0" "$tmp/live.err" && ok || bad "kernel drops: $(grep kernel "$tmp/live.err")"

# 2. SIGHUP with a broken rule file: the old rules stay; a good reload afterwards works.
start_sensor "$tmp/hup.jsonl" "$tmp/hup.err" || exit 1
cp "$tmp/rules/design-example.yaml" "$tmp/good.yaml"
printf 'id: broken\nmatch: {names: [x.example]}\nexpcet: {asn: [1]}\n' >"$tmp/rules/zz-broken.yaml"
chmod a+r "$tmp/rules/zz-broken.yaml"
kill -HUP "$sensor"
sleep 1
replay "$tmp/b.pcap"
sleep 1
grep -q '"dataset":"dnswatch.health".*"outcome":"failure"' "$tmp/hup.jsonl" && ok ||
    bad "no failure health event after a broken reload"
grep -q 'unknown key \\"expcet\\"' "$tmp/hup.jsonl" && ok || bad "health event lacks the rule error"
rm "$tmp/rules/zz-broken.yaml"
kill -HUP "$sensor"
sleep 1
stop_sensor
grep -q '"outcome":"success"' "$tmp/hup.jsonl" && ok || { bad "no success health event after a good reload"; cat "$tmp/hup.err"; }
norm <"$tmp/hup.jsonl" >"$tmp/live-b.txt"
if cmp -s "$tmp/offline-b.txt" "$tmp/live-b.txt"; then ok; else
    bad "alerts after a failed reload differ from offline (old rules not kept?)"; cat "$tmp/hup.err"
    diff "$tmp/offline-b.txt" "$tmp/live-b.txt" | head -5
fi

# 3. Refuses to keep running as root without --user or --allow-root.
ip netns exec "$ns" "$dw" run -i vb >/dev/null 2>"$tmp/root.err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "refusing" "$tmp/root.err" && ok || bad "root without --user: exit $rc"

# 4. As systemd runs it: an unprivileged user given CAP_NET_RAW alone as an ambient
#    capability (deploy/dnswatch.service: no CAP_NET_ADMIN) opens the capture in
#    promiscuous mode (libpcap asks with PACKET_ADD_MEMBERSHIP on its packet socket, which
#    needs no CAP_NET_ADMIN), then holds no capability at all.
nog=$(id -gn nobody)
asnobody=(setpriv --reuid=nobody --regid="$nog" --clear-groups --inh-caps=+net_raw
          --ambient-caps=+net_raw)
# From a copy in the temp dir: the build tree may not be readable by nobody.
cp "$dw" "$tmp/dnswatch" && chmod 755 "$tmp/dnswatch"
if ! ip netns exec "$ns" "${asnobody[@]}" "$tmp/dnswatch" --version >"$tmp/amb-version.err" 2>&1; then
    bad "nobody with ambient capabilities cannot start dnswatch: $(head -3 "$tmp/amb-version.err")"
else
    ip netns exec "$ns" "${asnobody[@]}" "$tmp/dnswatch" run -i vb "${args[@]}" >"$tmp/amb.jsonl" 2>"$tmp/amb.err" &
    sensor=$!
    pids+=("$sensor")
    for _ in $(seq 100); do grep -q "capturing on vb" "$tmp/amb.err" && break; sleep 0.1; done
    capeff=$(awk '/^CapEff:/ {print $2}' "/proc/$sensor/status" 2>/dev/null)
    capamb=$(awk '/^CapAmb:/ {print $2}' "/proc/$sensor/status" 2>/dev/null)
    ip -n "$ns" -d link show vb | grep -q "promiscuity [1-9]" && ok ||
        bad "CAP_NET_RAW alone: vb not in promiscuous mode: $(ip -n "$ns" -d link show vb | head -3)"
    [ "$capeff" = "0000000000000000" ] && [ "$capamb" = "0000000000000000" ] && ok ||
        bad "ambient-capability start keeps capabilities: eff $capeff amb $capamb: $(cat "$tmp/amb.err")"
    replay "$tmp/a.pcap"
    sleep 1
    stop_sensor
    norm <"$tmp/amb.jsonl" | cmp -s - "$tmp/offline-a.txt" && ok ||
        bad "ambient-capability run: alerts differ from offline"
fi

# 5. What a span port or a traffic mirror delivers: QinQ, IPv6 extension headers, PPPoE and
#    every tunnel the decoder opens, through the default capture filter. Every event and
#    alert of the live run must equal the offline run's (outer addresses are documentation
#    addresses; the frames never leave the namespace).
enc_scen="qinq vlan ip6_exthdr pppoe vxlan geneve gre_ip gre_teb erspan2 erspan3 tunnel_nested
          tunnel_too_deep gre_outer_frag frag4 frag6 r_vxlan_asn r_vxlan_asn_ok"
enc_args=(--rules "$src/tests/rules/violations.yaml" --asn-db "$tmp/asn.mmdb" --fold 0 --log all)
norm_all() {
    python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    k = e["event"]["kind"]
    if k not in ("event", "alert"):
        continue
    d, n = e.get("dns", {}), e.get("network", {})
    print(k, e.get("rule", {}).get("id", "-"), d.get("id"), d.get("question", {}).get("name"),
          e["client"]["ip"], e["client"]["port"], e["server"]["ip"], e["server"]["port"],
          n.get("transport"), n.get("vlan", {}).get("id", "-"), n.get("inner", {}).get("vlan", {}).get("id", "-"),
          ",".join(d.get("resolved_ip", [])))
' | sort
}
: >"$tmp/offline-enc.txt"
for s in $enc_scen; do
    "$gen" "$s" "$tmp/$s.pcap" || bad "gen_pcap $s"
    "$dw" run -r "$tmp/$s.pcap" "${enc_args[@]}" 2>/dev/null | norm_all >>"$tmp/offline-enc.txt"
done
sort -o "$tmp/offline-enc.txt" "$tmp/offline-enc.txt"
grep -q '^alert t-asn ' "$tmp/offline-enc.txt" && ok || bad "offline: no alert from the VXLAN capture"
ip netns exec "$ns" "$dw" run -i vb "${enc_args[@]}" --user nobody >"$tmp/enc.jsonl" 2>"$tmp/enc.err" &
sensor=$!
pids+=("$sensor")
for _ in $(seq 100); do grep -q "capturing on vb" "$tmp/enc.err" && break; sleep 0.1; done
for s in $enc_scen; do replay "$tmp/$s.pcap"; done
sleep 1.5
stop_sensor
norm_all <"$tmp/enc.jsonl" >"$tmp/live-enc.txt"
if cmp -s "$tmp/offline-enc.txt" "$tmp/live-enc.txt"; then
    ok
    echo "ok: $(wc -l <"$tmp/live-enc.txt") events and alerts from tunnels, QinQ, PPPoE, IPv6 extension headers live as offline"
else
    bad "encapsulated captures: live differs from offline ($(wc -l <"$tmp/offline-enc.txt") offline, $(wc -l <"$tmp/live-enc.txt") live)"
    diff "$tmp/offline-enc.txt" "$tmp/live-enc.txt" | head -20
fi

echo "live: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
