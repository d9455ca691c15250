#!/usr/bin/env bash
# The ASN database overwritten in place under a running sensor (issue 9, item 10).
# libmaxminddb maps its file: cp or curl -o over it truncates the mapped file, and a lookup
# in the vanished pages dies with SIGBUS. The sensor must read a copy, notice the change,
# keep the old database when the new file is broken (health event "asn-reload" failure),
# and take a good new one in (health event "asn-reload" success).
#
# The sensor reads a FIFO that a feeder fills at a pace for a few seconds, with pypi.org
# answering 45.33.20.5 (Linode in both databases: an asn_mismatch alert every time, folding
# off) and 151.101.64.223, whose AS number in each alert tells the database in force:
#   db A: 151.101.0.0/16 is Fastly (AS54113);
#   truncated: the first 4 KiB of db B, copied over the file in place;
#   db B: 151.101.0.0/16 is Linode (AS63949).
# Then the truncated file again with a SIGHUP at once (before the file watch would act):
# the rules reload, the broken database is an "asn-reload" failure, not a rules failure.
set -u
dw="$DW_BIN/sensor/dnswatch"
. "$DW_SRC/tests/lib/common.sh"
dw_need_mmdb_writer
feeder_pid=
dw_pid=
dw_test_cleanup() {
    for p in $feeder_pid $dw_pid; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
}
dw_tmpdir asn-swap
fail=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# Filler prefixes make the file span many pages, so that the data section a lookup reads
# lies well past the 4 KiB the truncated copy keeps.
filler() {
    for i in $(seq 0 2999); do
        echo "20.$((i / 200)).$((i % 200)).0/24 $((64512 + i % 500)) Filler network $i"
    done
}
{ grep -v '^151\.101\.' "$DW_SRC/tests/data/asn-sample.txt"; echo "151.101.0.0/16 54113 Fastly, Inc."; filler; } >"$tmp/a.txt"
{ grep -v '^151\.101\.' "$DW_SRC/tests/data/asn-sample.txt"; echo "151.101.0.0/16 63949 Linode, LLC"; filler; } >"$tmp/b.txt"
dw_make_mmdb "$tmp/a.mmdb" "$tmp/a.txt"
dw_make_mmdb "$tmp/b.mmdb" "$tmp/b.txt"
head -c 4096 "$tmp/b.mmdb" >"$tmp/truncated.mmdb"
"$DW_BIN/tests/gen_pcap" r_asn_mismatch "$tmp/one.pcap" >/dev/null ||
    { echo "FAIL: gen_pcap"; exit 1; }

cat >"$tmp/rules.yaml" <<'YAML'
id: pypi
title: PyPI must resolve to Fastly
severity: high
match: {names: [pypi.org]}
expect: {asn: [54113]}
YAML

# The feeder: the capture's header once, then its records again and again (about 400
# responses a second) for SECONDS, or until the file STOP exists, then end of file.
cat >"$tmp/feed.py" <<'PY'
import os, sys, time
src, dst, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
stop = sys.argv[4] if len(sys.argv) > 4 else None
data = open(src, "rb").read()
hdr, recs = data[:24], data[24:]
with open(dst, "wb", buffering=0) as out:
    out.write(hdr)
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (stop and os.path.exists(stop)):
        out.write(recs * 50)
        time.sleep(0.25)
PY

# Waits (at most 60 s: a loaded machine, a sanitizer build) until FILE holds N health
# events; the sensor flushes each one as it writes it.
wait_health() {
    local file=$1 n=$2 i
    for i in $(seq 600); do
        [ "$(grep -c '"dnswatch.health"' "$file" 2>/dev/null)" -ge "$n" ] && return 0
        sleep 0.1
    done
    echo "timed out waiting for health event $n in $file"
    return 1
}

db="$tmp/asn.mmdb"
cp "$tmp/a.mmdb" "$db"
mkfifo "$tmp/fifo"
python3 "$tmp/feed.py" "$tmp/one.pcap" "$tmp/fifo" 120 "$tmp/stop" &
feeder_pid=$!
"$dw" run -r "$tmp/fifo" --rules "$tmp/rules.yaml" --asn-db "$db" --fold 0 --workers 1 \
    >"$tmp/out" 2>"$tmp/err" &
dw_pid=$!

