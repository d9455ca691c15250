#!/usr/bin/env bash
# Throughput benchmark: dnswatch reading a capture against the floor (a bare pcap_next_ex
# loop over the same file). Not part of ctest: timings need a quiet machine.
#
#   tests/bench/bench.sh [NPACKETS]          (default 1000000)
#
# Env:
#   DW_BIN          build tree holding tests/gen_pcap, tests/pcap_bare_read, sensor/dnswatch;
#                   unset: configure and build a Release tree in the temp dir
#   DW_SRC          source tree (default: two levels above this script)
#   DW_BENCH_ROUNDS rounds of each command, alternating (default 5; the median is reported)
#   DW_BENCH_PCAP   use this capture instead of generating one
#   DW_BENCH_RULES  passed as --rules   DW_BENCH_ASN_DB  passed as --asn-db
#   DW_BENCH_ARGS   more dnswatch arguments (e.g. "--workers 2")
#   DW_BENCH_PACKS  1 (default): also run, in the same rounds, dnswatch with the shipped pack
#                   deploy/rules and a test ASN database built from tests/data/asn-sample.txt,
#                   and with a big generated pack (tests/bench/make_big_rules.py: 10,000
#                   names over 1000 rules, 100,000 prefixes); 0: skip them
#   DW_BENCH_OUT    null (default): dnswatch's events go to /dev/null; file: to a file
#   DW_KEEP=1       keep the temp dir
set -u

