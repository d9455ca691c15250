#!/usr/bin/env bash
# The events against ECS and the SIEM files of deploy/siem: runs the sensor over every
# kind of event it writes (tests/lib/events.sh), then
# - tests/tools/ecs_check.py passes on all of them (every dataset: field names and types
#   against the ECS version the sensor declares), and fails on each line of
#   tests/data/ecs/broken.jsonl with the problem tests/data/ecs/broken.expect names;
# - tests/tools/es_template_check.py: the Elasticsearch template maps every field
#   emitted, with its ECS type; and fails on a copy of the template missing one field;
# - the Splunk add-on's .conf files parse, every eventtype tags.conf tags exists, and the
#   CIM tags of Network Resolution (network resolution dns) and Intrusion Detection
#   (ids attack) are there.
# Exit: 0 pass, 1 fail, 77 skip (as test_event_docs.sh).
# By hand: DW_SRC=. DW_BIN=build/dev bash tests/cli/test_siem.sh
set -u
: "${DW_SRC:?DW_SRC must point at the source tree}"
: "${DW_BIN:?DW_BIN must point at the build tree}"
dw="$DW_BIN/sensor/dnswatch"
gen="$DW_BIN/tests/gen_pcap"
tools="$DW_SRC/tests/tools"
template="$DW_SRC/deploy/siem/elasticsearch/dnswatch-template.json"
ta="$DW_SRC/deploy/siem/splunk/TA-dnswatch"
. "$DW_SRC/tests/lib/common.sh"
command -v python3 >/dev/null 2>&1 || dw_skip "python3 not found"
dw_need_mmdb_writer
dw_tmpdir siem
if [ ! -x "$dw" ] || [ ! -x "$gen" ]; then
    echo "FAIL: $dw or $gen not built"
    exit 1
fi
fail=0

# The checker can fail: every deliberately broken line draws the problem it is there for.
python3 "$tools/ecs_check.py" "$DW_SRC/tests/data/ecs/broken.jsonl" >"$tmp/broken.out"
if [ $? != 1 ]; then
    echo "FAIL: ecs_check.py passed tests/data/ecs/broken.jsonl"
    fail=1
fi
while IFS= read -r l; do
    case $l in '#'* | '') continue ;; esac
    n=${l%%: *}
    want=${l#*: }
    if ! grep -qF "broken.jsonl:$n: $want" "$tmp/broken.out"; then
        echo "FAIL: ecs_check.py did not report line $n of broken.jsonl: $want"
        fail=1
    fi
done <"$DW_SRC/tests/data/ecs/broken.expect"

db="$tmp/asn.mmdb"
dw_make_mmdb "$db"
. "$DW_SRC/tests/lib/events.sh"
dw_collect_events "$db"
[ "$collect_fail" = 0 ] || fail=1

if ! python3 "$tools/ecs_check.py" "$tmp"/out/*.jsonl >"$tmp/ecs.out"; then
    echo "FAIL: events that do not follow ECS:"
    head -40 "$tmp/ecs.out" | sed 's/^/    /'
    fail=1
else
    tail -1 "$tmp/ecs.out"
fi
for ds in dns alert health; do
    grep -q "\"dataset\":\"dnswatch.$ds\"" "$tmp"/out/*.jsonl ||
        { echo "FAIL: no dnswatch.$ds event was checked"; fail=1; }
done

if ! python3 "$tools/es_template_check.py" "$template" "$tmp"/out/*.jsonl >"$tmp/tmpl.out"; then
    echo "FAIL: the Elasticsearch template does not map the events:"
    sed 's/^/    /' "$tmp/tmpl.out" | head -40
    fail=1
else
    tail -1 "$tmp/tmpl.out"
fi
# ... and the template check fails on a template missing a field the events have.
python3 - "$template" "$tmp/cut.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
del t["template"]["mappings"]["properties"]["related"]
json.dump(t, open(sys.argv[2], "w"))
PY
if python3 "$tools/es_template_check.py" "$tmp/cut.json" "$tmp"/out/*.jsonl >"$tmp/cut.out" ||
    ! grep -q "related.ip .*not mapped" "$tmp/cut.out"; then
    echo "FAIL: es_template_check.py passed a template without related.ip"
    fail=1
fi

# The Splunk add-on.
python3 - "$ta" <<'PY' || fail=1
import configparser, os, sys
ta = sys.argv[1]
bad = 0
def conf(name):
    global bad
    p = os.path.join(ta, "default", name)
    c = configparser.RawConfigParser(strict=True, delimiters=("=",), comment_prefixes=("#",))
    c.optionxform = str
    try:
        with open(p, encoding="utf-8") as f:
            c.read_file(f)
    except (OSError, configparser.Error) as e:
        print("FAIL: %s: %s" % (p, e))
        bad += 1
    return c
app, props, transforms = conf("app.conf"), conf("props.conf"), conf("transforms.conf")
eventtypes, tags = conf("eventtypes.conf"), conf("tags.conf")
if not props.has_section("dnswatch:event") or props.get("dnswatch:event", "KV_MODE", fallback="") != "json":
    print("FAIL: props.conf: sourcetype dnswatch:event with KV_MODE = json")
    bad += 1
for sect in props.sections():
    for k, v in props.items(sect):
        if k.startswith("TRANSFORMS-") or k.startswith("REPORT-"):
            for t in v.split(","):
                if not transforms.has_section(t.strip()):
                    print("FAIL: props.conf [%s] %s names %s, not in transforms.conf" % (sect, k, t.strip()))
                    bad += 1
want = {"network", "resolution", "dns", "ids", "attack"}
have = set()
for sect in tags.sections():
    et = sect.split("=", 1)[1] if sect.startswith("eventtype=") else None
    if not et or not eventtypes.has_section(et):
        print("FAIL: tags.conf [%s]: no such eventtype" % sect)
        bad += 1
    have |= {k for k, v in tags.items(sect) if v == "enabled"}
if not want <= have:
    print("FAIL: tags.conf lacks the CIM tags %s" % sorted(want - have))
    bad += 1
if not app.has_option("launcher", "version"):
    print("FAIL: app.conf: no [launcher] version")
    bad += 1
sys.exit(1 if bad else 0)
PY

if [ "$fail" != 0 ]; then
    exit 1
fi
[ "$collect_live" = 1 ] || dw_skip "no network namespace for the live metrics run (unshare -n / -rn)"
echo "ok: every dataset follows ECS $(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import ecs_check; print(ecs_check.ECS_VERSION)' "$tools"), the template maps every field"
