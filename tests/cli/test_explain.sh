#!/usr/bin/env bash
# dnswatch explain end to end: records from the command line and a generated capture,
# against the DESIGN.md example rules and a few of our own, with a test ASN database.
# Exit codes: 0 no alert, 1 an alert would be raised, 2 usage or input error.
set -u
dw="$DW_BIN/sensor/dnswatch"
gen="$DW_BIN/tests/gen_pcap"
. "$DW_SRC/tests/lib/common.sh"
dw_need_mmdb_writer
dw_tmpdir explain
fail=0
pass=0
db="$tmp/asn.mmdb"
dw_make_mmdb "$db"
design="$DW_SRC/tests/data/rules/design-example.yaml"

cat >"$tmp/own.yaml" <<'EOF'
id: signed
match: {names: [signed.example]}
dnssec: {expect: signed}
expect: {resolvers: [10.10.0.53]}
---
id: do
match: {names: [do.example]}
dnssec: {expect: signed}
---
id: reg
match: {names: ["*.reg.example"]}
expect: {prefixes: [151.101.0.0/16]}
exceptions:
  - {prefixes: [146.75.0.0/16], reason: "CHG-4411 renumbering", expires: 2027-03-31}
EOF

# ex STATUS ARGS...: runs explain, keeps stdout in $tmp/out and stderr in $tmp/err.
ex() {
    local want=$1
    shift
    "$dw" explain "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    last="explain $*"
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: dnswatch $last -> exit $got (want $want)"
        sed 's/^/    out: /' "$tmp/out"
        sed 's/^/    err: /' "$tmp/err"
        fail=$((fail + 1))
    else
        pass=$((pass + 1))
    fi
}
# has FILE LINE...: each LINE occurs in FILE as a whole line, leading spaces ignored.
has() {
    local f=$1
    shift
    for want in "$@"; do
        if sed 's/^ *//' "$f" | grep -qxF -- "$want"; then
            pass=$((pass + 1))
        else
            echo "FAIL: dnswatch $last: no line \"$want\" in:"
            sed 's/^/    /' "$f"
            fail=$((fail + 1))
        fi
    done
}
lacks() {
    if grep -qF -- "$2" "$1"; then
        echo "FAIL: dnswatch $last: unexpected \"$2\""
        fail=$((fail + 1))
    else
        pass=$((pass + 1))
    fi
}

# The DESIGN.md example: pypi.org answered by Linode instead of Fastly.
ex 1 --rules "$design" --asn-db "$db" "pypi.org A 45.33.20.5"
has "$tmp/out" \
    "chain: pypi.org" \
    "address: 45.33.20.5, AS63949 (Linode, LLC)" \
    "rule pypi ($design:6) matched pypi.org" \
    "expect.asn: FAIL 45.33.20.5 is AS63949 (Linode, LLC), expected AS54113" \
    "rebinding: PASS 45.33.20.5 is not in a special-purpose range" \
    "cname: PASS no CNAME or DNAME in the answer" \
    "verdict: alert [asn_mismatch]" \
    "reason: pypi.org answered 45.33.20.5 (AS63949 Linode, LLC), expected AS54113" \
    "rule rebinding ($design:31) matched pypi.org (pattern *)" \
    "verdict: no alert"
lacks "$tmp/out" "rule artifactory"

# Fastly: every rule passes.
ex 0 --rules "$design" --asn-db "$db" "pypi.org A 151.101.0.223" "pypi.org AAAA 2a04:4e40::223 60"
has "$tmp/out" "expect.asn: PASS 151.101.0.223 is AS54113 (Fastly, Inc.), one of AS54113" \
    "expect.asn: PASS 2a04:4e40::223 is AS54113 (Fastly, Inc.), one of AS54113" \
    "answer: pypi.org AAAA 2a04:4e40::223 ttl 60"
lacks "$tmp/out" "verdict: alert"

# A hijacked CNAME into a private address; the rule applies through the question.
ex 1 --rules "$design" --asn-db "$db" \
    "files.pythonhosted.org CNAME evil.example.net" "evil.example.net A 10.1.2.3 90000"
