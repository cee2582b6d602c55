//! Gating and deadlines for end-to-end tests.
//!
//! - [`e2e`]: an end-to-end test runs with `VMBUILD_E2E=1`. Without it, it
//!   prints `SKIPPED` and passes, except under `CI=true`, where a suite that
//!   would skip fails, naming what is missing.
//! - [`require`]: a prerequisite (root, a program) that is missing fails the
//!   test; it never skips it.
//! - [`Deadline`]: every e2e test arms one. When it expires, the test binary
//!   prints what it was doing (the last step and any registered context such
//!   as a VM's console tail), runs the registered clean-ups (test hosts),
//!   kills every process it started (qemu, packer, vmbuild) and exits
//!   non-zero, so a hang never runs CI into its hard limit and leaves nothing
//!   running behind it.
//! - [`step`]: shared helpers (a `vmbuild provision` run, say) record the
//!   command they are about to run in the deadline armed on the calling
//!   thread, so an expiry names the last command without every call site
//!   passing the deadline along.
#![allow(dead_code)]

use std::cell::RefCell;
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
    say(format!("SKIPPED (set VMBUILD_E2E=1): {what}"));
    false
}

/// Print `line` to stderr in one write, so the lines of tests running in
/// parallel (and libtest's own) do not cut into it; scripts/test.sh counts
/// and lists the SKIPPED ones.
fn say(mut line: String) {
    line.push('\n');
    eprint!("{line}");
}

/// Fail (not skip) when `ok` is false: a prerequisite the test needs is
/// missing, e.g. a program or root.
pub fn require(ok: bool, what: &str) {
    assert!(ok, "missing prerequisite: {what}");
}

/// Fail unless the test runs as root (namespaces, mounts, loop devices).
pub fn require_root(why: &str) {
    // SAFETY: geteuid cannot fail.
    require(unsafe { libc::geteuid() } == 0, &format!("root ({why})"));
}

/// Fail unless `program` runs (`program ARG` starts at all); `hint` says how
/// to install it.
pub fn require_program(program: &str, arg: &str, hint: &str) {
    let found = std::process::Command::new(program)
        .arg(arg)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    require(found, &format!("the program `{program}` ({hint})"));
}

type Context = Box<dyn Fn() -> String + Send + Sync>;
type Cleanup = Box<dyn Fn() + Send + Sync>;

struct State {
    step: String,
    context: Vec<(String, Context)>,
    cleanup: Vec<Cleanup>,
}

type Shared = Arc<Mutex<State>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    /// The deadlines armed on this thread, innermost last (a test runs on
    /// one thread; a helper may arm one of its own for a while).
    static CURRENT: RefCell<Vec<Shared>> = const { RefCell::new(Vec::new()) };
}

/// Run `f` on the innermost deadline armed on this thread, if any.
fn with_current(f: impl FnOnce(&Shared)) -> bool {
    CURRENT.with(|c| c.borrow().last().map(f).is_some())
}

/// A watchdog for one test: on expiry it prints the current step and the
/// registered context, runs the registered clean-ups, kills this test
/// binary's child processes, then exits the test binary with status 124.
/// Dropping it disarms it.
pub struct Deadline {
    done: Arc<AtomicBool>,
    state: Shared,
}

impl Deadline {
    /// Arm a deadline of `limit` for the test `name`.
    pub fn arm(name: &str, limit: Duration) -> Deadline {
        let done = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(State {
            step: "starting".into(),
            context: Vec::new(),
            cleanup: Vec::new(),
        }));
        CURRENT.with(|c| c.borrow_mut().push(Arc::clone(&state)));
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
            expire(&name, limit, &s);
        });
        Deadline { done, state }
    }

    /// Record what the test is doing now (shown if the deadline expires).
    pub fn step(&self, what: &str) {
        say(format!("STEP {what}"));
        lock(&self.state).step = what.to_owned();
    }

    /// Add context to print on expiry (e.g. a VM's console tail).
    pub fn context(&self, label: &str, f: impl Fn() -> String + Send + Sync + 'static) {
        lock(&self.state)
            .context
            .push((label.to_owned(), Box::new(f)));
    }

    /// Add a clean-up to run on expiry, before the process exits (destructors
    /// do not run then): e.g. stopping a test host. It must be harmless when
    /// the thing was already cleaned up normally.
    pub fn cleanup(&self, f: impl Fn() + Send + Sync + 'static) {
        lock(&self.state).cleanup.push(Box::new(f));
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        CURRENT.with(|c| c.borrow_mut().retain(|s| !Arc::ptr_eq(s, &self.state)));
    }
}

