#!/usr/bin/env bash
# Installs the Debian 12 packages dnswatch builds, tests and runs with, if any is missing.
# Needs root (or sudo) only when something has to be installed.
set -euo pipefail

pkgs=(cmake ninja-build pkg-config gcc clang libclang-rt-14-dev
      libpcap-dev libldns-dev libyaml-dev libmaxminddb-dev libhiredis-dev libssl-dev openssl libcmocka-dev libpsl-dev publicsuffix
      python3 python3-yaml perl libmaxmind-db-writer-perl redis-server redis-tools iproute2
      tcpreplay util-linux systemd groff-base man-db
      libfstrm-dev fstrm-bin libprotobuf-c-dev protobuf-c-compiler unbound dnsutils
      libsystemd-dev prometheus bash-completion dpkg-dev)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "dnswatch: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