has "$tmp/out" \
    "chain: files.pythonhosted.org -> evil.example.net" \
    "address: 10.1.2.3, in no AS of the ASN database, special-purpose range 10.0.0.0/8" \
    "cname: FAIL evil.example.net is not an allowed target (*.fastly.net)" \
    "ttl: FAIL a record has TTL 90000, maximum 86400" \
    "rebinding: FAIL 10.1.2.3 is in special-purpose range 10.0.0.0/8" \
    "verdict: alert [cname_unexpected, rebinding, ttl_exceeded]" \
    "verdict: alert [rebinding]"

# SVCB/HTTPS hints, a sinkhole and NAT64.
ex 1 --rules "$design" --asn-db none \
    "www.example.org HTTPS ipv4hint=151.101.1.1,0.0.0.0 ipv6hint=64:ff9b::a00:1"
has "$tmp/out" \
    "address: 0.0.0.0, ASN database off, sinkhole address" \
    "rebinding: FAIL 0.0.0.0 is a sinkhole address, reported as sinkhole" \
    "rebinding: FAIL 64:ff9b::a00:1 (NAT64 10.0.0.1) is in special-purpose range 10.0.0.0/8" \
    "verdict: alert [rebinding, sinkhole]"

# Without an ASN database the ASN check is skipped and says why.
ex 0 --rules "$design" --asn-db none "pypi.org A 45.33.20.5"
has "$tmp/out" "expect.asn: SKIP no ASN database: ASN checks are off"

# The artifactory rule: private answers allowed, the resolver is checked.
ex 1 --rules "$design" "build.artifactory.corp.example A 10.40.1.1" --asn-db none
has "$tmp/out" \
    "rule artifactory ($design:22) matched build.artifactory.corp.example (pattern *.artifactory.corp.example)" \
    "resolver: FAIL answered by 10.0.0.53, not one of 10.10.0.53/32, 10.10.0.54/32" \
    "rebinding: PASS 10.40.1.1 is in special-purpose range 10.0.0.0/8, allowed by rebinding.allow" \
    "expect.prefixes: PASS 10.40.1.1 is in 10.40.0.0/16" \
    "verdict: alert [unexpected_resolver]"
lacks "$tmp/out" "rule rebinding"
ex 0 --rules "$design" --asn-db none --resolver 10.10.0.54 "build.artifactory.corp.example A 10.40.1.1"

# No rule for the name.
ex 0 --rules "$tmp/own.yaml" "www.example.com A 1.2.3.4"
has "$tmp/out" "no rule matched www.example.com"
ex 0 --rules "$tmp/own.yaml" "www.example.com CNAME x.example.net" "x.example.net A 1.2.3.4"
has "$tmp/out" "no rule matched www.example.com, x.example.net"

# DNSSEC: AD from the listed resolver, RRSIG for a DO query.
ex 1 --rules "$tmp/own.yaml" --resolver 10.10.0.53 "signed.example A 1.2.3.4"
has "$tmp/out" "dnssec: FAIL the validating resolver did not set AD" "verdict: alert [dnssec_missing]"
ex 0 --rules "$tmp/own.yaml" --resolver 10.10.0.53 --ad "signed.example A 1.2.3.4"
has "$tmp/out" "dnssec: PASS AD set by a listed resolver"
ex 1 --rules "$tmp/own.yaml" --do "do.example A 1.2.3.4"
has "$tmp/out" "dnssec: FAIL the answer carries no RRSIG although the query set DO"
ex 0 --rules "$tmp/own.yaml" --do "do.example A 1.2.3.4" "do.example RRSIG A"
has "$tmp/out" "dnssec: PASS RRSIG present for a DO query"
ex 0 --rules "$tmp/own.yaml" "do.example A 1.2.3.4"
has "$tmp/out" "dnssec: SKIP cannot tell: no expect.resolvers to trust AD from, and no query with DO seen"

# Exceptions, judged at a given date.
ex 0 --rules "$tmp/own.yaml" --now 2027-03-31 "a.reg.example A 146.75.1.1"
has "$tmp/out" "exception: SKIP 146.75.1.1 excused (line 14): CHG-4411 renumbering, until 2027-03-31"
ex 1 --rules "$tmp/own.yaml" --now 2027-04-01 "a.reg.example A 146.75.1.1"
has "$tmp/out" "expect.prefixes: FAIL 146.75.1.1 is outside 151.101.0.0/16" "verdict: alert [prefix_mismatch]"

