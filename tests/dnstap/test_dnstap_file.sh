#!/usr/bin/env bash
# The dnstap input without a resolver: captures written by tests/tools/gen_dnstap.
#  - file:PATH: every message type and socket protocol becomes an event with the right
#    client/server, network.*, observer.* and dnstap.* fields; the hijacked answers (and
#    only they) raise alerts; malformed frames are counted and the stream goes on;
#  - unix:PATH and tcp:ADDR:PORT: fstrm_replay (libfstrm's bidirectional writer) sends the
#    same capture from several writers at once and again after they went away
#    (reconnects); every message is judged once per send;
#  - --dnstap beside -r: one run judges both.
# Loopback only. Skips (exit 77; a failure under DW_NO_SKIP=1) without fstrm_replay.
set -u
dw="$DW_BIN/sensor/dnswatch"
gen="$DW_BIN/tests/gen_dnstap"
src=${DW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
DW_SRC=$src
. "$src/tests/lib/common.sh"
dw_need_mmdb_writer
dw_tmpdir dnstap

fail=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

mkdir -p "$tmp/rules"
cp "$src/tests/data/rules/design-example.yaml" "$tmp/rules/"
dw_make_mmdb "$tmp/asn.mmdb"
args=(-c none --rules "$tmp/rules" --asn-db "$tmp/asn.mmdb" --fold 0)
"$gen" types "$tmp/types.fstrm" || { echo "FAIL: gen_dnstap types"; exit 1; }
"$gen" bad "$tmp/bad.fstrm" || { echo "FAIL: gen_dnstap bad"; exit 1; }

# One line per event: kind rule dnstap.type socket_protocol transport protocol client server
# answer dnstap.identity query_zone.
summary() {
    python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e["event"]["kind"] not in ("alert", "event"):
        continue
    d = e.get("dnstap", {})
    print(e["event"]["kind"], e.get("rule", {}).get("id", "-"), d.get("type", "-"),
          d.get("socket_protocol", "-"), e["network"]["transport"], e["network"].get("protocol", "-"),
          "%s:%s" % (e["client"]["ip"], e["client"]["port"]),
          "%s:%s" % (e["server"]["ip"], e["server"]["port"]),
          ",".join(e["dns"].get("resolved_ip", [])), d.get("identity", "-"),
          d.get("query_zone", "-"))
' | sort
}

# ---- file input ---------------------------------------------------------------------------
"$dw" run "${args[@]}" --log all --dnstap "file:$tmp/types.fstrm" >"$tmp/types.json" 2>"$tmp/types.err"
rc=$?
[ $rc -eq 0 ] && ok || { bad "file run exited $rc"; cat "$tmp/types.err"; }
summary <"$tmp/types.json" >"$tmp/types.got"
cat >"$tmp/types.want" <<'W'
alert pypi CLIENT_RESPONSE DOH tcp doh 2001:db8::10:50005 2001:db8::1:853 192.168.7.7 resolver-2.example -
alert pypi CLIENT_RESPONSE DOQ udp doq 2001:db8::11:50006 2001:db8::1:853 172.16.9.9 resolver-2.example -
alert pypi CLIENT_RESPONSE UDP udp dns 192.0.2.11:40002 192.0.2.1:53 10.66.6.6 resolver-1.example -
alert pypi RESOLVER_RESPONSE UDP udp dns 192.0.2.1:33333 198.51.100.53:53 10.66.6.7 resolver-1.example pythonhosted.org
alert rebinding CLIENT_RESPONSE DOH tcp doh 2001:db8::10:50005 2001:db8::1:853 192.168.7.7 resolver-2.example -
alert rebinding CLIENT_RESPONSE DOQ udp doq 2001:db8::11:50006 2001:db8::1:853 172.16.9.9 resolver-2.example -
alert rebinding CLIENT_RESPONSE UDP udp dns 192.0.2.11:40002 192.0.2.1:53 10.66.6.6 resolver-1.example -
alert rebinding RESOLVER_RESPONSE UDP udp dns 192.0.2.1:33333 198.51.100.53:53 10.66.6.7 resolver-1.example pythonhosted.org
event - AUTH_RESPONSE TCP tcp dns 192.0.2.20:50000 192.0.2.2:853 151.101.64.223 resolver-2.example -
event - CLIENT_RESPONSE DOH tcp doh 2001:db8::10:50005 2001:db8::1:853 192.168.7.7 resolver-2.example -
event - CLIENT_RESPONSE DOQ udp doq 2001:db8::11:50006 2001:db8::1:853 172.16.9.9 resolver-2.example -
event - CLIENT_RESPONSE UDP udp dns 192.0.2.10:40001 192.0.2.1:53 151.101.0.223 resolver-1.example -
event - CLIENT_RESPONSE UDP udp dns 192.0.2.11:40002 192.0.2.1:53 10.66.6.6 resolver-1.example -
event - FORWARDER_RESPONSE DOT tcp dot 2001:db8::1:50001 2001:db8::53:853 151.101.128.223 resolver-2.example -
event - RESOLVER_RESPONSE UDP udp dns 192.0.2.1:33333 198.51.100.53:53 10.66.6.7 resolver-1.example pythonhosted.org
event - STUB_RESPONSE DNSCryptUDP udp dnscrypt 192.0.2.30:50002 192.0.2.1:853 151.101.192.223 resolver-2.example -
event - TOOL_RESPONSE DNSCryptTCP tcp dnscrypt 192.0.2.31:50003 192.0.2.1:853 151.101.0.223 resolver-2.example -
event - UPDATE_RESPONSE UDP udp dns 192.0.2.32:50004 192.0.2.1:853 151.101.0.223 resolver-2.example -
W
if diff -u "$tmp/types.want" "$tmp/types.got"; then ok; else bad "file: events differ"; fi
grep -q '"dnstap":{[^}]*"version":"unbound 1.17.1"' "$tmp/types.json" && ok || bad "no dnstap.version"
# observer.* is the sensor in every event: its own host name and version, not the resolver's.
python3 - "$tmp/types.json" "$("$dw" --version)" <<'PY' && ok || bad "observer is not the sensor"
import json, socket, sys
for line in open(sys.argv[1]):
    o = json.loads(line)["observer"]
    assert o["hostname"] == socket.gethostname(), o
    assert o["product"] == "dnswatch" and sys.argv[2].startswith("dnswatch " + o["version"]), o
PY
grep -q 'dnswatch: info: DNS queries seen: 3' "$tmp/types.err" && ok || bad "queries not counted"
grep -q 'dnstap data frames received: 13' "$tmp/types.err" && ok || bad "frames not counted"
grep -q '"ingress"' "$tmp/types.json" && bad "ingress interface on a dnstap event" || ok

# Malformed frames: each counted by its reason; the good exchange after them still alerts.
"$dw" run "${args[@]}" --dnstap "file:$tmp/bad.fstrm" >"$tmp/bad.json" 2>"$tmp/bad.err"
[ $? -eq 0 ] && ok || bad "bad-frames run did not exit 0"
for c in "not a valid Dnstap protobuf: 1" "without a Message: 1" \
         "without the DNS message of their type: 1" "malformed address or port: 1"; do
    grep -q "$c" "$tmp/bad.err" && ok || bad "bad frames: no '$c'"
done
[ "$(grep -c '"kind":"alert"' "$tmp/bad.json")" -eq 2 ] && ok || bad "bad frames: alerts after them missing"

# A file that is not Frame Streams: a clear error, exit 1.
printf 'not a capture' >"$tmp/junk.fstrm"
"$dw" run "${args[@]}" --dnstap "file:$tmp/junk.fstrm" >/dev/null 2>"$tmp/junk.err"
[ $? -eq 1 ] && grep -q 'not a Frame Streams file' "$tmp/junk.err" && ok || bad "junk file not refused"
"$dw" run "${args[@]}" --dnstap "udp:1.2.3.4" >/dev/null 2>"$tmp/spec.err"
[ $? -eq 1 ] && grep -q 'expected unix:PATH' "$tmp/spec.err" && ok || bad "bad source not refused"

# Beside -r: the capture's alerts and the dnstap file's in one run.
"$DW_BIN/tests/gen_pcap" asn_mismatch "$tmp/a.pcap" >/dev/null 2>&1 ||
    "$DW_BIN/tests/gen_pcap" bench 200 "$tmp/a.pcap" >/dev/null
"$dw" run "${args[@]}" -r "$tmp/a.pcap" >"$tmp/pcap.json" 2>/dev/null
"$dw" run "${args[@]}" -r "$tmp/a.pcap" --dnstap "file:$tmp/types.fstrm" >"$tmp/both.json" 2>"$tmp/both.err"
np=$(grep -c '"kind":"alert"' "$tmp/pcap.json")
nb=$(grep -c '"kind":"alert"' "$tmp/both.json")
[ "$nb" -eq $((np + 8)) ] && [ "$np" -gt 0 ] && ok || bad "beside -r: $nb alerts, wanted $np + 8"

# ---- sockets: several writers at once, and again (reconnects) -------------------------------
if ! command -v fstrm_replay >/dev/null; then
    dw_skip "fstrm_replay (fstrm-bin) not installed; the file checks passed ($pass)"
fi
sock="$tmp/dnstap.sock"
port=$((20000 + $$ % 20000))
"$dw" run "${args[@]}" --allow-root --dnstap "unix:$sock" --dnstap "tcp:127.0.0.1:$port" \
    >"$tmp/live.json" 2>"$tmp/live.err" &
dwpid=$!
dw_test_cleanup() { kill -9 "$dwpid" 2>/dev/null; }
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] && ok || bad "no socket at $sock"
perm=$(stat -c %a "$sock")
[ "$perm" = 660 ] && ok || bad "socket mode $perm, wanted 660"
t="protobuf:dnstap.Dnstap"
for round in 1 2; do
    fstrm_replay -t "$t" -r "$tmp/types.fstrm" -u "$sock" & a=$!
    fstrm_replay -t "$t" -r "$tmp/types.fstrm" -u "$sock" & b=$!
    fstrm_replay -t "$t" -r "$tmp/types.fstrm" -a 127.0.0.1 -p "$port" & c=$!
    wait $a $b $c
