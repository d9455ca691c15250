#!/usr/bin/env bash
# deploy/: the systemd unit passes `systemd-analyze verify` (pointed at the built binary)
# and keeps its hardening; the sysusers snippet parses; compose.yaml is valid YAML with
# the sensor on the host network with its two capabilities; the Containerfile's runtime
# packages exist in Debian 12 and provide every library the binary needs.
# Exit 77 (skipped) when a part could not be checked here (systemd-analyze or
# systemd-sysusers missing, no python3 yaml module, not Debian 12) and everything else
# passed; under DW_NO_SKIP=1 that is a failure.
set -u
dw="$DW_BIN/sensor/dnswatch"
src="$DW_SRC/deploy"
. "$DW_SRC/tests/lib/common.sh"
dw_tmpdir deploy
fail=0
pass=0
skipped=()
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

unit="$src/dnswatch.service"

# ---- the unit's content ------------------------------------------------------------------
for want in '^User=dnswatch$' '^AmbientCapabilities=CAP_NET_RAW$' \
            '^CapabilityBoundingSet=CAP_NET_RAW$' '^NoNewPrivileges=yes$' \
            '^Type=notify$' '^NotifyAccess=main$' '^WatchdogSec=[0-9]+s$' \
            '^RestartPreventExitStatus=1 2$' '^ReadWritePaths=/var/lib/dnswatch$' \
            '^ReadWritePaths=-/var/lib/prometheus/node-exporter$' \
            '^#LoadCredential=redis-password:/etc/dnswatch/redis-password$' \
            '^ProtectSystem=strict$' '^ProtectHome=yes$' '^PrivateTmp=yes$' \
            '^StateDirectory=dnswatch$' '^ConfigurationDirectory=dnswatch$' \
            '^ExecStartPre=/usr/bin/dnswatch check-config /etc/dnswatch/dnswatch.yaml$' \
            '^ExecStartPre=/usr/bin/dnswatch check-rules /etc/dnswatch/rules$' \
            '^ExecStart=/usr/bin/dnswatch run -c /etc/dnswatch/dnswatch.yaml$' \
            '^ExecReload=/bin/kill -HUP \$MAINPID$' '^Restart=on-failure$' \
            '^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_PACKET AF_NETLINK$' \
            '^SystemCallArchitectures=native$' '^LockPersonality=yes$' \
            '^MemoryDenyWriteExecute=yes$' '^ProtectKernelTunables=yes$' \
            '^ProtectKernelModules=yes$'; do
    grep -Eq "$want" "$unit" && ok || bad "dnswatch.service lacks $want"
done
# Nothing that would cut the sensor off its interfaces.
grep -Eq '^(PrivateNetwork=yes|IPAddressDeny=any)' "$unit" && bad "unit isolates the network" || ok
# The spool the config names lies under StateDirectory.
grep -q 'spool_dir: /var/lib/dnswatch/' "$src/dnswatch.yaml" && ok || bad "spool not under /var/lib/dnswatch"

# ---- systemd-analyze verify -------------------------------------------------------------
# verify needs every Exec path to exist: a copy of the unit runs the built binary. It
# reports unknown keys as warnings with exit 0, so any output at all is a failure; a
# known-bad copy proves the check sees such warnings.
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir "$tmp/units"
    sed "s|/usr/bin/dnswatch|$dw|g" "$unit" >"$tmp/units/dnswatch.service"
    if systemd-analyze verify --man=no "$tmp/units/dnswatch.service" >"$tmp/verify" 2>&1 &&
        [ ! -s "$tmp/verify" ]; then
        ok
    else
        bad "systemd-analyze verify:"; sed 's/^/    /' "$tmp/verify"
    fi
    sed 's/^NoNewPrivileges=yes/NoNewPrivilegs=yes/' "$tmp/units/dnswatch.service" >"$tmp/units/typo.service"
    systemd-analyze verify --man=no "$tmp/units/typo.service" >"$tmp/verify" 2>&1
    grep -q "Unknown key 'NoNewPrivilegs'" "$tmp/verify" && ok || bad "verify did not catch a typo"
    # The real paths, as installed: only the binary is missing here.
    systemd-analyze verify --man=no "$unit" >"$tmp/verify" 2>&1
    grep -v '/usr/bin/dnswatch is not executable' "$tmp/verify" | grep -q . &&
        { bad "verify of the unit as shipped:"; sed 's/^/    /' "$tmp/verify"; } || ok
    # Its ExecStartPre/ExecStart lines run with the built binary (the command words exist).
    "$dw" check-config --help >/dev/null 2>&1; [ $? -eq 0 ] && ok || bad "check-config command missing"
