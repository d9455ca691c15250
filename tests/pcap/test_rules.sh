#!/usr/bin/env bash
# Rule tests: the rule cases of gen_pcap (`gen_pcap --list-rules`: CASE SCENARIO RULES
# [ARGS], the one table of them, RULE_SCENARIOS in tests/tools/gen_pcap.c) run through
# `dnswatch run -r SCENARIO.pcap --rules RULES --asn-db TEST.mmdb ARGS`, and the alerts
# checked against tests/rules/<case>.expect (check_expect.py, `select: event.kind=alert`).
# Every violation has a capture that raises it and a benign twin that raises nothing; the
# twins are also run on the bad capture, where they must fail (so a silent sensor cannot
# pass). The shipped pack deploy/rules is checked on ordinary traffic (no alert) and on
# deploy/demo/demo.pcap (which must be what `gen_pcap demo` writes).
#
# The ASN database is built from tests/data/asn-sample.txt with make_test_mmdb.pl.
# Run by ctest with DW_SRC, DW_BIN set; by hand:
#   DW_SRC=. DW_BIN=/tmp/build bash tests/pcap/test_rules.sh [CASE...]
# Env: DW_KEEP=1 keeps the temp dir; DW_PCAP_ARGS adds arguments to every dnswatch run;
# DW_DNSWATCH overrides the binary.
# Exit: 0 pass, 1 fail, 77 skip (no python3 or no MaxMind::DB::Writer; under DW_NO_SKIP=1
# those fail too).
set -u

: "${DW_SRC:?DW_SRC must point at the source tree}"
: "${DW_BIN:?DW_BIN must point at the build tree}"

rules=$DW_SRC/tests/rules
gen=$DW_BIN/tests/gen_pcap
dw=${DW_DNSWATCH:-$DW_BIN/sensor/dnswatch}
demo_pcap=$DW_SRC/deploy/demo/demo.pcap

. "$DW_SRC/tests/lib/common.sh"

command -v python3 >/dev/null 2>&1 || dw_skip "python3 not found (the expectation checker needs it)"
py=$(python3 -c 'import sys; print(sys.executable)') || exit 1
check="$py $DW_SRC/tests/pcap/check_expect.py"
dw_need_mmdb_writer
dw_tmpdir rules

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# 1. The cases and the .expect files agree; captures are deterministic; the committed
# demo capture is the generated one.
[ -x "$gen" ] || { echo "FAIL: $gen not built"; exit 1; }
CASES=$("$gen" --list-rules) || { echo "FAIL: gen_pcap --list-rules"; exit 1; }
[ -n "$CASES" ] || { echo "FAIL: gen_pcap --list-rules lists no case"; exit 1; }
table_cases=$(awk 'NF {print $1}' <<<"$CASES")
scenarios=$(awk 'NF && !seen[$2]++ {print $2}' <<<"$CASES")
dups=$(sort <<<"$table_cases" | uniq -d)
[ -z "$dups" ] || fail "cases listed twice by gen_pcap --list-rules: $dups"
for c in $table_cases; do
    [ -f "$rules/$c.expect" ] || fail "case $c has no $rules/$c.expect"
