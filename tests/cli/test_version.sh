#!/usr/bin/env bash
# `dnswatch --version`: "dnswatch VERSION (git REVISION)", the revision being `git
# describe` of the source tree at build time, or "unknown" when the tree has no .git (a
# release tarball): cmake/gitrev.cmake run on a copy without one.
set -u
. "$DW_SRC/tests/lib/common.sh"
dw=$DW_BIN/sensor/dnswatch
dw_tmpdir version
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

v=$("$dw" --version)
echo "$v" | grep -Eq '^dnswatch [0-9]+\.[0-9]+\.[0-9]+ \(git [^ )]+\)$' && ok "$v" || bad "--version: '$v'"
if command -v git >/dev/null 2>&1 && git -C "$DW_SRC" rev-parse HEAD >/dev/null 2>&1; then
    # A commit of this repository (HEAD when the build is fresh; an older one when the
    # tree was committed to since the last build).
    rev=$(echo "$v" | sed -n 's/.*(git \([^)]*\)).*/\1/p' | sed 's/-dirty$//; s/.*-g//')
    git -C "$DW_SRC" cat-file -e "$rev^{commit}" 2>/dev/null && ok "$rev is a commit of the tree" ||
        bad "'$v' names no commit of $DW_SRC"
fi
# The tarball case: no .git, the revision is "unknown".
mkdir "$tmp/src"
cmake -DSRC="$tmp/src" -DOUT="$tmp/gitrev.c" -P "$DW_SRC/cmake/gitrev.cmake"
grep -qx 'const char dw_git_revision\[\] = "unknown";' "$tmp/gitrev.c" && ok "no .git: unknown" ||
    bad "no .git: $(cat "$tmp/gitrev.c")"
# Rewritten only when the text changes (an unchanged revision rebuilds nothing).
touch -d '2000-01-01' "$tmp/gitrev.c"
cmake -DSRC="$tmp/src" -DOUT="$tmp/gitrev.c" -P "$DW_SRC/cmake/gitrev.cmake"
[ "$(stat -c %Y "$tmp/gitrev.c")" -lt 1000000000 ] && ok "unchanged: not rewritten" || bad "rewritten though unchanged"

[ "$fails" -eq 0 ] || exit 1
echo "version: all passed"
