#!/usr/bin/env bash
# deploy/bash-completion/dnswatch, driven as bash drives it (COMP_WORDS, COMP_CWORD): the
# commands, each flag of `run` (from its --help: a new flag completes without touching the
# file), the values of the enumerated flags.
set -u
. "$DW_SRC/tests/lib/common.sh"
dw_tmpdir completion
bc=/usr/share/bash-completion/bash_completion
[ -r "$bc" ] || dw_skip "bash-completion not installed (apt-get install bash-completion)"
mkdir "$tmp/bin"
ln -s "$DW_BIN/sensor/dnswatch" "$tmp/bin/dnswatch"

complete_line() { # WORDS... (the last one is being completed): prints the candidates
    PATH="$tmp/bin:$PATH" bash -c '
        . "$1"; . "$2"; shift 2
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        _dnswatch dnswatch "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$bc" "$DW_SRC/deploy/bash-completion/dnswatch" "$@"
}
fails=0
want() { # EXPECTED -- WORDS...
    local exp=$1
    shift 2
    local got
    got=$(complete_line "$@" | tr '\n' ' ')
    if [ "$got" = "$exp " ]; then echo "ok: '$*' -> $exp"; else
        echo "FAIL: '$*': got '$got', want '$exp '"; fails=$((fails + 1)); fi
}
want "check-config check-rules" -- dnswatch check-
want "--log --log-level" -- dnswatch run --log
want "--quiet" -- dnswatch run --qu
want "--verbose" -- dnswatch run --verb
want "redis stdout" -- dnswatch run --output ""
want "warning" -- dnswatch run --log-level w
want "alerts all watched" -- dnswatch run --log ""
want "rpush" -- dnswatch run --redis-mode r
want "--from-now --from-start" -- dnswatch consume --from
want "lo" -- dnswatch run -i l
# Every long flag of run --help completes.
for f in $("$DW_BIN/sensor/dnswatch" run --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
    complete_line dnswatch run "$f" | grep -qx -- "$f" || { echo "FAIL: $f does not complete"; fails=$((fails + 1)); }
done
[ "$fails" -eq 0 ] || exit 1
echo "completion: all passed"
