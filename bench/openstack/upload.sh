#!/bin/bash
# Upload throughput to a real Glance on loopback: curl (baseline) vs vmbuild.
# Usage: bench/openstack/upload.sh [SIZE_MIB] [VMBUILD_BINARY]
#   defaults: 512, target/release/vmbuild if built, else target/debug/vmbuild.
# Starts its own Keystone + Glance (tests/support/openstack/start.sh) on free
# ports under a temp dir and removes everything on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIZE=${1:-512}
BIN=${2:-}
[ -n "$BIN" ] || { [ -x "$ROOT/target/release/vmbuild" ] && BIN=$ROOT/target/release/vmbuild || BIN=$ROOT/target/debug/vmbuild; }
W=$(mktemp -d /tmp/vmbuild-bench-os.XXXXXX)
B=$W/stack
trap '"$ROOT/tests/support/openstack/stop.sh" "$B" >/dev/null; rm -rf "$W"' EXIT
read -r KP GP < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
"$ROOT/tests/support/openstack/start.sh" "$B" "$KP" "$GP" >/dev/null
IMG=$W/bench.qcow2
qemu-img create -q -f qcow2 "$IMG" "$((SIZE + 16))M"
qemu-io -f qcow2 -c "write -q -P 0x5a 0 ${SIZE}M" "$IMG"
BYTES=$(stat -c %s "$IMG")
AUTH='{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"name":"Default"},"password":"secret"}}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}'
TOKEN=$(curl -sf -D - -o /dev/null -H 'Content-Type: application/json' -d "$AUTH" "http://127.0.0.1:$KP/v3/auth/tokens" | awk 'tolower($1)=="x-subject-token:"{print $2}' | tr -d '\r')
ID=$(curl -sf -X POST -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"bench-curl","disk_format":"qcow2","container_format":"bare"}' "http://127.0.0.1:$GP/v2/images" \
  | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
t0=$(date +%s.%N)
curl -sf -X PUT -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/octet-stream' -H 'Expect:' -T "$IMG" "http://127.0.0.1:$GP/v2/images/$ID/file"
t1=$(date +%s.%N)
OS_CLIENT_CONFIG_FILE=$B/clouds.yaml bash -c 'TIMEFORMAT="%U %S"; time "$@" >/dev/null 2>/dev/null' _ "$BIN" upload "$IMG" --cloud test --name bench-vmbuild 2> "$W/cpu"
t2=$(date +%s.%N)
python3 - "$BYTES" "$t0" "$t1" "$t2" $(tail -n1 "$W/cpu") <<'P'
import sys
b, t0, t1, t2, cu, cs = int(sys.argv[1]), *map(float, sys.argv[2:])
curl, vm = t1 - t0, t2 - t1
mib = b / 1048576
print(f"image {mib:.0f} MiB qcow2")
print(f"curl PUT /file          {curl:6.2f} s  {mib/curl:7.1f} MiB/s")
print(f"vmbuild upload (all)    {vm:6.2f} s  {mib/vm:7.1f} MiB/s  (auth, create, upload, hash, verify)")
print(f"ratio vmbuild/curl time {vm/curl:6.2f}")
print(f"vmbuild CPU {cu:.2f} s user + {cs:.2f} s sys = {mib/(cu+cs):.0f} MiB per CPU-second (sha512+md5 on the way)")
P
