#!/usr/bin/env bash
# AUTH: the password from redis.password_file (--redis-password-file) or
# $DNSWATCH_REDIS_PASSWORD, with and without an ACL user; a wrong or missing one stops the
# start with exit 1 and "authentication failed", and the password is never printed.
. "$(dirname "$0")/lib.sh"
redis_start "requirepass Def4ult-pw"
RCLI_AUTH="-a Def4ult-pw"
rcli ACL SETUSER sensor on '>Sens0r-pw' '~dnswatch:*' '&*' '+@all' >/dev/null
gen 200 "$tmp/a.pcap"
printf 'Def4ult-pw\n' >"$tmp/pw"
printf 'Sens0r-pw\n' >"$tmp/sensor-pw"
printf 'wrong-pw\n' >"$tmp/wrong"
chmod 600 "$tmp"/pw "$tmp"/sensor-pw "$tmp"/wrong

run() { "$dw" run --workers 1 -r "$tmp/a.pcap" --log all --output redis --spool-dir "$tmp/spool" "$@" 2>"$tmp/err"; }
events() { rcli XLEN dnswatch:events; }

unset DNSWATCH_REDIS_PASSWORD
run --redis "redis://127.0.0.1:$port" --redis-password-file "$tmp/pw" && [ "$(events)" -eq 200 ] && ok ||
    bad "password file: $(cat "$tmp/err")"
DNSWATCH_REDIS_PASSWORD=Def4ult-pw run --redis "redis://127.0.0.1:$port" && [ "$(events)" -eq 400 ] && ok ||
    bad "password from the environment: $(cat "$tmp/err")"
DNSWATCH_REDIS_PASSWORD=Sens0r-pw run --redis "redis://sensor@127.0.0.1:$port" && [ "$(events)" -eq 600 ] && ok ||
    bad "ACL user, environment: $(cat "$tmp/err")"
run --redis "unix://sensor@$sock" --redis-password-file "$tmp/sensor-pw" && [ "$(events)" -eq 800 ] && ok ||
    bad "ACL user over the unix socket, file: $(cat "$tmp/err")"

# expect_auth_fail DESCRIPTION ARGS...
expect_auth_fail() {
    local what=$1
    shift
    run "$@"
    local rc=$?
    if [ $rc -eq 1 ] && grep -q "authentication failed" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
        ! grep -q -e "-pw" "$tmp/err"; then
        ok
    else
        bad "$what: exit $rc, stderr: $(cat "$tmp/err")"
    fi
}
expect_auth_fail "wrong password file" --redis "redis://127.0.0.1:$port" --redis-password-file "$tmp/wrong"
DNSWATCH_REDIS_PASSWORD=wrong-pw expect_auth_fail "wrong password in env" --redis "redis://127.0.0.1:$port"
expect_auth_fail "no password" --redis "redis://127.0.0.1:$port"
DNSWATCH_REDIS_PASSWORD=Def4ult-pw expect_auth_fail "ACL user, default user's password" --redis "redis://sensor@127.0.0.1:$port"
expect_auth_fail "ACL user, no password" --redis "redis://sensor@127.0.0.1:$port"
[ "$(events)" -eq 800 ] && ok || bad "a failed start wrote events"
run --redis "redis://127.0.0.1:$port" --redis-password-file "$tmp/nonexistent"
[ $? -eq 1 ] && grep -q "cannot read the redis password file $tmp/nonexistent" "$tmp/err" && ok ||
    bad "missing password file: $(cat "$tmp/err")"

# The consumer takes the same sources.
"$dw" consume --redis "redis://sensor@127.0.0.1:$port" --redis-password-file "$tmp/sensor-pw" \
    --out "$tmp/consumed" 2>"$tmp/cerr" &
c=$!
extra_pids="$extra_pids $c"
for _ in $(seq 50); do [ "$(cat "$tmp/consumed" 2>/dev/null | wc -l)" -ge 800 ] && break; sleep 0.1; done
kill -TERM $c
wait $c && ok || bad "consumer exit $?: $(cat "$tmp/cerr")"
[ "$(wc -l <"$tmp/consumed")" -eq 800 ] && ok || bad "consumer with ACL user wrote $(wc -l <"$tmp/consumed") lines"
DNSWATCH_REDIS_PASSWORD=wrong-pw "$dw" consume --redis "redis://127.0.0.1:$port" 2>"$tmp/cerr"
[ $? -eq 1 ] && grep -q "authentication failed" "$tmp/cerr" && ok || bad "consumer, wrong password: $(cat "$tmp/cerr")"
finish
