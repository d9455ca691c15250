#!/usr/bin/env bash
# Builds dnswatch and runs it on the bundled demo capture with the shipped rule pack,
# printing the alerts it finds. The ASN database is a small one built from
# tests/data/asn-sample.txt (real allocations of the registries' operators); production
# uses a GeoLite2-ASN or DB-IP ASN Lite file.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/deploy/install-deps.sh"
out=$top/build/release
cmake -S "$top" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$out" >/dev/null
perl "$top/tests/tools/make_test_mmdb.pl" "$out/demo-asn.mmdb" "$top/tests/data/asn-sample.txt"

echo "== dnswatch run -r deploy/demo/demo.pcap --rules deploy/rules --asn-db demo-asn.mmdb ==" >&2
"$out/sensor/dnswatch" run -r "$top/deploy/demo/demo.pcap" --rules "$top/deploy/rules" \
    --asn-db "$out/demo-asn.mmdb" --name demo-sensor |
    if command -v python3 >/dev/null; then
        # One readable line per alert, then the full JSON for the SIEM's point of view.
        tee "$out/demo-alerts.jsonl" | python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    print("ALERT %-12s %-28s %s" % (e["rule"]["id"], ",".join(e["dnswatch"]["violations"]),
                                   e["event"]["reason"]))
'
        echo "(full JSON events: $out/demo-alerts.jsonl)" >&2
    else
        cat
    fi
