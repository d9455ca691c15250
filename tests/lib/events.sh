# Sourced by the tests that judge the events themselves (tests/cli/test_event_docs.sh,
# test_siem.sh): one run of the sensor per kind of event it can write.
#
#   dw_collect_events DB   with --log all, every rule scenario capture (`gen_pcap
#                          --list-rules`: CASE SCENARIO RULES [ARGS]), a run whose
#                          reassembly tables overflow (dnswatch.health), a dnstap file of
#                          every message type and socket protocol (`gen_dnstap types`)
#                          and a short live capture on the loopback interface of a network
#                          namespace of its own (dnswatch.metrics); the events in
#                          $tmp/out/*.jsonl.
#                          Sets collect_fail=1 on a failure (each printed as FAIL: ...)
#                          and collect_live=1 when the live run took place (0: no
#                          network namespace here, a skip for the caller to decide).
# Needs $dw (the binary), $gen (gen_pcap), $tmp, DW_SRC and DW_BIN (gen_dnstap).

# dw_collect_run NAME PCAP ARGS...: the sensor's output in $tmp/out/NAME.jsonl.
dw_collect_run() {
    local name=$1 pcap=$2
    shift 2
    if ! timeout 120 "$dw" run -r "$pcap" --asn-db "$collect_db" "$@" \
        >"$tmp/out/$name.jsonl" 2>"$tmp/$name.err"; then
        echo "FAIL: dnswatch run -r $pcap $* exited non-zero"
        sed 's/^/    /' "$tmp/$name.err" | head -5
        collect_fail=1
    fi
}

dw_collect_events() {
    collect_db=$1
    collect_fail=0
    collect_live=0
    mkdir -p "$tmp/out"
    local cases c s rl extra pcap r
    if ! cases=$("$gen" --list-rules) || [ -z "$cases" ]; then
        echo "FAIL: gen_pcap --list-rules"
        collect_fail=1
        return
    fi
    while read -r c s rl extra; do
        [ -n "$c" ] || continue
        pcap="$tmp/$s.pcap"
        if [ "$s" = demo ]; then
            pcap="$DW_SRC/deploy/demo/demo.pcap"
        elif [ ! -f "$pcap" ] && ! "$gen" "$s" "$pcap" >/dev/null; then
            echo "FAIL: gen_pcap $s"
            collect_fail=1
            continue
        fi
        local args=() files=()
        IFS=, read -r -a files <<<"$rl"
        for r in "${files[@]}"; do args+=(--rules "$DW_SRC/$r"); done
        # shellcheck disable=SC2206  # extra is a word list on purpose
        args+=($extra --log all)
        dw_collect_run "$c" "$pcap" "${args[@]}"
    done <<<"$cases"

    # Health: the reassembly tables overflow (one event when it starts, one at the end).
    printf 'limits:\n  frag_datagrams: 1024\n  tcp_flows: 1024\n' >"$tmp/small.yaml"
    dw_collect_run health "$tmp/r_frag_flood.pcap" -c "$tmp/small.yaml" \
        --rules "$DW_SRC/tests/rules/violations.yaml"
    grep -q '"dataset":"dnswatch.health"' "$tmp/out/health.jsonl" ||
        { echo "FAIL: the flood run wrote no health event"; collect_fail=1; }

    # dnstap: every message type and socket protocol (tests/tools/gen_dnstap types).
    if "$DW_BIN/tests/gen_dnstap" types "$tmp/types.fstrm" >/dev/null; then
        timeout 60 "$dw" run -c none --dnstap "file:$tmp/types.fstrm" --asn-db "$collect_db" \
            --log all --rules "$DW_SRC/tests/data/rules/design-example.yaml" \
            >"$tmp/out/dnstap.jsonl" 2>"$tmp/dnstap.err" ||
            { echo "FAIL: the dnstap run exited non-zero"; collect_fail=1; }
        grep -q '"dnstap":' "$tmp/out/dnstap.jsonl" ||
            { echo "FAIL: no dnstap event"; collect_fail=1; }
    else
        echo "FAIL: gen_dnstap types"
        collect_fail=1
    fi

    # Metrics: a live capture on lo in a new network namespace (user namespace when not
    # root), one DNS query sent to it, metric events every second.
    command -v unshare >/dev/null 2>&1 || return
    local ns=(unshare -n)
    [ "$(id -u)" -eq 0 ] || ns=(unshare -rn)
    printf 'metrics:\n  interval_s: 1\n' >"$tmp/metrics.yaml"
    "${ns[@]}" true 2>/dev/null || return
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
        wait $p' _ "$dw" "$tmp/metrics.yaml" "$collect_db" \
        "$DW_SRC/tests/rules/violations.yaml" "$tmp/out/metrics.jsonl"
    if grep -q '"dataset":"dnswatch.metrics".*"dns_queries"' "$tmp/out/metrics.jsonl"; then
        collect_live=1
    else
        echo "FAIL: the live run wrote no metric event with counters"
        sed 's/^/    /' "$tmp/out/metrics.jsonl.err" | head -5
        collect_fail=1
    fi
}
