#!/usr/bin/env bash
# dnswatch learn end to end: learn a pack from a generated week of a build farm's lookups
# (tests/tools/gen_pcap.c, "learn" scenarios), lint it, replay the week and a drift
# capture with it (no alert), replay hijack captures (the right alerts), with and without
# an ASN database; determinism; --min-count and --max-entries; --rules comparison; usage.
set -u
dw="$DW_BIN/sensor/dnswatch"
gen="$DW_BIN/tests/gen_pcap"
. "$DW_SRC/tests/lib/common.sh"
dw_need_mmdb_writer
dw_tmpdir learn
fail=0
pass=0
db="$tmp/asn.mmdb"
dw_make_mmdb "$db"
for s in $("$gen" --list-learn); do
    "$gen" "$s" "$tmp/$s.pcap" || { echo "FAIL: gen_pcap $s"; exit 1; }
done
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
ok() { pass=$((pass + 1)); }

names="pypi.org,files.pythonhosted.org,registry.npmjs.org,production.cloudflare.docker.com"
names="$names,registry-1.docker.io,auth.docker.io,github.com,static.crates.io"
names="$names,artifactory.corp.example,never.seen.example"

# learn WANT OUT ARGS...: runs learn -o OUT, stderr in $tmp/err.
learn() {
    local want=$1 out=$2
    shift 2
    "$dw" learn "$@" -o "$out" 2>"$tmp/err"
    local got=$?
    last="learn $*"
    if [ "$got" -ne "$want" ]; then
        bad "dnswatch $last -> exit $got (want $want)"
        sed 's/^/    err: /' "$tmp/err"
    else
        ok
    fi
}
# has FILE LINE...: each LINE occurs in FILE as a whole line, leading spaces ignored.
has() {
    local f=$1
    shift
    for want in "$@"; do
        if sed 's/^ *//' "$f" | grep -qxF -- "$want"; then
            ok
        else
            bad "$last: no line \"$want\" in $f"
            sed 's/^/    /' "$f" | head -120
        fi
    done
}
lacks() {
    if grep -qF -- "$2" "$1"; then bad "$last: unexpected \"$2\" in $1"; else ok; fi
}
# lint FILE: check-rules passes with no error and no warning.
lint() {
    if "$dw" check-rules "$1" >"$tmp/lint.out" 2>"$tmp/lint.err" &&
        [ ! -s "$tmp/lint.out" ] && grep -q ', 0 errors, 0 warnings,' "$tmp/lint.err"; then
        ok
    else
        bad "check-rules $1 is not clean:"
        sed 's/^/    /' "$tmp/lint.out" "$tmp/lint.err"
    fi
}
# alerts PACK DBARG PCAP: "rule-id violation,violation" per alert, sorted, in $tmp/alerts.
alerts() {
    "$dw" run -r "$3" --rules "$1" --asn-db "$2" --workers 1 >"$tmp/run.jsonl" 2>"$tmp/run.err" ||
        { bad "run -r $3 --rules $1 failed"; sed 's/^/    /' "$tmp/run.err"; }
    python3 -c '
import json, sys
out = []
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event", {}).get("kind") == "alert":
        out.append(e["rule"]["id"] + " " + ",".join(e["dnswatch"]["violations"]))
print("\n".join(sorted(out)))' "$tmp/run.jsonl" >"$tmp/alerts"
}
# expect_alerts PACK DBARG PCAP [LINE...]: exactly these alerts (none when no LINE).
expect_alerts() {
    local pack=$1 dbarg=$2 pcap=$3
    shift 3
    alerts "$pack" "$dbarg" "$pcap"
    printf '%s\n' "$@" | sed '/^$/d' | sort >"$tmp/want"
    if diff -u "$tmp/want" <(sed '/^$/d' "$tmp/alerts") >"$tmp/diff"; then
        ok
    else
        bad "alerts of $(basename "$pcap") under $(basename "$pack") ($dbarg):"
        sed 's/^/    /' "$tmp/diff"
    fi
}

# ---- with the ASN database ----------------------------------------------------------
learn 0 "$tmp/asn.yaml" -r "$tmp/l_week.pcap" --names "$names" --asn-db "$db"
lint "$tmp/asn.yaml"
has "$tmp/asn.yaml" \
    "as14618-16509: {asn: [14618, 16509]}" \
    "as54113: {asn: [54113]}" \
    "id: files.pythonhosted.org" \
    "- files.pythonhosted.org" "- pypi.org" \
    "- dualstack.python.map.fastly.net" \
    "- \"set:as54113\"" \
    "- \"set:as14618-16509\"" \
    "- \"*.edge.cdn-example.net\"" \
    "- crates.cdn-example.net" \
    "#   d4.edge.cdn-example.net: 42" \
    "- \"10.40.2.0/23\"" "- \"10.40.1.0/24\"" "- \"fd12:3456:789a::/48\"" \
    "- \"10.10.0.53\"" "- \"10.10.0.54\"" \
    "max: 3600" "max: 600" "max: 60" \
    "allowed_targets: []" \
    "#   never.seen.example"
