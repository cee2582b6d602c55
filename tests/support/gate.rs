//! Gating and deadlines for end-to-end tests.
//!
//! - [`e2e`]: an end-to-end test runs with `VMBUILD_E2E=1`. Without it, it
//!   prints `SKIPPED` and passes, except under `CI=true`, where a suite that
//!   would skip fails, naming what is missing.
//! - [`Deadline`]: every e2e test arms one. When it expires, the test binary
//!   prints what it was doing (the last step and any registered context such
//!   as a VM's console tail) and exits non-zero, so a hang never runs CI into
//!   its hard limit.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Whether an end-to-end test may run. `what` says what the test needs and
/// does (printed when it is skipped, or in the failure under CI).
pub fn e2e(what: &str) -> bool {
    if std::env::var("VMBUILD_E2E").as_deref() == Ok("1") {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "CI=true but VMBUILD_E2E is not 1: this end-to-end test cannot be skipped in CI ({what})"
        );
    }
    eprintln!("SKIPPED (set VMBUILD_E2E=1): {what}");
    false
}

/// Fail (not skip) when `ok` is false: a prerequisite the test needs is
/// missing, e.g. a program or root.
pub fn require(ok: bool, what: &str) {
    assert!(ok, "missing prerequisite: {what}");
}

type Context = Box<dyn Fn() -> String + Send + Sync>;

struct State {
    step: String,
    context: Vec<(String, Context)>,
}

/// A watchdog for one test: on expiry it prints the current step and the
/// registered context, then exits the test binary with status 124.
/// Dropping it disarms it.
pub struct Deadline {
    done: Arc<AtomicBool>,
    state: Arc<Mutex<State>>,
}

impl Deadline {
    /// Arm a deadline of `limit` for the test `name`.
    pub fn arm(name: &str, limit: Duration) -> Deadline {
        let done = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(State {
            step: "starting".into(),
            context: Vec::new(),
        }));
        let (d, s, name) = (Arc::clone(&done), Arc::clone(&state), name.to_owned());
        let start = Instant::now();
        std::thread::spawn(move || {
            while start.elapsed() < limit {
                if d.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            if d.load(Ordering::SeqCst) {
                return;
            }
            let st = s.lock().unwrap_or_else(|e| e.into_inner());
            eprintln!(
                "\nDEADLINE: test `{name}` still running after {} s; last step: {}",
                limit.as_secs(),
                st.step
            );
            for (label, f) in &st.context {
                eprintln!("--- {label}:\n{}", f());
            }
            std::process::exit(124);
        });
        Deadline { done, state }
    }

    /// Record what the test is doing now (shown if the deadline expires).
    pub fn step(&self, what: &str) {
        eprintln!("STEP {what}");
        self.state.lock().unwrap_or_else(|e| e.into_inner()).step = what.to_owned();
    }

    /// Add context to print on expiry (e.g. a VM's console tail).
    pub fn context(&self, label: &str, f: impl Fn() -> String + Send + Sync + 'static) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .context
            .push((label.to_owned(), Box::new(f)));
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
    }
}