/// Record the step in the deadline armed on this thread, if any (for shared
/// helpers that run a command on behalf of the test).
pub fn step(what: &str) {
    say(format!("STEP {what}"));
    with_current(|s| lock(s).step = what.to_owned());
}

/// Register context with the deadline armed on this thread, if any (see
/// [`Deadline::context`]).
pub fn context_on_expiry(label: &str, f: impl Fn() -> String + Send + Sync + 'static) {
    with_current(|s| lock(s).context.push((label.to_owned(), Box::new(f))));
}

/// Register a clean-up with the deadline armed on this thread, if any (see
/// [`Deadline::cleanup`]).
pub fn cleanup_on_expiry(f: impl Fn() + Send + Sync + 'static) {
    with_current(|s| lock(s).cleanup.push(Box::new(f)));
}

/// The deadline expired: say where, show the context, clean up, exit 124.
fn expire(name: &str, limit: Duration, s: &Shared) -> ! {
    // Held until the exit: libtest reports every finished test on stdout
    // before it exits, so a test that finishes meanwhile (a child killed
    // below wakes it) cannot end the process before the exit status says
    // the deadline expired.
    let _stdout = std::io::stdout().lock();
    {
        let st = lock(s);
        eprintln!(
            "\nDEADLINE: test `{name}` still running after {} s; last step: {}",
            limit.as_secs(),
            st.step
        );
        for (label, f) in &st.context {
            eprintln!("--- {label}:\n{}", f());
        }
    }
    // Freeze what the test started first, so it cannot change anything while
    // the clean-ups run (they may start programs of their own); then
    // everything below us is killed and the process exits.
    stop_descendants();
    for f in &lock(s).cleanup {
        f();
    }
    // (the stopped ones again, and any the clean-ups left)
    let all = stop_descendants();
    for pid in all.iter().rev() {
        // SAFETY: kill(2) on a process we started (directly or not).
        unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
    }
    eprintln!(
        "DEADLINE: killed {} process(es) this test started",
        all.len()
    );
    std::process::exit(124);
}

/// SIGSTOP every live process below this one, each before its children are
/// listed so it cannot fork more; returns their pids, parents before their
/// children, this process's own children first.
fn stop_descendants() -> Vec<u32> {
    let mut seen: Vec<u32> = Vec::new();
    let mut next = 0;
    let mut parent = std::process::id();
    loop {
        for child in children_of(parent) {
            if !seen.contains(&child) {
                // SAFETY: kill(2) on a process we started (directly or not).
                unsafe { libc::kill(child as i32, libc::SIGSTOP) };
                seen.push(child);
            }
        }
        let Some(p) = seen.get(next) else {
            return seen;
        };
        parent = *p;
        next += 1;
    }
}

/// The pids whose parent is `pid` (from /proc/PID/stat).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|st| {
                    // the command name may hold spaces and parentheses: the
                    // fields after the last `)` are state, then ppid
                    let mut rest = st[st.rfind(')')? + 1..].split_whitespace();
                    let state = rest.next()?;
                    let ppid = rest.next()?.parse::<u32>().ok()?;
                    // a zombie is dead already (its parent has not reaped it)
                    (state != "Z").then_some(ppid)
                })
                == Some(pid)
        })
        .collect()
}