# every expectation carries its evidence
has "$tmp/asn.yaml" \
    "# AS54113 Fastly, Inc.: 561 answers, 2026-11-27T10:00:00Z .. 2026-12-04T09:06:00Z, e.g. 146.75.36.223, 151.101.0.223, 151.101.64.223" \
    "# 1 response, 2026-11-30T22:00:00Z" \
    "# highest TTL seen: 3600 (files.pythonhosted.org, 2026-11-27T10:00:00Z)"
lacks "$tmp/asn.yaml" "noise-example"   # other names: counted, not learned
grep -q "1597 for the names asked, 1344 for other names" "$tmp/asn.yaml" && ok ||
    bad "the pack's header does not count the other names"

expect_alerts "$tmp/asn.yaml" "$db" "$tmp/l_week.pcap"
expect_alerts "$tmp/asn.yaml" "$db" "$tmp/l_drift.pcap"
expect_alerts "$tmp/asn.yaml" "$db" "$tmp/l_hijack_asn.pcap" "files.pythonhosted.org asn_mismatch"
expect_alerts "$tmp/asn.yaml" "$db" "$tmp/l_hijack_cname.pcap" \
    "production.cloudflare.docker.com cname_unexpected" "static.crates.io cname_unexpected"
expect_alerts "$tmp/asn.yaml" "$db" "$tmp/l_hijack_resolver.pcap" "github.com unexpected_resolver"
expect_alerts "$tmp/asn.yaml" "$db" "$tmp/l_hijack_prefix.pcap" \
    "artifactory.corp.example prefix_mismatch,rebinding"

# ---- without one: prefixes --------------------------------------------------------------
learn 0 "$tmp/none.yaml" -r "$tmp/l_week.pcap" --names "$names" --asn-db none
lint "$tmp/none.yaml"
has "$tmp/none.yaml" \
    "- \"151.101.0.0/24\"" "- \"151.101.64.0/24\"" "- \"146.75.36.0/24\"" \
    "- \"3.208.0.0/23\"" "- \"2a04:4e42::/48\"" "- \"2a04:4e42:200::/48\""
lacks "$tmp/none.yaml" "sets:"
lacks "$tmp/none.yaml" "151.101.0.0/16"  # never wider than the evidence
expect_alerts "$tmp/none.yaml" none "$tmp/l_week.pcap"
expect_alerts "$tmp/none.yaml" none "$tmp/l_drift.pcap"
expect_alerts "$tmp/none.yaml" none "$tmp/l_hijack_asn.pcap" "pypi.org prefix_mismatch"
expect_alerts "$tmp/none.yaml" none "$tmp/l_hijack_cname.pcap" \
    "registry.npmjs.org cname_unexpected" "static.crates.io cname_unexpected"
expect_alerts "$tmp/none.yaml" none "$tmp/l_hijack_resolver.pcap" "github.com unexpected_resolver"
expect_alerts "$tmp/none.yaml" none "$tmp/l_hijack_prefix.pcap" \
    "artifactory.corp.example prefix_mismatch,rebinding"

# ---- determinism: the same input gives the same bytes, whatever the order of -r ----------
learn 0 "$tmp/asn2.yaml" -r "$tmp/l_week.pcap" --names "$names" --asn-db "$db"
cmp -s "$tmp/asn.yaml" "$tmp/asn2.yaml" && ok || bad "two runs over the same input differ"
learn 0 "$tmp/ab.yaml" -r "$tmp/l_week.pcap" "$tmp/l_drift.pcap" --names "$names" --asn-db "$db"
learn 0 "$tmp/ba.yaml" -r "$tmp/l_drift.pcap" -r "$tmp/l_week.pcap" --names "$names" --asn-db "$db"
cmp -s "$tmp/ab.yaml" "$tmp/ba.yaml" && ok || bad "the order of the captures changes the pack"
has "$tmp/ab.yaml" "#   d9.edge.cdn-example.net: 2"
# names from a file, in another order and case: the same pack
printf '# the registries\n%s\n' "$names" | tr ',' '\n' | sort -r | tr 'a-z' 'A-Z' >"$tmp/names.txt"
learn 0 "$tmp/file.yaml" -r "$tmp/l_week.pcap" --names "@$tmp/names.txt" --asn-db "$db"
cmp -s "$tmp/asn.yaml" "$tmp/file.yaml" && ok || bad "--names @FILE gives another pack"

