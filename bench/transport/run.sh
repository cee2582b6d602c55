#!/usr/bin/env bash
# SSH transport benchmark: one command, prints figures and ratios against OpenSSH.
#   bench/transport/run.sh        (N=200 commands by default; needs root)
# On a fresh test host (tests/support/testhost.sh), measures vmbuild's russh
# transport against the system `ssh` client:
#   - new connection + `true`            vs  `ssh host true`
#   - `true` over an open connection     vs  `ssh` through a ControlMaster socket
#   - the same with 8 channels in flight (vmbuild only: one connection, semaphore of 8)
#   - upload throughput of a 32 MiB put  vs  `ssh host 'cat > f' < file`
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-200}
TH=tests/support/testhost.sh
NAME=bench-transport-$$
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
trap '$TH destroy "$NAME" >/dev/null 2>&1 || true; rm -f "$WORK"/ctl "$WORK"/blob' EXIT
WORK=$(mktemp -d)
$TH start "$NAME" "$PORT"
CFG=$($TH sshconfig "$NAME")
KEY=$($TH keys | head -1)

echo "==> building the benchmark driver (release)"
cargo build --release --example transport_bench 2>&1 | tail -1
OURS=$(target/release/examples/transport_bench "$PORT" "$KEY" "$N")
echo "    vmbuild: $OURS"

now() { date +%s.%N; }
echo "==> OpenSSH client: 10 x new connection + true"
t0=$(now); for _ in $(seq 10); do ssh -F "$CFG" "$NAME" true; done; t1=$(now)
SSH_CONNECT=$(python3 -c "print(($t1-$t0)*1000/10)")
echo "==> OpenSSH client: $N x true over a ControlMaster connection"
ssh -F "$CFG" -o ControlMaster=yes -o ControlPath="$WORK/ctl" -o ControlPersist=60 -fN "$NAME"
t0=$(now); for _ in $(seq "$N"); do ssh -F "$CFG" -o ControlPath="$WORK/ctl" "$NAME" true; done; t1=$(now)
SSH_SEQ=$(python3 -c "print(($t1-$t0)*1000/$N)")
head -c $((32 << 20)) /dev/zero | tr '\0' Z > "$WORK/blob"
t0=$(now); ssh -F "$CFG" -o ControlPath="$WORK/ctl" "$NAME" 'cat > /tmp/bench-ssh.bin' < "$WORK/blob"; t1=$(now)
SSH_PUT=$(python3 -c "print(32*1048576/1e6/($t1-$t0))")
ssh -F "$CFG" -o ControlPath="$WORK/ctl" -O exit "$NAME" 2>/dev/null || true

python3 - "$OURS" "$SSH_CONNECT" "$SSH_SEQ" "$SSH_PUT" <<'PY'
import json, sys
o = json.loads(sys.argv[1]); sc, ss, sp = map(float, sys.argv[2:])
print()
print("==> results (lower ms is better)")
print(f"new connection + true : vmbuild {o['connect_true_ms']:7.1f} ms   ssh {sc:7.1f} ms   ratio {o['connect_true_ms']/sc:.2f}")
print(f"true, open connection : vmbuild {o['seq_true_ms']:7.1f} ms   ssh (ControlMaster) {ss:7.1f} ms   ratio {o['seq_true_ms']/ss:.2f}")
print(f"true, 8 in flight     : vmbuild {o['par_true_ms']:7.1f} ms/command   speed-up over sequential {o['seq_true_ms']/o['par_true_ms']:.1f}x")
print(f"32 MiB upload         : vmbuild {o['put_mb_s']:7.1f} MB/s  ssh cat {sp:7.1f} MB/s   ratio {o['put_mb_s']/sp:.2f}")
PY