else
    skipped+=("systemd-analyze not installed")
fi
if command -v systemd-sysusers >/dev/null 2>&1; then
    mkdir -p "$tmp/root/etc"
    systemd-sysusers --root="$tmp/root" --dry-run "$src/dnswatch.sysusers" >"$tmp/su" 2>&1 &&
        grep -q "Creating user 'dnswatch'" "$tmp/su" && ok || { bad "sysusers:"; cat "$tmp/su"; }
    # The tmpfiles snippet, in a root of its own with the user created there: the state
    # directory and the spool, the user's.
    if command -v systemd-tmpfiles >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
        systemd-sysusers --root="$tmp/root" "$src/dnswatch.sysusers" >"$tmp/su" 2>&1
        systemd-tmpfiles --root="$tmp/root" --create "$src/dnswatch.tmpfiles" >"$tmp/tf" 2>&1 ||
            { bad "tmpfiles:"; cat "$tmp/tf"; }
        uid=$(awk -F: '$1 == "dnswatch" {print $3}' "$tmp/root/etc/passwd")
        for d in var/lib/dnswatch:750 var/lib/dnswatch/spool:700; do
            [ -n "$uid" ] && [ "$(stat -c %u:%a "$tmp/root/${d%:*}" 2>/dev/null)" = "$uid:${d#*:}" ] && ok ||
                bad "tmpfiles: /${d%:*} is $(stat -c %U:%a "$tmp/root/${d%:*}" 2>&1), want dnswatch:${d#*:}"
        done
    else
        skipped+=("systemd-tmpfiles missing or not root")
    fi
else
    skipped+=("systemd-sysusers not installed")
fi

# ---- compose.yaml -----------------------------------------------------------------------
if python3 -c 'import yaml' 2>/dev/null; then
    python3 - "$src/compose.yaml" >"$tmp/compose" 2>&1 <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
s = d["services"]
assert set(s) == {"redis", "sensor", "consumer"}, sorted(s)
sen = s["sensor"]
assert sen["network_mode"] == "host"
assert set(sen["cap_add"]) == {"NET_RAW"}, sen["cap_add"]
assert sen["build"]["dockerfile"] == "deploy/Containerfile"
vols = " ".join(sen["volumes"])
for want in ["/etc/dnswatch/dnswatch.yaml", "/etc/dnswatch/rules", "GeoLite2-ASN.mmdb", "/var/lib/dnswatch"]:
    assert want in vols, want
assert sen["command"][:3] == ["run", "-c", "/etc/dnswatch/dnswatch.yaml"]
con = s["consumer"]
assert con["command"][0] == "consume" and "--out" in con["command"]
assert con["command"][con["command"].index("--out") + 1] == "/data/events.jsonl"
assert "redis" in s["redis"]["image"]
for name in ("sensor", "consumer"):
    for v in s[name].get("volumes", []):
        vol = v.split(":")[0]
        if not vol.startswith((".", "/")):
            assert vol in (d.get("volumes") or {}), "undeclared volume " + vol
print("ok")
PY
    [ "$(tail -1 "$tmp/compose")" = ok ] && ok || { bad "compose.yaml:"; cat "$tmp/compose"; }
else
    skipped+=("python3 yaml module not installed")
fi

# ---- Containerfile ----------------------------------------------------------------------
cf="$src/Containerfile"
grep -Eq '^FROM debian:(12|bookworm)[^ ]* AS build' "$cf" && ok || bad "build stage not Debian 12"
[ "$(grep -c '^FROM debian:\(12\|bookworm\)' "$cf")" -eq 2 ] && ok || bad "not two Debian 12 stages"
grep -q '^USER dnswatch' "$cf" && ok || bad "image runs as root"
grep -q '^ENTRYPOINT \["/usr/bin/dnswatch"\]' "$cf" && ok || bad "ENTRYPOINT is not dnswatch"
grep -q 'setcap cap_net_raw+eip /usr/bin/dnswatch' "$cf" && ok || bad "no setcap"
grep -q '^HEALTHCHECK ' "$cf" && ok || bad "no HEALTHCHECK"
for l in title description source licenses version revision; do
    grep -q "org.opencontainers.image.$l=" "$cf" && ok || bad "no OCI label org.opencontainers.image.$l"
