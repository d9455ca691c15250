#!/usr/bin/env bash
# The config file from the command line: check-config's exit status and messages, run -c
# with flags overriding the file, every config error listed before exiting 1.
set -u
dw="$DW_BIN/sensor/dnswatch"
. "$DW_SRC/tests/lib/common.sh"
dw_tmpdir config
fail=0
pass=0

# expect STATUS REGEX -- ARGS...   (REGEX searched in stdout and stderr)
expect() {
    local want=$1 re=$2
    shift 3
    "$dw" "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -ne "$want" ] || ! cat "$tmp/out" "$tmp/err" | grep -Eq -- "$re"; then
        echo "FAIL: dnswatch $* -> exit $got (want $want), output:"
        sed 's/^/    /' "$tmp/out" "$tmp/err"
        echo "    (wanted output matching: $re)"
        fail=$((fail + 1))
    else
        pass=$((pass + 1))
    fi
}

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

mkdir "$tmp/rules"
cp "$DW_SRC/tests/data/rules/design-example.yaml" "$tmp/rules/"
printf 'id: any\nmatch: {names: ["*"]}\n' >"$tmp/rules/all.yaml"
"$DW_BIN/tests/gen_pcap" udp4_a "$tmp/a.pcap" >/dev/null

# The shipped default config is valid once its files exist (check it with its paths
# pointed into the temporary directory).
sed -e "s|/etc/dnswatch/rules|$tmp/rules|" -e "s|/var/lib/GeoIP/GeoLite2-ASN.mmdb|none|" \
    "$DW_SRC/deploy/dnswatch.yaml" >"$tmp/shipped.yaml"
expect 0 "shipped.yaml: valid, 0 warnings" -- check-config "$tmp/shipped.yaml"
# ... and as shipped it names the places the service unit expects.
for want in 'rules: \[/etc/dnswatch/rules\]' 'spool_dir: /var/lib/dnswatch/spool' 'listen: "127.0.0.1:9153"'; do
    grep -Eq "$want" "$DW_SRC/deploy/dnswatch.yaml" && ok || bad "shipped config lacks $want"
done

# check-config: errors with file:line:col, every one of them, exit 1.
cat >"$tmp/bad.yaml" <<'YAML'
interface: eth1
worker: 2
log: watchd
redis:
  mdoe: list
capture: {snaplen: 1000}
YAML
expect 1 "bad.yaml:2:1: error: unknown key \"worker\" at the top level; did you mean \"workers\"\?" -- check-config "$tmp/bad.yaml"
"$dw" check-config "$tmp/bad.yaml" >"$tmp/out" 2>"$tmp/err"
[ "$(grep -c ': error: ' "$tmp/out")" -eq 3 ] && ok || bad "check-config: not every error listed: $(cat "$tmp/out")"
grep -q 'bad.yaml:6:20: warning: .*snaplen' "$tmp/out" && ok || bad "check-config: warning missing"
grep -q 'not valid: 3 errors, 1 warnings' "$tmp/err" && ok || bad "check-config: summary: $(cat "$tmp/err")"
expect 1 "missing.yaml: error: cannot read: No such file" -- check-config "$tmp/missing.yaml"
expect 2 "takes one config file" -- check-config a b
# Warnings only: exit 0.
printf 'rules: [rules]\n' >"$tmp/noiface.yaml"
expect 0 "warning: no \"interface\"" -- check-config "$tmp/noiface.yaml"
# A dnstap source is an input too: no warning about the interface then.
printf 'rules: [rules]\ndnstap: unix:/run/dnswatch/dnstap.sock\n' >"$tmp/dnstap.yaml"
"$dw" check-config "$tmp/dnstap.yaml" >"$tmp/out" 2>&1
grep -q 'no "interface"' "$tmp/out" && { echo "FAIL: check-config warns of no interface beside dnstap"; fail=$((fail + 1)); } || pass=$((pass + 1))

# check-config refuses the Redis URLs that run refuses (one parser), without echoing a
# password written into one.
for url in 'rediss://r.example:70000' 'sentinel://r.example:26379' 'redis://r.example:70000' 'redis://u:hunter2@r.example' \
           'unix://relative.sock'; do
    printf 'interface: eth1\nredis: {url: "%s"}\n' "$url" >"$tmp/url.yaml"
    expect 1 "url.yaml:2:[0-9]+: error: \"redis.url\": redis URL" -- check-config "$tmp/url.yaml"
    "$dw" check-config "$tmp/url.yaml" 2>&1 | grep -q hunter2 && bad "check-config shows the password"
    "$dw" run -c "$tmp/url.yaml" -r "$tmp/a.pcap" --output redis 2>&1 | grep -q hunter2 &&
        bad "run shows the password"
done

# run -c: the same errors stop the start, exit 1, no usage text.
expect 1 "bad.yaml:3:6: error: bad log \"watchd\"; did you mean \"watched\"\?" -- run -c "$tmp/bad.yaml" -r "$tmp/a.pcap"
"$dw" run -c "$tmp/bad.yaml" -r "$tmp/a.pcap" >/dev/null 2>"$tmp/err"
grep -q Usage "$tmp/err" && bad "config errors print the usage" || ok
[ "$(grep -c 'yaml:[0-9]*:[0-9]*: error: ' "$tmp/err")" -eq 3 ] && ok || bad "run -c: not every error listed"

# run -c: the file's settings apply, flags override them. log: all in the file gives one
# event per response; --log alerts on the line gives none without an alert.
printf 'interface: does-not-matter-with-r\nlog: all\nname: from-file\n' >"$tmp/run.yaml"
"$dw" run -c "$tmp/run.yaml" -r "$tmp/a.pcap" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 0 ] && grep -q '"name":"from-file"' "$tmp/out" && ok ||
    bad "run -c: config not applied: $(cat "$tmp/err")"
"$dw" run -c "$tmp/run.yaml" -r "$tmp/a.pcap" --name from-flag >"$tmp/out" 2>/dev/null
grep -q '"name":"from-flag"' "$tmp/out" && ok || bad "run -c: --name did not override"
"$dw" run --log alerts -c "$tmp/run.yaml" -r "$tmp/a.pcap" >"$tmp/out" 2>/dev/null
[ ! -s "$tmp/out" ] && ok || bad "run -c: --log before -c did not override the file"
# Rules from the file (relative to it), replaced by --rules.
printf 'rules: [rules/all.yaml]\nasn_db: none\n' >"$tmp/rules.yaml"
expect 0 "1 rules loaded" -- run -c "$tmp/rules.yaml" -r "$tmp/a.pcap"
expect 0 "[2-9] rules loaded" -- run -c "$tmp/rules.yaml" -r "$tmp/a.pcap" --rules "$tmp/rules"
expect 0 "" -- run -c none -r "$tmp/a.pcap"
expect 1 "cannot read" -- run -c "$tmp/nope.yaml" -r "$tmp/a.pcap"

echo "config CLI: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
