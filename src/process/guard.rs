//! The orphan guard: whatever a run starts dies with the run, even when
//! vmbuild itself is killed with SIGKILL.
//!
//! Children run in their own process groups (so the terminal's Ctrl-C reaches
//! only vmbuild, which stops them in order), and long-lived ones such as a VM
//! in their own session; so nothing the kernel does on vmbuild's death reaches
//! them, and a parent-death signal would only reach the direct child, not
//! Packer's qemu or vagrant's helpers. Instead, the first time a run starts
//! something it also starts a guard: vmbuild itself again
//! (`vmbuild __vmbuild-guard`), in a session of its own, reading a pipe from
//! vmbuild. vmbuild tells it, line by line, which process groups to watch and
//! which clean-up commands to run (detach a loop device, destroy a Vagrant VM),
//! and takes each back when it is done with it. When the pipe closes —
//! vmbuild exited, or died — the guard terminates every group still watched
//! (SIGTERM, 5 s, SIGKILL) and runs every clean-up still registered, newest
//! first. On a normal exit vmbuild waits for it, so nothing outlives the run
//! but what the run deliberately let go (a VM `-u` brought up).
use std::io::{BufRead, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The argument that makes `vmbuild` run as the guard.
pub const GUARD_ARG: &str = "__vmbuild-guard";

struct Link {
    child: Child,
    stdin: ChildStdin,
}

static LINK: Mutex<Option<Link>> = Mutex::new(None);
static STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn send(line: &str) {
    let mut link = LINK.lock().unwrap_or_else(|e| e.into_inner());
    if link.is_none() && !STARTED.swap(true, Ordering::SeqCst) {
        *link = spawn().ok();
    }
    if let Some(l) = link.as_mut() {
        // a guard that died cannot guard; the run goes on without it
        let _ = writeln!(l.stdin, "{line}").and_then(|()| l.stdin.flush());
    }
}

fn spawn() -> std::io::Result<Link> {
    let exe = std::env::current_exe()?;
    // only the vmbuild binary can be the guard (not a test harness)
    if !exe
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("vmbuild"))
    {
        return Err(std::io::Error::other("not the vmbuild binary"));
    }
    let mut c = Command::new(exe);
    c.arg(GUARD_ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid(2) in the child before exec; async-signal-safe.
    unsafe {
        c.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = c.spawn()?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("no stdin for the guard"))?;
    Ok(Link { child, stdin })
}

/// Watch process group `pgid`: terminated if the run ends with it still watched.
pub fn watch(pgid: u32) {
    send(&format!("watch {pgid}"));
}

/// Stop watching `pgid` (it exited, or it is meant to outlive the run).
pub fn forget(pgid: u32) {
    if STARTED.load(Ordering::SeqCst) {
        send(&format!("forget {pgid}"));
    }
}

/// A clean-up command the guard runs if the run ends before [`Cleanup::disarm`].
#[must_use = "dropping a Cleanup keeps it armed; call disarm() once the work is undone"]
pub struct Cleanup(u64);

/// Register `argv` to run if the run ends (or dies) while it is armed.
pub fn on_exit(argv: &[String]) -> Cleanup {
    let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    let json = serde_json::to_string(argv).unwrap_or_default();
    send(&format!("cleanup {id} {json}"));
    Cleanup(id)
}

impl Cleanup {
    /// The work is undone: the guard must not run the command.
    pub fn disarm(self) {
        send(&format!("disarm {}", self.0));
    }
}

/// End of the run: close the pipe and wait for the guard to terminate what is
/// still watched and run the clean-ups still armed.
pub fn finish() {
    let link = LINK.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(Link { mut child, stdin }) = link {
        drop(stdin);
        let _ = child.wait();
    }
}

/// The guard's main loop (`vmbuild __vmbuild-guard`); never returns.
pub fn serve() -> ! {
    // Ctrl-C in vmbuild's terminal must not stop the guard
    // SAFETY: setting signal dispositions to ignore.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
        libc::signal(libc::SIGTERM, libc::SIG_IGN);
    }
    let mut watched: Vec<u32> = Vec::new();
    let mut cleanups: Vec<(u64, Vec<String>)> = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (verb, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match verb {
            "watch" => watched.extend(rest.parse::<u32>()),
            "forget" => {
                if let Ok(p) = rest.parse::<u32>() {
                    watched.retain(|w| *w != p);
                }
            }
            "cleanup" => {
                if let Some((id, json)) = rest.split_once(' ')
                    && let (Ok(id), Ok(argv)) = (id.parse(), serde_json::from_str(json))
                {
                    cleanups.push((id, argv));
                }
            }
            "disarm" => {
                if let Ok(id) = rest.parse::<u64>() {
                    cleanups.retain(|(i, _)| *i != id);
                }
            }
            _ => {}
        }
    }
    terminate(&watched);
    for (_, argv) in cleanups.iter().rev() {
        run_cleanup(argv);
    }
    std::process::exit(0)
}

/// Whether process `pid` exists and is not a zombie.
pub fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| !r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Processes of group `pgid` (from /proc; the leader may be gone already).
fn group_members(pgid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let (_, r) = s.rsplit_once(')')?;
                    let mut f = r.split_whitespace();
                    let state = f.next()?;
                    let _ppid = f.next()?;
                    let pg = f.next()?.parse::<u32>().ok()?;
                    Some(state != "Z" && pg == pgid)
                })
                .unwrap_or(false)
        })
        .collect()
}

fn terminate(groups: &[u32]) {
    if groups.is_empty() {
        return;
    }
    for g in groups {
        // SAFETY: kill(2) of process groups vmbuild started.
        unsafe { libc::kill(-(*g as i32), libc::SIGTERM) };
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && groups.iter().any(|g| !group_members(*g).is_empty()) {
        std::thread::sleep(Duration::from_millis(100));
    }
    for g in groups {
        // SAFETY: as above.
        unsafe { libc::kill(-(*g as i32), libc::SIGKILL) };
    }
}

fn run_cleanup(argv: &[String]) {
    let Some((program, args)) = argv.split_first() else {
        return;
    };
    let Ok(mut child) = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_runs_and_a_free_group_has_no_members() {
        assert!(running(std::process::id()));
        assert!(!running(u32::MAX - 1));
        assert!(group_members(u32::MAX - 1).is_empty());
    }
}
