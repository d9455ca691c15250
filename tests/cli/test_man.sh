#!/usr/bin/env bash
# The man pages man/dnswatch.1 and man/dnswatch-rules.5: they render without a groff
# warning (groff -man -ww; also `man --warnings` when man-db is there), and dnswatch.1
# names every long option the binary's help lists (`dnswatch --help`, `dnswatch run
# --help` and the other commands' --help), so a new flag cannot go undocumented.
# Exit: 0 pass, 1 fail, 77 skip (no groff; under DW_NO_SKIP=1 a failure).
# By hand: DW_SRC=. DW_BIN=build/dev bash tests/cli/test_man.sh
#          (DW_MAN_DIR=DIR checks other copies of the pages)
set -u
: "${DW_SRC:?DW_SRC must point at the source tree}"
: "${DW_BIN:?DW_BIN must point at the build tree}"
dw="$DW_BIN/sensor/dnswatch"
man_dir=${DW_MAN_DIR:-$DW_SRC/man}
. "$DW_SRC/tests/lib/common.sh"
command -v groff >/dev/null 2>&1 || dw_skip "groff not found (apt-get install groff-base)"
dw_tmpdir man
fail=0
bad() {
    echo "FAIL: $*"
    fail=1
}

for page in "$man_dir/dnswatch.1" "$man_dir/dnswatch-rules.5"; do
    [ -f "$page" ] || { bad "$page missing"; continue; }
    # -ww: every warning; -z: no output, only the diagnostics.
    if ! groff -man -Tutf8 -ww -z "$page" >"$tmp/groff.err" 2>&1 || [ -s "$tmp/groff.err" ]; then
        bad "groff warns on $page:"
        sed 's/^/    /' "$tmp/groff.err"
    fi
    if command -v man >/dev/null 2>&1; then
        if ! MANWIDTH=80 man --warnings -l "$page" >"$tmp/page.txt" 2>"$tmp/man.err" ||
            [ -s "$tmp/man.err" ]; then
            bad "man --warnings on $page:"
            sed 's/^/    /' "$tmp/man.err"
        fi
    fi
done

# Long options of the help texts; in the page source a dash is written \-.
[ -x "$dw" ] || { bad "$dw not built"; exit 1; }
for cmd in "" run explain consume check-rules check-config learn; do
    # shellcheck disable=SC2086  # cmd is empty or one word
    "$dw" $cmd --help >"$tmp/help" 2>&1
    opts=$(grep -oE -- '--[a-z][a-z0-9-]*' "$tmp/help" | sort -u)
    [ -n "$opts" ] || [ "$cmd" = check-rules ] || [ "$cmd" = check-config ] ||
        bad "dnswatch $cmd --help lists no option"
    for o in $opts; do
        grep -qF -- "${o//-/\\-}" "$man_dir/dnswatch.1" ||
            bad "dnswatch.1 does not name $o (from dnswatch $cmd --help)"
    done
done

[ "$fail" = 0 ] || exit 1
echo "ok: man pages render cleanly and name every option"