# NXDOMAIN: nothing to judge without answers; an address in the answer section is judged
# whatever the response code (what is there is what a resolver may use).
ex 0 --rules "$tmp/own.yaml" --rcode NXDOMAIN --qname gone.reg.example
has "$tmp/out" "addresses: SKIP no address in the answer" "address: none"
ex 1 --rules "$tmp/own.yaml" --rcode NXDOMAIN "gone.reg.example A 45.33.20.5"
has "$tmp/out" "expect.prefixes: FAIL 45.33.20.5 is outside 151.101.0.0/16" "verdict: alert [prefix_mismatch]"

# An address owned by another name than the question's: musl uses it for the question, so
# the question's rule judges it; its owner starts a chain of its own.
ex 1 --rules "$tmp/own.yaml" --qname a.reg.example "x.example A 45.33.20.5"
has "$tmp/out" "chain: a.reg.example" "owner chain: x.example" \
    "expect.prefixes: FAIL 45.33.20.5 is outside 151.101.0.0/16" "verdict: alert [prefix_mismatch]"

# A capture: every response explained.
if [ -x "$gen" ]; then
    "$gen" cname_chain "$tmp/c.pcap" >/dev/null
    ex 0 --rules "$design" --asn-db "$db" -r "$tmp/c.pcap"
    has "$tmp/out" "cname: PASS every chain target is allowed (*.fastly.net)" \
        "1 responses, 0 would raise an alert"
    printf 'id: strict\nmatch: {names: [files.pythonhosted.org]}\ncname: {allowed_targets: []}\n' \
        >"$tmp/strict.yaml"
    ex 1 --rules "$tmp/strict.yaml" -r "$tmp/c.pcap"
    has "$tmp/out" "cname: FAIL dualstack.python.map.fastly.net is not an allowed target (none allowed)" \
        "1 responses, 1 would raise an alert"
    # Records outside the question's bailiwick: the sections are listed, the rule of the
    # records' owner says why it applies and fails; the catch-all watches nothing.
    vio="$DW_SRC/tests/rules/violations.yaml"
    "$gen" r_bailiwick_kaminsky "$tmp/k.pcap" >/dev/null
    ex 1 --rules "$vio" --asn-db none -r "$tmp/k.pcap"
    has "$tmp/out" "authority: pypi.org NS ns.attacker-chosen.example ttl 86400" \
        "additional: pypi.org A 45.33.20.5 ttl 86400" \
        "rule t-asn ($vio:12) matched no name asked, watches a record's owner" \
        "bailiwick: FAIL 2 records for names the rule watches outside the question's bailiwick, the first pypi.org NS in the authority section" \
        "verdict: alert [out_of_bailiwick]" \
        "bailiwick: SKIP a catch-all rule watches no name for poisoning"
    "$gen" r_bailiwick_kaminsky_ok "$tmp/k-ok.pcap" >/dev/null
    ex 0 --rules "$vio" --asn-db none -r "$tmp/k-ok.pcap"
    has "$tmp/out" "1 responses, 0 would raise an alert"
fi

# Usage and input errors: exit 2 and a message that names the problem.
err() {
    local re=$1
    shift
    ex 2 "$@"
    if grep -Eq -- "$re" "$tmp/err"; then
        pass=$((pass + 1))
    else
        echo "FAIL: dnswatch $last: stderr lacks /$re/:"
        sed 's/^/    /' "$tmp/err"
        fail=$((fail + 1))
    fi
}
err 'give at least one --rules' "pypi.org A 1.2.3.4"
err 'at least one record' --rules "$design" --asn-db none
err "unknown option '--bogus'" --rules "$design" --bogus "pypi.org A 1.2.3.4"
err 'A data must be an IPv4 address' --rules "$design" --asn-db none "pypi.org A 999.1.1.1"
err 'AAAA data must be an IPv6 address' --rules "$design" --asn-db none "pypi.org AAAA 1.2.3.4"
err 'TYPE must be' --rules "$design" --asn-db none "pypi.org MX mail.example"
err 'empty label' --rules "$design" --asn-db none "bad..name A 1.2.3.4"
err 'only letters' --rules "$design" --asn-db none "bad/name A 1.2.3.4"
err 'label longer than 63' --rules "$design" --asn-db none \
    "$(printf 'a%.0s' $(seq 64)).example A 1.2.3.4"
