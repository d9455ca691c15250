#!/usr/bin/env bash
# Redis Cluster: three masters on loopback. Three sensors (--name s-...) write to
# cluster://SEED: each its own stream KEY:{NAME}, whose slot is on another master, so the
# fleet spreads over the masters; one `dnswatch consume` reads every sensor's stream in one
# consumer group. Then a sensor's slot is moved to another master in the middle of its
# run (ASK while the key migrates, MOVED after): nothing is lost.
. "$(dirname "$0")/lib.sh"

# A port free for the node and for its cluster bus (port + 10000), checked by binding both.
freeport() {
    python3 -c '
import random, socket
for _ in range(200):
    p = random.randint(20000, 30000)
    try:
        for q in (p, p + 10000):
            s = socket.socket(); s.bind(("127.0.0.1", q)); s.close()
        print(p); break
    except OSError:
        pass'
}
ports=()
for i in 1 2 3; do
    mkdir -p "$tmp/n$i"
    for _ in 1 2 3 4 5; do
        p=$(freeport)
        cat >"$tmp/n$i/redis.conf" <<CONF
port $p
bind 127.0.0.1
cluster-enabled yes
cluster-config-file $tmp/n$i/nodes.conf
cluster-node-timeout 5000
save ""
appendonly no
dir $tmp/n$i
daemonize no
CONF
        redis-server "$tmp/n$i/redis.conf" >"$tmp/n$i/log" 2>&1 3>&- &
        pid=$!
        started=
        for _ in $(seq 50); do
            redis-cli -p "$p" PING 2>/dev/null | grep -q PONG && { started=1; break; }
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        [ -n "$started" ] && break
        kill -9 "$pid" 2>/dev/null
        rm -f "$tmp/n$i/nodes.conf"
    done
    [ -n "$started" ] || { echo "cannot start cluster node $i"; cat "$tmp/n$i/log"; exit 1; }
    extra_pids="$extra_pids $pid"
    ports+=("$p")
done
redis-cli --cluster create "127.0.0.1:${ports[0]}" "127.0.0.1:${ports[1]}" "127.0.0.1:${ports[2]}" \
    --cluster-yes >"$tmp/create.log" 2>&1 || { echo "cluster create failed"; cat "$tmp/create.log"; exit 1; }
# Every node must agree the cluster is up (slots covered, nodes known) before the sensors.
for p in "${ports[@]}"; do
    for _ in $(seq 200); do
        redis-cli -p "$p" CLUSTER INFO | grep -q 'cluster_state:ok' && break
        sleep 0.1
    done
    redis-cli -p "$p" CLUSTER INFO | grep -q 'cluster_state:ok' || { echo "cluster not ok at $p"; exit 1; }
done
cc() { redis-cli -c -p "${ports[0]}" "$@"; }
seed="cluster://127.0.0.1:${ports[0]}"

