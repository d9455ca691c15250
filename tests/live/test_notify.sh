#!/usr/bin/env bash
# systemd's notify protocol as the sensor speaks it, against a fake service manager: a
# python3 datagram socket as $NOTIFY_SOCKET, $WATCHDOG_USEC asking for a watchdog. A live
# capture on lo inside a network namespace of its own: READY=1 once capturing, RELOADING=1
# (with MONOTONIC_USEC) then READY=1 again on SIGHUP, WATCHDOG=1 pings while it runs,
# STOPPING=1 on SIGTERM.
set -u
. "$DW_SRC/tests/lib/common.sh"
dw=$DW_BIN/sensor/dnswatch
dw_tmpdir notify
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

command -v unshare >/dev/null 2>&1 || dw_skip "unshare missing (util-linux)"
command -v python3 >/dev/null 2>&1 || dw_skip "python3 missing"
ns=(unshare -n)
[ "$(id -u)" -eq 0 ] || ns=(unshare -rn)
"${ns[@]}" true 2>/dev/null || dw_skip "cannot create a network namespace here"

# The fake service manager: every datagram, one line each (newlines as '|'), with the
# time it came, in seconds.
cat >"$tmp/listen.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "w", buffering=1) as out:
    while True:
        msg = s.recv(4096).decode()
        out.write("%.3f %s\n" % (time.monotonic(), msg.replace("\n", "|")))
PY
python3 "$tmp/listen.py" "$tmp/notify.sock" "$tmp/notify.log" &
lp=$!
dw_test_cleanup() { kill "$lp" 2>/dev/null; wait "$lp" 2>/dev/null; }
for _ in $(seq 50); do [ -S "$tmp/notify.sock" ] && break; sleep 0.1; done

printf 'rules: []\n' >"$tmp/c.yaml"
# shellcheck disable=SC2016  # expanded by the inner shell, from its arguments
timeout 30 "${ns[@]}" bash -c '
    ip link set lo up || exit 1
    NOTIFY_SOCKET=$2 WATCHDOG_USEC=400000 "$1" run -c "$3" -i lo --allow-root >/dev/null 2>"$4" &
    p=$!
    for _ in $(seq 100); do grep -q "READY=1" "$5" && break; sleep 0.1; done
    sleep 1.5
    kill -HUP $p
    for _ in $(seq 50); do [ "$(grep -c "READY=1" "$5")" -ge 2 ] && break; sleep 0.1; done
    sleep 0.5
    kill -TERM $p
    wait $p' _ "$dw" "$tmp/notify.sock" "$tmp/c.yaml" "$tmp/run.err" "$tmp/notify.log"
rc=$?
sleep 0.2
[ "$rc" -eq 0 ] && ok "run exit 0" || bad "run exit $rc: $(cat "$tmp/run.err")"

log=$tmp/notify.log
first() { grep -n -m1 -- "$1" "$log" | cut -d: -f1; }
r1=$(first 'READY=1'); rl=$(first 'RELOADING=1'); st=$(first 'STOPPING=1')
r2=$(grep -n 'READY=1' "$log" | sed -n 2p | cut -d: -f1)
[ -n "$r1" ] && grep -m1 'READY=1' "$log" | grep -q 'STATUS=capturing on lo, ' && ok "READY=1 with a status" ||
    bad "no READY=1 with a status: $(cat "$log")"
if [ -n "$r1" ] && [ -n "$rl" ] && [ -n "$r2" ] && [ "$r1" -lt "$rl" ] && [ "$rl" -lt "$r2" ]; then
    ok "SIGHUP: RELOADING=1, then READY=1"
else
    bad "reload not announced in order (READY $r1, RELOADING $rl, READY $r2): $(cat "$log")"
fi
# MONOTONIC_USEC must be CLOCK_MONOTONIC in microseconds: near python's monotonic clock
# at the time the datagram came.
if grep -m1 'RELOADING=1' "$log" | awk '{
        t = $1; n = split($2, kv, "|");
        for (i = 1; i <= n; i++) if (kv[i] ~ /^MONOTONIC_USEC=/) { sub(/^MONOTONIC_USEC=/, "", kv[i]); u = kv[i] / 1e6 }
        d = t - u; if (d < 0) d = -d; exit !(u > 0 && d < 2) }'; then
    ok "RELOADING=1 carries MONOTONIC_USEC of CLOCK_MONOTONIC"
else
    bad "RELOADING=1 without a right MONOTONIC_USEC: $(grep RELOADING "$log")"
fi
[ -n "$st" ] && [ "$st" -gt "${r2:-0}" ] && ok "SIGTERM: STOPPING=1" || bad "no STOPPING=1 after the reload: $(cat "$log")"
# The run lasted over 2 s with a 0.4 s watchdog: a ping every 0.2 s.
pings=$(grep -c 'WATCHDOG=1' "$log")
[ "$pings" -ge 6 ] && ok "$pings watchdog pings" || bad "$pings watchdog pings in over 2 s (want >= 6)"
# No ping after STOPPING: the watchdog thread ends with the run.
if [ -n "$st" ] && tail -n +"$st" "$log" | grep -q 'WATCHDOG=1'; then
    bad "watchdog pings after STOPPING=1"
else
    ok "no ping after STOPPING=1"
fi
grep -q "^dnswatch: notice: rules reloaded: 0 rules, ruleset (none)$" "$tmp/run.err" &&
    ok "reload logged as a notice" || bad "reload line: $(cat "$tmp/run.err")"
grep -q "info: watchdog: pinging the service manager every 200 ms" "$tmp/run.err" &&
    ok "watchdog start logged" || bad "watchdog start not logged: $(cat "$tmp/run.err")"

# Without $NOTIFY_SOCKET (not under systemd) nothing changes: a file run works as before.
unset NOTIFY_SOCKET WATCHDOG_USEC
"$dw" run -c none -r "$DW_SRC/deploy/demo/demo.pcap" >/dev/null 2>"$tmp/plain.err" &&
    ! grep -q watchdog "$tmp/plain.err" && ok "no notify socket: plain run" ||
    bad "plain run: $(cat "$tmp/plain.err")"

# A SIGHUP that arrives while the run is still starting (here: opening a FIFO nobody
# writes yet) is a reload at the first turn, not the default action's death.
mkfifo "$tmp/fifo"
"$dw" run -c none -r "$tmp/fifo" >/dev/null 2>"$tmp/early.err" &
p=$!
sleep 0.5
kill -HUP "$p"
timeout 10 cat "$DW_SRC/deploy/demo/demo.pcap" >"$tmp/fifo"
wait "$p"
rc=$?
[ "$rc" -eq 0 ] && grep -q "notice: rules reloaded" "$tmp/early.err" && ok "SIGHUP during start-up: reloaded, exit 0" ||
    bad "SIGHUP during start-up: exit $rc: $(cat "$tmp/early.err")"

[ "$fails" -eq 0 ] || exit 1
echo "notify: all passed"