done
# The HEALTHCHECK command itself, from the file, against a sensor serving its metrics on
# 127.0.0.1:9153 in a network namespace of its own (no container engine is needed for
# that): healthy while it answers, unhealthy once it is gone.
hc=$(sed -n '/^HEALTHCHECK/,/^  CMD/p' "$cf" | sed -n 's/^  CMD //p')
if [ -n "$hc" ] && command -v unshare >/dev/null 2>&1 && unshare -n true 2>/dev/null; then
    printf 'metrics:\n  listen: "127.0.0.1:9153"\n' >"$tmp/hc.yaml"
    # shellcheck disable=SC2016  # expanded by the inner shell
    timeout 20 unshare -n bash -c '
        ip link set lo up
        mapfile -t cmd < <(python3 -c "import json,sys; print(\"\n\".join(json.loads(sys.argv[1])))" "$3")
        "$1" run -c "$2" -i lo --allow-root >/dev/null 2>"$4.err" &
        p=$!
        for _ in $(seq 50); do grep -q "metrics on" "$4.err" && break; sleep 0.1; done
        "${cmd[@]}" && echo healthy >"$4" || echo unhealthy >"$4"
        kill -TERM $p; wait $p
        "${cmd[@]}" 2>/dev/null && echo healthy >>"$4" || echo unhealthy >>"$4"' _ "$dw" "$tmp/hc.yaml" "$hc" "$tmp/hc"
    [ "$(tr '\n' ' ' <"$tmp/hc")" = "healthy unhealthy " ] && ok ||
        bad "HEALTHCHECK: $(tr '\n' ' ' <"$tmp/hc" 2>&1) (want healthy, then unhealthy): $(cat "$tmp/hc.err")"
else
    skipped+=("HEALTHCHECK not run (no CMD found or no network namespace)")
fi
# Package names per stage, from the apt-get install lines (continuations joined).
pkgs() { # STAGE_NUMBER (1 build, 2 runtime)
    awk -v want="$1" '/^FROM /{n++} n==want' "$cf" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
        grep 'apt-get install' | sed 's/.*apt-get install//; s/&&.*//' | tr ' ' '\n' |
        grep -E '^[a-z0-9][a-z0-9.+-]+$'
}
runtime=$(pkgs 2)
build=$(pkgs 1)
for want in libpcap0.8 libldns3 libyaml-0-2 libmaxminddb0 libhiredis0.14 libfstrm0 libprotobuf-c1 libsystemd0; do
    echo "$runtime" | grep -qx "$want" && ok || bad "runtime stage lacks $want"
done
echo "$runtime" | grep -q -- '-dev$' && bad "runtime stage installs -dev packages" || ok
if command -v apt-cache >/dev/null 2>&1 && grep -q 'VERSION_ID="12"' /etc/os-release 2>/dev/null; then
    for p in $build $runtime; do
        apt-cache show --no-all-versions "$p" >/dev/null 2>&1 && ok || bad "no Debian 12 package '$p'"
    done
    # Every library the binary links directly comes from a runtime package, one they
    # depend on, or the base image's libc6 (and what libc6 depends on: libgcc-s1).
    if command -v ldd >/dev/null && command -v readelf >/dev/null && command -v dpkg >/dev/null; then
        readelf -d "$dw" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' >"$tmp/needed"
        ldd "$dw" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | grep -Fwf "$tmp/needed" >"$tmp/libs"
        [ "$(wc -l <"$tmp/libs")" -eq "$(wc -l <"$tmp/needed")" ] && ok || bad "ldd did not resolve every NEEDED library"
        while read -r so path; do
            pkg=""
            for p in "$path" "$(realpath "$path")" "/usr$path" "${path#/usr}"; do
                pkg=$(dpkg -S "$p" 2>/dev/null | head -1 | cut -d: -f1)
                [ -n "$pkg" ] && break
            done
            if [ -z "$pkg" ]; then
                bad "no package provides $so ($path)"
            elif echo "$runtime" | grep -qx "$pkg" || [ "$pkg" = libc6 ]; then
                ok
            elif dpkg-query -W -f='${Depends}\n' $runtime libc6 2>/dev/null | tr ',|' '\n\n' |
                awk '{print $1}' | sed 's/:.*//' | grep -qx "$pkg"; then
                ok # pulled in by a runtime package or by libc6
            else
                bad "$so ($pkg) not installed in the runtime stage"
            fi
        done <"$tmp/libs"
    fi
else
    skipped+=("not Debian 12: package names not checked")
fi

echo "deploy: $pass passed, $fail failed${skipped:+, skipped: ${skipped[*]}}"
[ "$fail" -eq 0 ] || exit 1
[ ${#skipped[@]} -eq 0 ] || dw_skip "not checked here: ${skipped[*]}; everything else passed"
exit 0