# Three sensor names whose streams land on three different masters.
owner() { # KEY -> port of the master of its slot
    local slot
    slot=$(redis-cli -p "${ports[0]}" CLUSTER KEYSLOT "$1")
    redis-cli -p "${ports[0]}" CLUSTER SLOTS | python3 -c '
import sys
slot = int(sys.argv[1])
lines = [l.strip() for l in sys.stdin]
# CLUSTER SLOTS as redis-cli prints it: start, end, host, port, id, [replicas...] per range
i = 0
while i + 3 < len(lines):
    if lines[i].isdigit() and lines[i + 1].isdigit() and lines[i + 3].isdigit():
        if int(lines[i]) <= slot <= int(lines[i + 1]):
            print(lines[i + 3]); break
        i += 5
    else:
        i += 1' "$slot"
}
names=()
declare -A used
for cand in $(seq 1 200); do
    o=$(owner "dnswatch:events:{s-$cand}")
    [ -n "$o" ] && [ -z "${used[$o]:-}" ] || continue
    used[$o]=1
    names+=("s-$cand")
    [ ${#names[@]} -eq 3 ] && break
done
[ ${#names[@]} -eq 3 ] && ok || bad "no three names on three masters"

gen 1000 "$tmp/a.pcap"
for n in "${names[@]}"; do
    "$dw" run --workers 1 -r "$tmp/a.pcap" --log all --output redis --redis "$seed" --name "$n" \
        --spool-dir "$tmp/spool-$n" >/dev/null 2>"$tmp/err-$n" || bad "sensor $n: $(cat "$tmp/err-$n")"
done
for n in "${names[@]}"; do
    k="dnswatch:events:{$n}"
    o=$(owner "$k")
    [ "$(redis-cli -p "$o" XLEN "$k")" -eq 1000 ] && ok || bad "$k on its master $o: $(redis-cli -p "$o" XLEN "$k") entries"
done
masters=$(for n in "${names[@]}"; do owner "dnswatch:events:{$n}"; done | sort -u | wc -l)
[ "$masters" -eq 3 ] && ok || bad "the three streams are on $masters masters"

# One consumer, one group, every sensor's stream.
"$dw" consume --redis "$seed" --out "$tmp/consumed" --group fleet 2>"$tmp/cerr" &
c=$!
extra_pids="$extra_pids $c"
for _ in $(seq 150); do [ "$(wc -l <"$tmp/consumed" 2>/dev/null || echo 0)" -ge 3000 ] && break; sleep 0.1; done
sleep 0.3
kill -TERM $c
wait $c && ok || bad "consumer exit $?: $(cat "$tmp/cerr")"
[ "$(wc -l <"$tmp/consumed")" -eq 3000 ] && ok || bad "the consumer wrote $(wc -l <"$tmp/consumed") of 3000 events"
for n in "${names[@]}"; do
    k="dnswatch:events:{$n}"
    o=$(owner "$k")
    pend=$(redis-cli -p "$o" XPENDING "$k" fleet | head -1)
    [ "$pend" = "0" ] && ok || bad "$k: $pend entries left unacknowledged"
done
python3 -c '
import json, sys, collections
c = collections.Counter(json.loads(l)["observer"]["name"] for l in open(sys.argv[1]))
sys.exit(0 if sorted(c.values()) == [1000, 1000, 1000] and len(c) == 3 else 1)' "$tmp/consumed" && ok ||
    bad "the consumed events are not 1000 from each sensor"

# A slot moved in the middle of a run: half the capture, migrate the stream's slot to
# another master (ASK while the key is on its way, MOVED once it has arrived), the rest.
n=${names[0]}
k="dnswatch:events:{$n}"
slot=$(redis-cli -p "${ports[0]}" CLUSTER KEYSLOT "$k")
src=$(owner "$k")
for p in "${ports[@]}"; do [ "$p" != "$src" ] && dst=$p && break; done
src_id=$(redis-cli -p "$src" CLUSTER MYID)
dst_id=$(redis-cli -p "$dst" CLUSTER MYID)
gen 4000 "$tmp/b.pcap"
python3 - "$tmp/b.pcap" "$tmp/h1" "$tmp/h2" "$tmp/h3" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
off, recs = 24, []
while off < len(data):
    incl = struct.unpack_from('<I', data, off + 8)[0]
    recs.append(off)
    off += 16 + incl
a, b = recs[len(recs) // 3], recs[2 * len(recs) // 3]
open(sys.argv[2], 'wb').write(data[:a])
open(sys.argv[3], 'wb').write(data[a:b])
open(sys.argv[4], 'wb').write(data[b:])
PY
mkfifo "$tmp/fifo"
"$dw" run --workers 1 -r "$tmp/fifo" --log all --output redis --redis "$seed" --name "$n" \
    --spool-dir "$tmp/spool-mig" --redis-wait 30000 >/dev/null 2>"$tmp/err-mig" &
s=$!
extra_pids="$extra_pids $s"
exec 3>"$tmp/fifo"
cat "$tmp/h1" >&3
# (redis-cli -c follows MOVED and ASK as the sensor must.)
xlen() { redis-cli -c -p "${ports[0]}" XLEN "$k"; }
waitlen() { for _ in $(seq 200); do [ "$(xlen)" -ge "$1" ] && return 0; sleep 0.05; done; return 1; }
waitlen 2000 || bad "first third did not arrive"
# Migrating: the key moves, the slot is not yet handed over, so the source answers ASK.
redis-cli -p "$dst" CLUSTER SETSLOT "$slot" IMPORTING "$src_id" >/dev/null
redis-cli -p "$src" CLUSTER SETSLOT "$slot" MIGRATING "$dst_id" >/dev/null
redis-cli -p "$src" MIGRATE 127.0.0.1 "$dst" "$k" 0 5000 >/dev/null
cat "$tmp/h2" >&3
waitlen 3333 || bad "second third did not arrive during the migration (ASK)"
for p in "${ports[@]}"; do redis-cli -p "$p" CLUSTER SETSLOT "$slot" NODE "$dst_id" >/dev/null; done
cat "$tmp/h3" >&3
exec 3>&-
wait $s || bad "sensor during migration: exit $?: $(cat "$tmp/err-mig")"
got=$(redis-cli -p "$dst" XLEN "$k")
[ "$(owner "$k")" = "$dst" ] && ok || bad "the slot did not move"
# 1000 from the first run, 4000 from this one (a batch cut by MOVED may be resent).
[ "$got" -ge 5000 ] && ok || bad "after the slot moved, $k has $got of 5000 entries: $(cat "$tmp/err-mig")"
[ "$(redis-cli -p "$src" CLUSTER COUNTKEYSINSLOT "$slot")" -eq 0 ] && ok || bad "$k left behind on the old master"
grep -q "MOVED\|ASK" "$tmp/err-mig" && echo "sensor said: $(grep -m1 'MOVED\|ASK' "$tmp/err-mig")"
finish