done
# Until every alert is out (6 sends of 8 alerts), at most 10 s.
for _ in $(seq 100); do
    [ "$(grep -c '"kind":"alert"' "$tmp/live.json")" -ge 48 ] && break
    sleep 0.1
done
kill -TERM "$dwpid"
wait "$dwpid"
rc=$?
[ $rc -eq 0 ] && ok || { bad "live run exited $rc"; cat "$tmp/live.err"; }
n=$(grep -c '"kind":"alert"' "$tmp/live.json")
[ "$n" -eq 48 ] && ok || bad "sockets: $n alerts, wanted 48 (6 sends x 8)"
grep -q 'dnstap connections accepted: 6' "$tmp/live.err" && ok || bad "not 6 connections: $(grep connections "$tmp/live.err")"
grep -q 'closed without STOP' "$tmp/live.err" && bad "a writer's clean STOP was taken for a loss" || ok
[ -e "$sock" ] && bad "socket file left behind" || ok

# Started as root with --user: the socket is the user's (the resolver's group joins it).
if [ "$(id -u)" -eq 0 ] && getent passwd nobody >/dev/null; then
    chmod 755 "$tmp"
    "$dw" run "${args[@]}" --user nobody --dnstap "unix:$tmp/u.sock" >/dev/null 2>"$tmp/u.err" &
    dwpid=$!
    for _ in $(seq 50); do [ -S "$tmp/u.sock" ] && break; sleep 0.1; done
    [ "$(stat -c %U "$tmp/u.sock" 2>/dev/null)" = nobody ] && ok || bad "--user: socket not nobody's"
    fstrm_replay -t "$t" -r "$tmp/types.fstrm" -u "$tmp/u.sock" || bad "--user: replay failed"
    kill -TERM "$dwpid"
    wait "$dwpid" && ok || bad "--user run did not exit 0: $(cat "$tmp/u.err")"
    grep -q 'dnstap data frames received: 13' "$tmp/u.err" && ok || bad "--user: frames not read"
fi

echo "dnstap file/socket: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
