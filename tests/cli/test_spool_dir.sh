#!/usr/bin/env bash
# The spool directory on a fresh machine: `run --output redis --user U` as root makes the
# spool directory with its parents and gives it to U before dropping to U, so the events
# of an outage have somewhere to go; a spool file an earlier root run left behind is named,
# with the chown that fixes it. Redis is unreachable here on purpose (port 1).
set -u
. "$DW_SRC/tests/lib/common.sh"
dw=$DW_BIN/sensor/dnswatch
dw_tmpdir spooldir
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

[ "$(id -u)" -eq 0 ] || dw_skip "needs root (chown to another user)"
id nobody >/dev/null 2>&1 || dw_skip "no user nobody"
chmod 755 "$tmp"
cp "$DW_SRC/deploy/demo/demo.pcap" "$tmp/demo.pcap"
run() { # SPOOL_DIR OUT
    "$dw" run -c none -r "$tmp/demo.pcap" --log all --output redis --redis redis://127.0.0.1:1 \
        --redis-wait 0 --user nobody --spool-dir "$1" >/dev/null 2>"$2"
}

# 1. Nothing there yet: three levels of parents made, the spool is nobody's, and it holds
#    the events.
run "$tmp/var/lib/dnswatch/spool" "$tmp/1.err"
rc=$?
[ "$rc" -eq 0 ] && ok "fresh spool: exit 0" || bad "fresh spool: exit $rc: $(cat "$tmp/1.err")"
owner=$(stat -c %U "$tmp/var/lib/dnswatch/spool" 2>/dev/null)
[ "$owner" = nobody ] && ok "spool directory given to nobody" || bad "spool directory owner '$owner'"
[ "$(stat -c %a "$tmp/var/lib/dnswatch/spool" 2>/dev/null)" = 700 ] && ok "spool mode 0700" ||
    bad "spool mode $(stat -c %a "$tmp/var/lib/dnswatch/spool" 2>/dev/null)"
grep -q "events left in the spool $tmp/var/lib/dnswatch/spool" "$tmp/1.err" && ok "events spooled" ||
    bad "no events spooled: $(cat "$tmp/1.err")"

# 2. A second run finds the first one's events and adds its own: still works as nobody.
run "$tmp/var/lib/dnswatch/spool" "$tmp/2.err" && ok "second run" || bad "second run: $(cat "$tmp/2.err")"
n1=$(sed -n 's/.* \([0-9][0-9]*\) events left in the spool.*/\1/p' "$tmp/1.err")
n2=$(sed -n 's/.* \([0-9][0-9]*\) events left in the spool.*/\1/p' "$tmp/2.err")
[ -n "$n1" ] && [ "${n2:-0}" -eq $((n1 * 2)) ] && ok "the second run kept the first one's $n1 events" ||
    bad "spool after two runs: $n2 events, want twice $n1"

# 3. A segment an earlier run as root left behind: a clear message naming it and the fix.
seg=
for f in "$tmp"/var/lib/dnswatch/spool/seg-*; do [ -f "$f" ] && seg=${f##*/} && break; done
if [ -z "$seg" ]; then
    bad "no segment file to take over"
else
    chown root:root "$tmp/var/lib/dnswatch/spool/$seg"
    chmod 600 "$tmp/var/lib/dnswatch/spool/$seg"
    run "$tmp/var/lib/dnswatch/spool" "$tmp/3.err"
    rc=$?
    [ "$rc" -eq 1 ] && ok "root-owned leftover: exit 1" || bad "root-owned leftover: exit $rc"
    grep -q "error: .*spool file $tmp/var/lib/dnswatch/spool/$seg belongs to root .*fix: chown -R nobody: $tmp/var/lib/dnswatch/spool" "$tmp/3.err" &&
        ok "the message names the file and the fix" || bad "message: $(cat "$tmp/3.err")"
    chown -R nobody: "$tmp/var/lib/dnswatch/spool"
    run "$tmp/var/lib/dnswatch/spool" "$tmp/4.err" && ok "after the chown it runs" ||
        bad "after the chown: $(cat "$tmp/4.err")"
fi

# 4. A directory that is not a spool (root's, other files in it) is not taken over.
mkdir -p "$tmp/notmine"
touch "$tmp/notmine/important"
run "$tmp/notmine" "$tmp/5.err"
[ "$(stat -c %U "$tmp/notmine")" = root ] && ok "a foreign directory keeps its owner" ||
    bad "a foreign directory was given away"
grep -q "spool directory $tmp/notmine belongs to root and user nobody cannot write it" "$tmp/5.err" &&
    ok "and the message says so" || bad "foreign directory message: $(cat "$tmp/5.err")"

[ "$fails" -eq 0 ] || exit 1
echo "spool dir: all passed"