npkts=${1:-1000000}
rounds=${DW_BENCH_ROUNDS:-5}
src=${DW_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

if [ -z "${EPOCHREALTIME:-}" ]; then
    echo "bench.sh needs bash >= 5 (EPOCHREALTIME)" >&2
    exit 2
fi

calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dw-bench.XXXXXX") || exit 1
if [ "${DW_KEEP:-0}" = 1 ]; then
    echo "keeping $tmp"
else
    trap 'rm -rf "$tmp"' EXIT
fi

bin=${DW_BIN:-}
if [ -z "$bin" ]; then
    bin=$tmp/build
    echo "building Release tree in $bin ..."
    cmake -S "$src" -B "$bin" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake.log" 2>&1 ||
        { cat "$tmp/cmake.log"; exit 1; }
    ninja -C "$bin" gen_pcap pcap_bare_read >"$tmp/ninja.log" 2>&1 ||
        { cat "$tmp/ninja.log"; exit 1; }
    ninja -C "$bin" dnswatch >>"$tmp/ninja.log" 2>&1 || echo "note: dnswatch did not build"
fi
gen=$bin/tests/gen_pcap
bare=$bin/tests/pcap_bare_read
dw=$bin/sensor/dnswatch
for t in "$gen" "$bare"; do
    [ -x "$t" ] || { echo "missing $t" >&2; exit 1; }
done

pcap=${DW_BENCH_PCAP:-}
if [ -z "$pcap" ]; then
    pcap=$tmp/bench.pcap
    t0=$EPOCHREALTIME
    "$gen" bench "$npkts" "$pcap" || exit 1
    t1=$EPOCHREALTIME
    printf 'generated %s packets in %.2f s\n' "$npkts" "$(calc "$t1 - $t0")"
fi

dw_args=(run -r "$pcap" --log alerts)
[ -n "${DW_BENCH_RULES:-}" ] && dw_args+=(--rules "$DW_BENCH_RULES")
[ -n "${DW_BENCH_ASN_DB:-}" ] && dw_args+=(--asn-db "$DW_BENCH_ASN_DB")
# shellcheck disable=SC2206  # a word list on purpose
[ -n "${DW_BENCH_ARGS:-}" ] && dw_args+=($DW_BENCH_ARGS)

# Rule packs (needs python3 for the big pack, perl's MaxMind::DB::Writer for the database).
packs=${DW_BENCH_PACKS:-1}
if [ "$packs" = 1 ] && [ -x "$dw" ]; then
    if ! command -v python3 >/dev/null 2>&1 ||
        ! perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null; then
        echo "note: python3 or perl MaxMind::DB::Writer missing; rule packs not measured"
        packs=0
    elif ! perl "$src/tests/tools/make_test_mmdb.pl" "$tmp/asn.mmdb" \
        "$src/tests/data/asn-sample.txt" >"$tmp/mmdb.log" 2>&1 ||
        ! python3 "$src/tests/bench/make_big_rules.py" "$tmp/big-rules" >"$tmp/big.log" 2>&1; then
        cat "$tmp/mmdb.log" "$tmp/big.log" 2>/dev/null
        exit 1
    fi
    "$gen" udp4_a "$tmp/tiny.pcap" || exit 1
else
    packs=0
fi
def_args=(run -r "$pcap" --log alerts --rules "$src/deploy/rules" --asn-db "$tmp/asn.mmdb")
big_args=(run -r "$pcap" --log alerts --rules "$tmp/big-rules")
load_args=(run -r "$tmp/tiny.pcap" --log alerts --rules "$tmp/big-rules")
if [ -n "${DW_BENCH_ARGS:-}" ]; then
    # shellcheck disable=SC2206  # a word list on purpose
    def_args+=($DW_BENCH_ARGS)
    # shellcheck disable=SC2206
    big_args+=($DW_BENCH_ARGS)
fi

have_time=0
[ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1 && have_time=1

# Where dnswatch's events go: /dev/null by default, so that the ratios compare the work of
# reading and judging, not the file system's write speed (every event is still encoded and
# written); DW_BENCH_OUT=file writes them to a file in the temp dir instead (the shipped
# pack writes some 50 MB of alerts per 1M packets). The bare read prints one line.
out_to=/dev/null
[ "${DW_BENCH_OUT:-null}" = file ] && out_to=$tmp/events

# Runs one command, stdout to $out (default $tmp/out); sets WALL (s) and RSS (KB, peak).
measure() {
    local t0 t1 rc pid hwm
    local out=${OUT:-$tmp/out}
    RSS=0
    if [ "$have_time" = 1 ]; then
        t0=$EPOCHREALTIME
        /usr/bin/time -f %M -o "$tmp/rss" "$@" >"$out" 2>"$tmp/err"
        rc=$?
        t1=$EPOCHREALTIME
        RSS=$(tail -n 1 "$tmp/rss")
    else
        # No GNU time: sample VmHWM (peak RSS) from /proc until the process is gone.
        t0=$EPOCHREALTIME
        "$@" >"$out" 2>"$tmp/err" &
        pid=$!
        while kill -0 "$pid" 2>/dev/null; do
            hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
            [ -n "$hwm" ] && RSS=$hwm
            sleep 0.01
        done
        wait "$pid"
        rc=$?
        t1=$EPOCHREALTIME
    fi
    WALL=$(calc "$t1 - $t0")
    if [ "$rc" != 0 ]; then
        echo "command failed ($rc): $*" >&2
        head -20 "$tmp/err" >&2
        exit 1
    fi
}

# The sensor's own count from its summary on stderr (0 without rules).
alerts_written() { awk '/alerts written:/ {n = $NF} END {print n + 0}' "$tmp/err"; }

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# Per-round ratios of two equally long lists (a round's runs follow each other, so they
# share that moment's load on a busy machine): "median (min-max)".
round_ratios() {
    local -n num=$1 den=$2
    local r=() i
    for ((i = 0; i < ${#num[@]}; i++)); do
        r+=("$(calc "${num[$i]} / ${den[$i]}")")
    done
    printf '%.2fx (%.2f-%.2f)' "$(median "${r[@]}")" \
        "$(printf '%s\n' "${r[@]}" | sort -g | head -n 1)" \
        "$(printf '%s\n' "${r[@]}" | sort -g | tail -n 1)"
}

bare_t=() dw_t=() dw_rss=() def_t=() def_rss=() big_t=() big_rss=() load_t=()
run_dw=1
if [ ! -x "$dw" ]; then
    echo "note: $dw not built; measuring the floor only"
    run_dw=0
fi
cat "$pcap" >/dev/null # warm the page cache: every round then reads from memory
for ((i = 1; i <= rounds; i++)); do
    measure "$bare" "$pcap"
    bare_t+=("$WALL")
    bare_rss=$RSS
    read -r _ pkts _ < "$tmp/out"
    if [ "$run_dw" = 1 ]; then
        OUT=$out_to measure "$dw" "${dw_args[@]}"
        dw_t+=("$WALL")
        dw_rss+=("$RSS")
        alerts=$(alerts_written)
    fi
    if [ "$packs" = 1 ]; then
        OUT=$out_to measure "$dw" "${def_args[@]}"
        def_t+=("$WALL")
        def_rss+=("$RSS")
        def_alerts=$(alerts_written)
        OUT=$out_to measure "$dw" "${big_args[@]}"
        big_t+=("$WALL")
        big_rss+=("$RSS")
        big_alerts=$(alerts_written)
        OUT=$out_to measure "$dw" "${load_args[@]}"
        load_t+=("$WALL")
    fi
done

bm=$(median "${bare_t[@]}")
echo
echo "capture:  $pcap ($pkts packets, $(du -m "$pcap" | cut -f1) MB)"
echo "rounds:   $rounds of each, alternating; median wall time"
printf '%-16s %8.3f s  %7.2f Mpkt/s  (runs: %s)  max RSS %s KB\n' pcap_bare_read "$bm" \
    "$(calc "$pkts / $bm / 1000000")" "$(printf '%.3f ' "${bare_t[@]}")" "$bare_rss"
if [ "$run_dw" = 1 ]; then
    dm=$(median "${dw_t[@]}")
    maxrss=$(printf '%s\n' "${dw_rss[@]}" | sort -n | tail -n 1)
    printf '%-16s %8.3f s  %7.2f Mpkt/s  (runs: %s)  max RSS %s KB\n' dnswatch "$dm" \
        "$(calc "$pkts / $dm / 1000000")" "$(printf '%.3f ' "${dw_t[@]}")" "$maxrss"
    echo "dnswatch args:  ${dw_args[*]}   (alerts of the last run: $alerts; events to $out_to)"
    printf 'ratio dnswatch/bare: %.1fx\n' "$(calc "$dm / $bm")"
else
    exit 1
fi
if [ "$packs" = 1 ]; then
    fm=$(median "${def_t[@]}")
    gm=$(median "${big_t[@]}")
    lm=$(median "${load_t[@]}")
    echo
    printf '%-16s %8.3f s  %7.2f Mpkt/s  (runs: %s)  max RSS %s KB  alerts %s\n' \
        "default pack" "$fm" "$(calc "$pkts / $fm / 1000000")" "$(printf '%.3f ' "${def_t[@]}")" \
        "$(printf '%s\n' "${def_rss[@]}" | sort -n | tail -n 1)" "$def_alerts"
    printf '%-16s %8.3f s  %7.2f Mpkt/s  (runs: %s)  max RSS %s KB  alerts %s\n' \
        "big pack" "$gm" "$(calc "$pkts / $gm / 1000000")" "$(printf '%.3f ' "${big_t[@]}")" \
        "$(printf '%s\n' "${big_rss[@]}" | sort -n | tail -n 1)" "$big_alerts"
    echo "default pack:   deploy/rules + test ASN db ($(grep -c '^id:' "$src"/deploy/rules/*.yaml |
        awk -F: '{n += $2} END {print n}') rules)"
    echo "big pack:       $(tail -n 1 "$tmp/big.log")"
    printf 'big pack load (run on a 2-packet capture): %.3f s\n' "$lm"
    printf 'ratio default/bare: %.1fx   big/bare: %.1fx   big/default: %.2fx\n' \
        "$(calc "$fm / $bm")" "$(calc "$gm / $bm")" "$(calc "$gm / $fm")"
    printf 'ratio big/default, load time taken out: %.2fx\n' "$(calc "($gm - $lm) / $fm")"
    big_noload=()
    for ((i = 0; i < ${#big_t[@]}; i++)); do
        big_noload+=("$(calc "${big_t[$i]} - ${load_t[$i]}")")
    done
    echo "per-round ratios, median (min-max):"
    echo "  dnswatch/bare $(round_ratios dw_t bare_t)   default/bare $(round_ratios def_t bare_t)"
    echo "  big/default $(round_ratios big_t def_t)   without the load $(round_ratios big_noload def_t)"
fi
