#!/usr/bin/env bash
# Install what vmbuild needs on a fresh Debian 12 (or Ubuntu) machine.
#
#   scripts/setup.sh          tools for building appliances (packer, qemu, debootstrap, vagrant, ...)
#   scripts/setup.sh --test   also everything the test suites need (test hosts, Glance, Keystone, libvirt)
#
# Package lists live in scripts/deps/*.txt (one package per line). core.txt and
# vagrant.txt are for everyone; the rest are test-only. Runs apt as root (via sudo
# when needed) and installs a Rust toolchain with rustup when cargo is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

log() { printf '[setup %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

read_deps() {
    local f
    for f in "$@"; do
        [ -f "$f" ] && grep -vE '^\s*(#|$)' "$f" | sed 's/\s*#.*//'
    done | sort -u
}

files=(scripts/deps/core.txt scripts/deps/vagrant.txt)
if [ "$want_test" = 1 ]; then
    for f in scripts/deps/*.txt; do
        case "$f" in */openstack.txt) ;; *) files+=("$f") ;; esac
    done
fi
mapfile -t pkgs < <(read_deps "${files[@]}")

log "apt-get update"
$SUDO apt-get update -q >/dev/null

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
apt_install() {
    $SUDO apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "$@"
}

# Some images carry a backports qemu-utils that Breaks the suite's
# qemu-system-x86; then take qemu-utils from the suite as well.
qemu_pins=()
if dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null | grep -q bpo \
    && ! apt-cache policy qemu-system-x86 | grep -q backports; then
    qemu_pins=(--allow-downgrades "qemu-utils/$codename" "qemu-block-extra/$codename")
fi

log "installing ${#pkgs[@]} packages"
filtered=()
for p in "${pkgs[@]}"; do
    case "$p" in qemu-utils|qemu-block-extra) [ ${#qemu_pins[@]} -gt 0 ] && continue ;; esac
    filtered+=("$p")
done
if ! apt-cache show packer >/dev/null 2>&1; then
    log "packer is not in this distribution's archive (newer Ubuntu): install it from HashiCorp's apt repository, then re-run"
    filtered=("${filtered[@]/packer}")
fi
apt_install "${filtered[@]}" "${qemu_pins[@]}"

if [ "$want_test" = 1 ] && [ -f scripts/deps/openstack.txt ]; then
    # Debian's keystone/glance packages start their services on install,
    # listening on all interfaces; the tests run their own on loopback.
    mapfile -t os_pkgs < <(read_deps scripts/deps/openstack.txt)
    log "installing OpenStack test services (${#os_pkgs[@]} packages, services not started)"
    had_policy=0
    [ -e /usr/sbin/policy-rc.d ] && had_policy=1
    if [ "$had_policy" = 0 ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod 755 /usr/sbin/policy-rc.d
    fi
    apt_install "${os_pkgs[@]}"
    [ "$had_policy" = 0 ] && $SUDO rm -f /usr/sbin/policy-rc.d
fi

if ! command -v cargo >/dev/null 2>&1; then
    log "installing the Rust toolchain (rustup)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi
log "done"
