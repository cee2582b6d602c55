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
# The summary comes last even when tests fail; the exit status is cargo
# test's. "skipped" counts the tests that printed a SKIPPED line (they return
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
step "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
step "cargo build (the debug binary the e2e suites run)"
cargo build --locked
step "cargo test"
log=target/test-output.log
set +e
cargo test --locked --no-fail-fast -- --nocapture 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

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
if [ "$status" != 0 ]; then
    echo "cargo test failed (exit $status)"
fi
exit "$status"
