#!/usr/bin/env bash
# Builds dnswatch and runs it on the bundled demo capture, printing what it found.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/deploy/install-deps.sh"
cmake -S "$top" -B "$top/build/release" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDNSWATCH_TESTS=OFF >/dev/null
ninja -C "$top/build/release" >/dev/null
echo "== dnswatch run -r deploy/demo/demo.pcap --log all ==" >&2
"$top/build/release/sensor/dnswatch" run -r "$top/deploy/demo/demo.pcap" --log all --name demo
