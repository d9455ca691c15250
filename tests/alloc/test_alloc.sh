#!/usr/bin/env bash
# No allocation per packet in steady state: the number of heap allocations of a run over
# 200 000 packets must be (nearly) the same as over 20 000 packets of the same mix, with
# rules loaded and alerts written. Counted by an LD_PRELOAD shim (malloc_count.c).
set -u
dw="$DW_BIN/sensor/dnswatch"
shim="$DW_BIN/tests/libdw_malloc_count.so"
src=${DW_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
DW_SRC=$src
. "$src/tests/lib/common.sh"
# ctest runs this only in builds that make the shim (not the sanitizer builds).
[ -f "$shim" ] || { echo "FAIL: $shim not built"; exit 1; }
dw_need_mmdb_writer
dw_tmpdir alloc
dw_make_mmdb "$tmp/asn.mmdb"
"$DW_BIN/tests/gen_pcap" bench 20000 "$tmp/small.pcap" >/dev/null
"$DW_BIN/tests/gen_pcap" bench 200000 "$tmp/big.pcap" >/dev/null

count() { # PCAP ARGS...
    local f=$1; shift
    DW_MALLOC_COUNT_FILE="$tmp/count" LD_PRELOAD="$shim" "$dw" run -r "$f" "$@" >"$tmp/out" 2>"$tmp/err" ||
        { echo "dnswatch failed: $(cat "$tmp/err")" >&2; echo 999999999; return; }
    cat "$tmp/count"
}

fail=0
for mode in "--log alerts" "--log all"; do
    # shellcheck disable=SC2086
    small=$(count "$tmp/small.pcap" --rules "$src/tests/data/rules/design-example.yaml" --asn-db "$tmp/asn.mmdb" --fold 0 $mode)
    # shellcheck disable=SC2086
    big=$(count "$tmp/big.pcap" --rules "$src/tests/data/rules/design-example.yaml" --asn-db "$tmp/asn.mmdb" --fold 0 $mode)
    lines=$(wc -l <"$tmp/out")
    # 180 000 more packets (and thousands more events) may cost a few allocations (a
    # table reaching its high-water mark), not one per packet or per event.
    if [ "$((big - small))" -gt 100 ]; then
        echo "FAIL ($mode): $small allocations for 20k packets, $big for 200k ($lines events)"
        fail=1
    else
        echo "ok ($mode): $small allocations for 20k packets, $big for 200k ($lines events)"
    fi
done
exit $fail
