#!/usr/bin/env bash
# Pcap-driven tests: every scenario capture of gen_pcap, and a few third-party captures,
# are run through `dnswatch run -r FILE --log all`; the JSON lines it prints are checked
# against tests/pcap/<scenario>.expect (and tests/pcap/corpus/<file>.expect) by
# check_expect.py, which also rejects any output line that is not one valid JSON object.
#
# Run by ctest with DW_SRC, DW_BIN, DW_CORPUS set; by hand:
#   DW_SRC=. DW_BIN=/tmp/build DW_CORPUS=../shared/corpus bash tests/pcap/test_pcap.sh [SCENARIO...]
# Env: DW_KEEP=1 keeps the temp dir (captures and outputs); DW_PCAP_ARGS adds arguments to
# every dnswatch run (e.g. "--workers 1").
# Exit: 0 pass, 1 fail, 77 skip (no python3, or no corpus after all else passed; under
# DW_NO_SKIP=1 those fail too).
set -u

: "${DW_SRC:?DW_SRC must point at the source tree}"
: "${DW_BIN:?DW_BIN must point at the build tree}"
DW_CORPUS=${DW_CORPUS:-$DW_SRC/../shared/corpus}
. "$DW_SRC/tests/lib/common.sh"

here=$DW_SRC/tests/pcap
gen=$DW_BIN/tests/gen_pcap
dw=$DW_BIN/sensor/dnswatch
CORPUS_FILES="dns.pcap vlan11.pcap frags.pcap dns6.pcap sll2.pcap edns.pcap dnsotcp-many1pkt.pcap dnso1tcp.pcap dnsotcp-manyopkts.pcap 1qtcpnosyn.pcap 1qtcppadd.pcap dnspad.pcap ether_padd.pcap"

command -v python3 >/dev/null 2>&1 || dw_skip "python3 not found (the expectation checker needs it)"
# Resolve the interpreter once: version-manager shims (pyenv) cost ~0.5 s per start.
py=$(python3 -c 'import sys; print(sys.executable)') || exit 1
check="$py $here/check_expect.py"

dw_tmpdir pcap

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# 1. The checker must be able to fail: known-good expectations pass, deliberately wrong
# ones exit 1, broken output exits 1, broken .expect files exit 2.
st=$here/selftest
expect_rc() { # RC EXPECT OUTPUT
    local want=$1 got
    $check --name "selftest:$(basename "$2")" "$2" "$3" >"$tmp/selftest.log" 2>&1
    got=$?
    if [ "$got" != "$want" ]; then
        fail "checker self-test: $(basename "$2") on $(basename "$3") exited $got, expected $want"
        sed 's/^/    /' "$tmp/selftest.log"
    fi
}
for e in "$st"/pass*.expect; do expect_rc 0 "$e" "$st/fake_output.jsonl"; done
for e in "$st"/fail_*.expect; do expect_rc 1 "$e" "$st/fake_output.jsonl"; done
for o in "$st"/bad_*.jsonl; do expect_rc 1 "$st/any_line.expect" "$o"; done
for e in "$st"/bad_*.expect; do expect_rc 2 "$e" "$st/fake_output.jsonl"; done
# ...and one wrong expectation written right here, so the proof does not depend on files.
printf 'count: 1\nevent 0: dns.id=1\n' >"$tmp/wrong.expect"
printf '{"event":{"kind":"event"},"dns":{"id":2}}\n' >"$tmp/wrong.jsonl"
expect_rc 1 "$tmp/wrong.expect" "$tmp/wrong.jsonl"
printf 'count: 1\nevent 0: dns.id=2\n' >"$tmp/right.expect"
expect_rc 0 "$tmp/right.expect" "$tmp/wrong.jsonl"
[ "$failures" = 0 ] && echo "ok: checker self-test"

# 2. Captures: every scenario has an .expect file and vice versa; generation is
# deterministic (same bytes twice).
if [ ! -x "$gen" ]; then
    echo "FAIL: $gen not built"
    exit 1
fi
scenarios=$("$gen" --list) || { echo "FAIL: gen_pcap --list"; exit 1; }
for s in $scenarios; do
    [ -f "$here/$s.expect" ] || fail "scenario $s has no $here/$s.expect"
