# Sourced by the test scripts (tests/*/test_*.sh): what they would otherwise each repeat.
#
#   dw_skip REASON        a missing optional tool or permission: exit 77 (ctest: skipped);
#                         with DW_NO_SKIP=1 (tests/run.sh, CI) exit 1, a failure
#   dw_tmpdir NAME        $tmp: a fresh directory, removed on exit unless DW_KEEP=1; a
#                         script with more to clean up defines dw_test_cleanup
#   dw_need_mmdb_writer   skips (dw_skip) without perl's MaxMind::DB::Writer
#   dw_make_mmdb OUT [TXT] the test ASN database from TXT (tests/data/asn-sample.txt);
#                         exit 1 (with the writer's messages) when it cannot be built
#
# Usage errors are not skips: a test that calls the sensor wrongly, or a sensor that
# rejects what the test expects it to accept, fails.

dw_skip() {
    if [ "${DW_NO_SKIP:-0}" = 1 ]; then
        echo "FAIL: $* (DW_NO_SKIP=1: what a test needs must be there)"
        exit 1
    fi
    echo "SKIP: $*"
    exit 77
}

dw_on_exit() {
    if declare -F dw_test_cleanup >/dev/null; then dw_test_cleanup; fi
    if [ -n "${tmp:-}" ] && [ "${DW_KEEP:-0}" != 1 ]; then rm -rf "$tmp"; fi
}

dw_tmpdir() {
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/dw-$1.XXXXXX") || { echo "FAIL: mktemp"; exit 1; }
    if [ "${DW_KEEP:-0}" = 1 ]; then echo "keeping $tmp"; fi
    trap dw_on_exit EXIT
}

dw_need_mmdb_writer() {
    perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null ||
        dw_skip "perl MaxMind::DB::Writer missing (apt-get install libmaxmind-db-writer-perl)"
}

dw_make_mmdb() {
    local out=$1 txt=${2:-$DW_SRC/tests/data/asn-sample.txt}
    if ! perl "$DW_SRC/tests/tools/make_test_mmdb.pl" "$out" "$txt" >"$out.log" 2>&1; then
        echo "FAIL: make_test_mmdb.pl $out $txt"
        sed 's/^/    /' "$out.log"
        exit 1
    fi
}
