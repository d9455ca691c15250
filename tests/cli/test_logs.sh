#!/usr/bin/env bash
# The sensor's own stderr lines: each starts "dnswatch: SEVERITY: " (or, when stderr is
# the journal named by $JOURNAL_STREAM, with the sd-daemon "<N>" prefix before that);
# -q/--quiet, -v/--verbose, --log-level and the log_level key choose which are written;
# the wording of the lines an operator greps for stays as it is.
set -u
. "$DW_SRC/tests/lib/common.sh"
dw=$DW_BIN/sensor/dnswatch
dw_tmpdir logs
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
pcap=$DW_SRC/deploy/demo/demo.pcap
rules=$DW_SRC/deploy/rules/99-rebinding.yaml
run() { # STDERR_FILE ARGS...: a file run with one rule file, events to /dev/null
    local err=$1
    shift
    "$dw" run -c none -r "$pcap" --rules "$rules" --asn-db none "$@" >/dev/null 2>"$err"
}

# 1. Every line has its severity; the lines operators grep for, word for word.
run "$tmp/info.err" && ok "run exit 0" || bad "run failed: $(cat "$tmp/info.err")"
if grep -Evq '^dnswatch: (error|warning|notice|info|debug): ' "$tmp/info.err"; then
    bad "lines without a severity: $(grep -Ev '^dnswatch: (error|warning|notice|info|debug): ' "$tmp/info.err" | head -3)"
else
    ok "$(wc -l <"$tmp/info.err") lines, each with its severity"
fi
for re in '^dnswatch: info: [0-9]+ rules loaded, ruleset sha256:[0-9a-f]+, ASN checks off$' \
          "^dnswatch: info: reading on $pcap, [0-9]+ workers?\$" \
          '^dnswatch: info: packets read: [0-9]+$' \
          '^dnswatch: info: DNS responses seen: [0-9]+$' \
          '^dnswatch: info: alerts written: [0-9]+$'; do
    grep -Eq "$re" "$tmp/info.err" && ok "line $re" || bad "no line $re: $(cat "$tmp/info.err")"
done

# 2. --quiet: a clean run says nothing; -q is the same.
run "$tmp/quiet.err" --quiet
[ ! -s "$tmp/quiet.err" ] && ok "--quiet: nothing on a clean run" || bad "--quiet printed: $(cat "$tmp/quiet.err")"
run "$tmp/q.err" -q
[ ! -s "$tmp/q.err" ] && ok "-q" || bad "-q printed: $(cat "$tmp/q.err")"

# 3. The key, from a config file; a flag overrides it; --verbose wins over --quiet.
printf 'log_level: warning\nrules: [%s]\nasn_db: none\n' "$rules" >"$tmp/warn.yaml"
"$dw" run -c "$tmp/warn.yaml" -r "$pcap" >/dev/null 2>"$tmp/key.err"
[ ! -s "$tmp/key.err" ] && ok "log_level: warning" || bad "log_level warning printed: $(cat "$tmp/key.err")"
"$dw" run -c "$tmp/warn.yaml" -r "$pcap" --log-level info >/dev/null 2>"$tmp/flag.err"
grep -q '^dnswatch: info: packets read: ' "$tmp/flag.err" && ok "--log-level overrides the key" ||
    bad "--log-level info after log_level warning: $(cat "$tmp/flag.err")"
run "$tmp/v.err" -q -v
cmp -s "$tmp/v.err" "$tmp/info.err" || [ "$(wc -l <"$tmp/v.err")" -ge "$(wc -l <"$tmp/info.err")" ] &&
    ok "--verbose wins over --quiet" || bad "-q -v: $(cat "$tmp/v.err")"
"$dw" run -c none -r "$pcap" --log-level loud >/dev/null 2>"$tmp/bad.err"
[ $? -eq 2 ] && grep -q "^dnswatch: error: run: --log-level must be error, warning, notice, info or debug, not 'loud'" "$tmp/bad.err" &&
    ok "a bad level is a usage error" || bad "--log-level loud: $(head -2 "$tmp/bad.err")"