err 'expected "NAME TYPE DATA' --rules "$design" --asn-db none "pypi.org A"
err 'TTL must be a number' --rules "$design" --asn-db none "pypi.org A 1.2.3.4 soon"
err 'ipv4hint' --rules "$design" --asn-db none "x.example HTTPS alpn=h2"
err 'not an IPv4 or IPv6 address' --rules "$design" --resolver nowhere "pypi.org A 1.2.3.4"
err 'pass --asn-db' --rules "$design" "pypi.org A 1.2.3.4"
err 'do not apply' --rules "$design" -r "$tmp/c.pcap" "pypi.org A 1.2.3.4"
err "cannot read $tmp/missing.pcap" --rules "$design" --asn-db none -r "$tmp/missing.pcap"
printf 'id: broken\nmatch: {names: [x.example]}\nexpcet: {}\n' >"$tmp/broken.yaml"
err 'did you mean "expect"' --rules "$tmp/broken.yaml" "x.example A 1.2.3.4"
# Zone-file and dig lines: "NAME [TTL] [CLASS] TYPE DATA", several per argument or from
# stdin ("-"), comments and other record types skipped; the Azure private endpoint chain
# against the shipped catch-all rule, passed by an allow document (explain names it).
cat >"$tmp/allow.yaml" <<'EOF2'
allow:
  - names: ["*.privatelink.blob.core.windows.net"]
    prefixes: [10.30.0.0/16]
    rules: [rebinding]
    reason: "CHG-7 Azure private endpoints"
    expires: 2099-06-30
EOF2
pack="$DW_SRC/deploy/rules"
printf '%s\n' '; <<>> DiG 9.18.28 <<>> x.blob.core.windows.net' ';; ANSWER SECTION:' \
    'x.blob.core.windows.net. 60 IN CNAME x.privatelink.blob.core.windows.net.' \
    'x.privatelink.blob.core.windows.net. IN 10 A 10.30.1.5 ; the endpoint' '' \
    ';; AUTHORITY SECTION:' 'windows.net. 3600 IN SOA ns1.windows.net. h. 1 2 3 4 5' >"$tmp/dig.txt"
"$dw" explain --rules "$pack" --rules "$tmp/allow.yaml" --asn-db none - <"$tmp/dig.txt" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 0 ] && pass=$((pass + 1)) || { echo "FAIL: explain of dig lines from stdin"; cat "$tmp/err"; fail=$((fail + 1)); }
last="explain - <dig.txt"
has "$tmp/out" \
    "answer: x.blob.core.windows.net CNAME x.privatelink.blob.core.windows.net ttl 60" \
    "answer: x.privatelink.blob.core.windows.net A 10.30.1.5 ttl 10" \
    "chain: x.blob.core.windows.net -> x.privatelink.blob.core.windows.net" \
    "allow: SKIP 10.30.1.5 allowed ($tmp/allow.yaml:2): CHG-7 Azure private endpoints, until 2099-06-30" \
    "verdict: no alert"
has "$tmp/err" "dnswatch explain: line 7 of stdin: SOA record skipped (the rules read A, AAAA, CNAME, DNAME, HTTPS, SVCB and RRSIG)"
# Without the allow document the catch-all alerts; another private answer is not allowed.
ex 1 --rules "$pack" --asn-db none "$(sed -n 3,4p "$tmp/dig.txt")"
has "$tmp/out" "rebinding: FAIL 10.30.1.5 is in special-purpose range 10.0.0.0/8"
ex 1 --rules "$pack" --rules "$tmp/allow.yaml" --asn-db none \
    "x.blob.core.windows.net. 60 IN CNAME x.privatelink.blob.core.windows.net." \
    "x.privatelink.blob.core.windows.net. 10 IN A 10.31.0.9"
