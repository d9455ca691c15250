#!/usr/bin/env bash
# The .deb: built with CPack from this build tree, inspected (dependencies from
# dpkg-shlibdeps, conffiles, maintainer scripts, file list), then installed for real with
# dpkg into a fresh root and purged again.
#
# The fresh root is this machine's own file system under a copy-on-write overlay, in a
# mount namespace of the test's own: dpkg, its database, systemd-sysusers and the
# libraries the package depends on are all there, every change lands in a tmpfs, and the
# machine's /usr, /etc and dpkg database are never touched (checked at the end). `dpkg
# --root` or `dpkg -x` into an empty directory would not do: the maintainer scripts (the
# user, the state directory) would have nothing to run with.
# Needs root (mount namespace, overlayfs, chroot), dpkg-deb and cpack: else skipped (77),
# a failure under DW_NO_SKIP=1 (CI runs as root).
set -u
. "$DW_SRC/tests/lib/common.sh"
dw_tmpdir package
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

[ "$(id -u)" -eq 0 ] || dw_skip "needs root (mount namespace, overlay, chroot)"
for t in dpkg-deb dpkg cpack unshare chroot; do
    command -v "$t" >/dev/null 2>&1 || dw_skip "$t missing"
done
command -v dpkg-shlibdeps >/dev/null 2>&1 || dw_skip "dpkg-shlibdeps missing (apt-get install dpkg-dev)"

# ---- build ------------------------------------------------------------------------------
if ! cpack -G DEB --config "$DW_BIN/CPackConfig.cmake" -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1; then
    bad "cpack:"; sed 's/^/    /' "$tmp/cpack.log"; exit 1
fi
deb=$(ls "$tmp"/pkg/dnswatch_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] && ok "built $(basename "$deb")" || { bad "no .deb in $tmp/pkg: $(ls "$tmp/pkg")"; exit 1; }

# ---- inspect ----------------------------------------------------------------------------
dpkg-deb -f "$deb" Depends >"$tmp/depends"
for lib in libpcap0.8 libldns3 libyaml-0-2 libmaxminddb0 libhiredis0.14 libsystemd0 libc6; do
    grep -q "\b$lib\b" "$tmp/depends" && ok "Depends: $lib" || bad "Depends lacks $lib: $(cat "$tmp/depends")"
done
grep -q 'systemd | adduser' "$tmp/depends" && ok "Depends: systemd | adduser" || bad "no user tool in Depends"
dpkg-deb -e "$deb" "$tmp/control"
for s in postinst prerm postrm; do
    [ -x "$tmp/control/$s" ] && sh -n "$tmp/control/$s" && ok "$s" || bad "$s missing or not sh"
done
grep -qx /etc/dnswatch/dnswatch.yaml "$tmp/control/conffiles" &&
    grep -qx /etc/dnswatch/rules/99-rebinding.yaml "$tmp/control/conffiles" && ok "conffiles" ||
    bad "conffiles: $(cat "$tmp/control/conffiles")"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$tmp/files"
want_files="/usr/bin/dnswatch /usr/share/man/man1/dnswatch.1 /usr/share/man/man5/dnswatch-rules.5
  /usr/lib/systemd/system/dnswatch.service /usr/lib/sysusers.d/dnswatch.conf
  /usr/lib/tmpfiles.d/dnswatch.conf /usr/share/bash-completion/completions/dnswatch
  /etc/dnswatch/dnswatch.yaml /etc/dnswatch/rules/00-sets.yaml /etc/dnswatch/rules/99-rebinding.yaml
  /usr/share/doc/dnswatch/copyright /usr/share/doc/dnswatch/README.md
  /usr/share/doc/dnswatch/CHANGELOG.md /usr/share/doc/dnswatch/docs/deploy.md
  /usr/share/dnswatch/prometheus/dnswatch-alerts.yml /usr/share/dnswatch/grafana/dnswatch.json"
for f in $want_files; do
    grep -qx "$f" "$tmp/files" && ok "ships $f" || bad "does not ship $f"
done
grep -v '^/\(usr\|etc\)/' "$tmp/files" | grep -v '^/$' | grep -q . &&
    bad "files outside /usr and /etc: $(grep -v '^/\(usr\|etc\)/' "$tmp/files" | grep -v '^/$' | head -3)" || ok "only /usr and /etc"