# ---- --min-count: rare observations left out, and said ---------------------------------
learn 0 "$tmp/min.yaml" -r "$tmp/l_week.pcap" --names "$names" --asn-db "$db" --min-count 2
lint "$tmp/min.yaml"
has "$tmp/min.yaml" \
    "# left out: resolver 10.10.0.55 seen 1 time, below --min-count 2 (first 2026-11-30T22:00:00Z)"
lacks "$tmp/min.yaml" '- "10.10.0.55"'
expect_alerts "$tmp/min.yaml" "$db" "$tmp/l_week.pcap" "files.pythonhosted.org unexpected_resolver"

# prefixes too: a /48 seen 28 times stays out under --min-count 30, and is said
learn 0 "$tmp/min30.yaml" -r "$tmp/l_week.pcap" --names pypi.org --asn-db none --min-count 30
lint "$tmp/min30.yaml"
has "$tmp/min30.yaml" \
    "# left out: prefix 2a04:4e42::/48 seen 28 times, below --min-count 30 (first 2026-11-27T10:00:00Z, e.g. 2a04:4e42::223)" \
    "- \"151.101.0.0/24\""
lacks "$tmp/min30.yaml" '- "2a04:4e42::/48"'

# ---- memory: tables capped, the rest counted and said; RSS flat over 10x the flood ----------
learn 0 "$tmp/flood.yaml" -r "$tmp/l_flood.pcap" --names pypi.org,files.pythonhosted.org \
    --max-entries 64
grep -q "observations not kept, tables full (--max-entries 64)" "$tmp/err" && ok ||
    bad "a full table is not reported on stderr"
grep -q "answers not kept: the table was full (--max-entries)" "$tmp/flood.yaml" && ok ||
    bad "a full table is not reported in the pack"