has "$tmp/out" "rebinding: FAIL 10.31.0.9 is in special-purpose range 10.0.0.0/8"
# --now is the day of judgement too, not only of loading: an entry live on that day passes
# the address even when it has expired since.
sed 's/2099-06-30/2025-01-31/' "$tmp/allow.yaml" >"$tmp/allow-2025.yaml"
ex 0 --rules "$pack" --rules "$tmp/allow-2025.yaml" --asn-db none --now 2025-01-31 "$(sed -n 3,4p "$tmp/dig.txt")"
has "$tmp/out" "allow: SKIP 10.30.1.5 allowed ($tmp/allow-2025.yaml:2): CHG-7 Azure private endpoints, until 2025-01-31"
ex 1 --rules "$pack" --rules "$tmp/allow-2025.yaml" --asn-db none --now 2025-02-01 "$(sed -n 3,4p "$tmp/dig.txt")"
# A zone line with TTL and class, AAAA, HTTPS with hints among other parameters.
ex 1 --rules "$design" --asn-db "$db" "pypi.org. 300 IN A 45.33.20.5" \
    "pypi.org. 300 IN HTTPS 1 . alpn=h2 ipv4hint=151.101.0.223 ipv6hint=2a04:4e42::223"
has "$tmp/out" "answer: pypi.org A 45.33.20.5 ttl 300" \
    "expect.asn: FAIL 45.33.20.5 is AS63949 (Linode, LLC), expected AS54113"
# Bad lines: every one named by its place, nothing explained.
ex 2 --rules "$design" --asn-db none "pypi.org. 300 IN A 1.2.3.4
pypi.org. 300 IN AAAA zz
pypi.org 300 IN FOO x" "pypi.org. 300 CH A 1.2.3.4"
has "$tmp/err" \
    'dnswatch explain: argument 1, line 2: record "pypi.org. 300 IN AAAA zz": AAAA data must be an IPv6 address' \
    'dnswatch explain: argument 1, line 3: record "pypi.org 300 IN FOO x": unknown record type in a zone line' \
    'dnswatch explain: argument 2: record "pypi.org. 300 CH A 1.2.3.4": only class IN is judged'
lacks "$tmp/out" "response:"
printf 'pypi.org. 300 IN A 1.2.3.4\n\npypi.org. 300 IN A\n' >"$tmp/bad.txt"
err 'line 3 of stdin: record "pypi.org. 300 IN A": no data after the type' \
    --rules "$design" --asn-db none - <"$tmp/bad.txt"

# --json: one object per response, valid JSON with the same facts.
ex 1 --json --rules "$design" --asn-db "$db" "pypi.org A 45.33.20.5"
if python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
e = json.loads(lines[0])
assert e["alert"] is True
assert e["response"]["question"] == {"name": "pypi.org", "type": "A"}
assert e["addresses"][0]["ip"] == "45.33.20.5" and e["addresses"][0]["as"]["number"] == 63949
r = [x for x in e["rules"] if x["id"] == "pypi"][0]
assert r["alert"] and "asn_mismatch" in r["violations"], r
assert {"check": "expect.asn", "verdict": "fail",
        "detail": "45.33.20.5 is AS63949 (Linode, LLC), expected AS54113"} in r["checks"], r["checks"]
' "$tmp/out"; then pass=$((pass + 1)); else echo "FAIL: explain --json"; cat "$tmp/out"; fail=$((fail + 1)); fi
if [ -x "$gen" ]; then
ex 0 --json --rules "$design" --asn-db none -r "$tmp/c.pcap"
python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
s = lines[-1]["summary"]
assert s["responses"] == len(lines) - 1 and s["responses"] > 0, s
assert all(isinstance(l.get("rules"), list) for l in lines[:-1])
' "$tmp/out" && pass=$((pass + 1)) || { echo "FAIL: explain --json -r"; head -c 600 "$tmp/out"; fail=$((fail + 1)); }
fi

# The usage line is in the top-level help.
"$dw" --help | grep -q 'dnswatch explain --rules' && pass=$((pass + 1)) ||
    { echo "FAIL: explain missing from --help"; fail=$((fail + 1)); }

echo "explain: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
