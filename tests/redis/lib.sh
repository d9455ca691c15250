# Sourced by tests/redis/test_*.sh: a throwaway redis-server on a free loopback port and a
# unix socket in a temp dir (hiredis' test.sh style), killed on exit. Without redis: exit
# 77 (skipped), a failure under DW_NO_SKIP=1 (tests/lib/common.sh).
# The runs here use --workers 1: the tests compare event order with a stdout run, and
# the order across workers is not defined (within one worker, and one flow, it is).
set -u
dw="$DW_BIN/sensor/dnswatch"
. "$DW_SRC/tests/lib/common.sh"
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
    dw_skip "redis-server or redis-cli not installed"
redis_pid=
extra_pids=
dw_test_cleanup() {
    for p in $extra_pids $redis_pid; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
}
dw_tmpdir redis
fail=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit $?
}

# redis_start [EXTRA CONFIG LINES]: picks a random free port (retrying), keeps the data dir
# across restarts (redis_restart) through an RDB saved at shutdown.
redis_start() {
    local extra=${1:-}
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        port=$((20000 + RANDOM % 40000))
        sock="$tmp/redis.sock"
        cat >"$tmp/redis.conf" <<CONF
port $port
bind 127.0.0.1
unixsocket $sock
unixsocketperm 700
save ""
appendonly no
dir $tmp
dbfilename dump.rdb
daemonize no
$extra
CONF
        redis_launch && return 0
    done
    echo "cannot start redis-server"
    cat "$tmp/redis.log"
    exit 1
}

redis_launch() {
    # No inherited descriptors: a test may hold a FIFO open on 3.
    redis-server "$tmp/redis.conf" >"$tmp/redis.log" 2>&1 3>&- &
    redis_pid=$!
    for _ in $(seq 50); do
        # NOAUTH: up, and asking for the password the test configured.
        # Asked on our own socket: another server may hold the random port.
        if redis-cli -s "$sock" PING 2>/dev/null | grep -qE 'PONG|NOAUTH'; then return 0; fi
        kill -0 "$redis_pid" 2>/dev/null || { redis_pid=; return 1; }
        sleep 0.1
    done
    kill -9 "$redis_pid" 2>/dev/null
    wait "$redis_pid" 2>/dev/null
    redis_pid=
    return 1
}

rcli() { redis-cli -p "$port" ${RCLI_AUTH:-} --no-auth-warning "$@"; }

# Saves the data, stops the server, and (redis_launch) brings it back on the same port.
redis_stop() {
    rcli SHUTDOWN SAVE >/dev/null 2>&1
    wait "$redis_pid" 2>/dev/null
    redis_pid=
}

# gen N FILE: a capture with N DNS responses (query/response pairs).
gen() { "$DW_BIN/tests/gen_pcap" bench $(($1 * 2)) "$2" >/dev/null; }

# Events with event.id blanked (it is random per run), one per line, in order.
strip_ids() {
    python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    e["event"]["id"] = ""
    print(json.dumps(e, sort_keys=True, separators=(",", ":")))'
}

# A loopback TCP port nobody holds now (checked by binding it), for servers a test starts
# beside redis_start's.
free_port() {
    python3 -c '
import random, socket
for _ in range(500):
    p = random.randint(20000, 60000)
    try:
        s = socket.socket(); s.bind(("127.0.0.1", p)); s.close(); print(p); break
    except OSError:
        pass'
}