[ "$(grep -c '^    - "' "$tmp/flood.yaml")" -le $((2 * 64 + 2 * 64 + 64)) ] && ok ||
    bad "more entries than --max-entries allows"
lint "$tmp/flood.yaml"
if [ -x /usr/bin/time ]; then
    rss() { /usr/bin/time -f %M "$dw" learn -r "$1" --names pypi.org,files.pythonhosted.org \
        --max-entries 64 -o "$tmp/rss.yaml" 2>&1 >/dev/null | tail -1; }
    small=$(rss "$tmp/l_flood_small.pcap")
    big=$(rss "$tmp/l_flood.pcap")
    if [ "$big" -le $((small + 2048)) ]; then ok; else
        bad "peak RSS grows with the flood: ${small} KB for 2000 responses, ${big} KB for 20000"
    fi
    # random names nobody asked for: only counted
    "$gen" bench 300000 "$tmp/bench.pcap" >/dev/null
    "$gen" bench 30000 "$tmp/bench-small.pcap" >/dev/null
    small=$(rss "$tmp/bench-small.pcap")
    big=$(rss "$tmp/bench.pcap")
    if [ "$big" -le $((small + 2048)) ]; then ok; else
        bad "peak RSS grows with other names: ${small} KB for 30k packets, ${big} KB for 300k"
    fi
fi

# ---- --rules: what stale rules would have said, and the change -------------------------
mkdir -p "$tmp/stale"
cat >"$tmp/stale/stale.yaml" <<'EOF'
id: pypi
title: PyPI on Fastly's first network, through the first resolver
match: {names: [pypi.org, files.pythonhosted.org]}
cname: {allowed_targets: ["*.fastly.net"]}
expect:
  prefixes: [151.101.0.0/16]
  resolvers: [10.10.0.53]
ttl: {max: 120}
---
id: npm
match: {names: [registry.npmjs.org]}
expect: {asn: [13335]}
---
id: crates
match: {names: [static.crates.io]}
cname: {allowed_targets: [crates.cdn-example.net]}
expect: {asn: [16509]}
EOF
learn 0 "$tmp/cmp.txt" -r "$tmp/l_week.pcap" --rules "$tmp/stale" --asn-db "$db"
has "$tmp/cmp.txt" \
    "rule pypi ($tmp/stale/stale.yaml:1): 393 alerts, 2026-11-27T10:00:00Z .. 2026-12-04T09:06:00Z" \
    "prefix_mismatch: 140 times, 2026-11-27T10:00:00Z .. 2026-12-04T09:06:00Z, e.g. 2a04:4e42::223, 146.75.36.223, 2a04:4e42:200::223" \
    "unexpected_resolver: 197 times, 2026-11-27T11:01:00Z .. 2026-12-04T09:06:00Z, e.g. 10.10.0.54, 10.10.0.55" \
    "proposed change to pypi ($tmp/stale/stale.yaml:1), to review:" \
    "+      - \"146.75.36.0/24\"" "+      - \"10.10.0.54\"" "+      - \"10.10.0.55\"" \
    "-    max: 120" "+    max: 3600   # the highest TTL seen" \
    "rule crates ($tmp/stale/stale.yaml:14): 168 alerts, 2026-11-27T10:00:00Z .. 2026-12-04T09:06:00Z" \
    "+      - \"*.edge.cdn-example.net\""
lacks "$tmp/cmp.txt" "rule npm "
lacks "$tmp/cmp.txt" "sets:"   # a comparison, not a new pack
# the proposal applied by hand keeps the week quiet
cat >"$tmp/stale/stale.yaml" <<'EOF'
id: pypi
match: {names: [pypi.org, files.pythonhosted.org]}
cname: {allowed_targets: ["*.fastly.net"]}
expect:
  prefixes: [151.101.0.0/16, 146.75.36.0/24, "2a04:4e42::/48", "2a04:4e42:200::/48"]
  resolvers: [10.10.0.53, 10.10.0.54, 10.10.0.55]
ttl: {max: 3600}
---
id: crates
match: {names: [static.crates.io]}
cname: {allowed_targets: [crates.cdn-example.net, "*.edge.cdn-example.net"]}
expect: {asn: [16509]}
EOF
learn 0 "$tmp/cmp2.txt" -r "$tmp/l_week.pcap" --rules "$tmp/stale" --asn-db "$db"
has "$tmp/cmp2.txt" "no rule would have alerted: nothing to change"
# --names limits what is judged
cp "$tmp/stale/stale.yaml" "$tmp/fixed.yaml"
printf 'id: pypi\nmatch: {names: [pypi.org, files.pythonhosted.org]}\nexpect: {resolvers: [10.10.0.53]}\n' \
    >"$tmp/stale/stale.yaml"
learn 0 "$tmp/cmp3.txt" -r "$tmp/l_week.pcap" --rules "$tmp/stale" --asn-db none --names github.com
has "$tmp/cmp3.txt" "no rule would have alerted: nothing to change"
learn 0 "$tmp/cmp4.txt" -r "$tmp/l_week.pcap" --rules "$tmp/stale" --asn-db none --names pypi.org
has "$tmp/cmp4.txt" "unexpected_resolver: 113 times, 2026-11-27T11:01:00Z .. 2026-12-04T09:06:00Z, e.g. 10.10.0.54, 10.10.0.55"

# ---- names YAML would misread, a TTL ttl.max cannot hold --------------------------------
learn 0 "$tmp/odd.yaml" -r "$tmp/l_odd.pcap" --names null,10.20 --asn-db none
lint "$tmp/odd.yaml"
has "$tmp/odd.yaml" 'id: "10.20"' '- "10.20"' '- "null"' \
    "# 2 answers, 2026-11-27T10:00:00Z .. 2026-11-27T10:00:00Z, e.g. 151.101.0.1; 1 /24 seen"
grep -q 'beyond what ttl.max can hold: no TTL check' "$tmp/odd.yaml" && ok ||
    bad "a TTL beyond ttl.max's range is not said"
expect_alerts "$tmp/odd.yaml" none "$tmp/l_odd.pcap"

# ---- every capture the decoder tests use (odd names, tunnels, fragments, TCP, forged and
# malformed answers): learned with "*", the pack lints clean and a replay of the capture
# with it is silent, unless the pack says why not (addresses only musl would read, CNAME
# targets no name pattern can hold, a full table).
for s in $("$gen" --list) $("$gen" --list-rules | awk '{print $2}' | sort -u); do
    "$gen" "$s" "$tmp/any.pcap" >/dev/null 2>&1 || { bad "gen_pcap $s"; continue; }
    "$dw" learn -r "$tmp/any.pcap" --names '*' --asn-db none -o "$tmp/any.yaml" 2>"$tmp/err" ||
        { bad "learn over $s failed"; sed 's/^/    /' "$tmp/err"; continue; }
    last="learn over $s"
    lint "$tmp/any.yaml"
    # Attacks on the transport, not on what a name resolves to (IP fragments that
    # disagree, a resolver's predictable ports or ids), are no expectation to learn: the
    # learned pack rightly keeps alerting on them.
    n=$("$dw" run -r "$tmp/any.pcap" --rules "$tmp/any.yaml" --asn-db none --workers 1 2>/dev/null |
        python3 -c '
import json, sys
transport = {"fragment_conflict", "resolver_port_predictable", "resolver_txid_predictable"}
n = 0
for line in sys.stdin:
    e = json.loads(line)
    if e.get("event", {}).get("kind") == "alert" and \
            not set(e.get("dnswatch", {}).get("violations", [])) <= transport:
        n += 1
print(n)')
    if [ "$n" -gt 0 ] && ! grep -qE "only musl's reading|not writable as a name pattern|not kept: the table was full" "$tmp/any.yaml"; then
        bad "$s: the pack learned from it raises $n alerts on it, and does not say why"
    else
        ok
    fi
done

# ---- dnstap: the resolvers' own messages, through the dnstap input ----------------------
# gen_dnstap's capture: client and resolver messages for pypi.org and
# files.pythonhosted.org, one hijacked answer for pypi.org among them.
"$DW_BIN/tests/gen_dnstap" types "$tmp/t.fstrm" || bad "gen_dnstap types"
"$dw" learn --dnstap "file:$tmp/t.fstrm" --names pypi.org,files.pythonhosted.org --asn-db none \
    -o "$tmp/dnstap.yaml" 2>"$tmp/err" || bad "learn --dnstap file: $(cat "$tmp/err")"
grep -q '^# dnswatch rule pack learned by `dnswatch learn` from dnstap file:' "$tmp/dnstap.yaml" &&
    grep -q '^id: pypi.org$' "$tmp/dnstap.yaml" && grep -q '^id: files.pythonhosted.org$' "$tmp/dnstap.yaml" &&
    grep -q '"198.51.100.53"' "$tmp/dnstap.yaml" && ok || bad "learn from dnstap: $(head -40 "$tmp/dnstap.yaml")"
"$dw" check-rules "$tmp/dnstap.yaml" >/dev/null 2>"$tmp/err" && ! grep -q ': warning:' "$tmp/err" && ok ||
    bad "the pack learned from dnstap does not lint clean: $(cat "$tmp/err")"

# ---- usage and input errors ------------------------------------------------------------
usage() {
    local want=$1 re=$2
    shift 2
    "$dw" learn "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -eq "$want" ] && grep -Eq -- "$re" "$tmp/err"; then ok; else
        bad "dnswatch learn $* -> exit $got (want $want and /$re/):"
        sed 's/^/    /' "$tmp/err"
    fi
}
usage 2 'give an input' --names pypi.org
usage 2 '--dnstap unix:/run/dnstap.sock needs --duration' --dnstap unix:/run/dnstap.sock --names pypi.org
usage 2 'applies to -i and dnstap sockets only' --dnstap "file:$tmp/t.fstrm" --duration 5 --names pypi.org
usage 2 'needs --duration' -i lo --names pypi.org
usage 2 'applies to -i and dnstap sockets only' -r "$tmp/l_week.pcap" --duration 5 --names pypi.org
usage 2 'give --names' -r "$tmp/l_week.pcap"
usage 2 'one kind of input' -r "$tmp/l_week.pcap" -i lo --duration 1 --names pypi.org
usage 2 'name "a\.\.b": ' -r "$tmp/l_week.pcap" --names a..b
usage 2 '--min-count .0.' -r "$tmp/l_week.pcap" --names pypi.org --min-count 0
usage 2 "unknown option '--bogus'" -r "$tmp/l_week.pcap" --names pypi.org --bogus
usage 1 'cannot read' -r "$tmp/missing.pcap" --names pypi.org --asn-db none
usage 2 'the rules expect ASNs' -r "$tmp/l_week.pcap" --rules "$tmp/fixed.yaml"
usage 1 'not-there' -r "$tmp/l_week.pcap" --names pypi.org --asn-db "$tmp/not-there.mmdb"
usage 1 'cannot write' -r "$tmp/l_week.pcap" --names pypi.org --asn-db none -o "$tmp/no/dir/x.yaml"
"$dw" learn --help | grep -q -- '--max-entries N' && ok || bad "learn --help lacks --max-entries"
"$dw" learn --help >/dev/null && ok || bad "learn --help exit status"
"$dw" --help | grep -q 'dnswatch learn' && ok || bad "dnswatch --help lacks learn"
[ ! -e "$tmp/asn.yaml.tmp" ] && ok || bad "-o left its temporary file"

echo "test_learn: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
