#!/usr/bin/env bash
# bench/main/run.sh - the README's main command, `vmbuild -pue`, timed stage
# by stage, as a user runs it: the release build on its own, then fresh
# project directories for the lean set (no extra Python packages, no R, as
# the Vagrant + libvirt suite provisions) and the full default set, each
# cold (empty caches: base disks, extracted boxes, the host package cache)
# and warm (the same project again after `-c`, caches kept). Prints one
# table: wall time of -p, -u, -e and the whole run, and vmbuild's peak RSS
# (GNU time; vmbuild itself, not qemu or Packer it starts).
#
#   bench/main/run.sh                      all four runs (hours under TCG)
#   SETS=lean RUNS="cold warm" bench/main/run.sh
#
# Needs root (debootstrap), and the machine otherwise idle for honest figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK=${BENCH_DIR:-/var/tmp/vmbuild-bench-main}
SETS=${SETS:-lean full}
RUNS=${RUNS:-cold warm}
mkdir -p "$WORK"

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

log "cargo build --release"
t0=$(date +%s.%N)
cargo build -q --release --locked --bin vmbuild
build_secs=$(echo "$(date +%s.%N) - $t0" | bc)
VMBUILD=$ROOT/target/release/vmbuild

config() { # SET
    case $1 in
        lean) printf 'name = "bench"\n[python]\npackages = []\n[r]\nenabled = false\n' ;;
        full) printf 'name = "bench"\n' ;;
    esac
}

# the host package cache vmbuild keeps across projects (emptied for cold runs)
host_cache() { "$VMBUILD" cache dir 2>/dev/null || true; }

results=()
for set in $SETS; do
    project=$WORK/$set
    for run in $RUNS; do
        if [ "$run" = cold ]; then
            [ -d "$project" ] && (cd "$project" && "$VMBUILD" -c -q >/dev/null 2>&1 || true)
            rm -rf "$project"
            c=$(host_cache); [ -n "$c" ] && rm -rf "$c"
        else
            (cd "$project" && "$VMBUILD" -c -q)
        fi
        mkdir -p "$project"
        config "$set" >"$project/vmbuild.toml"
        log "$set $run: vmbuild -pue"
        rm -f "$project/run.log"
        t0=$(date +%s.%N)
        (cd "$project" && /usr/bin/time -f '%M' -o "$WORK/rss" "$VMBUILD" -pue -l run.log >"$WORK/out-$set-$run.txt" 2>&1) \
            || { log "$set $run failed: see $WORK/out-$set-$run.txt"; exit 1; }
        total=$(echo "$(date +%s.%N) - $t0" | bc)
        times=$(grep -o 'time: .*' "$WORK/out-$set-$run.txt" | tail -1 | sed 's/^time: //')
        results+=("$(printf '%-5s %-5s %8.0f s  %9s MiB  %s' "$set" "$run" "$total" "$(( $(cat "$WORK/rss") / 1024 ))" "$times")")
    done
done

printf '\ncargo build --release (cold or incremental, as found): %.0f s\n\n' "$build_secs"
printf '%-5s %-5s %10s  %13s  %s\n' set run "-pue" "peak RSS" "per stage"
printf '%s\n' "${results[@]}"
