#!/usr/bin/env bash
# Run every test suite: formatting, lints, unit tests, and the end-to-end
# suites against real components (a real sshd test host, Packer, qemu,
# Vagrant + libvirt, Keystone + Glance). Needs root (namespaces, loop devices).
#
#   scripts/test.sh            everything (what CI runs)
#   scripts/test.sh --quick    unit and CLI tests only; e2e suites print SKIPPED
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then exec sudo -E "$0" "$@"; fi
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

if [ "${1:-}" = "--quick" ]; then
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
step "cargo build (release binary for the e2e suites)"
cargo build --locked
step "cargo test"
cargo test --locked --no-fail-fast -- --nocapture 2>&1 | tee target/test-output.log
status=${PIPESTATUS[0]}
step "summary"
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "%d passed, %d failed, %d skipped\n", p, f, i }' target/test-output.log
grep -h '^SKIPPED' target/test-output.log | sort | uniq -c || true
exit "$status"
