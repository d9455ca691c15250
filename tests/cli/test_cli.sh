#!/usr/bin/env bash
# The command-line contract of DESIGN.md: exit 2 with the usage on bad use, exit 1 with a
# one-line error naming the file on unreadable or non-pcap input, 0 on success.
set -u
dw="$DW_BIN/sensor/dnswatch"
. "$DW_SRC/tests/lib/common.sh"
dw_tmpdir cli
fail=0
pass=0

# expect STATUS REGEX -- ARGS...   (REGEX searched in stderr and stdout)
expect() {
    local want=$1 re=$2
    shift 3
    "$dw" "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -ne "$want" ] || ! cat "$tmp/err" "$tmp/out" | grep -Eq -- "$re"; then
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
expect 2 'Usage:' -- run --log x
expect 2 'exactly one of -i' -- run -r a.pcap -i eth0
expect 2 'unknown option' -- run -r a.pcap --bogus
expect 2 "needs a value" -- run -r
expect 2 'log must be' -- run -r a.pcap --log everything
expect 2 'workers must be' -- run -r a.pcap --workers 0
expect 2 'ports takes' -- run -r a.pcap --ports 53,70000
# strtoul skipped leading space, so " -1" wrapped to a huge value and was taken.
expect 2 'workers must be' -- run -r a.pcap --workers ' 2'
expect 2 'spool-max-bytes must be a size' -- run -r a.pcap --spool-max-bytes ' -1'
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

# Rules and the ASN database: a bad rule file or a missing database stops the start.
"$DW_BIN/tests/gen_pcap" udp4_a "$tmp/a.pcap" >/dev/null
printf 'id: pypi\nmatch: {names: [pypi.org]}\nexpcet: {asn: [54113]}\n' >"$tmp/bad.yaml"
printf 'id: pypi\nmatch: {names: [pypi.org]}\nexpect: {asn: [54113]}\n' >"$tmp/asn.yaml"
printf 'id: pypi\nmatch: {names: [pypi.org]}\nexpect: {prefixes: [10.0.0.0/8]}\n' >"$tmp/pfx.yaml"
expect 1 "bad.yaml:3:1: error: \[pypi\] unknown key \"expcet\".*did you mean \"expect\"" -- run -r "$tmp/a.pcap" --rules "$tmp/bad.yaml"
expect 1 "no ASN database was given" -- run -r "$tmp/a.pcap" --rules "$tmp/asn.yaml"
expect 1 "cannot open $tmp/missing.mmdb" -- run -r "$tmp/a.pcap" --rules "$tmp/asn.yaml" --asn-db "$tmp/missing.mmdb"
expect 1 "$tmp/text.pcap" -- run -r "$tmp/a.pcap" --rules "$tmp/asn.yaml" --asn-db "$tmp/text.pcap"
expect 0 "ASN checks are off" -- run -r "$tmp/a.pcap" --rules "$tmp/asn.yaml" --asn-db none
expect 0 "1 rules loaded" -- run -r "$tmp/a.pcap" --rules "$tmp/pfx.yaml"
# pypi.org answered 151.101.0.223, outside 10/8: one alert on stdout.
"$dw" run -r "$tmp/a.pcap" --rules "$tmp/pfx.yaml" >"$tmp/out" 2>/dev/null
if grep -q '"violations":\["prefix_mismatch"\]' "$tmp/out" && [ "$(wc -l <"$tmp/out")" -eq 1 ]; then
    pass=$((pass + 1))
else
    echo "FAIL: expected one prefix_mismatch alert, got:"; cat "$tmp/out"; fail=$((fail + 1))
fi
expect 1 "unknown key" -- check-rules "$tmp/bad.yaml"
expect 0 "1 rules, 0 errors" -- check-rules "$tmp/asn.yaml"
expect 2 "Usage:" -- check-rules
# check-rules --format json: one JSON document, the same diagnostics, the same exit codes.
printf 'allow:\n  - {names: [x.example], rules: [pyip], reason: r, expires: 2099-01-01}\n  - {prefixes: [10.0.0.0/8], reason: old, expires: 2020-01-01}\n' >"$tmp/allow.yaml"
"$dw" check-rules --format json "$tmp/bad.yaml" "$tmp/asn.yaml" "$tmp/allow.yaml" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "rules not loaded: 3 errors, 3 warnings" "$tmp/err" && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == 1 and d["valid"] is False and d["rules"] is None and d["ruleset"] is None, d
assert d["errors"] == 3 and d["warnings"] == 3, d
keys = {"file", "line", "column", "severity", "rule_id", "message", "fix"}
assert all(set(x) == keys for x in d["diagnostics"]), d["diagnostics"]
x = d["diagnostics"][0]
assert x["file"].endswith("bad.yaml") and (x["line"], x["column"]) == (3, 1), x
assert x["severity"] == "error" and x["rule_id"] == "pypi", x
assert x["message"] == "unknown key \"expcet\" in rule; did you mean \"expect\"?", x
assert x["fix"] == "did you mean \"expect\"?", x
u = [x for x in d["diagnostics"] if "unknown rule" in x["message"]][0]
assert u["rule_id"] is None and u["fix"] == "did you mean \"pypi\"?" and u["line"] == 2, u
w = [x for x in d["diagnostics"] if x["severity"] == "warning"]
assert any("expired on 2020-01-01" in x["message"] for x in w), w
assert any("allows ANY address" in x["message"] for x in w), w
' "$tmp/out"; then pass=$((pass + 1)); else
    echo "FAIL: check-rules --format json (exit $rc):"; cat "$tmp/out" "$tmp/err"; fail=$((fail + 1))
fi
"$dw" check-rules --format=json "$tmp/asn.yaml" >"$tmp/out" 2>/dev/null
rc=$?
if [ "$rc" -eq 0 ] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["valid"] and d["rules"] == 1 and d["ruleset"].startswith("sha256:") and d["diagnostics"] == [], d
' "$tmp/out"; then pass=$((pass + 1)); else echo "FAIL: check-rules --format=json valid"; cat "$tmp/out"; fail=$((fail + 1)); fi
expect 2 "--format takes text or json" -- check-rules --format yaml "$tmp/asn.yaml"
expect 2 "give at least one rule file" -- check-rules --format json
# Every command answers --help on stdout with status 0; run's lists every flag of the
# option table.
for c in run check-rules check-config explain consume; do
    "$dw" "$c" --help >"$tmp/out" 2>"$tmp/err"; rc=$?
    if [ "$rc" -eq 0 ] && grep -q "dnswatch $c" "$tmp/out" && [ ! -s "$tmp/err" ]; then
        pass=$((pass + 1))
    else
        echo "FAIL: dnswatch $c --help -> exit $rc"; sed 's/^/    /' "$tmp/out" "$tmp/err"; fail=$((fail + 1))
    fi
done
"$dw" run -r x.pcap --workers 2 -h >"$tmp/out" && grep -q -- '--spool-max-bytes SIZE' "$tmp/out" &&
    pass=$((pass + 1)) || { echo "FAIL: run -h among other flags"; fail=$((fail + 1)); }

# A closed stdout is a write error that ends the run with status 1, not a hang or a crash.
"$DW_BIN/tests/gen_pcap" bench 20000 "$tmp/many.pcap" >/dev/null
"$dw" run -r "$tmp/many.pcap" --log all 2>"$tmp/err" | head -1 >/dev/null
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 1 ] && grep -q "writing events failed" "$tmp/err"; then pass=$((pass + 1)); else
    echo "FAIL: closed stdout: exit $rc, $(head -2 "$tmp/err")"; fail=$((fail + 1))
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
