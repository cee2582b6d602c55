#!/usr/bin/env bash
# bench/appliance/run.sh - how long `vmbuild provision` takes to make the
# appliance in a TCG VM (the base box booted by this script, 2 vCPUs,
# -cpu max), this tree against the previous method (BASELINE_REV, built from
# git), measured in the same run, printed side by side with a ratio:
#   lean  (python.packages = [], r.apt_packages = [], R kept)   goal new: <= 6 min warm, <= 12 min cold
#   full  (the default config)                                   goal new: <= 12 min warm, <= 20 min cold
#   noop  a second provisioning of the same VM                   goal: <= 5 s
#   kernel  python3 and R kernels, start to first result         goal: not slower than the baseline
# "cold" empties the package cache ($WORK/cache) first; "warm" runs with
# what is in it (the cold run fills it). The baseline has no cache: its figure is its only one.
# Each provisioning boots a fresh overlay of the base box. Hours of TCG for
# everything: choose with SETS and RUNS.
#
#   bench/appliance/run.sh                              SETS="lean full" RUNS="cold warm old"
#   SETS=lean RUNS="warm old" bench/appliance/run.sh   a subset
#   BOX=path/to.box  (default: builds/jupyterhub-appliance-libvirt.box, made by `vmbuild -p`)
#   BASELINE_REV=62a6969   BASELINE_BIN=/path/to/vmbuild (skips building it)
#   WORK=/var/tmp/vmbuild-bench-appliance   KEEP=1 keeps the work dir
# Needs: qemu-system-x86_64, qemu-img, vagrant's insecure key (the base box
# accepts it), the package registries. Runs every VM under the machine-wide
# lock /var/lock/vmbuild-vm.lock.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SETS=${SETS:-lean full}
RUNS=${RUNS:-cold warm old}
BOX=${BOX:-builds/jupyterhub-appliance-libvirt.box}
BASELINE_REV=${BASELINE_REV:-62a6969}
WORK=${WORK:-/var/tmp/vmbuild-bench-appliance}
LOCK=/var/lock/vmbuild-vm.lock
mkdir -p "$WORK"
RESULTS=$WORK/results.txt
: > "$RESULTS"
: > "$WORK/steps.txt"

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "$*"; exit 1; }
now() { date +%s.%N; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }

[ -f "$BOX" ] || die "no base box at $BOX (make one with \`vmbuild -p\`, or set BOX=)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"

# --- binaries -------------------------------------------------------------
log "building vmbuild (this tree)"
cargo build -q --bin vmbuild
NEW=$WORK/vmbuild-new
cp target/debug/vmbuild "$NEW"
OLD=${BASELINE_BIN:-}
if [[ " $RUNS " == *" old "* ]] && [ -z "$OLD" ]; then
    OLD=$WORK/vmbuild-old-$BASELINE_REV
    if [ ! -x "$OLD" ]; then
        log "building the baseline $BASELINE_REV (in a copy of target/: only vmbuild itself compiles)"
        # its own target dir: cargo gives both checkouts the same artifact names
        [ -d "$WORK/baseline-target" ] || cp -a target "$WORK/baseline-target"
        rm -rf "$WORK/baseline-src"
        git worktree add -f --detach "$WORK/baseline-src" "$BASELINE_REV" >/dev/null
        cargo build -q --manifest-path "$WORK/baseline-src/Cargo.toml" --target-dir "$WORK/baseline-target" --bin vmbuild
        cp "$WORK/baseline-target/debug/vmbuild" "$OLD"
        git worktree remove --force "$WORK/baseline-src"
        cargo build -q --bin vmbuild # put this tree's binary back in place
    fi
fi

# --- the base disk and the key ---------------------------------------------
if [ ! -f "$WORK/base.qcow2" ] || [ "$BOX" -nt "$WORK/base.qcow2" ]; then
    log "unpacking $BOX"
    tar -xzf "$BOX" -C "$WORK" box.img
    mv "$WORK/box.img" "$WORK/base.qcow2"
fi
KEY=$WORK/vagrant.key
if [ ! -f "$KEY" ]; then
    src=$(ls /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant 2>/dev/null | head -n 1)
    [ -n "$src" ] || die "vagrant's insecure key not found (apt-get install vagrant)"
    install -m 0600 "$src" "$KEY"
