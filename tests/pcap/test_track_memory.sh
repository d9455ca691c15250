#!/usr/bin/env bash
# The exchange table's memory bound under a flood (issue 11): `gen_pcap trackflood` writes
# 250 000 queries nobody answers and 250 000 forged responses, with the near-miss flood of
# r_txid_flood against 10.1.2.41 in the middle. `dnswatch run -r` with the default limits
# must stay under 128 MiB peak RSS (getrusage of the child), count its evictions (exit
# counters and the metrics textfile), and still raise that one alert, once.
# Run by ctest with DW_SRC, DW_BIN set; by hand:
#   DW_SRC=. DW_BIN=/tmp/build bash tests/pcap/test_track_memory.sh
# Exit: 0 pass, 1 fail, 77 skip (no python3; under DW_NO_SKIP=1 that fails too).
set -u

: "${DW_SRC:?DW_SRC must point at the source tree}"
: "${DW_BIN:?DW_BIN must point at the build tree}"

. "$DW_SRC/tests/lib/common.sh"

command -v python3 >/dev/null 2>&1 || dw_skip "python3 not found (it measures the peak RSS)"
dw_tmpdir trackmem

gen=$DW_BIN/tests/gen_pcap
dw=${DW_DNSWATCH:-$DW_BIN/sensor/dnswatch}
"$gen" trackflood "$tmp/flood.pcap" || { echo "FAIL: gen_pcap trackflood"; exit 1; }
printf 'metrics:\n  textfile: %s/dnswatch.prom\n' "$tmp" >"$tmp/config.yaml"

python3 - "$dw" "$tmp" "$DW_SRC/tests/rules/track.yaml" <<'PY'
import json, re, resource, subprocess, sys

dw, tmp, rules = sys.argv[1:4]
LIMIT_KIB = 128 * 1024
fails = []
for workers in ("1", "2"):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p = subprocess.run([dw, "run", "-c", tmp + "/config.yaml", "-r", tmp + "/flood.pcap",
                        "--rules", rules, "--workers", workers],
                       capture_output=True, text=True, timeout=300)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    tag = "--workers " + workers
    if p.returncode != 0:
        fails.append(f"{tag}: exit {p.returncode}: {p.stderr[-500:]}")
        continue
    # ru_maxrss of the children is the largest of any child so far: the first run
    # (1 worker) is measured alone, the second cannot lower it.
    print(f"{tag}: peak RSS {rss} KiB (limit {LIMIT_KIB})")
    if rss >= LIMIT_KIB:
        fails.append(f"{tag}: peak RSS {rss} KiB, over 128 MiB")
    def counter(text):
        m = re.search(r"^dnswatch: info: " + re.escape(text) + r": (\d+)$", p.stderr, re.M)
        return int(m.group(1)) if m else 0
    for text in ("tracked queries evicted unanswered, table full",
                 "client/server pairs evicted, tracking table full"):
        if counter(text) == 0:
            fails.append(f"{tag}: no eviction counted ('{text}')")
    prom = open(tmp + "/dnswatch.prom").read()
    # (a table limit losing input: a reason of dnswatch_decode_errors_total)
    if not re.search(r'^dnswatch_decode_errors_total\{reason="track_queries_evicted"\} [1-9]',
                     prom, re.M):
        fails.append(f"{tag}: the metrics textfile has no track_queries_evicted count")
    alerts = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    alerts = [a for a in alerts if a["event"]["kind"] == "alert"]
    ok = (len(alerts) == 1 and alerts[0]["rule"]["id"] == "t-track" and
          alerts[0]["client"]["ip"] == "10.1.2.41" and
          alerts[0]["dnswatch"]["violations"] == ["txid_mismatch_flood"] and
          alerts[0]["dnswatch"]["findings"][0]["responses"] == 40)
    if not ok:
        fails.append(f"{tag}: expected the one txid_mismatch_flood alert for 10.1.2.41, got "
                     f"{len(alerts)}: " + "; ".join(a["event"]["reason"] for a in alerts[:3]))
for f in fails:
    print("FAIL:", f)
sys.exit(1 if fails else 0)
PY
rc=$?
[ "$rc" = 0 ] && echo "track memory: pass"
exit "$rc"
