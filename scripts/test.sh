#!/usr/bin/env bash
# Run every test suite: formatting, lints, unit tests, and the end-to-end
# suites against real components (a real sshd test host, Packer, qemu,
# Vagrant + libvirt, Keystone + Glance). Needs root (namespaces, loop devices).
#
#   scripts/test.sh            everything (what CI runs)
#   scripts/test.sh --quick    unit and CLI tests only; e2e suites print SKIPPED
#
# Under CI=true an e2e test that would skip fails instead
# (tests/support/gate.rs), so --quick is refused there.
#
# The summary comes last even when tests fail; the exit status is the first
# failing lane's cargo test status (0 when both pass). "skipped" counts the tests that printed a SKIPPED line (they return
# early, and libtest counts them as passed); "timed out" counts tests whose
# deadline expired (that ends their whole test binary, see gate.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then exec sudo -E "$0" "$@"; fi
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

if [ "${1:-}" = "--quick" ]; then
    if [ "${CI:-}" = true ]; then
        echo "scripts/test.sh: --quick skips the end-to-end suites, which CI=true does not allow" >&2
        exit 2
    fi
    unset VMBUILD_E2E
else
    export VMBUILD_E2E=1
fi
export CARGO_TERM_COLOR=never RUST_BACKTRACE=1

t0=$(date +%s)
step() { printf '\n=== %s (%ss)\n' "$*" "$(( $(date +%s) - t0 ))"; }

step "cargo fmt --check"
cargo fmt --all -- --check
VM_SUITES="base_box_e2e e2e_main"
# shorter VM suites that wait for the base-box cache (built by base_box_e2e,
# then held by e2e_main through its `-p`): the host lane runs them after its
# other suites
LATE_SUITES="e2e_kill e2e_vagrant_libvirt installer_boot"
vm_args=() host_args=(--lib --bins) late_args=()
for f in tests/*.rs; do
    t=$(basename "$f" .rs)
    case " $VM_SUITES $LATE_SUITES " in
        *" $t "*) ;;
        *) host_args+=(--test "$t") ;;
    esac
done
for t in $VM_SUITES; do vm_args+=(--test "$t"); done
for t in $LATE_SUITES; do late_args+=(--test "$t"); done

# The VM lane is the long pole (about an hour cold), so it starts as soon as
# its own binaries exist; clippy and the other test binaries build beside it.
step "cargo build (the debug binary and the VM suites)"
cargo build --locked
cargo test --locked --no-run -q "${vm_args[@]}"

# Two lanes run side by side, each one `cargo test` over its test targets
# (cargo holds its build lock only while it compiles, not while tests run):
# - vm: the two long suites that boot VMs under software emulation, one
#   after the other (the base box, then `vmbuild -pue` with its artifacts
#   booted and used);
# - host: clippy first (a lint error stops both lanes), then everything
#   else: unit tests, real sshd test hosts in namespaces, Keystone + Glance,
#   export formats, mostly waiting on the network and on sshd round trips,
#   then, in a second `cargo test`, the shorter VM suites (LATE_SUITES:
#   SIGKILL, Vagrant + libvirt, the installer), which wait for the shared
#   base-box cache where they need it (tests/support/base_box.rs).
# Each lane's output is shown live with its name in front, and kept whole in
# target/test-<lane>.log for the summary.
# one `cargo test` of a lane; the lane's status is its first failure's
lane() {
    local name=$1 rc=0 prev; shift
    cargo test --locked --no-fail-fast "$@" -- --nocapture >>"target/test-$name.log" 2>&1 || rc=$?
    prev=$(cat "target/test-$name.status" 2>/dev/null || echo 0)
    [ "$prev" != 0 ] && rc=$prev
    echo "$rc" >"target/test-$name.status"
}
host_lane() {
    local rc=0
    echo "=== cargo clippy" >>target/test-host.log
    # its own target dir: its check-mode artifacts share nothing with the
    # build's, and the VM lane's cargo must not wait on clippy's lock
    CARGO_TARGET_DIR=target/clippy cargo clippy --all-targets --locked -- -D warnings \
        >>target/test-host.log 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
        echo "$rc" >target/test-host.status
        echo "clippy failed (exit $rc): stopping the VM lane" >>target/test-host.log
        kill -INT -- -"$vm_pid" 2>/dev/null || true
        return
    fi
    lane host "${host_args[@]}"
    lane host "${late_args[@]}"
}
rm -f target/test-vm.* target/test-host.*
: >target/test-vm.log
: >target/test-host.log
# job control: each lane is a process group of its own, so a stop reaches
# cargo, the test binaries and what they started (a background job of a
# script without it would ignore SIGINT)
set -m
lane vm "${vm_args[@]}" &
vm_pid=$!
host_lane &
host_pid=$!
tail -n +1 -F target/test-vm.log 2>/dev/null | sed -u 's/^/[vm] /' &
tail_vm=$!
tail -n +1 -F target/test-host.log 2>/dev/null | sed -u 's/^/[host] /' &
tail_host=$!
# Ctrl-C or a kill of this script stops both lanes (their tests clean up)
trap 'kill -INT -- -$vm_pid -$host_pid 2>/dev/null; wait $vm_pid $host_pid; kill $tail_vm $tail_host 2>/dev/null; exit 130' INT TERM
wait $vm_pid $host_pid || true
sleep 1
kill $tail_vm $tail_host 2>/dev/null || true
trap - INT TERM
set +m
log=target/test-output.log
cat target/test-host.log target/test-vm.log >"$log"
status=0
for lane in vm host; do
    s=$(cat "target/test-$lane.status" 2>/dev/null || echo 1)
    if [ "$s" != 0 ]; then
        echo "lane $lane: exited $s"
        status=$s
    fi
done

step "summary"
summary() {
    # libtest: "test result: ok. P passed; F failed; I ignored; ..."
    awk '/^test result:/ { p += $4; f += $6; i += $8 } END { print p + 0, f + 0, i + 0 }' "$log"
}
read -r passed failed ignored < <(summary)
# a SKIPPED line may share a line with libtest's own output under --nocapture
skipped=$( (grep -o 'SKIPPED (set VMBUILD_E2E=1)' "$log" || true) | wc -l)
timed_out=$(grep -c '^DEADLINE: test ' "$log" || true)
printf '%d passed, %d failed, %d skipped, %d timed out, %d ignored\n' \
    "$(( passed - skipped ))" "$failed" "$skipped" "$timed_out" "$ignored"
if [ "$skipped" -gt 0 ]; then
    echo "skipped (set VMBUILD_E2E=1 to run them):"
    grep -o 'SKIPPED (set VMBUILD_E2E=1): .*' "$log" | sed 's/^SKIPPED (set VMBUILD_E2E=1): //' | sort | uniq -c
fi
if [ "$timed_out" -gt 0 ]; then
    echo "timed out:"
    grep '^DEADLINE: test ' "$log"
fi
# failed tests, and test binaries that died without a result line (a
# deadline, a crash): cargo names each failed target
# (libtest lists each binary's failed tests, indented, after "failures:")
awk '/^failures:$/ { f = 1; next } /^test result:/ { f = 0 } f && /^    [^ ]+$/ { print "  failed: " substr($0, 5) }' "$log" | sort -u
grep -E '^error: test failed, to rerun pass' "$log" | sed 's/^/  /' || true
sed -n '/^error: [0-9]* targets\{0,1\} failed/,$p' "$log"
grep -E '^clippy failed' "$log" | sed 's/^/  /' || true
if [ "$status" != 0 ]; then
    echo "scripts/test.sh failed (exit $status)"
fi
exit "$status"
