#!/usr/bin/env bash
# deploy/prometheus and deploy/grafana: the alerting rules pass `promtool check rules`; the
# promtool unit tests pass, and each of them fails when the alert it is about is made
# unable to fire (so every alert is proven to fire on its series); every metric the rules
# and the Grafana dashboard name is one the sensor exports, read from a live sensor's
# /metrics (capture, Redis and process series included); the dashboard is valid JSON.
set -u
. "$DW_SRC/tests/lib/common.sh"
dw=$DW_BIN/sensor/dnswatch
dw_tmpdir monitoring
rules=$DW_SRC/deploy/prometheus/dnswatch-alerts.yml
utest=$DW_SRC/deploy/prometheus/dnswatch-alerts.test.yml
dash=$DW_SRC/deploy/grafana/dnswatch.json
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
command -v promtool >/dev/null 2>&1 || dw_skip "promtool missing (apt-get install prometheus)"
python3 -c 'import yaml' 2>/dev/null || dw_skip "python3 yaml module missing"

promtool check rules "$rules" >"$tmp/check" 2>&1 && ok "promtool check rules" ||
    { bad "promtool check rules:"; cat "$tmp/check"; }
promtool test rules "$utest" >"$tmp/test" 2>&1 && ok "promtool test rules" ||
    { bad "promtool test rules:"; cat "$tmp/test"; }

# The alerts the issue asks for, by what they watch.
for a in DnswatchSensorDown DnswatchPacketsDropped DnswatchSpoolFilling DnswatchReloadFailed \
         DnswatchRedisUnreachable DnswatchEvictionPressure DnswatchEventsDropped; do
    grep -q "alert: $a\$" "$rules" && ok "alert $a" || bad "no alert $a"
done

# Each alert, made unable to fire, must make the unit tests fail: the tests prove it fires.
python3 - "$rules" "$utest" "$tmp" >"$tmp/mut.list" <<'PY' || bad "cannot write the mutants"
import sys, yaml
rules, utest, tmp = sys.argv[1:]
doc = yaml.safe_load(open(rules))
names = [r["alert"] for g in doc["groups"] for r in g["rules"] if "alert" in r]
tests = yaml.safe_load(open(utest))
fired = {t["alertname"] for g in tests["tests"] for t in g.get("alert_rule_test", []) if t.get("exp_alerts")}
for n in names:
    if n not in fired:
        print("NOFIRE", n)
    d = yaml.safe_load(open(rules))
    for g in d["groups"]:
        for r in g["rules"]:
            if r.get("alert") == n:
                r["expr"] = "vector(1) < 0"
    yaml.safe_dump(d, open(f"{tmp}/mut-{n}.yml", "w"))
    t = dict(tests)
    t["rule_files"] = [f"mut-{n}.yml"]
    yaml.safe_dump(t, open(f"{tmp}/mut-{n}.test.yml", "w"))
    print(n)
PY
while read -r n rest; do
    if [ "$n" = NOFIRE ]; then bad "no unit test expects $rest to fire"; continue; fi
    if (cd "$tmp" && promtool test rules "mut-$n.test.yml" >/dev/null 2>&1); then
        bad "the unit tests pass with $n unable to fire"
    else
        ok "$n: the unit tests catch it not firing"
    fi
done <"$tmp/mut.list"

# A live sensor's metrics: capture on lo in a network namespace of its own, Redis
# unreachable (port 1) so the publisher and spool series are there, the endpoint scraped
# from inside.
ns=(unshare -n)
[ "$(id -u)" -eq 0 ] || ns=(unshare -rn)
"${ns[@]}" true 2>/dev/null || dw_skip "cannot create a network namespace here"
printf 'metrics:\n  listen: "127.0.0.1:9153"\nredis:\n  spool_dir: %s/spool\nrules: [%s]\nasn_db: none\n' \
    "$tmp" "$DW_SRC/deploy/rules/99-rebinding.yaml" >"$tmp/c.yaml"
# shellcheck disable=SC2016  # expanded by the inner shell, from its arguments
timeout 30 "${ns[@]}" bash -c '
    ip link set lo up || exit 1
    "$1" run -c "$2" -i lo --allow-root --output redis --redis redis://127.0.0.1:1 \
        --redis-wait 0 >/dev/null 2>"$3.err" &
    p=$!
    for _ in $(seq 100); do grep -q "metrics on" "$3.err" && break; sleep 0.1; done
    sleep 1.2 # the capture statistics are refreshed every second
    python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen(\"http://127.0.0.1:9153/metrics\", timeout=5).read().decode())" >"$3"
    kill -TERM $p; wait $p' _ "$dw" "$tmp/c.yaml" "$tmp/metrics.txt"
sed -n 's/^# TYPE \([^ ]*\) .*/\1/p' "$tmp/metrics.txt" | sort -u >"$tmp/names"
[ "$(wc -l <"$tmp/names")" -gt 30 ] && ok "$(wc -l <"$tmp/names") metric families from a live sensor" ||
    bad "live sensor metrics: $(head -c 400 "$tmp/metrics.txt" 2>&1) $(cat "$tmp/metrics.txt.err" 2>&1)"

python3 - "$rules" "$dash" "$tmp/names" <<'PY' || fails=$((fails + 1))
import json, re, sys, yaml
rules, dash, names = sys.argv[1:]
have = set(open(names).read().split()) | {"up"}
bad = 0
def check(where, expr):
    global bad
    toks = set(re.findall(r"\b((?:dnswatch|process)_[a-zA-Z0-9_]+)\b", expr))
    if not toks and not re.search(r"\bup\b", expr):
        print(f"FAIL: {where}: no dnswatch metric in {expr!r}"); bad += 1
    for t in sorted(toks - have):
        print(f"FAIL: {where}: {t} is not a metric the sensor exports"); bad += 1
doc = yaml.safe_load(open(rules))
n = 0
for g in doc["groups"]:
    for r in g["rules"]:
        check("rule " + r.get("alert", r.get("record", "?")), r["expr"]); n += 1
d = json.load(open(dash))  # invalid JSON fails here
assert d["title"] and d["uid"], "dashboard without title or uid"
assert any(v["name"] == "datasource" and v["type"] == "datasource" for v in d["templating"]["list"])
panels = [p for p in d["panels"] if p["type"] != "row"]
assert len(panels) >= 10, len(panels)
ids = [p["id"] for p in d["panels"]]
assert len(ids) == len(set(ids)), "panel ids repeat"
m = 0
for p in panels:
    assert p.get("targets"), f"panel {p['title']} has no query"
    for t in p["targets"]:
        check(f"panel {p['title']!r}", t["expr"]); m += 1
for v in d["templating"]["list"]:
    if v["type"] == "query":
        check(f"variable {v['name']}", v["definition"])
print(f"ok: {n} rule expressions and {m} dashboard queries name exported metrics" if not bad else "")
sys.exit(1 if bad else 0)
PY

[ "$fails" -eq 0 ] || exit 1
echo "monitoring: all passed"
