#!/usr/bin/env bash
# The command-line contract of DESIGN.md: exit 2 with the usage on bad use, exit 1 with a
# one-line error naming the file on unreadable or non-pcap input, 0 on success.
set -u
dw="$DW_BIN/sensor/dnswatch"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
pass=0

# expect STATUS STDERR_REGEX -- ARGS...
expect() {
    local want=$1 re=$2
    shift 3
    "$dw" "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -ne "$want" ] || ! grep -Eq -- "$re" "$tmp/err"; then
        echo "FAIL: dnswatch $* -> exit $got (want $want), stderr:"
        sed 's/^/    /' "$tmp/err"
        echo "    (wanted stderr matching: $re)"
        fail=$((fail + 1))
    else
        pass=$((pass + 1))
    fi
}

expect 2 'Usage:' -- 
expect 2 'unknown command' -- frobnicate
expect 2 'exactly one of -i' -- run
expect 2 'exactly one of -i' -- run -r a.pcap -i eth0
expect 2 'unknown option' -- run -r a.pcap --bogus
expect 2 "needs a value" -- run -r
expect 2 'log must be' -- run -r a.pcap --log everything
expect 2 'workers must be' -- run -r a.pcap --workers 0
expect 2 'ports takes' -- run -r a.pcap --ports 53,70000
expect 2 'unexpected argument' -- run -r a.pcap extra
expect 1 "cannot read $tmp/missing.pcap" -- run -r "$tmp/missing.pcap"
printf 'this is not a capture file, just text\n' >"$tmp/text.pcap"
expect 1 "cannot read $tmp/text.pcap" -- run -r "$tmp/text.pcap"
: >"$tmp/empty.pcap"
expect 1 "cannot read $tmp/empty.pcap" -- run -r "$tmp/empty.pcap"
# A valid capture of a link type we do not decode (USER0 = 147).
python3 -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 147))' >"$tmp/user0.pcap"
expect 1 "$tmp/user0.pcap: link type 147 .* not supported" -- run -r "$tmp/user0.pcap"
# An error is one line.
"$dw" run -r "$tmp/text.pcap" 2>"$tmp/err" >/dev/null
[ "$(wc -l <"$tmp/err")" -eq 1 ] && pass=$((pass + 1)) || { echo "FAIL: error not one line"; fail=$((fail + 1)); }
"$dw" --version >"$tmp/out" && grep -q '^dnswatch [0-9]' "$tmp/out" && pass=$((pass + 1)) ||
    { echo "FAIL: --version"; fail=$((fail + 1)); }
"$dw" --help >"$tmp/out" && grep -q 'dnswatch run' "$tmp/out" && pass=$((pass + 1)) ||
    { echo "FAIL: --help"; fail=$((fail + 1)); }

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
