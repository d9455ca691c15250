#!/usr/bin/env bash
# TLS: the sensor and the consumer talk to a redis-server on its TLS port (rediss://, or
# --redis-tls), verifying the server's certificate against --redis-tls-ca, by host name or
# address; a client certificate when the server asks for one. A certificate from another
# CA, a name the certificate does not carry, or a missing client certificate stops the
# start with exit 1 and one clear line, and nothing is written.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || dw_skip "openssl not installed"

# A CA, a server certificate for localhost and 127.0.0.1, a client certificate, and a
# second CA that signed none of them.
mkcert() { # NAME SUBJECT [SAN]
    openssl req -newkey rsa:2048 -nodes -keyout "$tmp/$1.key" -subj "$2" -out "$tmp/$1.csr" 2>/dev/null
    printf '%s\n' "${3:-}" >"$tmp/$1.ext"
    openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
        -days 2 ${3:+-extfile "$tmp/$1.ext"} -out "$tmp/$1.pem" 2>/dev/null
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/ca.key" -subj /CN=dnswatch-test-ca \
    -days 2 -out "$tmp/ca.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/other.key" -subj /CN=another-ca \
    -days 2 -out "$tmp/other.pem" 2>/dev/null
mkcert server /CN=localhost "subjectAltName=DNS:localhost,IP:127.0.0.1"
mkcert client /CN=sensor
[ -s "$tmp/server.pem" ] && [ -s "$tmp/client.pem" ] || { echo "cannot make certificates"; exit 1; }

tport=$(free_port)
redis_start "tls-port $tport
tls-cert-file $tmp/server.pem
tls-key-file $tmp/server.key
tls-ca-cert-file $tmp/ca.pem
tls-auth-clients optional"
gen 200 "$tmp/a.pcap"

run() { "$dw" run --workers 1 -r "$tmp/a.pcap" --log all --output redis --spool-dir "$tmp/spool" --redis-wait 5000 "$@" 2>"$tmp/err"; }
events() { rcli XLEN dnswatch:events; }

run --redis "rediss://localhost:$tport" --redis-tls-ca "$tmp/ca.pem" && [ "$(events)" -eq 200 ] && ok ||
    bad "rediss by name: $(cat "$tmp/err")"
run --redis "rediss://127.0.0.1:$tport" --redis-tls-ca "$tmp/ca.pem" && [ "$(events)" -eq 400 ] && ok ||
    bad "rediss by address: $(cat "$tmp/err")"
run --redis "redis://127.0.0.1:$tport" --redis-tls --redis-tls-ca "$tmp/ca.pem" \
    --redis-tls-cert "$tmp/client.pem" --redis-tls-key "$tmp/client.key" && [ "$(events)" -eq 600 ] && ok ||
    bad "--redis-tls with a client certificate: $(cat "$tmp/err")"
# Events over TLS are the stdout run's.
"$dw" run --workers 1 -r "$tmp/a.pcap" --log all 2>/dev/null | strip_ids >"$tmp/want"
rcli --raw XRANGE dnswatch:events - + COUNT 200 | grep '^{' | strip_ids >"$tmp/got"
cmp -s "$tmp/want" "$tmp/got" && ok || bad "events over TLS differ from stdout's"

# expect_refused DESCRIPTION PATTERN ARGS...
expect_refused() {
    local what=$1 pat=$2
    shift 2
    local before
    before=$(events)
    run "$@"
    local rc=$?
    if [ $rc -eq 1 ] && grep -q "$pat" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
        [ "$(events)" -eq "$before" ]; then
        ok
    else
        bad "$what: exit $rc, stderr: $(cat "$tmp/err")"
    fi
}
expect_refused "wrong CA" "certificate was refused: .*redis.tls_ca_file" \
    --redis "rediss://localhost:$tport" --redis-tls-ca "$tmp/other.pem"
expect_refused "name not in the certificate" "certificate was refused.*for name other.example" \
    --redis "rediss://127.0.0.1:$tport" --redis-tls-ca "$tmp/ca.pem" --redis-tls-server-name other.example
expect_refused "missing CA file" "cannot load the CA file $tmp/nonexistent" \
    --redis "rediss://localhost:$tport" --redis-tls-ca "$tmp/nonexistent"

# A server that requires a client certificate refuses a client without one.
rcli CONFIG SET tls-auth-clients yes >/dev/null
expect_refused "no client certificate" "TLS handshake with redis at localhost:$tport (TLS) failed" \
    --redis "rediss://localhost:$tport" --redis-tls-ca "$tmp/ca.pem"
run --redis "rediss://localhost:$tport" --redis-tls-ca "$tmp/ca.pem" --redis-tls-cert "$tmp/client.pem" \
    --redis-tls-key "$tmp/client.key" && [ "$(events)" -eq 800 ] && ok ||
    bad "client certificate required and given: $(cat "$tmp/err")"

# An ACL user over TLS: the user in the URL, the password from the file, as without TLS.
rcli ACL SETUSER sensor on '>Sens0r-pw' '~dnswatch:*' '&*' '+@all' >/dev/null
printf 'Sens0r-pw\n' >"$tmp/sensor-pw"
chmod 600 "$tmp/sensor-pw"
run --redis "rediss://sensor@localhost:$tport" --redis-tls-ca "$tmp/ca.pem" --redis-tls-cert "$tmp/client.pem" \
    --redis-tls-key "$tmp/client.key" --redis-password-file "$tmp/sensor-pw" && [ "$(events)" -eq 1000 ] && ok ||
    bad "ACL user over TLS: $(cat "$tmp/err")"
printf 'wrong-pw\n' >"$tmp/wrong-pw"
chmod 600 "$tmp/wrong-pw"
expect_refused "ACL user over TLS, wrong password" "authentication failed at redis localhost:$tport (TLS) as user sensor" \
    --redis "rediss://sensor@localhost:$tport" --redis-tls-ca "$tmp/ca.pem" --redis-tls-cert "$tmp/client.pem" \
    --redis-tls-key "$tmp/client.key" --redis-password-file "$tmp/wrong-pw"

# The consumer reads the stream over TLS, with the same options.
"$dw" consume --redis "rediss://localhost:$tport" --redis-tls-ca "$tmp/ca.pem" \
    --redis-tls-cert "$tmp/client.pem" --redis-tls-key "$tmp/client.key" \
    --out "$tmp/consumed" 2>"$tmp/cerr" &
c=$!
extra_pids="$extra_pids $c"
for _ in $(seq 100); do [ "$(cat "$tmp/consumed" 2>/dev/null | wc -l)" -ge 1000 ] && break; sleep 0.1; done
kill -TERM $c
wait $c && ok || bad "consumer over TLS: exit $?: $(cat "$tmp/cerr")"
[ "$(wc -l <"$tmp/consumed")" -eq 1000 ] && ok || bad "consumer over TLS wrote $(wc -l <"$tmp/consumed") lines"
"$dw" consume --redis "rediss://localhost:$tport" --redis-tls-ca "$tmp/other.pem" 2>"$tmp/cerr"
[ $? -eq 1 ] && grep -q "certificate was refused" "$tmp/cerr" && ok ||
    bad "consumer with the wrong CA: $(cat "$tmp/cerr")"
finish
