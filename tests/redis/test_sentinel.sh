#!/usr/bin/env bash
# Sentinel failover without loss: a master, two replicas and three Sentinels on loopback.
# The sensor finds the master through the Sentinels (sentinel://.../MASTER) and counts an
# event delivered only once WAIT says a replica has it (--redis-wait-replicas 1). In the
# middle of a 100 000-event run the master is killed with SIGKILL; the Sentinels promote a
# replica, the sensor asks them again, and every event reaches the new master (a batch
# cut by the failover may be there twice: the test counts distinct event.id values).
. "$(dirname "$0")/lib.sh"
command -v redis-sentinel >/dev/null || command -v redis-server >/dev/null || dw_skip "no redis-sentinel"

N=${DW_SENTINEL_EVENTS:-100000}
freeport() { free_port; }
pids=()
# server NAME PORT [EXTRA]: a redis-server of its own, in $tmp/NAME.
server() {
    mkdir -p "$tmp/$1"
    cat >"$tmp/$1/redis.conf" <<CONF
port $2
bind 127.0.0.1
save ""
appendonly no
dir $tmp/$1
daemonize no
${3:-}
CONF
    redis-server "$tmp/$1/redis.conf" >"$tmp/$1/log" 2>&1 3>&- &
    echo $!
}
up() { for _ in $(seq 50); do redis-cli -p "$1" PING 2>/dev/null | grep -q PONG && return 0; sleep 0.1; done; return 1; }

mport=$(freeport); r1=$(freeport); r2=$(freeport)
m_pid=$(server master "$mport"); extra_pids="$extra_pids $m_pid"
up "$mport" || { echo "master did not start"; cat "$tmp/master/log"; exit 1; }
for r in "$r1" "$r2"; do
    p=$(server "replica$r" "$r" "replicaof 127.0.0.1 $mport"); extra_pids="$extra_pids $p"
    up "$r" || { echo "replica did not start"; exit 1; }
done
sports=()
for i in 1 2 3; do
    sp=$(freeport)
    sports+=("$sp")
    mkdir -p "$tmp/s$i"
    cat >"$tmp/s$i/sentinel.conf" <<CONF
port $sp
bind 127.0.0.1
dir $tmp/s$i
sentinel monitor mym 127.0.0.1 $mport 2
sentinel down-after-milliseconds mym 1000
sentinel failover-timeout mym 10000
sentinel parallel-syncs mym 2
CONF
    redis-server "$tmp/s$i/sentinel.conf" --sentinel >"$tmp/s$i/log" 2>&1 3>&- &
    extra_pids="$extra_pids $!"
    up "$sp" || { echo "sentinel did not start"; cat "$tmp/s$i/log"; exit 1; }
done
# Both replicas linked before the run.
for _ in $(seq 100); do
    [ "$(redis-cli -p "$mport" INFO replication | grep -c 'state=online')" -eq 2 ] && break
    sleep 0.1
done
url="sentinel://127.0.0.1:${sports[0]},127.0.0.1:${sports[1]},127.0.0.1:${sports[2]}/mym"

# Wrong master name: a clear error, the run spools (Redis may yet appear), no crash.
gen 100 "$tmp/small.pcap"
"$dw" run --workers 1 -r "$tmp/small.pcap" --output redis --redis "${url%/mym}/nosuch" \
    --spool-dir "$tmp/spool0" --redis-wait 100 >/dev/null 2>"$tmp/err0"
grep -q "no master found through sentinel .* does not know that master (is the master name right?)" "$tmp/err0" && ok ||
    bad "unknown master: $(cat "$tmp/err0")"

# The capture goes in through a FIFO in two halves, so the master dies mid-run.
gen "$N" "$tmp/a.pcap"
python3 - "$tmp/a.pcap" "$tmp/half1" "$tmp/half2" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
off, recs = 24, []
while off < len(data):
    incl = struct.unpack_from('<I', data, off + 8)[0]
    recs.append((off, off + 16 + incl))
    off += 16 + incl
cut = recs[len(recs) // 2][0]
open(sys.argv[2], 'wb').write(data[:cut])
open(sys.argv[3], 'wb').write(data[cut:])
PY
mkfifo "$tmp/fifo"
"$dw" run --workers 1 -r "$tmp/fifo" --log all --output redis --redis "$url" --redis-wait-replicas 1 \
    --spool-dir "$tmp/spool" --redis-wait 60000 >/dev/null 2>"$tmp/err" &
sensor=$!
extra_pids="$extra_pids $sensor"
exec 3>"$tmp/fifo"
cat "$tmp/half1" >&3
# Kill the master once it holds part of the run.
for _ in $(seq 300); do
    n=$(redis-cli -p "$mport" XLEN dnswatch:events 2>/dev/null || echo 0)
    [ "${n:-0}" -ge $((N / 4)) ] && break
    sleep 0.05
done
before_kill=$(redis-cli -p "$mport" XLEN dnswatch:events)
kill -9 "$m_pid"
[ "$before_kill" -gt 0 ] && [ "$before_kill" -lt "$N" ] && ok ||
    bad "the master was not killed mid-run (it held $before_kill of $N)"
cat "$tmp/half2" >&3
exec 3>&-
wait "$sensor"
rc=$?
[ $rc -eq 0 ] && ok || bad "sensor exit $rc: $(cat "$tmp/err")"

# The new master, as the Sentinels say.
new=$(redis-cli -p "${sports[0]}" SENTINEL get-master-addr-by-name mym | sed -n 2p)
[ -n "$new" ] && [ "$new" != "$mport" ] && ok || bad "no failover happened (master port $new)"
grep -q "is taking events again" "$tmp/err" && ok || bad "the sensor did not say it reconnected: $(cat "$tmp/err")"
"$dw" consume --redis "redis://127.0.0.1:$new" --out "$tmp/consumed" --count 10000 2>"$tmp/cerr" &
c=$!
extra_pids="$extra_pids $c"
total=$(redis-cli -p "$new" XLEN dnswatch:events)
for _ in $(seq 600); do [ "$(wc -l <"$tmp/consumed" 2>/dev/null || echo 0)" -ge "$total" ] && break; sleep 0.1; done
kill -TERM $c
wait $c
distinct=$(python3 -c '
import json, sys
ids = set()
for line in open(sys.argv[1]):
    ids.add(json.loads(line)["event"]["id"])
print(len(ids))' "$tmp/consumed")
[ "$distinct" -eq "$N" ] && ok ||
    bad "after the failover the new master holds $distinct distinct events of $N ($total entries)"
echo "failover: master held $before_kill events when killed; new master has $total entries, $distinct distinct"
finish