done
for e in "$here"/*.expect; do
    s=$(basename "$e" .expect)
    grep -qx "$s" <<<"$scenarios" || fail "$e has no gen_pcap scenario $s"
done
[ $# -gt 0 ] && scenarios="$*"
for s in $scenarios; do
    if ! "$gen" "$s" "$tmp/$s.pcap" || ! "$gen" "$s" "$tmp/$s.again.pcap"; then
        fail "gen_pcap $s"
        continue
    fi
    cmp -s "$tmp/$s.pcap" "$tmp/$s.again.pcap" || fail "gen_pcap $s is not deterministic"
done
if ! "$gen" bench 2000 "$tmp/b1.pcap" || ! "$gen" bench 2000 "$tmp/b2.pcap" ||
    ! cmp -s "$tmp/b1.pcap" "$tmp/b2.pcap"; then
    fail "gen_pcap bench failed or is not deterministic"
fi

# 3. The sensor.
if [ ! -x "$dw" ]; then
    fail "$dw not built"
    exit 1
fi

run_and_check() { # NAME PCAP EXPECT
    local name=$1 pcap=$2 exp=$3 rc
    # shellcheck disable=SC2086  # DW_PCAP_ARGS is a word list on purpose
    timeout 120 "$dw" run -r "$pcap" --log all ${DW_PCAP_ARGS:-} \
        >"$tmp/$name.jsonl" 2>"$tmp/$name.stderr"
    rc=$?
    if [ "$rc" != 0 ]; then
        fail "$name: dnswatch exited $rc"
        sed 's/^/    stderr: /' "$tmp/$name.stderr" | head -20
        return
    fi
    if $check --name "$name" "$exp" "$tmp/$name.jsonl"; then
        echo "ok: $name"
    else
        fail "$name: output does not match $exp"
    fi
    # <scenario>.counters: lines the end-of-run counters on stderr must hold, exactly.
    local cnt=${exp%.expect}.counters line
    if [ -f "$cnt" ]; then
        while IFS= read -r line; do
            case $line in '#'* | '') continue ;; esac
            grep -qxF "dnswatch: info: $line" "$tmp/$name.stderr" ||
                fail "$name: stderr lacks the counter line 'dnswatch: info: $line'"
        done <"$cnt"
    fi
}

for s in $scenarios; do
    [ -f "$tmp/$s.pcap" ] && run_and_check "$s" "$tmp/$s.pcap" "$here/$s.expect"
done

# 4. Third-party captures, expectations made with tshark (see corpus/README.md).
no_corpus=
if [ $# -eq 0 ]; then
    if [ -d "$DW_CORPUS/dnscap" ]; then
        for f in $CORPUS_FILES; do
            if [ -f "$DW_CORPUS/dnscap/$f" ]; then
                run_and_check "corpus-$f" "$DW_CORPUS/dnscap/$f" "$here/corpus/$f.expect"
            else
                fail "corpus file $DW_CORPUS/dnscap/$f missing"
            fi
        done
    else
        no_corpus="conformance corpus $DW_CORPUS/dnscap absent (CMake: DNSWATCH_TEST_CORPUS)"
    fi
fi

# 5. Every third-party capture, malformed and fuzzed ones included: dnswatch must read it
#    to the end (exit 0), print only valid JSON, and never crash (the sanitizer build runs
#    this too).
if [ $# -eq 0 ] && [ -d "$DW_CORPUS" ]; then
    n=0
    while IFS= read -r f; do
        n=$((n + 1))
        if ! "$dw" run -r "$f" --log all >"$tmp/any.jsonl" 2>"$tmp/any.err"; then
            fail "dnswatch run -r $f --log all exited $?: $(head -3 "$tmp/any.err")"
        elif ! python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    json.loads(line)
' "$tmp/any.jsonl"; then
            fail "invalid JSON from $f"
        fi
    done < <(find "$DW_CORPUS" -name '*.pcap' | sort)
    echo "ok: all $n third-party captures read without error"
fi

if [ "$failures" != 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
[ -z "$no_corpus" ] || dw_skip "$no_corpus; everything else passed"
echo "all pcap tests passed"
exit 0
