#!/usr/bin/env bash
# docs/events.md lists every field the sensor emits. Runs the sensor with --log all over
# every rule scenario capture, a run whose reassembly tables overflow (dnswatch.health),
# a dnstap file of every message type and socket protocol and a short live capture
# (dnswatch.metrics) (tests/lib/events.sh), collects the
# key path of every JSON value (arrays as `name[]`, metric counters as
# `dnswatch.counters.<counter>`) and fails on each path that docs/events.md does not
# name in backquotes.
# Exit: 0 pass, 1 fail, 77 skip (no python3, no MaxMind::DB::Writer, or no network
# namespace for the live run; under DW_NO_SKIP=1 those fail).
# By hand: DW_SRC=. DW_BIN=build/dev bash tests/cli/test_event_docs.sh
#          (DW_EVENTS_DOC=FILE checks another copy of the page)
set -u
: "${DW_SRC:?DW_SRC must point at the source tree}"
: "${DW_BIN:?DW_BIN must point at the build tree}"
dw="$DW_BIN/sensor/dnswatch"
gen="$DW_BIN/tests/gen_pcap"
doc=${DW_EVENTS_DOC:-$DW_SRC/docs/events.md}
. "$DW_SRC/tests/lib/common.sh"
command -v python3 >/dev/null 2>&1 || dw_skip "python3 not found"
dw_need_mmdb_writer
dw_tmpdir event-docs
if [ ! -x "$dw" ] || [ ! -x "$gen" ]; then
    echo "FAIL: $dw or $gen not built"
    exit 1
fi
[ -f "$doc" ] || { echo "FAIL: $doc missing"; exit 1; }
db="$tmp/asn.mmdb"
dw_make_mmdb "$db"
. "$DW_SRC/tests/lib/events.sh"
dw_collect_events "$db"
fail=$collect_fail
live=$collect_live

# Every key path emitted must be named in the page.
python3 - "$doc" "$DW_SRC/tests/tools" "$tmp"/out/*.jsonl <<'PY' || fail=1
import json, re, sys
doc = open(sys.argv[1], encoding="utf-8").read()
named = set(re.findall(r"`([^`\s]+)`", doc))
seen = {}
def walk(v, path, where, seen=seen):
    if isinstance(v, dict):
        for k, x in v.items():
            p = path + [k]
            if path == ["dnswatch", "counters"]:
                p = path + ["<counter>"]
            walk(x, p, where, seen)
    elif isinstance(v, list):
        p = path[:-1] + [path[-1] + "[]"]
        seen.setdefault(".".join(p), where)
        for x in v:
            walk(x, p, where, seen)
    else:
        seen.setdefault(".".join(path), where)
datasets = set()
for f in sys.argv[3:]:
    for n, line in enumerate(open(f, encoding="utf-8"), 1):
        e = json.loads(line)
        datasets.add(e["event"]["dataset"])
        walk(e, [], "%s:%d" % (f.rsplit("/", 1)[-1], n))
missing = sorted(p for p in seen if p not in named)
# The page's examples are real events: each parses, names a dataset and follows ECS
# (tests/tools/ecs_check.py), its fields are on the page, and there is one of each kind.
sys.path.insert(0, sys.argv[2])
import ecs_check
bad_examples = 0
kinds = set()
for n, block in enumerate(re.findall(r"```json\n(.*?)```", doc, re.S), 1):
    try:
        ev = json.loads(block)
        ds = ev["event"]["dataset"]
    except (ValueError, KeyError, TypeError) as err:
        print("FAIL: example %d of docs/events.md is not an event: %s" % (n, err))
        bad_examples += 1
        continue
    kinds.add("dnswatch.folded" if "folded" in ev.get("dnswatch", {}) else ds)
    for err in ecs_check.check_event(ev):
        print("FAIL: example %d of docs/events.md (%s): %s" % (n, ds, err))
        bad_examples += 1
    ex = {}
    walk(ev, [], "example", ex)
    for p in sorted(set(ex) - named):
        print("FAIL: example %d of docs/events.md has %s, not on the page" % (n, p))
        bad_examples += 1
for k in sorted({"dnswatch.dns", "dnswatch.alert", "dnswatch.folded", "dnswatch.health",
                 "dnswatch.metrics"} - kinds):
    print("FAIL: docs/events.md has no example of %s" % k)
    bad_examples += 1
for p in missing:
    print("FAIL: %s (first in %s) is not in docs/events.md" % (p, seen[p]))
print("%d key paths in %s, %d missing from the page" % (len(seen), ", ".join(sorted(datasets)),
                                                         len(missing)))
sys.exit(1 if missing or bad_examples else 0)
PY

if [ "$fail" != 0 ]; then
    exit 1
fi
[ "$live" = 1 ] || dw_skip "no network namespace for the live metrics run (unshare -n / -rn)"
echo "ok: every emitted field is in docs/events.md"
