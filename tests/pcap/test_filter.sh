#!/usr/bin/env bash
# The default capture filter (sensor/capfilter.c) against every capture we have: each
# gen_pcap scenario (tests/pcap and the rule scenarios), a bench capture, and every
# third-party capture under $DW_CORPUS. filtercheck decodes each capture twice,
# all frames and only the frames the compiled filter passes (pcap_offline_filter, as the
# kernel runs it), and requires the same DNS messages from both. It also checks that the
# filter drops ordinary non-DNS frames and fits the kernel's instruction limit with 16
# ports.
#
# The filter dnswatch shipped before (flat "vlan and vlan", no extension headers, no
# tunnels) is kept here as a fixture: it must FAIL on qinq and ip6_exthdr, so this test
# is known to catch the loss it guards against.
#
# Run by ctest with DW_SRC, DW_BIN, DW_CORPUS set. Exit: 0 pass, 1 fail, 77 no corpus
# after all else passed (a failure under DW_NO_SKIP=1).
set -u
: "${DW_SRC:?DW_SRC must point at the source tree}"
: "${DW_BIN:?DW_BIN must point at the build tree}"
DW_CORPUS=${DW_CORPUS:-$DW_SRC/../shared/corpus}
. "$DW_SRC/tests/lib/common.sh"
gen=$DW_BIN/tests/gen_pcap
fc=$DW_BIN/tests/filtercheck

dw_tmpdir filter
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for s in $("$gen" --list) $("$gen" --list-rules | awk '!seen[$2]++ {print $2}'); do
    "$gen" "$s" "$tmp/$s.pcap" || fail "gen_pcap $s"
done
"$gen" bench 3000 "$tmp/bench.pcap" >/dev/null || fail "gen_pcap bench"

"$fc" --self-test || fail "self-test (default port)"
"$fc" --self-test --port 53 --port 5353 >"$tmp/st2.log" || { cat "$tmp/st2.log"; fail "self-test (53, 5353)"; }
ports16=()
for p in 53 853 5353 5300 1053 2053 3053 4053 6053 7053 8053 9053 10053 11053 12053 13053; do
    ports16+=(--port "$p")
done
"$fc" --self-test "${ports16[@]}" >"$tmp/st16.log" || { cat "$tmp/st16.log"; fail "self-test (16 ports)"; }
head -1 "$tmp/st16.log"

"$fc" "$tmp"/*.pcap >"$tmp/gen.log" || fail "default filter loses DNS in gen_pcap captures"
grep -v '^ok:' "$tmp/gen.log"
echo "ok: $(grep -c '^ok:' "$tmp/gen.log") gen_pcap captures keep every DNS message"
"$fc" --port 53 --port 5353 "$tmp/port5353.pcap" || fail "port5353 with ports 53 and 5353"

no_corpus=
if [ -d "$DW_CORPUS" ]; then
    mapfile -t corpus < <(find "$DW_CORPUS" -name '*.pcap' | sort)
    "$fc" "${corpus[@]}" >"$tmp/corpus.log" || fail "default filter loses DNS in the shared corpus"
    grep -v '^ok:' "$tmp/corpus.log"
    echo "ok: ${#corpus[@]} corpus captures checked"
else
    no_corpus="conformance corpus $DW_CORPUS absent (CMake: DNSWATCH_TEST_CORPUS)"
fi

# The old filter must be caught losing QinQ and IPv6 with extension headers.
inner='(port 53 or (ip and ip[6:2] & 0x1fff != 0) or (ip6 and ip6[6] == 44))'
old="$inner or (vlan and $inner) or (vlan and vlan and $inner)"
for s in qinq ip6_exthdr vxlan; do
    if "$fc" --filter "$old" "$tmp/$s.pcap" >"$tmp/old-$s.log"; then
        fail "the old filter passes $s: this test would not catch its loss"
    else
        echo "ok: the old filter is caught losing $s"
    fi
done

if [ "$failures" != 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
[ -z "$no_corpus" ] || dw_skip "$no_corpus; everything else passed"
echo "all filter tests passed"
