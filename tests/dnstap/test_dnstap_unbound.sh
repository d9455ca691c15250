#!/usr/bin/env bash
# The dnstap input against a real Unbound (Debian's unbound is built with dnstap): the
# sensor listens on a unix socket, Unbound (unprivileged, 127.0.0.1 on a high port,
# local-data answers: pypi.org normal, files.pythonhosted.org hijacked into a private
# range) writes its client query/response messages there, dig asks it. Checks that
#  - the hijacked answer raises the alerts (rebinding, and pypi's expected ASN), the
#    normal one none, with the dnstap fields (CLIENT_RESPONSE, UDP, identity, version);
#  - Unbound restarted: it connects again and the next hijacked answer alerts too;
#  - SIGTERM ends the sensor with exit 0 and removes its socket.
# Both run as 'nobody', the socket is the sensor's (mode 0660). Loopback only. Skips
# (exit 77; a failure under DW_NO_SKIP=1) without unbound, dig or setpriv.
set -u
dw="$DW_BIN/sensor/dnswatch"
src=${DW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
DW_SRC=$src
. "$src/tests/lib/common.sh"
command -v unbound >/dev/null || dw_skip "unbound not installed"
command -v dig >/dev/null || dw_skip "dig (dnsutils) not installed"
unbound -V 2>/dev/null | grep -q -- --enable-dnstap || dw_skip "this unbound is built without dnstap"
dw_need_mmdb_writer
run_as=()
if [ "$(id -u)" -eq 0 ]; then
    command -v setpriv >/dev/null || dw_skip "setpriv (util-linux) not installed"
    getent passwd nobody >/dev/null || dw_skip "no user 'nobody'"
    run_as=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
fi

pids=()
dw_test_cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; }
dw_tmpdir unbound
fail=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

mkdir -p "$tmp/rules"
cp "$src/tests/data/rules/design-example.yaml" "$tmp/rules/"
dw_make_mmdb "$tmp/asn.mmdb"
mkdir -p "$tmp/run"
[ "$(id -u)" -eq 0 ] && chown nobody "$tmp/run"
chmod -R a+rX "$tmp"
sock="$tmp/run/dnstap.sock"
port=$((30000 + $$ % 20000))

cat >"$tmp/run/unbound.conf" <<CONF
server:
    interface: 127.0.0.1
    port: $port
    do-ip6: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$tmp/run"
    pidfile: ""
    use-syslog: no
    logfile: "$tmp/run/unbound.log"
    verbosity: 1
    access-control: 127.0.0.0/8 allow
    module-config: "iterator"
    local-zone: "pypi.org." static
    local-data: "pypi.org. 300 IN A 151.101.0.223"
    local-zone: "files.pythonhosted.org." static
    local-data: "files.pythonhosted.org. 300 IN A 10.66.6.6"
remote-control:
    control-enable: no
dnstap:
    dnstap-enable: yes
    dnstap-bidirectional: yes
    dnstap-socket-path: "$sock"
    dnstap-send-identity: yes
    dnstap-identity: "unbound-under-test"
    dnstap-send-version: yes
    dnstap-log-client-query-messages: yes
    dnstap-log-client-response-messages: yes
CONF
unbound-checkconf "$tmp/run/unbound.conf" >/dev/null || { bad "unbound-checkconf"; exit 1; }

"${run_as[@]}" "$dw" run -c none --rules "$tmp/rules" --asn-db "$tmp/asn.mmdb" --fold 0 \
    --dnstap "unix:$sock" >"$tmp/out.json" 2>"$tmp/err" &
dwpid=$!
pids+=("$dwpid")
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] && ok || { bad "the sensor made no socket"; cat "$tmp/err"; exit 1; }

start_unbound() {
    "${run_as[@]}" unbound -d -c "$tmp/run/unbound.conf" &
    ubpid=$!
    pids+=("$ubpid")
    for _ in $(seq 50); do
        dig +time=1 +tries=1 -p "$port" @127.0.0.1 pypi.org A >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    bad "unbound did not answer"
    cat "$tmp/run/unbound.log"
    return 1
}
# Alerts for files.pythonhosted.org in the output so far.
hijack_alerts() { grep '"kind":"alert"' "$tmp/out.json" | grep -c 'files.pythonhosted.org'; }
wait_alerts() { # N: until that many, at most 10 s
    for _ in $(seq 100); do [ "$(hijack_alerts)" -ge "$1" ] && return 0; sleep 0.1; done
    return 1
}

start_unbound || exit 1
a=$(dig +short -p "$port" @127.0.0.1 files.pythonhosted.org A)
[ "$a" = 10.66.6.6 ] && ok || bad "unbound answered '$a'"
dig +short -p "$port" @127.0.0.1 pypi.org A >/dev/null
wait_alerts 2 && ok || bad "no alert for the hijacked answer: $(hijack_alerts)"
sleep 0.5

# Restart the resolver: it connects again; the next hijacked answer alerts too.
kill -TERM "$ubpid"
wait "$ubpid" 2>/dev/null
start_unbound || exit 1
before=$(hijack_alerts)
dig +short -p "$port" @127.0.0.1 files.pythonhosted.org A >/dev/null
wait_alerts $((before + 2)) && ok || bad "no alert after unbound restarted: $(hijack_alerts), $before before"
sleep 0.5
kill -TERM "$ubpid"
wait "$ubpid" 2>/dev/null

kill -TERM "$dwpid"
wait "$dwpid"
rc=$?
[ $rc -eq 0 ] && ok || bad "sensor exited $rc"
[ -e "$sock" ] && bad "socket left behind" || ok

python3 - "$tmp/out.json" "$port" >"$tmp/summary" <<'PY' || bad "events not as expected"
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1]) if '"kind":"alert"' in l]
rules = sorted({a["rule"]["id"] for a in alerts})
names = {a["dns"]["question"]["name"] for a in alerts}
assert rules == ["pypi", "rebinding"], rules
assert names == {"files.pythonhosted.org"}, names  # pypi.org's normal answer: none
for a in alerts:
    assert a["dnstap"]["type"] == "CLIENT_RESPONSE", a["dnstap"]
    assert a["dnstap"]["socket_protocol"] == "UDP", a["dnstap"]
    assert a["network"]["transport"] == "udp" and a["network"]["protocol"] == "dns"
    assert a["dnstap"]["identity"] == "unbound-under-test", a["dnstap"]
    assert a["dnstap"]["version"].startswith("unbound"), a["dnstap"]
    assert a["observer"]["product"] == "dnswatch", a["observer"]
    assert a["client"]["ip"] == "127.0.0.1", a["client"]
    assert a["server"]["ip"] == "127.0.0.1" and a["server"]["port"] == int(sys.argv[2]), a["server"]
    assert a["dns"]["resolved_ip"] == ["10.66.6.6"], a["dns"]
print(len(alerts), "alerts")
PY
n=$(grep -c '"kind":"alert"' "$tmp/out.json")
[ "$n" -eq 4 ] && ok || bad "$n alerts, wanted 4 (2 rules x 2 hijacked answers)"
grep -q 'dnstap connections accepted: 2' "$tmp/err" && ok ||
    bad "not 2 connections: $(grep -i 'connections' "$tmp/err")"
grep -q 'DNS queries seen' "$tmp/err" && ok || bad "client queries not seen"
if [ "$fail" -ne 0 ]; then
    echo "--- sensor stderr"; cat "$tmp/err"; echo "--- unbound log"; cat "$tmp/run/unbound.log"
fi
echo "dnstap unbound: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