# 4. Errors and warnings keep their level under --quiet.
"$dw" run -c none -r "$pcap" --rules "$tmp/none.yaml" -q >/dev/null 2>"$tmp/err.err"
[ $? -eq 1 ] && grep -q "^dnswatch: error: " "$tmp/err.err" &&
    ! grep -Evq '^dnswatch: (error|warning): ' "$tmp/err.err" && ok "errors under --quiet" ||
    bad "missing rule file under -q: $(cat "$tmp/err.err")"
printf 'id: bad\n' >"$tmp/bad.yaml"
"$dw" run -c none -r "$pcap" --rules "$tmp/bad.yaml" >/dev/null 2>"$tmp/lint.err"
grep -Eq "^dnswatch: error: $tmp/bad.yaml:[0-9]+:[0-9]+: error: " "$tmp/lint.err" && ok "a rule file error is an error line" ||
    bad "rule file error: $(cat "$tmp/lint.err")"
grep -q "^dnswatch: error: rules not loaded (fix the errors above" "$tmp/lint.err" && ok "rules not loaded: error" ||
    bad "rules not loaded line: $(cat "$tmp/lint.err")"

# 5. stderr is the journal ($JOURNAL_STREAM names its device and inode): "<N>" prefixes,
#    6 for info, 3 for error. A $JOURNAL_STREAM that names another file is ignored (it is
#    inherited by children whose stderr went elsewhere).
: >"$tmp/j.err"
js=$(stat -c '%d:%i' "$tmp/j.err")
JOURNAL_STREAM=$js "$dw" run -c none -r "$pcap" --rules "$rules" --asn-db none >/dev/null 2>>"$tmp/j.err"
if grep -Evq '^<[3-7]>dnswatch: (error|warning|notice|info|debug): ' "$tmp/j.err"; then
    bad "journal lines without a priority: $(head -3 "$tmp/j.err")"
else
    grep -q '^<6>dnswatch: info: packets read: ' "$tmp/j.err" && ok "journal: <6> on info lines" ||
        bad "journal: $(head -3 "$tmp/j.err")"
fi
: >"$tmp/j3.err"
js=$(stat -c '%d:%i' "$tmp/j3.err")
JOURNAL_STREAM=$js "$dw" run -c none -r "$tmp/nonexistent.pcap" >/dev/null 2>>"$tmp/j3.err"
grep -q '^<3>dnswatch: error: ' "$tmp/j3.err" && ok "journal: <3> on errors" || bad "journal error: $(cat "$tmp/j3.err")"
JOURNAL_STREAM=1:1 "$dw" run -c none -r "$pcap" >/dev/null 2>"$tmp/nj.err"
grep -q '^<' "$tmp/nj.err" && bad "a foreign JOURNAL_STREAM was taken for stderr" || ok "foreign JOURNAL_STREAM ignored"

# 6. The metrics line names the address bound (port 0: the port the kernel chose), and
#    binding every address is warned about. In a network namespace of the test's own.
ns=(unshare -n)
[ "$(id -u)" -eq 0 ] || ns=(unshare -rn)
if "${ns[@]}" true 2>/dev/null; then
    for l in 127.0.0.1:0 0.0.0.0:0; do
        printf 'metrics:\n  listen: "%s"\n' "$l" >"$tmp/m.yaml"
        "${ns[@]}" "$dw" run -c "$tmp/m.yaml" -r "$pcap" >/dev/null 2>"$tmp/m-$l.err"
    done
    grep -Eq '^dnswatch: info: metrics on http://127\.0\.0\.1:[1-9][0-9]*/metrics$' "$tmp/m-127.0.0.1:0.err" &&
        ! grep -q warning "$tmp/m-127.0.0.1:0.err" && ok "metrics line: the bound port" ||
        bad "metrics line: $(cat "$tmp/m-127.0.0.1:0.err")"
    grep -Eq '^dnswatch: warning: metrics.listen 0\.0\.0\.0:0 binds every address' "$tmp/m-0.0.0.0:0.err" &&
        grep -Eq '^dnswatch: info: metrics on http://0\.0\.0\.0:[1-9][0-9]*/metrics$' "$tmp/m-0.0.0.0:0.err" &&
        ok "every address: warned" || bad "0.0.0.0: $(cat "$tmp/m-0.0.0.0:0.err")"
else
    dw_skip "cannot create a network namespace here (everything else passed)"
fi

[ "$fails" -eq 0 ] || exit 1
echo "logs: all passed"