# ---- install into a fresh root, check, purge --------------------------------------------
host_before=$(ls -la /usr/bin/dnswatch /etc/dnswatch 2>&1; getent passwd dnswatch; md5sum /var/lib/dpkg/status)
cp "$deb" "$tmp/dnswatch.deb"
cat >"$tmp/inside.sh" <<'IN'
#!/bin/sh
# Runs chrooted in the overlay: install, check, purge. One line per check: "ok: ..." or
# "FAIL: ...".
t() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fi; }
export PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive
getent passwd dnswatch >/dev/null && echo "FAIL: the fresh root already has a dnswatch user"
dpkg -i /pkg/dnswatch.deb >/pkg/install.log 2>&1
t "dpkg -i" '[ $? -eq 0 ] || { cat /pkg/install.log; false; }'
t "dpkg status installed" 'dpkg-query -W -f="\${Status}" dnswatch | grep -q "install ok installed"'
t "dnswatch --version" 'dnswatch --version | grep -Eq "^dnswatch [0-9]+\.[0-9]+\.[0-9]+ \(git [^)]+\)$"'
t "user dnswatch, system, no login" 'getent passwd dnswatch | awk -F: "\$3 < 1000 && \$6 == \"/var/lib/dnswatch\" && \$7 ~ /nologin|false/" | grep -q .'
t "group dnswatch" 'getent group dnswatch >/dev/null'
t "/var/lib/dnswatch dnswatch 750" '[ "$(stat -c %U:%a /var/lib/dnswatch)" = dnswatch:750 ]'
t "/var/lib/dnswatch/spool dnswatch 700" '[ "$(stat -c %U:%a /var/lib/dnswatch/spool)" = dnswatch:700 ]'
t "systemd-analyze verify" 'systemd-analyze verify --man=no /usr/lib/systemd/system/dnswatch.service >/pkg/verify 2>&1 && [ ! -s /pkg/verify ] || { cat /pkg/verify; false; }'
t "the shipped rule pack lints" 'dnswatch check-rules /etc/dnswatch/rules >/dev/null 2>&1'
t "man dnswatch" 'man -w dnswatch >/dev/null 2>&1 || [ -f /usr/share/man/man1/dnswatch.1 ]'
# An operator's edit of a conffile survives a reinstall.
echo "# edited by the operator" >>/etc/dnswatch/dnswatch.yaml
dpkg -i --force-confold /pkg/dnswatch.deb >/pkg/reinstall.log 2>&1
t "reinstall keeps the edited conffile" 'grep -q "edited by the operator" /etc/dnswatch/dnswatch.yaml'
dpkg --purge dnswatch >/pkg/purge.log 2>&1
t "dpkg --purge" '[ $? -eq 0 ] || { cat /pkg/purge.log; false; }'
t "binary gone" '[ ! -e /usr/bin/dnswatch ]'
t "/etc/dnswatch gone" '[ ! -e /etc/dnswatch ]'
t "/var/lib/dnswatch gone" '[ ! -e /var/lib/dnswatch ]'
t "unit gone" '[ ! -e /usr/lib/systemd/system/dnswatch.service ]'
t "not known to dpkg" '! dpkg-query -W dnswatch >/dev/null 2>&1 || dpkg-query -W -f="\${Status}" dnswatch | grep -q "not-installed"'
IN
chmod 755 "$tmp/inside.sh"
# shellcheck disable=SC2016  # expanded by the inner shell, from its arguments
unshare -m bash -c '
    set -e
    t=$1
    mount --make-rprivate /
    mkdir -p "$t/ovl" "$t/root"
    mount -t tmpfs tmpfs "$t/ovl"
    mkdir "$t/ovl/upper" "$t/ovl/work"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$t/ovl/upper,workdir=$t/ovl/work" "$t/root"
    mount -t proc proc "$t/root/proc"
    mount --rbind /dev "$t/root/dev"
    mount -t tmpfs tmpfs "$t/root/run"
    mount -t tmpfs tmpfs "$t/root/tmp"
    mkdir -p "$t/root/pkg"
    mount -t tmpfs tmpfs "$t/root/pkg"
    cp "$t/dnswatch.deb" "$t/inside.sh" "$t/root/pkg/"
    chroot "$t/root" /pkg/inside.sh >"$t/inside.out" 2>&1
' _ "$tmp" || bad "could not set up the overlay root: $(cat "$tmp/inside.out" 2>/dev/null)"
if [ -s "$tmp/inside.out" ]; then
    cat "$tmp/inside.out"
    fails=$((fails + $(grep -c '^FAIL' "$tmp/inside.out")))
    [ "$(grep -c '^ok:' "$tmp/inside.out")" -ge 17 ] || bad "not every check inside the root ran"
else
    bad "nothing ran inside the fresh root"
fi

host_after=$(ls -la /usr/bin/dnswatch /etc/dnswatch 2>&1; getent passwd dnswatch; md5sum /var/lib/dpkg/status)
[ "$host_before" = "$host_after" ] && ok "this machine's /usr, /etc and dpkg database untouched" ||
    bad "the host changed: before '$host_before', after '$host_after'"

[ "$fails" -eq 0 ] || exit 1
echo "package: all passed"
