#!/usr/bin/env bash
# testhost.sh - disposable Debian 12 (bookworm) SSH test hosts for vmbuild's
# integration tests: a real sshd on a real Debian userland, no VM.
#
#   testhost.sh build [--force]      build the pristine rootfs once (cached, flock-guarded)
#   testhost.sh start NAME PORT      start host NAME; sshd reachable at 127.0.0.1:PORT
#                                    (exit 75 when PORT turned out to be taken: retry
#                                    with another port; any other failure is final)
#   testhost.sh stop NAME            stop it (its filesystem changes are kept)
#   testhost.sh reset NAME           discard all changes (restarts it if it was running)
#   testhost.sh destroy NAME         stop + delete all state of NAME
#   testhost.sh status [NAME]        show hosts
#   testhost.sh ssh NAME [CMD...]    ssh into NAME as root (system ssh client)
#   testhost.sh sshconfig NAME       print the path of an ssh_config (Host NAME)
#   testhost.sh root NAME            print the path of NAME's root filesystem
#   testhost.sh kill-sessions NAME   SIGKILL every sshd session process (drops all
#                                    connections; the listener keeps running)
#   testhost.sh restart-sshd NAME    SIGHUP the listening sshd (re-exec) and wait for it
#   testhost.sh rekey NAME           new host keys, then restart-sshd
#   testhost.sh keys                 print the client key paths (ed25519, rsa, rsa-pem)
#
# Users: `root` and `vagrant` (passwordless sudo) both accept every client key
# below.  Client keys (generated once): $TH_KEYS/id_ed25519, id_rsa (OpenSSH
# format), id_rsa_pem (PKCS#1 PEM, like older Vagrant writes), plus Vagrant's
# insecure key from tests/fixtures/ssh/vagrant_insecure_key.
#
# Environment:
#   TH_CACHE   rootfs cache dir     (default /var/cache/vmbuild-test/rootfs); the
#              rootfs lives in a subdirectory keyed by suite + package list + recipe
#              version, so changing the package list rebuilds it
#   TH_STATE   state dir            (default /tmp/vmbuild-th); hosts in $TH_STATE/hosts
#   TH_KEYS    client keys dir      (default $TH_STATE/keys)
#   TH_MODE    auto | netns | chroot (default auto)
#   TH_MIRROR  Debian mirror        (default: the one in the machine's apt sources)
#   TH_COPY    1 = cp -a instead of overlayfs for the per-host root
#   TH_EXTRA   extra apt packages (space separated) for a rootfs variant: the
#              base plus these, cached under its own key; pass the same value
#              to build, start and reset of a host
#
# Isolation.  netns mode (preferred): sshd is PID 1 of new PID, mount, UTS and
# IPC namespaces, chrooted into an overlayfs (pristine rootfs = read-only lower
# layer), in its own network namespace joined to the machine only by a veth
# pair with link-local /30 addresses (169.254.200.0/20, never the 169.254.169.x
# metadata block) and NO default route.  Host-side helpers:
#   * socat 127.0.0.1:PORT -> <netns addr>:22      (the SSH endpoint)
#   * tinyproxy on the machine's end of the veth (HTTP + CONNECT 80/443), used by
#     apt, pip and curl inside (apt.conf, /etc/pip.conf, /etc/environment)
#   * socat UDP :53 on the machine's end -> the machine's resolver (DNS)
# chroot mode (fallback where `ip netns add` fails): same namespaces except the
# network; sshd listens directly on 127.0.0.1:PORT.
# There is no init system inside: systemd units can be written, not started.
set -euo pipefail