# Each step waits for the sensor's health event before the next, so a slow machine only
# makes the test longer; the second waits keep each database in place for a while.
sleep 2
cp "$tmp/truncated.mmdb" "$db"   # in place: same inode, shorter file
wait_health "$tmp/out" 1
sleep 1.5
cp "$tmp/b.mmdb" "$db"           # in place again, now a good database
wait_health "$tmp/out" 2
sleep 1.5
cp "$tmp/truncated.mmdb" "$db"
kill -HUP "$dw_pid"
wait_health "$tmp/out" 4
sleep 0.5
touch "$tmp/stop"
wait "$feeder_pid"
feeder_pid=
wait "$dw_pid"
status=$?
dw_pid=

if [ "$status" -eq 0 ]; then ok; else
    bad "the sensor ended with status $status ($([ "$status" -eq 135 ] && echo SIGBUS))"
    sed 's/^/    /' "$tmp/err" | tail -5
fi

python3 - "$tmp/out" >"$tmp/summary" <<'PY'
import json, sys
seen = []   # AS numbers of 151.101.64.223 in the alerts, in order, run-length encoded
health = []
alerts = 0  # alerts between the failed reload and the good one
for line in open(sys.argv[1]):
    e = json.loads(line)
    ds = e["event"].get("dataset")
    if ds == "dnswatch.health":
        health.append((e["event"].get("action"), e["event"].get("outcome")))
        seen.append("health:%s:%s" % health[-1])
        continue
    if e["event"]["kind"] == "alert" and len(health) == 1:
        alerts += 1
    for a in e.get("dns", {}).get("answers", []):
        if a.get("data") == "151.101.64.223":
            n = a.get("as", {}).get("number")
            if not seen or seen[-1] != n:
                seen.append(n)
print("sequence", " ".join(str(x) for x in seen))
print("alerts", alerts)
PY
seq=$(sed -n 's/^sequence //p' "$tmp/summary")
# Before: AS54113; the broken file: failure reported, still AS54113 (the old database);
# the good file: success reported, then AS63949.
want='^54113 health:asn-reload:failure( 54113)? health:asn-reload:success( 54113)? 63949'
want="$want health:asn-reload:failure health:rules-reload:success( 63949)?\$"
if echo "$seq" | grep -Eq "$want"; then
    ok
else
    bad "events in this order: AS54113, asn-reload failure, asn-reload success, AS63949," \
        "asn-reload failure, rules-reload success; got: $seq"
fi
alerts=$(sed -n 's/^alerts //p' "$tmp/summary")
if [ "${alerts:-0}" -gt 10 ]; then ok; else
    bad "${alerts:-0} alerts while the broken file was in place: the sensor stopped judging"
fi
if grep -q "ASN database reload failed: .*truncated\|ASN database reload failed: .*not a MaxMind DB\|ASN database reload failed: .*damaged" "$tmp/err"; then ok; else
    bad "stderr does not say why the truncated database was refused:"
    sed 's/^/    /' "$tmp/err"
fi
if grep -q "rules reload failed" "$tmp/err"; then bad "a broken ASN database reported as a rules reload failure"; else ok; fi

# A broken database put in place atomically (mv: the old file, still mapped by an older
# build, stays intact) and SIGHUP: the rules reload, and the failure is the database's
# ("asn-reload"), not a rules reload failure.
cp "$tmp/a.mmdb" "$db"
rm -f "$tmp/fifo"
mkfifo "$tmp/fifo"
python3 "$tmp/feed.py" "$tmp/one.pcap" "$tmp/fifo" 3 &
feeder_pid=$!
"$dw" run -r "$tmp/fifo" --rules "$tmp/rules.yaml" --asn-db "$db" --fold 0 --workers 1 \
    >"$tmp/out2" 2>"$tmp/err2" &
dw_pid=$!
sleep 1
cp "$tmp/truncated.mmdb" "$tmp/new.mmdb"
mv "$tmp/new.mmdb" "$db"
kill -HUP "$dw_pid"
wait "$feeder_pid"
feeder_pid=
wait "$dw_pid"
status=$?
dw_pid=
[ "$status" -eq 0 ] && ok || bad "SIGHUP with a broken database: exit $status"
python3 - "$tmp/out2" >"$tmp/health2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"].get("dataset") == "dnswatch.health":
        print(e["event"].get("action"), e["event"].get("outcome"))
PY
if [ "$(head -2 "$tmp/health2" | tr '\n' ' ')" = "asn-reload failure rules-reload success " ]; then ok; else
    bad "SIGHUP with a broken database: health events: $(tr '\n' ';' <"$tmp/health2")"
fi
grep -q "rules reload failed" "$tmp/err2" && bad "a broken ASN database reported as a rules reload failure" || ok

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