fi
CAS=$(for c in /usr/local/share/ca-certificates/*.crt; do [ -f "$c" ] && printf '"%s", ' "$c"; done)

# config SET CACHE_DIR RUN: the vmbuild.toml of a set (the baseline knows
# no [cache] and refuses unknown keys)
config() {
    local set=$1 cache=$2 run=$3 dir=$WORK/project-$1-$3
    mkdir -p "$dir"
    {
        echo 'name = "bench-appliance"'
        if [ "$set" = lean ]; then
            printf '[python]\npackages = []\n[r]\napt_packages = []\n'
        fi
        printf '[proxy]\nextra_ca_certs = [%s]\n' "${CAS%, }"
        if [ "$run" != old ]; then printf '[cache]\nenabled = true\ndir = "%s"\n' "$cache"; fi
    } > "$dir/vmbuild.toml"
    echo "$dir"
}

# --- one VM ----------------------------------------------------------------
QPID=
stop_vm() { if [ -n "$QPID" ]; then kill "$QPID" 2>/dev/null || true; wait "$QPID" 2>/dev/null || true; QPID=; fi; }
trap 'stop_vm; [ -n "${KEEP:-}" ] || rm -f "$WORK"/disk-*.qcow2' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
SSH_OPTS=(-q -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -i "$KEY")

# boot NAME: a fresh overlay of the base box; sets PORT
boot() {
    local name=$1 disk=$WORK/disk-$1.qcow2
    rm -f "$disk"
    qemu-img create -q -f qcow2 -F qcow2 -b "$WORK/base.qcow2" "$disk"
    PORT=$(free_port)
    qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 4096 -display none -nodefaults \
        -drive "file=$disk,if=virtio,format=qcow2,discard=unmap" \
        -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:22" -device virtio-net-pci,netdev=n0 \
        -serial "file:$WORK/serial-$name.log" </dev/null 9>&- &
    QPID=$!
    local t0=$SECONDS
    until ssh "${SSH_OPTS[@]}" -p "$PORT" vagrant@127.0.0.1 true 2>/dev/null; do
        [ $((SECONDS - t0)) -lt 600 ] || { tail -c 2000 "$WORK/serial-$name.log" >&2; die "$name: no SSH after 600 s"; }
        kill -0 "$QPID" 2>/dev/null || die "$name: qemu exited"
        sleep 3
    done
    log "$name: SSH up after $((SECONDS - t0)) s"
}

# provision BIN PROJECT NAME: prints the wall time in seconds
provision() {
    local bin=$1 project=$2 name=$3 t0 t1
    rm -f "$WORK/known_hosts-$name"
    t0=$(now)
    (cd "$project" && "$bin" provision -l "$WORK/$name.log" --host "vagrant@127.0.0.1:$PORT" --key "$KEY" \
        --known-hosts "$WORK/known_hosts-$name" --report "$WORK/$name.json") >"$WORK/$name.out" 2>&1 \
        || { tail -n 30 "$WORK/$name.out" >&2; die "$name: provisioning failed (log: $WORK/$name.log)"; }
    t1=$(now)
    secs "$t0" "$t1"
}

# kernels: python3 and R kernels from start to the first result, as a user
# who cannot write to /opt/tljh (as the hub's users)
kernels() {
    ssh "${SSH_OPTS[@]}" -p "$PORT" vagrant@127.0.0.1 "/opt/tljh/user/bin/python -" <<'EOF'
import time
from jupyter_client.manager import start_new_kernel
for name, code in (("python3", "1+1"), ("ir", "1+1")):
    t = time.monotonic()
    km, kc = start_new_kernel(kernel_name=name, startup_timeout=600)
    kc.execute_interactive(code, timeout=600)
    print(f"kernel {name} {time.monotonic() - t:.1f}")
    kc.stop_channels()
    km.shutdown_kernel(now=True)
EOF
}

# transfer PROJECT: what the SSH forward costs under TCG: the biggest wheel in
# the cache fetched by the guest through the forward (a one-resource recipe
# run by vmbuild) and straight from the host over qemu's user network
FETCH='import sys, time, urllib.request as u; t = time.time(); n = len(u.urlopen(sys.argv[1]).read()); print(n, time.time() - t)'
transfer() {
    local f sha name hp server n t
    f=$(find "$WORK/cache/pypi" -type f -name '*.whl' -printf '%s %p\n' 2>/dev/null | sort -n | tail -n 1 | cut -d' ' -f2)
    [ -n "$f" ] || return 0
    sha=$(basename "$(dirname "$f")"); name=$(basename "$f")
    mkdir -p "$WORK/transfer"
    {
        printf '[[resource]]\nname = "fetch through the forward"\ntype = "script"\n'
        printf "script = '''\n. /run/vmbuild/cache.env\n"
        printf "python3 -c '%s' \"\${UV_DEFAULT_INDEX%%/simple/}/files/%s/x/%s\" > /tmp/vmbuild-transfer\n'''\n" "$FETCH" "$sha" "$name"
    } > "$WORK/transfer/recipe.toml"
    (cd "$1" && "$NEW" provision -q --host "vagrant@127.0.0.1:$PORT" --key "$KEY" \
        --known-hosts "$WORK/known_hosts-transfer" "$WORK/transfer/recipe.toml") >"$WORK/transfer.out" 2>&1 \
        || { log "transfer through the forward failed (see $WORK/transfer.out)"; return 0; }
    read -r n t < <(ssh "${SSH_OPTS[@]}" -p "$PORT" vagrant@127.0.0.1 cat /tmp/vmbuild-transfer)
    record "transfer.forward.MBps" "$(python3 -c "print(f'{$n / $t / 1e6:.1f}')")"
    hp=$(free_port)
    (cd "$WORK/cache" && exec python3 -m http.server "$hp" --bind 127.0.0.1 >/dev/null 2>&1) 9>&- &
    server=$!
    sleep 1
    read -r n t < <(ssh "${SSH_OPTS[@]}" -p "$PORT" vagrant@127.0.0.1 \
        "python3 -c '$FETCH' http://10.0.2.2:$hp/pypi/$sha/$name")
    kill "$server" 2>/dev/null || true
    record "transfer.slirp.MBps" "$(python3 -c "print(f'{$n / $t / 1e6:.1f}')")"
}

record() { echo "$1 $2" >> "$RESULTS"; log "MEASURED $1: $2"; }

# steps NAME: the slowest resources of a run (time since the line before;
# merged installs show up under the resource that ran the transaction)
steps() {
    python3 - "$WORK/$1.out" <<'EOF' >> "$WORK/steps.txt"
import datetime, re, sys
name = sys.argv[1].rsplit("/", 1)[-1][:-4]
prev, rows = None, []
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\s+(\S+)\s+(\S+\[[^\]]*\])", line)
    stamp = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", line)
    if not stamp or (m and m.group(2) == "running"):
        continue  # "running ... (N s so far)" lines are not steps
    t = datetime.datetime.strptime(stamp.group(1), "%Y-%m-%dT%H:%M:%SZ")
    if m and prev is not None:
        rows.append(((t - prev).total_seconds(), m.group(3)))
    prev = t
for secs, label in sorted(rows, reverse=True)[:6]:
    print(f"{name:16} {secs:6.0f} s  {label}")
EOF
}

# measure SET RUN: one VM, one provisioning (and for warm runs: noop, kernels)
measure() {
    local set=$1 run=$2 name=$1-$2 bin=$NEW cache=$WORK/cache
    case $run in
        cold) rm -rf "$cache" ;; # the warm run after it uses what it fetched
        warm) [ -d "$cache" ] || log "warning: $cache is empty: this \"warm\" run is a cold one" ;;
        old) bin=$OLD ;;
    esac
    local project
    project=$(config "$set" "$cache" "$run")
    boot "$name"
    record "$set.$run" "$(provision "$bin" "$project" "$name")"
    steps "$name"
    if [ "$run" != cold ]; then
        record "$set.$run.noop" "$(provision "$bin" "$project" "$name-noop")"
        kernels | while read -r _ k s; do record "$set.$run.kernel.$k" "$s"; done
    fi
    if [ "$run" = warm ]; then transfer "$project"; fi
    grep -h '^cache:' "$WORK/$name.out" || true
    stop_vm
}

for set in $SETS; do
    # one VM on the machine at a time, the runs of a set back to back (a
    # warm run needs what the cold one fetched); background children get
    # no copy of fd 9, so none of them can keep holding the lock
    log "== $set: waiting for $LOCK"
    exec 9>"$LOCK"; flock 9
    for run in $RUNS; do
        log "== $set $run"
        measure "$set" "$run"
    done
    flock -u 9; exec 9>&-
done

# --- the table ------------------------------------------------------------
get() { awk -v k="$1" '$1 == k { print $2 }' "$RESULTS"; }
row() { # label new old goal
    local ratio=-
    if [ -n "$2" ] && [ -n "$3" ]; then ratio=$(python3 -c "print(f'{$3 / $2:.2f}x')"); fi
    printf '%-28s %10s %10s %8s   %s\n' "$1" "${2:--}" "${3:--}" "$ratio" "$4"
}
echo
printf '%-28s %10s %10s %8s   %s\n' "figure (s)" "new" "old" "old/new" "goal for new"
for set in $SETS; do
    warm_goal=360 cold_goal=720
    [ "$set" = full ] && warm_goal=720 cold_goal=1200
    row "$set: provision, cold cache" "$(get "$set.cold")" "$(get "$set.old")" "<= $cold_goal"
    row "$set: provision, warm cache" "$(get "$set.warm")" "$(get "$set.old")" "<= $warm_goal"
    row "$set: no-op re-provision" "$(get "$set.warm.noop")" "$(get "$set.old.noop")" "<= 5"
    row "$set: python3 kernel" "$(get "$set.warm.kernel.python3")" "$(get "$set.old.kernel.python3")" "<= old"
    row "$set: R kernel" "$(get "$set.warm.kernel.ir")" "$(get "$set.old.kernel.ir")" "<= old"
done
if [ -n "$(get transfer.forward.MBps)" ]; then
    printf '%-28s %10s %10s   (MB/s, a wheel from the cache into the guest)\n' "transfer: SSH forward/slirp" \
        "$(get transfer.forward.MBps)" "$(get transfer.slirp.MBps)"
fi
echo
echo "slowest steps of each run:"
cat "$WORK/steps.txt" 2>/dev/null || true
echo "(raw figures: $RESULTS; logs: $WORK/*.log)"
