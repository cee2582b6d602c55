//! The e2e harness itself (tests/support/gate.rs), run as a user of it
//! would: this test binary re-executes itself to run a victim test, and
//! checks what the victim's process did.
//! - without `VMBUILD_E2E`, an e2e test prints SKIPPED and passes; under
//!   `CI=true` it fails, naming what it needs;
//! - an expired deadline prints the last step and the context, runs the
//!   clean-ups, kills the processes the test started, and exits 124.
#[path = "support/gate.rs"]
mod gate;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Which victim to play (set only for the re-executed binary).
const VICTIM_ENV: &str = "VMBUILD_GATE_VICTIM";

/// Run this binary's ignored test `victim` with `env`, to completion.
fn run_victim(victim: &str, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--ignored",
        "--exact",
        victim,
        "--nocapture",
        "--test-threads=1",
    ])
    .env_remove("VMBUILD_E2E")
    .env_remove("CI")
    .env(VICTIM_ENV, victim)
    .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Fail unless re-executed by a test below (a victim is no test of its own).
fn only_as_victim(name: &str) {
    assert_eq!(
        std::env::var(VICTIM_ENV).as_deref(),
        Ok(name),
        "{name} only runs as the victim of a test in tests/gate.rs"
    );
}

#[test]
#[ignore = "victim of the gating test"]
fn victim_gated() {
    only_as_victim("victim_gated");
    if !gate::e2e("a test host and a hammer") {
        return;
    }
    println!("RAN");
}

#[test]
fn gating_skips_loudly_runs_when_asked_and_fails_under_ci() {
    let out = run_victim("victim_gated", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("SKIPPED (set VMBUILD_E2E=1): a test host and a hammer"),
        "{}",
        stderr(&out)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("RAN"));

    let out = run_victim("victim_gated", &[("VMBUILD_E2E", "1"), ("CI", "true")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("RAN"));

    let out = run_victim("victim_gated", &[("CI", "true")]);
    assert!(!out.status.success(), "a skip under CI=true must fail");
    assert!(
        stderr(&out).contains(
            "CI=true but VMBUILD_E2E is not 1: this end-to-end test cannot be skipped in CI \
             (a test host and a hammer)"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
#[ignore = "victim of the deadline test"]
fn victim_hangs() {
    only_as_victim("victim_hangs");
    let marker = std::env::var("VMBUILD_GATE_MARKER").unwrap();
    let d = gate::Deadline::arm("victim_hangs", Duration::from_secs(2));
    d.context("the console", || "console line 1\nconsole line 2".into());
    d.cleanup(move || std::fs::write(&marker, "cleaned").unwrap());
    // a grandchild, as qemu under packer would be
    let mut child = Command::new("sh")
        .args(["-c", "sleep 1000 & echo $!; wait"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pid = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut pid,
    )
    .unwrap();
    println!("GRANDCHILD {}", pid.trim());
    gate::step("waiting for something that never comes");
    // the deadline ends the process long before this returns
    let _ = child.wait();
}

#[test]
fn an_expired_deadline_says_where_cleans_up_and_kills_what_it_started() {
    // a grandchild left alive would hold the victim's pipes open: this
    // test would then wait forever
    let _d = gate::Deadline::arm(
        "an_expired_deadline_says_where_cleans_up_and_kills_what_it_started",
        Duration::from_secs(60),
    );
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("cleaned");
    let started = std::time::Instant::now();
    let out = run_victim(
        "victim_hangs",
        &[("VMBUILD_GATE_MARKER", marker.to_str().unwrap())],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(124), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the victim ran its full minute: the deadline did not fire"
    );
    assert!(
        err.contains(
            "DEADLINE: test `victim_hangs` still running after 2 s; last step: \
             waiting for something that never comes"
        ),
        "{err}"
    );
    assert!(
        err.contains("--- the console:\nconsole line 1\nconsole line 2"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "cleaned");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let pid: u32 = stdout
        .lines()
        // (libtest's "test victim_hangs ... " may start the line)
        .find_map(|l| l.split_once("GRANDCHILD ").map(|(_, p)| p))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no GRANDCHILD line: {stdout}"));
    // killed: gone, or a zombie until whoever inherited it reaps it (the
    // SIGKILL may still be on its way for a moment)
    let gone = || {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        state.is_empty() || state.contains(") Z ")
    };
    let since = std::time::Instant::now();
    while !gone() && since.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(gone(), "the victim's grandchild {pid} still runs");
}