done
for e in "$rules"/*.expect; do
    grep -qx "$(basename "$e" .expect)" <<<"$table_cases" || fail "$e belongs to no case"
done
for s in $scenarios; do
    if ! "$gen" "$s" "$tmp/$s.pcap" || ! "$gen" "$s" "$tmp/$s.again.pcap"; then
        fail "gen_pcap $s"
        continue
    fi
    cmp -s "$tmp/$s.pcap" "$tmp/$s.again.pcap" || fail "gen_pcap $s is not deterministic"
done
if [ ! -f "$demo_pcap" ]; then
    fail "$demo_pcap missing (gen_pcap demo deploy/demo/demo.pcap)"
elif ! cmp -s "$demo_pcap" "$tmp/demo.pcap"; then
    fail "$demo_pcap differs from 'gen_pcap demo': regenerate it and commit"
fi

# 2. The test ASN database.
db=$tmp/asn.mmdb
dw_make_mmdb "$db"

# 3. The sensor must exist.
[ -x "$dw" ] || { fail "$dw not built"; exit 1; }

# Runs dnswatch; RUN_OUT gets stdout. Args: NAME PCAP RULEPATHS(comma-separated|-) EXTRA...
run_dw() {
    local name=$1 pcap=$2 rl=$3 rc
    shift 3
    local args=(run -r "$pcap")
    if [ "$rl" != - ]; then
        local IFS=,
        for r in $rl; do args+=(--rules "$DW_SRC/$r"); done
        unset IFS
    fi
    # shellcheck disable=SC2206  # DW_PCAP_ARGS is a word list on purpose
    args+=("$@" ${DW_PCAP_ARGS:-})
    RUN_OUT=$tmp/$name.jsonl
    timeout 120 "$dw" "${args[@]}" >"$RUN_OUT" 2>"$tmp/$name.stderr"
    rc=$?
    if [ "$rc" != 0 ]; then
        fail "$name: dnswatch ${args[*]} exited $rc"
        sed 's/^/    stderr: /' "$tmp/$name.stderr" | head -20
        return 1
    fi
    return 0
}

# Checks an .expect file cannot state. amplify: every line within the event size bound
# (64 KiB, newline included). fold_victim: the summary continues the alert written first.
extra_checks() { # CASE OUTPUT
    case $1 in
    amplify)
        awk -v max=65536 'length($0) + 1 > max { bad++ } END { exit bad > 0 }' "$2" ||
            fail "$1: an event line exceeds 64 KiB"
        ;;
    fold_victim)
        "$py" - "$2" <<'PY' || fail "$1: the summary's dnswatch.continues is not the first alert's event.id"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
alerts = [e for e in ev if e["event"]["kind"] == "alert"]
first = [e for e in alerts if "folded" not in e.get("dnswatch", {})]
summ = [e for e in alerts if "folded" in e.get("dnswatch", {})]
sys.exit(0 if len(first) == 1 and len(summ) == 1 and
         summ[0]["dnswatch"]["continues"] == first[0]["event"]["id"] else 1)
PY
        ;;
    esac
}

pcap_of() { # SCENARIO
    if [ "$1" = demo ]; then echo "$demo_pcap"; else echo "$tmp/$1.pcap"; fi
}

# 4. The cases.
want=" $* "
while read -r c s rl extra; do
    [ -n "$c" ] || continue
    [ $# -eq 0 ] || [[ "$want" == *" $c "* ]] || continue
    # shellcheck disable=SC2086  # extra is a word list on purpose
    run_dw "$c" "$(pcap_of "$s")" "$rl" --asn-db "$db" $extra || continue
    if $check --name "$c" "$rules/$c.expect" "$RUN_OUT"; then
        echo "ok: $c"
    else
        fail "$c: alerts do not match $rules/$c.expect"
    fi
    extra_checks "$c" "$RUN_OUT"
    # A benign twin's expectation must reject the capture it is the twin of.
    if [[ "$c" == *_ok ]]; then
        bad=${s%_ok}
        # shellcheck disable=SC2086
        if run_dw "$c.on-bad" "$(pcap_of "$bad")" "$rl" --asn-db "$db" $extra; then
            if $check --name "$c-on-$bad" "$rules/$c.expect" "$RUN_OUT" >/dev/null 2>&1; then
                fail "$c.expect also passes on $bad: the twin proves nothing"
            fi
        fi
    fi
done <<<"$CASES"

if [ $# -eq 0 ]; then
    # 5. Modes. --log all: each response is also an event line, alerts come beside it.
    if run_dw log-all "$tmp/r_asn_mismatch.pcap" tests/rules/violations.yaml --asn-db "$db" \
        --log all; then
        printf 'count: 2\nevent 0: dns.question.name=pypi.org dns.question.type=A\n' \
            >"$tmp/log-all-events.expect"
        printf 'select: event.kind=alert\ncount: 1\nevent 0: rule.id=t-asn\n' \
            >"$tmp/log-all-alerts.expect"
        if $check --name log-all-events "$tmp/log-all-events.expect" "$RUN_OUT" &&
            $check --name log-all-alerts "$tmp/log-all-alerts.expect" "$RUN_OUT"; then
            echo "ok: --log all"
        else
            fail "--log all: events or alerts missing"
        fi
    fi
    # Answers in shapes stub resolvers accept are counted as they are judged.
    for cc in "qr_clear:DNS answers with QR clear, taken as responses: 1" \
        "no_question:DNS responses without a question: 1" \
        "musl_view:DNS answers musl would read differently: 1" \
        "musl_view_ok:DNS answers musl would read differently: 1" \
        "musl_question:DNS answers musl would read differently: 1"; do
        c=${cc%%:*}
        if grep -qF "dnswatch: info: ${cc#*:}" "$tmp/$c.stderr"; then
            echo "ok: $c counted"
        else
            fail "$c: no line 'dnswatch: info: ${cc#*:}' in the run's report"
        fi
    done
    # Without --rules nothing is judged: in --log alerts mode nothing is printed.
    if run_dw no-rules "$tmp/r_rebinding.pcap" - --asn-db "$db"; then
        if [ -s "$RUN_OUT" ]; then
            fail "no --rules: expected no output, got $(wc -l <"$RUN_OUT") line(s)"
        else
            echo "ok: no --rules, no output"
        fi
    fi
    # --asn-db none: ASN checks are off, the rest still runs.
    printf 'select: event.kind=alert\ncount: 0\n' >"$tmp/none0.expect"
    printf 'select: event.kind=alert\ncount: 1\nevent 0: rule.id=t-rebind\n' >"$tmp/none1.expect"
    if run_dw asn-none-asn "$tmp/r_asn_mismatch.pcap" tests/rules/violations.yaml \
        --asn-db none; then
        $check --name asn-none-asn "$tmp/none0.expect" "$RUN_OUT" ||
            fail "--asn-db none: ASN findings without a database"
    fi
    if run_dw asn-none-rebind "$tmp/r_rebinding.pcap" tests/rules/violations.yaml \
        --asn-db none; then
        if $check --name asn-none-rebind "$tmp/none1.expect" "$RUN_OUT"; then
            echo "ok: --asn-db none"
        else
            fail "--asn-db none: rebinding check lost"
        fi
    fi

    # Reassembly under a flood with tables far smaller than the flood (the old defaults,
    # 1024 entries): the claims still keep the resolver's answer (the junk is evicted,
    # never the datagram or flow from the known DNS server), and the pressure is one
    # health event when it starts and one when it ends (here: the end of the input).
    # With the default tables the 20 000 junk entries fit: no pressure, no event.
    printf 'limits:\n  frag_datagrams: 1024\n  tcp_flows: 1024\n' >"$tmp/small-tables.yaml"
    printf 'select: event.kind=alert\ncount: 1\nevent 0: rule.id=t-asn dnswatch.findings.0.ip=45.33.20.5\n' \
        >"$tmp/flood-alert.expect"
    printf '%s\n' 'select: event.dataset=dnswatch.health' 'count: 2' \
        "event 0: event.action=reassembly-eviction event.outcome=failure event.reason~'^reassembly tables full: [0-9]+ .*\\(0 from known DNS servers\\)'" \
        "event 0: dnswatch.details.0~'lost to a full table'" \
        "event 1: event.action=reassembly-eviction event.outcome=success event.reason~'no longer full \\(end of input\\)'" \
        >"$tmp/flood-health.expect"
    printf 'select: event.dataset=dnswatch.health\ncount: 0\n' >"$tmp/flood-calm.expect"
    for s in r_frag_flood r_tcp_flood; do
        if run_dw "$s-small" "$tmp/$s.pcap" tests/rules/violations.yaml --asn-db "$db" \
            -c "$tmp/small-tables.yaml"; then
            if $check --name "$s-small-alert" "$tmp/flood-alert.expect" "$RUN_OUT" &&
                $check --name "$s-small-health" "$tmp/flood-health.expect" "$RUN_OUT"; then
                echo "ok: $s with 1024-entry tables: alert kept, pressure reported"
            else
                fail "$s with 1024-entry tables: alert or health events wrong"
            fi
        fi
        if run_dw "$s-calm" "$tmp/$s.pcap" tests/rules/violations.yaml --asn-db "$db"; then
            $check --name "$s-calm" "$tmp/flood-calm.expect" "$RUN_OUT" ||
                fail "$s: default tables under 20 000 junk entries reported pressure"
        fi
    done

    # 6. The rule files lint clean (warnings allowed).
    for p in deploy/rules tests/rules/violations.yaml tests/rules/exception_live.yaml \
        tests/rules/exception_expired.yaml tests/rules/status.yaml; do
        "$dw" check-rules "$DW_SRC/$p" >"$tmp/check.out" 2>&1
        rc=$?
        if [ "$rc" != 0 ] || grep -q ': error:' "$tmp/check.out"; then
            fail "check-rules $p exited $rc"
            sed 's/^/    /' "$tmp/check.out" | head -20
        else
            echo "ok: check-rules $p"
        fi
    done
fi

if [ "$failures" != 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all rule tests passed"
exit 0
