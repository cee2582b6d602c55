#!/usr/bin/env bash
# Export benchmark: one command, prints figures and ratios.
#   bench/export/run.sh            (SIZE_GIB=2 by default; IMAGE=path to use a real disk instead)
# Measures, in one run on the same image:
#   - export wall time (qcow2 -c + streamOptimized VMDK + OVA + Vagrant box, with hashing
#     and checksums)
#     against `qemu-img convert` alone for the same two conversions;
#   - peak RSS of the export (/usr/bin/time -v; includes qemu-img children) and of our own
#     process (VmHWM), target <= 64 MiB;
#   - SHA-256 throughput of vmbuild's hasher vs coreutils `sha256sum` on the same file
#     (page cache warm for both), target >= 1 GB/s.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_GIB=${SIZE_GIB:-2}
WORK=${WORK:-/var/tmp/vmbuild-bench-export}
mkdir -p "$WORK"
IMG=${IMAGE:-$WORK/synthetic-${SIZE_GIB}g.qcow2}

if [ ! -f "$IMG" ]; then
  echo "==> building synthetic ${SIZE_GIB} GiB image (1/4 random, 1/4 text-like, 1/2 zero) at $IMG"
  RAW=$WORK/synthetic.raw
  rm -f "$RAW"; truncate -s "${SIZE_GIB}G" "$RAW"
  Q=$(( SIZE_GIB * 1024 / 4 ))   # MiB per quarter
  # random quarter: incompressible, like packages and compressed data
  dd if=/dev/urandom of="$RAW" bs=1M count="$Q" conv=notrunc status=none
  # text-like quarter: compressible, like logs/source/config
  (seq 1 1000000000 || true) | head -c $(( Q * 1024 * 1024 )) | dd of="$RAW" bs=1M seek="$Q" conv=notrunc status=none iflag=fullblock
  # remaining half stays zero (sparse), like free space
  qemu-img convert -f raw -O qcow2 "$RAW" "$IMG.tmp" && mv "$IMG.tmp" "$IMG"
  rm -f "$RAW"
fi
qemu-img info "$IMG" | sed -n '1,6p'

echo "==> building the benchmark driver (release)"
cargo build --release --example export_bench 2>&1 | tail -1
BIN=target/release/examples/export_bench

now() { date +%s.%N; }
OUT=$WORK/out; rm -rf "$OUT" "$WORK/base"; mkdir -p "$OUT" "$WORK/base"
cat "$IMG" > /dev/null   # same warm cache for everyone

echo "==> qemu-img convert alone (qcow2 -c, then vmdk streamOptimized)"
t0=$(now)
qemu-img convert -f qcow2 -O qcow2 -c "$IMG" "$WORK/base/b.qcow2"
t1=$(now)
qemu-img convert -f qcow2 -O vmdk -o subformat=streamOptimized "$IMG" "$WORK/base/b.vmdk"
t2=$(now)
BASE_Q=$(python3 -c "print($t1-$t0)"); BASE_V=$(python3 -c "print($t2-$t1)"); BASE=$(python3 -c "print($t2-$t0)")

echo "==> vmbuild export (qcow2 + vmdk + ova + box + .sha256 files) under /usr/bin/time -v"
/usr/bin/time -v -o "$WORK/time.txt" "$BIN" export "$IMG" "$OUT" > "$WORK/export.json"
cat "$WORK/export.json"
j() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
EXPORT_S=$(j "$WORK/export.json" export_wall_s)
SELF_CPU=$(j "$WORK/export.json" self_cpu_s)
QEMU_CPU=$(j "$WORK/export.json" qemu_img_cpu_s)
SELF_RSS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["self_peak_rss_kib"])' "$WORK/export.json")
TREE_RSS=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
(cd "$OUT" && sha256sum -c --quiet ./*.sha256) && echo "    checksum files verify with sha256sum -c"

HF=$OUT/bench.ova
echo "==> hashing $(du -h "$HF" | cut -f1) file: vmbuild hasher vs sha256sum"
cat "$HF" > /dev/null
"$BIN" hash "$HF" > "$WORK/hash.json"; cat "$WORK/hash.json"
OURS_S=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hash_s"])' "$WORK/hash.json")
OURS_MBS=$(j "$WORK/hash.json" hash_mb_s)
OURS_CPU_MBS=$(j "$WORK/hash.json" hash_mb_per_cpu_s)
MEM_CPU_MBS=$(j "$WORK/hash.json" in_memory_mb_per_cpu_s)
t0=$(now); /usr/bin/time -f "%U %S" -o "$WORK/sha256sum.cpu" sha256sum "$HF" > "$WORK/sha256sum.out"; t1=$(now)
SUM=$(cut -d' ' -f1 "$WORK/sha256sum.out")
COREUTILS_S=$(python3 -c "print($t1-$t0)")
COREUTILS_CPU=$(awk '{print $1+$2}' "$WORK/sha256sum.cpu")
BYTES=$(stat -c %s "$HF")
grep -q "$SUM" "$WORK/hash.json" && echo "    digests agree"

python3 - "$BASE_Q" "$BASE_V" "$BASE" "$EXPORT_S" "$SELF_RSS" "$TREE_RSS" "$OURS_S" "$OURS_MBS" "$COREUTILS_S" "$BYTES" \
  "$SELF_CPU" "$QEMU_CPU" "$OURS_CPU_MBS" "$MEM_CPU_MBS" "$COREUTILS_CPU" <<'PY'
import sys
(bq, bv, base, ex, self_rss, tree_rss, ours_s, ours_mbs, cu_s, nbytes,
 self_cpu, qemu_cpu, ours_cpu_mbs, mem_cpu_mbs, cu_cpu) = map(float, sys.argv[1:])
cu_mbs = nbytes / 1e6 / cu_s
cu_cpu_mbs = nbytes / 1e6 / cu_cpu
print()
print("==> results (wall times depend on machine load; CPU-second figures do not)")
print(f"qemu-img convert alone      : {base:7.2f} s  (qcow2 -c {bq:.2f} s + vmdk {bv:.2f} s)")
print(f"vmbuild export (4 formats)  : {ex:7.2f} s  ratio export/convert = {ex/base:.3f}")
print(f"  CPU: qemu-img {qemu_cpu:.2f} s, vmbuild itself {self_cpu:.2f} s "
      f"(hashing, OVA and box packing, checksums) = {100*self_cpu/qemu_cpu:.1f} % on top of qemu-img")
print(f"peak RSS, vmbuild process   : {self_rss/1024:7.1f} MiB  (target <= 64 MiB: {'OK' if self_rss <= 64*1024 else 'MISSED'})")
print(f"peak RSS, incl. qemu-img    : {tree_rss/1024:7.1f} MiB  (/usr/bin/time -v)")
print(f"sha256 vmbuild, file        : {ours_mbs:7.0f} MB/s wall, {ours_cpu_mbs:.0f} MB per CPU-s  "
      f"(target >= 1000 on one core: {'OK' if ours_cpu_mbs >= 1000 else 'MISSED'})")
print(f"sha256 vmbuild, in memory   : {mem_cpu_mbs:7.0f} MB per CPU-s")
print(f"sha256 coreutils sha256sum  : {cu_mbs:7.0f} MB/s wall, {cu_cpu_mbs:.0f} MB per CPU-s")
print(f"ratio vmbuild/sha256sum     : {ours_mbs/cu_mbs:7.2f}x wall, {ours_cpu_mbs/cu_cpu_mbs:.2f}x per CPU-s")
PY
