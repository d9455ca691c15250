#!/usr/bin/env bash
# docs/events.md lists every field the sensor emits. Runs the sensor with --log all over
# every rule scenario capture (`gen_pcap --list-rules`: CASE SCENARIO RULES [ARGS]), a
# run whose reassembly tables overflow (dnswatch.health) and a short live capture on the
# loopback interface of a network namespace of its own (dnswatch.metrics), collects the
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
fail=0

# run NAME PCAP ARGS...: the sensor's output in $tmp/out/NAME.jsonl.
mkdir -p "$tmp/out"
run() {
    local name=$1 pcap=$2
    shift 2
    if ! timeout 120 "$dw" run -r "$pcap" --asn-db "$db" "$@" >"$tmp/out/$name.jsonl" \
        2>"$tmp/$name.err"; then
        echo "FAIL: dnswatch run -r $pcap $* exited non-zero"
        sed 's/^/    /' "$tmp/$name.err" | head -5
        fail=1
    fi
}

if ! cases=$("$gen" --list-rules) || [ -z "$cases" ]; then
    echo "FAIL: gen_pcap --list-rules"
    exit 1
fi
while read -r c s rl extra; do
    [ -n "$c" ] || continue
    pcap="$tmp/$s.pcap"
    if [ "$s" = demo ]; then
        pcap="$DW_SRC/deploy/demo/demo.pcap"
    elif [ ! -f "$pcap" ] && ! "$gen" "$s" "$pcap" >/dev/null; then
        echo "FAIL: gen_pcap $s"
        fail=1
        continue
    fi
    args=()
    IFS=, read -r -a files <<<"$rl"
    for r in "${files[@]}"; do args+=(--rules "$DW_SRC/$r"); done
    # shellcheck disable=SC2206  # extra is a word list on purpose
    args+=($extra --log all)
    run "$c" "$pcap" "${args[@]}"
done <<<"$cases"

# Health: the reassembly tables overflow (one event when it starts, one at the end).
printf 'limits:\n  frag_datagrams: 1024\n  tcp_flows: 1024\n' >"$tmp/small.yaml"
run health "$tmp/r_frag_flood.pcap" -c "$tmp/small.yaml" \
    --rules "$DW_SRC/tests/rules/violations.yaml"
grep -q '"dataset":"dnswatch.health"' "$tmp/out/health.jsonl" ||
    { echo "FAIL: the flood run wrote no health event"; fail=1; }

# dnstap: every message type and socket protocol (tests/tools/gen_dnstap types).
if "$DW_BIN/tests/gen_dnstap" types "$tmp/types.fstrm"; then
    timeout 60 "$dw" run -c none --dnstap "file:$tmp/types.fstrm" --asn-db "$db" --log all \
        --rules "$DW_SRC/tests/data/rules/design-example.yaml" >"$tmp/out/dnstap.jsonl" \
        2>"$tmp/dnstap.err" || { echo "FAIL: the dnstap run exited non-zero"; fail=1; }
    grep -q '"dnstap":' "$tmp/out/dnstap.jsonl" || { echo "FAIL: no dnstap event"; fail=1; }
else
    echo "FAIL: gen_dnstap types"
    fail=1
fi

# Metrics: a live capture on lo in a new network namespace (user namespace when not
# root), one DNS query sent to it, metric events every second.
live=0
if command -v unshare >/dev/null 2>&1; then
    ns=(unshare -n)
    [ "$(id -u)" -eq 0 ] || ns=(unshare -rn)
    printf 'metrics:\n  interval_s: 1\n' >"$tmp/metrics.yaml"
    if "${ns[@]}" true 2>/dev/null; then
        # shellcheck disable=SC2016  # expanded by the inner shell, from its arguments
        timeout 20 "${ns[@]}" bash -c '
            ip link set lo up || exit 1
            "$1" run -c "$2" -i lo --allow-root --asn-db "$3" \
                --rules "$4" >"$5" 2>"$5.err" &
            p=$!
            for _ in $(seq 50); do grep -q "capturing on lo" "$5.err" && break; sleep 0.1; done
            python3 -c "
import socket
q = bytes.fromhex(\"abcd01000001000000000000\") + b\"\x04pypi\x03org\x00\x00\x01\x00\x01\"
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(q, (\"127.0.0.1\", 53))"
            sleep 2.5
            kill -TERM $p
            wait $p' _ "$dw" "$tmp/metrics.yaml" "$db" "$DW_SRC/tests/rules/violations.yaml" \
            "$tmp/out/metrics.jsonl"
        if grep -q '"dataset":"dnswatch.metrics".*"dns_queries"' "$tmp/out/metrics.jsonl"; then
            live=1
        else
            echo "FAIL: the live run wrote no metric event with counters"
            sed 's/^/    /' "$tmp/out/metrics.jsonl.err" | head -5
            fail=1
        fi
    fi
fi

# Every key path emitted must be named in the page.
python3 - "$doc" "$tmp"/out/*.jsonl <<'PY' || fail=1
import json, re, sys
doc = open(sys.argv[1], encoding="utf-8").read()
named = set(re.findall(r"`([^`\s]+)`", doc))
seen = {}
def walk(v, path, where):
    if isinstance(v, dict):
        for k, x in v.items():
            p = path + [k]
            if path == ["dnswatch", "counters"]:
                p = path + ["<counter>"]
            walk(x, p, where)
    elif isinstance(v, list):
        p = path[:-1] + [path[-1] + "[]"]
        seen.setdefault(".".join(p), where)
        for x in v:
            walk(x, p, where)
    else:
        seen.setdefault(".".join(path), where)
datasets = set()
for f in sys.argv[2:]:
    for n, line in enumerate(open(f, encoding="utf-8"), 1):
        e = json.loads(line)
        datasets.add(e["event"]["dataset"])
        walk(e, [], "%s:%d" % (f.rsplit("/", 1)[-1], n))
missing = sorted(p for p in seen if p not in named)
# The page's examples are real events: each parses, and names a dataset.
bad_examples = 0
for n, block in enumerate(re.findall(r"```json\n(.*?)```", doc, re.S), 1):
    try:
        json.loads(block)["event"]["dataset"]
    except (ValueError, KeyError, TypeError) as err:
        print("FAIL: example %d of docs/events.md is not an event: %s" % (n, err))
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
