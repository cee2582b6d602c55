//! Helpers for the libvirt end-to-end suite: a lock, libvirtd in a network
//! namespace with a Drop guard, and running vmbuild with its output echoed.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Holds an exclusive flock until dropped.
pub struct Lock(#[allow(dead_code)] std::fs::File);

/// Take the exclusive lock `path` (waits for other holders).
pub fn lock(path: &Path) -> Lock {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    let f = std::fs::File::create(path).unwrap();
    // SAFETY: flock on an open file descriptor we own.
    assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
    Lock(f)
}

fn netns_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/libvirt-netns.sh")
}

/// libvirtd + virtlogd running inside network namespace `ns`; stopped, with
/// every `vmbuild-*` domain and the namespace, when dropped.
pub struct LibvirtNetns {
    ns: String,
    run_dir: PathBuf,
}

impl LibvirtNetns {
    /// Start the daemons (the caller holds the libvirt lock).
    pub fn start(ns: &str, run_dir: &Path) -> LibvirtNetns {
        let guard = LibvirtNetns {
            ns: ns.to_owned(),
            run_dir: run_dir.to_owned(),
        };
        let t = Instant::now();
        let st = Command::new(netns_script())
            .args(["start", ns])
            .arg(run_dir)
            .status()
            .unwrap();
        assert!(st.success(), "libvirt-netns.sh start failed");
        eprintln!(
            "libvirtd up in namespace {ns} after {:.1} s",
            t.elapsed().as_secs_f64()
        );
        guard
    }
}

impl Drop for LibvirtNetns {
    fn drop(&mut self) {
        let _ = Command::new(netns_script())
            .args(["stop", &self.ns])
            .arg(&self.run_dir)
            .status();
    }
}

/// Names of all libvirt domains, running or not.
pub fn domains() -> Vec<String> {
    let out = Command::new("virsh")
        .args(["-c", "qemu:///system", "list", "--all", "--name"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "virsh list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether a qemu process mentioning `needle` runs.
pub fn qemu_running_for(needle: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline")).is_ok_and(|c| {
            let c = String::from_utf8_lossy(&c);
            c.contains("qemu-system") && c.contains(needle)
        })
    })
}

/// Run to completion; echo stderr under `label`; (exit code, stderr).
pub fn run_logged(mut cmd: Command, label: &str) -> (i32, String) {
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("--- {label} ---\n{err}");
    (out.status.code().unwrap_or(-1), err)
}

/// Kills the child (if still running) when dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Start `cmd`, wait for a stderr line containing `needle`, wait 3 s more,
/// send SIGINT (as Ctrl-C would) and wait for the exit; (exit code, stderr).
pub fn spawn_and_interrupt(cmd: Command, needle: &str) -> (i32, String) {
    spawn_and_signal(cmd, needle, libc::SIGINT)
}

/// Like [`spawn_and_interrupt`] with signal `sig`; the exit code is -1 when
/// the process died of the signal (SIGKILL).
pub fn spawn_and_signal(mut cmd: Command, needle: &str, sig: i32) -> (i32, String) {
    let mut child = KillOnDrop(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = mpsc::channel();
    let stderr = child.0.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[interrupted run] {line}");
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("never saw `{needle}`"));
        if line.contains(needle) {
            break;
        }
    }
    std::thread::sleep(Duration::from_secs(3));
    // SAFETY: signalling our own child (`ip netns exec` execs vmbuild in place).
    unsafe { libc::kill(child.0.id() as i32, sig) };
    let status = child.0.wait().unwrap();
    let all = reader.join().unwrap();
    (status.code().unwrap_or(-1), all)
}

/// Whether a `vagrant` process (Ruby) runs on the machine.
pub fn vagrant_running() -> bool {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|c| {
            let c = String::from_utf8_lossy(&c);
            c.contains("/vagrant\0") || c.starts_with("vagrant\0")
        })
}