TH_SUITE=bookworm
TH_INCLUDE=openssh-server,python3,python3-venv,sudo,ca-certificates,iproute2,locales
# bump when the build steps below change in a way that must rebuild the cache
TH_RECIPE=2
TH_CACHE=${TH_CACHE:-/var/cache/vmbuild-test/rootfs}
TH_STATE=${TH_STATE:-/tmp/vmbuild-th}
TH_KEYS=${TH_KEYS:-$TH_STATE/keys}
TH_MODE=${TH_MODE:-auto}
TH_MIRROR=${TH_MIRROR:-$( (grep -rhoE "https?://[^ ]+/debian/?( |$)" /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null || true) | head -1 | tr -d " " | sed "s#/\$##")}
TH_MIRROR=${TH_MIRROR:-http://deb.debian.org/debian}
TH_COPY=${TH_COPY:-0}
TH_KEY_HASH=$(printf '%s\n' "$TH_SUITE" "$TH_INCLUDE" "$TH_RECIPE" | sha256sum | cut -c1-12)
TH_ROOTFS=$TH_CACHE/$TH_SUITE-$TH_KEY_HASH
# a variant: the base rootfs plus TH_EXTRA (apt packages, space separated),
# installed with apt-get in a copy of the base; cached under its own key
TH_EXTRA=$(echo ${TH_EXTRA:-})
TH_BASE_ROOTFS=$TH_ROOTFS
if [ -n "$TH_EXTRA" ]; then
    TH_ROOTFS=$TH_ROOTFS-x$(printf '%s\n' "$TH_EXTRA" | sha256sum | cut -c1-12)
fi
TH_HOSTS=$TH_STATE/hosts
SELF=$(readlink -f "$0")
# Vagrant's published insecure key (in the repo's test fixtures) is authorised too
VAGRANT_PUB=$(dirname "$SELF")/../fixtures/ssh/vagrant_insecure_key.pub

log() { printf '[testhost %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# The port given to `start` cannot be used, and another port would do: exit
# 75 (EX_TEMPFAIL). testhost.rs retries on a new port for this status only.
port_taken() { log "ERROR: $* (transient: try another port)"; exit 75; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }
check_name() { [[ "$1" =~ ^[A-Za-z0-9_.-]{1,40}$ ]] || die "bad host name '$1' (letters, digits, _.- ; max 40)"; }

ensure_host_tools() {
    local missing=()
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v socat >/dev/null || missing+=(socat)
    command -v tinyproxy >/dev/null || missing+=(tinyproxy-bin)
    command -v ssh >/dev/null || missing+=(openssh-client)
    command -v ip >/dev/null || missing+=(iproute2)
    command -v flock >/dev/null || missing+=(util-linux)
    [ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing host tools: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}" >&2
    fi
}

# Client keys, generated once; concurrent callers serialise on a lock.
ensure_keys() {
    mkdir -p "$TH_KEYS"; chmod 700 "$TH_KEYS"
    (
        flock 9
        [ -f "$TH_KEYS/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C testhost-ed25519 -f "$TH_KEYS/id_ed25519"
        [ -f "$TH_KEYS/id_rsa" ] || ssh-keygen -q -t rsa -b 3072 -N '' -C testhost-rsa -f "$TH_KEYS/id_rsa"
        [ -f "$TH_KEYS/id_rsa_pem" ] || ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -C testhost-rsa-pem -f "$TH_KEYS/id_rsa_pem"
        cat "$TH_KEYS"/id_ed25519.pub "$TH_KEYS"/id_rsa.pub "$TH_KEYS"/id_rsa_pem.pub >"$TH_KEYS/authorized_keys.tmp"
        if [ -f "$VAGRANT_PUB" ]; then cat "$VAGRANT_PUB" >>"$TH_KEYS/authorized_keys.tmp"; fi
        mv -f "$TH_KEYS/authorized_keys.tmp" "$TH_KEYS/authorized_keys"
    ) 9>"$TH_KEYS/.lock"
}

# ---------------------------------------------------------------- build
cmd_build() {
    need_root
    mkdir -p "$TH_CACHE"
    if [ -n "$TH_EXTRA" ]; then build_variant "$@"; return; fi
    if [ -f "$TH_ROOTFS/.th-complete" ] && [ "${1:-}" != "--force" ]; then
        return 0
    fi
    # one builder at a time; the others wait and then find the cache
    exec 8>"$TH_CACHE/.build.lock"
    flock 8
    if [ -f "$TH_ROOTFS/.th-complete" ] && [ "${1:-}" != "--force" ]; then
        exec 8>&-; return 0
    fi
    ensure_host_tools
    local t0 tmp
    t0=$(now)
    tmp="$TH_ROOTFS.tmp"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    log "debootstrap $TH_SUITE (minbase + $TH_INCLUDE) from $TH_MIRROR into $tmp"
    debootstrap --variant=minbase --include="$TH_INCLUDE" "$TH_SUITE" "$tmp" "$TH_MIRROR" \
        >"$tmp.debootstrap.log" 2>&1 || { tail -30 "$tmp.debootstrap.log" >&2; die "debootstrap failed (log: $tmp.debootstrap.log)"; }

    cat >"$tmp/etc/apt/sources.list" <<EOF
deb $TH_MIRROR $TH_SUITE main
deb $TH_MIRROR $TH_SUITE-updates main
deb ${TH_MIRROR%/debian}/debian-security $TH_SUITE-security main
EOF
    # the mirror may serve a dated snapshot: do not reject old Release files
    printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' >"$tmp/etc/apt/apt.conf.d/99snapshot"
    # DNS + CA trust from the machine (TLS to registries is intercepted here)
    rm -f "$tmp/etc/resolv.conf"; cp -L /etc/resolv.conf "$tmp/etc/resolv.conf"
    if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
        cp /usr/local/share/ca-certificates/*.crt "$tmp/usr/local/share/ca-certificates/"
        chroot "$tmp" update-ca-certificates >/dev/null 2>&1 || true
    fi
    cp /etc/ssl/certs/ca-certificates.crt "$tmp/etc/ssl/certs/ca-certificates.crt"
    # no daemons get started by package installs inside (there is no init)
    printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"; chmod 755 "$tmp/usr/sbin/policy-rc.d"
    cat >"$tmp/etc/ssh/sshd_config.d/testhost.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
PrintMotd no
MaxStartups 100:30:200
EOF
    [ -f "$tmp/etc/ssh/ssh_host_ed25519_key" ] || chroot "$tmp" ssh-keygen -A
    mkdir -p "$tmp/root/.ssh"; chmod 700 "$tmp/root/.ssh"
    # a Vagrant-style login user with passwordless sudo (tests the become paths)
    chroot "$tmp" useradd -m -s /bin/bash -U vagrant
    chroot "$tmp" passwd -l vagrant >/dev/null
    printf 'vagrant ALL=(ALL) NOPASSWD: ALL\n' >"$tmp/etc/sudoers.d/vagrant"; chmod 440 "$tmp/etc/sudoers.d/vagrant"
    install -d -m 700 -o "$(chroot "$tmp" id -u vagrant)" -g "$(chroot "$tmp" id -g vagrant)" "$tmp/home/vagrant/.ssh"
    # start empty like a fresh cloud image: the first provisioning run must apt update
    chroot "$tmp" apt-get clean
    rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/var/cache/apt/*.bin
    mkdir -p "$tmp/var/lib/apt/lists/partial"
    rm -f "$tmp/var/lib/apt/periodic/update-success-stamp"
    touch -d '2000-01-01 00:00:00' "$tmp/var/lib/apt/lists/partial" "$tmp/var/lib/apt/lists"
    local secs; secs=$(elapsed "$t0")
    echo "built $(date -u +%FT%TZ) in ${secs}s; include=$TH_INCLUDE recipe=$TH_RECIPE" >"$tmp/.th-complete"
    rm -rf "$TH_ROOTFS"; mv "$tmp" "$TH_ROOTFS"; rm -f "$tmp.debootstrap.log"
    log "rootfs ready: $TH_ROOTFS ($(du -sh "$TH_ROOTFS" | cut -f1)), build took ${secs}s"
    exec 8>&-
}

# The base rootfs + TH_EXTRA: apt-get in a copy of the base (faster than a
# second debootstrap, and the base stays shared with the other suites).
build_variant() {
    if [ -f "$TH_ROOTFS/.th-complete" ] && [ "${1:-}" != "--force" ]; then
        return 0
    fi
    TH_EXTRA='' "$SELF" build
    exec 8>"$TH_CACHE/.build.lock"
    flock 8
    if [ -f "$TH_ROOTFS/.th-complete" ] && [ "${1:-}" != "--force" ]; then
        exec 8>&-; return 0
    fi
    local t0 tmp secs
    t0=$(now)
    tmp="$TH_ROOTFS.tmp"
    rm -rf "$tmp"
    cp -a "$TH_BASE_ROOTFS" "$tmp"
    log "apt-get install $TH_EXTRA into a copy of $TH_BASE_ROOTFS"
    # proc and dev only for this namespace: gone when apt-get is done
    unshare --mount --propagation private -- sh -c '
        mount -t proc proc "$1/proc" && mount --rbind /dev "$1/dev" &&
        chroot "$1" apt-get -q update && shift &&
        DEBIAN_FRONTEND=noninteractive chroot "$0/" apt-get install -y -q --no-install-recommends "$@"
    ' "$tmp" "$tmp" $TH_EXTRA >"$tmp.apt.log" 2>&1 ||
        { tail -30 "$tmp.apt.log" >&2; die "apt-get install $TH_EXTRA failed (log: $tmp.apt.log)"; }
    chroot "$tmp" apt-get clean
    rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/var/cache/apt/*.bin
    mkdir -p "$tmp/var/lib/apt/lists/partial"
    touch -d '2000-01-01 00:00:00' "$tmp/var/lib/apt/lists/partial" "$tmp/var/lib/apt/lists"
    secs=$(elapsed "$t0")
    echo "built $(date -u +%FT%TZ) in ${secs}s; base=$TH_BASE_ROOTFS extra=$TH_EXTRA" >"$tmp/.th-complete"
    rm -rf "$TH_ROOTFS"; mv "$tmp" "$TH_ROOTFS"; rm -f "$tmp.apt.log"
    log "rootfs variant ready: $TH_ROOTFS ($(du -sh "$TH_ROOTFS" | cut -f1)), build took ${secs}s"
    exec 8>&-
}

# ---------------------------------------------------------------- helpers
hostdir() { echo "$TH_HOSTS/$1"; }
# alive = exists and is not a zombie
alive() { local s; s=$(sed "s/.*) //" "/proc/$1/stat" 2>/dev/null | cut -d" " -f1) && [ -n "$s" ] && [ "$s" != Z ]; }
is_running() { local d; d=$(hostdir "$1"); [ -f "$d/pids" ] && alive "$(head -1 "$d/pids")"; }
children() { cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+$' || true; }
descendants() { local c; for c in $(children "$1"); do echo "$c"; descendants "$c"; done; }
# the listening sshd (PID 1 of the host's PID namespace), seen from the machine
sshd_pid() {
    local d; d=$(hostdir "$1")
    [ -f "$d/pids" ] || die "$1 is not running"
    local p; p=$(children "$(head -1 "$d/pids")" | head -1)
    [ -n "$p" ] || die "$1: no sshd process"
    echo "$p"
}
netns_ok() {
    [ "$TH_MODE" = chroot ] && return 1
    local probe="th-probe-$$"
    if ip netns add "$probe" 2>/dev/null; then ip netns del "$probe"; return 0; fi
    [ "$TH_MODE" = netns ] && die "TH_MODE=netns but 'ip netns add' fails here"
    return 1
}
# a /30 per port inside 169.254.200.0/20 (skips the 169.254.169.x metadata block)
addr_for_port() {
    local n=$(( $1 % 1024 ))
    echo "169.254.$(( 200 + n / 64 )).$(( (n % 64) * 4 ))"
}
ip_add() { local b=${1%.*} l=${1##*.}; echo "$b.$(( l + $2 ))"; }

mount_root() {
    local d=$1
    mkdir -p "$d/root"
    if mountpoint -q "$d/root"; then return 0; fi
    if [ "$TH_COPY" = 1 ] || [ -f "$d/copy-mode" ]; then
        if [ ! -f "$d/root/.th-complete" ]; then
            log "copying pristine rootfs (cp -a)"
            cp -a "$TH_ROOTFS/." "$d/root/"
        fi
        touch "$d/copy-mode"; return 0
    fi
    mkdir -p "$d/upper" "$d/work"
    if ! mount -t overlay overlay -o "lowerdir=$TH_ROOTFS,upperdir=$d/upper,workdir=$d/work" "$d/root" 2>/dev/null; then
        log "overlayfs not available; falling back to cp -a"
        touch "$d/copy-mode"; mount_root "$d"; return 0
    fi
}

wait_ssh() {
    local name=$1 d i; d=$(hostdir "$1")
    for i in $(seq 1 150); do
        if ssh -F "$d/ssh_config" -o ConnectTimeout=2 "$name" true 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------- start
cmd_start() {
    need_root
    local name=${1:?usage: start NAME PORT} port=${2:?usage: start NAME PORT}
    check_name "$name"
    [[ "$port" =~ ^[0-9]+$ ]] || die "bad port"
    is_running "$name" && { log "$name already running"; return 0; }
    cmd_build
    ensure_host_tools; ensure_keys
    local d; d=$(hostdir "$name"); mkdir -p "$d"
    if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then port_taken "127.0.0.1:$port already in use"; fi
    local t0; t0=$(now)
    local fresh=0
    [ -f "$d/created" ] || fresh=1
    mount_root "$d"
    local r="$d/root"
    if [ "$fresh" = 1 ]; then
        echo "$name" >"$r/etc/hostname"
        printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$name" >"$r/etc/hosts"
        date -u +%FT%TZ >"$d/created"
    fi
    install -d -m 700 "$r/root/.ssh"
    install -m 600 "$TH_KEYS/authorized_keys" "$r/root/.ssh/authorized_keys"
    local vu vg; vu=$(stat -c %u "$r/home/vagrant"); vg=$(stat -c %g "$r/home/vagrant")
    install -d -m 700 -o "$vu" -g "$vg" "$r/home/vagrant/.ssh"
    install -m 600 -o "$vu" -g "$vg" "$TH_KEYS/authorized_keys" "$r/home/vagrant/.ssh/authorized_keys"
    echo "$port" >"$d/port"

    local mode=chroot
    netns_ok && mode=netns
    echo "$mode" >"$d/mode"
    : >"$d/pids.tmp"
    if [ "$mode" = netns ]; then
        local base hip nip ns=th-$name veth=thv$port
        base=$(addr_for_port "$port"); hip=$(ip_add "$base" 1); nip=$(ip_add "$base" 2)
        ip -o addr show | grep -q " $hip/" && port_taken "$hip already in use on this machine (port collision modulo 1024)"
        ip netns del "$ns" 2>/dev/null || true
        ip link del "$veth" 2>/dev/null || true
        ip netns add "$ns"
        echo "$hip $nip $ns $veth" >"$d/net"
        ip link add "$veth" type veth peer name "${veth}n"
        ip link set "${veth}n" netns "$ns"
        ip addr add "$hip/30" dev "$veth"; ip link set "$veth" up
        ip -n "$ns" link set lo up
        ip -n "$ns" link set "${veth}n" name eth0
        ip -n "$ns" addr add "$nip/30" dev eth0
        ip -n "$ns" link set eth0 up
        cat >"$d/tinyproxy.conf" <<EOF
User nobody
Group nogroup
Port 3128
Listen $hip
Allow $nip
Timeout 600
MaxClients 64
ConnectPort 443
ConnectPort 80
DisableViaHeader Yes
LogLevel Warning
EOF
        setsid tinyproxy -d -c "$d/tinyproxy.conf" >>"$d/tinyproxy.log" 2>&1 </dev/null &
        echo $! >>"$d/pids.tmp"
        local upstream
        upstream=$(awk '/^nameserver/ && $2 ~ /^[0-9.]+$/ {print $2; exit}' /etc/resolv.conf)
        if [ -n "$upstream" ]; then
            setsid socat -T 5 UDP4-RECVFROM:53,bind="$hip",fork UDP4-SENDTO:"$upstream":53 >>"$d/dns.log" 2>&1 </dev/null &
            echo $! >>"$d/pids.tmp"
        fi
        printf 'nameserver %s\n' "$hip" >"$r/etc/resolv.conf"
        local px="http://$hip:3128"
        printf 'Acquire::http::Proxy "%s";\nAcquire::https::Proxy "%s";\n' "$px" "$px" >"$r/etc/apt/apt.conf.d/80testhost-proxy"
        printf '[global]\nproxy = %s\n' "$px" >"$r/etc/pip.conf"
        # /etc/environment is read by pam_env for every ssh session
        grep -v -i '_proxy=' "$r/etc/environment" 2>/dev/null >"$d/env.tmp" || true
        printf 'http_proxy=%s\nhttps_proxy=%s\nHTTP_PROXY=%s\nHTTPS_PROXY=%s\nno_proxy=localhost,127.0.0.1\n' "$px" "$px" "$px" "$px" >>"$d/env.tmp"
        cat "$d/env.tmp" >"$r/etc/environment"; rm -f "$d/env.tmp"
        setsid ip netns exec "$ns" unshare --mount --pid --uts --ipc --fork --kill-child -- \
            "$SELF" _init "$name" 22 0.0.0.0 >>"$d/sshd.log" 2>&1 </dev/null &
        echo $! >"$d/pids"
        setsid socat TCP4-LISTEN:"$port",bind=127.0.0.1,reuseaddr,fork,nodelay TCP4:"$nip":22,nodelay \
            >>"$d/fwd.log" 2>&1 </dev/null &
        echo $! >>"$d/pids.tmp"
    else
        rm -f "$r/etc/apt/apt.conf.d/80testhost-proxy" "$r/etc/pip.conf" "$d/net"
        sed -i '/_proxy=/Id' "$r/etc/environment" 2>/dev/null || true
        rm -f "$r/etc/resolv.conf"; cp -L /etc/resolv.conf "$r/etc/resolv.conf"
        setsid unshare --mount --pid --uts --ipc --fork --kill-child -- \
            "$SELF" _init "$name" "$port" 127.0.0.1 >>"$d/sshd.log" 2>&1 </dev/null &
        echo $! >"$d/pids"
    fi
    cat "$d/pids.tmp" >>"$d/pids"; rm -f "$d/pids.tmp"
    write_sshconfig "$name" "$port"
    if wait_ssh "$name"; then
        log "$name up ($mode) on 127.0.0.1:$port in $(elapsed "$t0")s"
        return 0
    fi
    tail -20 "$d/sshd.log" >&2 || true
    cmd_stop "$name" || true
    # the port was free when probed but taken before socat (or sshd) bound it
    if grep -qs "Address already in use" "$d/fwd.log" "$d/sshd.log"; then
        port_taken "$name: 127.0.0.1:$port was taken before it could be bound"
    fi
    die "$name: sshd did not come up"
}

write_sshconfig() {
    local name=$1 port=$2 d; d=$(hostdir "$1")
    cat >"$d/ssh_config" <<EOF
Host $name
    HostName 127.0.0.1
    Port $port
    User root
    IdentityFile $TH_KEYS/id_ed25519
    IdentitiesOnly yes
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    LogLevel ERROR
EOF
}

# runs inside the new mount/pid/uts/ipc (and maybe net) namespaces
cmd__init() {
    local name=$1 port=$2 listen=$3 d r
    d=$(hostdir "$name"); r="$d/root"
    mount --make-rprivate /
    hostname "$name"
    mount -t proc proc "$r/proc"
    mount --bind "$r/proc/sys" "$r/proc/sys"; mount -o remount,bind,ro "$r/proc/sys"
    mount -t sysfs -o ro sysfs "$r/sys" 2>/dev/null || mount --rbind -o ro /sys "$r/sys" || true
    mount -t tmpfs -o mode=755,size=16m tmpfs "$r/dev"
    local n
    for n in null zero full random urandom tty; do
        touch "$r/dev/$n"; mount --bind "/dev/$n" "$r/dev/$n"
    done
    mkdir -p "$r/dev/pts" "$r/dev/shm"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$r/dev/pts"
    ln -s pts/ptmx "$r/dev/ptmx"; ln -s /proc/self/fd "$r/dev/fd"
    ln -s /proc/self/fd/0 "$r/dev/stdin"; ln -s /proc/self/fd/1 "$r/dev/stdout"; ln -s /proc/self/fd/2 "$r/dev/stderr"
    mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm"
    mount -t tmpfs -o mode=755 tmpfs "$r/run"
    mkdir -p "$r/run/sshd" "$r/run/lock"
    exec chroot "$r" /usr/sbin/sshd -D -e -p "$port" -o ListenAddress="$listen"
}

# ---------------------------------------------------------------- session control
cmd_kill_sessions() {
    need_root
    local name=${1:?usage: kill-sessions NAME} s p n=0
    s=$(sshd_pid "$name")
    for p in $(descendants "$s"); do kill -9 "$p" 2>/dev/null && n=$((n + 1)) || true; done
    log "$name: killed $n session process(es)"
}

cmd_restart_sshd() {
    need_root
    local name=${1:?usage: restart-sshd NAME}
    kill -HUP "$(sshd_pid "$name")"
    # sshd re-execs itself: wait until the listener answers again
    wait_ssh "$name" || die "$name: sshd did not come back after SIGHUP"
    log "$name: sshd restarted"
}

cmd_rekey() {
    need_root
    local name=${1:?usage: rekey NAME} r; r="$(hostdir "$name")/root"
    rm -f "$r"/etc/ssh/ssh_host_*
    chroot "$r" ssh-keygen -A >/dev/null
    cmd_restart_sshd "$name"
    log "$name: new host keys"
}

# ---------------------------------------------------------------- stop/reset
cmd_stop() {
    need_root
    local name=${1:?usage: stop NAME} d; d=$(hostdir "$name")
    [ -d "$d" ] || die "no such host $name"
    if [ -f "$d/pids" ]; then
        local p c
        # unshare --fork ignores SIGTERM: signal its child (sshd = PID 1 of the
        # namespace; when it exits the kernel kills everything else in there)
        p=$(head -1 "$d/pids")
        for c in $(children "$p"); do kill "$c" 2>/dev/null || true; done
        for p in $(cat "$d/pids"); do kill "$p" 2>/dev/null || true; done
        for p in $(cat "$d/pids"); do
            for _ in $(seq 1 100); do alive "$p" || break; sleep 0.02; done
            kill -9 "$p" 2>/dev/null || true
        done
        rm -f "$d/pids"
    fi
    if [ -f "$d/net" ]; then
        local hip nip ns veth; read -r hip nip ns veth <"$d/net"
        ip link del "$veth" 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
        rm -f "$d/net"
    fi
    if mountpoint -q "$d/root" 2>/dev/null; then
        umount "$d/root" 2>/dev/null || umount -l "$d/root"
    fi
    log "$name stopped"
}

cmd_reset() {
    need_root
    local name=${1:?usage: reset NAME} d port="" t0; d=$(hostdir "$name")
    t0=$(now)
    if is_running "$name"; then port=$(cat "$d/port"); cmd_stop "$name"; fi
    if [ -d "$d" ]; then
        if mountpoint -q "$d/root"; then umount "$d/root"; fi
        rm -rf "$d/upper" "$d/work" "$d/root" "$d/created" "$d/copy-mode"
    fi
    log "$name reset to pristine in $(elapsed "$t0")s"
    if [ -n "$port" ]; then cmd_start "$name" "$port"; fi
}

cmd_destroy() {
    need_root
    local name=${1:?usage: destroy NAME} d; d=$(hostdir "$name")
    [ -d "$d" ] || return 0
    if [ -f "$d/pids" ] || [ -f "$d/net" ]; then cmd_stop "$name"; fi
    if mountpoint -q "$d/root" 2>/dev/null; then umount "$d/root" 2>/dev/null || umount -l "$d/root"; fi
    rm -rf "$d"
}

cmd_status() {
    local d n
    for d in "$TH_HOSTS"/${1:-*}/; do
        [ -d "$d" ] || continue
        d=${d%/}; n=$(basename "$d")
        if is_running "$n"; then
            echo "$n running mode=$(cat "$d/mode") port=$(cat "$d/port") root=$d/root pids=$(tr '\n' ' ' <"$d/pids")"
        else
            echo "$n stopped"
        fi
    done
}

cmd_ssh() { local name=${1:?}; shift; exec ssh -F "$(hostdir "$name")/ssh_config" "$name" "$@"; }
cmd_sshconfig() { echo "$(hostdir "${1:?}")/ssh_config"; }
cmd_root() { echo "$(hostdir "${1:?}")/root"; }
cmd_keys() { ensure_keys; printf '%s\n' "$TH_KEYS/id_ed25519" "$TH_KEYS/id_rsa" "$TH_KEYS/id_rsa_pem"; }

case "${1:-}" in
    build) shift; cmd_build "$@" ;;
    start|stop|reset|destroy|status|ssh|sshconfig|root|keys|rekey|_init) c=$1; shift; "cmd_$c" "$@" ;;
    kill-sessions) shift; cmd_kill_sessions "$@" ;;
    restart-sshd) shift; cmd_restart_sshd "$@" ;;
    *) sed -n '2,21p' "$SELF" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
