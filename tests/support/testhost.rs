//! Real SSH test hosts for integration tests (wraps `tests/support/testhost.sh`).
//!
//! A test host is a Debian 12 rootfs (debootstrap, cached under
//! `/var/cache/vmbuild-test/rootfs`) with a real sshd, running in its own
//! network/PID/mount namespaces (chroot + 127.0.0.1 fallback), reachable at
//! `127.0.0.1:port`. Users `root` and `vagrant` (passwordless sudo) accept the
//! ed25519, RSA (OpenSSH format), RSA (PEM) and Vagrant-insecure client keys below. apt and pip
//! work inside through a proxy on the veth; there is no init system.
//!
//! ```ignore
//! #[path = "support/gate.rs"]
//! mod gate;
//! #[path = "support/testhost.rs"]
//! mod testhost;
//!
//! #[test]
//! fn my_test() {
//!     // gate (SKIPPED / fail under CI), build the rootfs, arm a deadline
//!     let Some(d) = testhost::begin("my_test", "a real sshd", "", Duration::from_secs(120))
//!     else { return };
//!     d.step("start a host");
//!     let host = testhost::TestHost::start("mytest");   // ~1 s (first build ~2 min)
//!     // connect to 127.0.0.1:host.port as root or "vagrant" with host.key_path
//!     let out = host.exec_local("cat /etc/hostname");    // system ssh client, as root
//!     assert!(out.status.success());
//!     let text = host.sh("id -un");                      // stdout, panics on failure
//!     let file = host.root.join("etc/os-release");       // the host's files, seen from here
//!     host.kill_sessions();                              // drop every SSH connection
//!     host.rekey();                                      // new host keys
//!     host.stop(); host.restart();                       // a "reboot" (same port, files kept)
//! }                                                      // Drop: stop + delete state
//! ```
//!
//! Needs root (checked with `gate::require_root`). Host names get the process
//! id appended, so test binaries can run in parallel; the rootfs build is
//! serialised with flock in the script. A host started while a
//! `gate::Deadline` is armed on the thread is destroyed if that deadline
//! expires (destructors do not run then), and its sshd log is shown.
//! The including test crate declares `mod gate` (support/gate.rs) too.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::gate;

/// `testhost.sh start` exits with this (EX_TEMPFAIL) only for the failures a
/// new port cures; every other failure is final.
const RETRY_ON_NEW_PORT: i32 = 75;
/// Attempts at starting a host when a port turns out to be taken.
const START_ATTEMPTS: usize = 5;

/// The harness's state directory (`TH_STATE`, as testhost.sh defaults it).
fn script_state() -> PathBuf {
    PathBuf::from(std::env::var("TH_STATE").unwrap_or_else(|_| "/tmp/vmbuild-th".into()))
}

/// The last `n` bytes of a file (a log), or why it cannot be read.
fn tail(path: &std::path::Path, n: usize) -> String {
    match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b[b.len().saturating_sub(n)..]).into_owned(),
        Err(e) => format!("({}: {e})", path.display()),
    }
}

/// Path of the shell harness.
pub fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/testhost.sh")
}

/// Run `testhost.sh ARGS...`, returning its output (stderr inherited for logs).
fn run_script(args: &[&str]) -> Output {
    run_script_extra(args, "")
}

/// Like [`run_script`] for a rootfs variant (`TH_EXTRA`: extra apt packages).
fn run_script_extra(args: &[&str], extra: &str) -> Output {
    Command::new(script())
        .args(args)
        .env("TH_EXTRA", extra)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script().display()))
}

fn run_script_ok(args: &[&str]) -> String {
    run_script_ok_extra(args, "")
}

fn run_script_ok_extra(args: &[&str], extra: &str) -> String {
    let out = run_script_extra(args, extra);
    assert!(
        out.status.success(),
        "testhost.sh {args:?} failed: {:?}",
        out.status
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// How long building a rootfs may take (debootstrap, or apt-get for a
/// variant, from the mirror; ~80 s here when the mirror is warm).
const ROOTFS_BUILD_LIMIT: Duration = Duration::from_secs(20 * 60);

/// Build the rootfs (variant `extra`: extra apt packages, "" for the plain
/// one) unless it is cached, under a deadline of its own. Call it before
/// arming the test's deadline, so that one covers the test alone.
pub fn prepare(extra: &str) {
    gate::require_root("test hosts use namespaces and mounts");
    let _d = gate::Deadline::arm("building the test host rootfs", ROOTFS_BUILD_LIMIT);
    gate::step(&format!("testhost.sh build (TH_EXTRA={extra:?})"));
    run_script_ok_extra(&["build"], extra);
}

/// The start of every test-host test: gate it (`None`: skipped, the
/// SKIPPED line printed), build the rootfs variant `extra` if needed, then
/// arm the test's deadline of `limit`, which starts after the build.
pub fn begin(test: &str, what: &str, extra: &str, limit: Duration) -> Option<gate::Deadline> {
    if !gate::e2e(what) {
        return None;
    }
    prepare(extra);
    Some(gate::Deadline::arm(test, limit))
}

/// A free TCP port on 127.0.0.1 (bound then released; the script re-checks).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A running test host; dropped = stopped and deleted.
pub struct TestHost {
    /// Unique name (`<given>-<pid>-<n>`), also the `Host` in `ssh_config`.
    pub name: String,
    /// Always 127.0.0.1.
    pub addr: String,
    /// sshd port on 127.0.0.1.
    pub port: u16,
    /// ed25519 client key (OpenSSH format) accepted for root and vagrant.
    pub key_path: PathBuf,
    /// RSA client key, OpenSSH format.
    pub rsa_key_path: PathBuf,
    /// RSA client key, PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`).
    pub rsa_pem_key_path: PathBuf,
    /// Vagrant's published insecure RSA key (PKCS#1 PEM), from tests/fixtures/ssh.
    pub vagrant_key_path: PathBuf,
    /// An ssh_config with `Host <name>` (root, key, no host key checking).
    pub ssh_config: PathBuf,
    /// The host's root filesystem as seen from this machine (overlay mount).
    pub root: PathBuf,
    /// Extra apt packages of the rootfs variant ("" = the plain rootfs).
    pub extra: String,
}

impl TestHost {
    /// Build the rootfs if needed, then start a fresh host on a free port.
    /// Panics on failure (this is a test helper).
    pub fn start(name: &str) -> TestHost {
        Self::start_with(name, "")
    }

    /// Like [`TestHost::start`] on a rootfs variant: the plain rootfs plus the
    /// apt packages in `extra` (space separated), built once and cached.
    pub fn start_with(name: &str, extra: &str) -> TestHost {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("{name}-{}-{n}", std::process::id());
        gate::require_root("test hosts use namespaces and mounts");
        let keys = run_script_ok(&["keys"]);
        let keys: Vec<PathBuf> = keys.lines().map(PathBuf::from).collect();
        assert_eq!(keys.len(), 3, "testhost.sh keys printed {keys:?}");
        // a deadline that expires does not run Drop: destroy the host then,
        // after showing its sshd log
        let log = script_state().join("hosts").join(&name).join("sshd.log");
        gate::context_on_expiry(&format!("test host {name}: sshd log tail"), move || {
            tail(&log, 3000)
        });
        let doomed = name.clone();
        gate::cleanup_on_expiry(move || {
            let _ = run_script(&["destroy", &doomed]);
        });
        // Retried, on a new port, only when testhost.sh says the port was the
        // problem (exit 75), which happens in exactly these transient cases:
        // - the free port we probed was taken before socat (or sshd, in
        //   chroot mode) bound it: another test binary started a host at the
        //   same moment;
        // - two ports map to the same link-local /30 (port modulo 1024) and
        //   the other one is in use by a running host.
        // Any other failure (no rootfs, debootstrap, sshd not starting, a
        // bug) fails at once with its status.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port();
            let out = run_script_extra(&["start", &name, &port.to_string()], extra);
            if out.status.success() {
                let ssh_config = PathBuf::from(run_script_ok(&["sshconfig", &name]).trim());
                let root = PathBuf::from(run_script_ok(&["root", &name]).trim());
                return TestHost {
                    name,
                    addr: "127.0.0.1".into(),
                    port,
                    key_path: keys[0].clone(),
                    rsa_key_path: keys[1].clone(),
                    rsa_pem_key_path: keys[2].clone(),
                    vagrant_key_path: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                        .join("tests/fixtures/ssh/vagrant_insecure_key"),
                    ssh_config,
                    root,
                    extra: extra.to_owned(),
                };
            }
            let _ = run_script(&["destroy", &name]);
            let transient = out.status.code() == Some(RETRY_ON_NEW_PORT);
            assert!(
                transient && attempt < START_ATTEMPTS,
                "testhost {name} did not start on port {port}: {:?}{}",
                out.status,
                if transient {
                    format!(" (port taken {attempt} times in a row)")
                } else {
                    " (not a port collision: not retried; see the [testhost] lines above)".into()
                }
            );
            eprintln!("testhost {name}: port {port} was taken; retrying on a new port");
        }
    }

    /// The host's directory under the harness state (`TH_STATE/hosts/NAME`).
    fn dir(&self) -> PathBuf {
        self.root
            .parent()
            .expect("the host root is inside its directory")
            .to_owned()
    }

    /// The host's sshd log (sshd runs with `-e`: its messages go there).
    pub fn sshd_log(&self) -> PathBuf {
        self.dir().join("sshd.log")
    }

    /// Whether the host has a network namespace of its own (netns mode: the
    /// machine is reachable only through the veth, there is no default
    /// route, and 127.0.0.1 is the host's own loopback). In the chroot
    /// fallback it shares the machine's network.
    pub fn has_own_network(&self) -> bool {
        std::fs::read_to_string(self.dir().join("mode")).is_ok_and(|m| m.trim() == "netns")
    }

    /// Run `script` with `sh -c` on the host as root, through the system ssh client.
    pub fn exec_local(&self, script: &str) -> Output {
        Command::new("ssh")
            .arg("-F")
            .arg(&self.ssh_config)
            .arg(&self.name)
            .arg(script)
            .stdin(Stdio::null())
            .output()
            .expect("cannot run ssh")
    }

    /// Like [`TestHost::exec_local`], panicking unless it exits 0; returns stdout.
    pub fn sh(&self, script: &str) -> String {
        let out = self.exec_local(script);
        assert!(
            out.status.success(),
            "on {}: `{script}` failed ({:?}): {}",
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Kill every sshd session process: all SSH connections drop at once.
    pub fn kill_sessions(&self) {
        run_script_ok(&["kill-sessions", &self.name]);
    }

    /// Restart the listening sshd (existing sessions survive).
    pub fn restart_sshd(&self) {
        run_script_ok(&["restart-sshd", &self.name]);
    }

    /// Generate new host keys and restart sshd.
    pub fn rekey(&self) {
        run_script_ok(&["rekey", &self.name]);
    }

    /// Stop the host like a powered-off VM (its files are kept; `root` is
    /// unmounted until [`TestHost::restart`]).
    pub fn stop(&self) {
        run_script_ok(&["stop", &self.name]);
    }

    /// Start a stopped host again on the same port, files and host keys
    /// unchanged (a reboot).
    pub fn restart(&self) {
        run_script_ok_extra(&["start", &self.name, &self.port.to_string()], &self.extra);
    }

    /// Discard all filesystem changes and restart (same port).
    pub fn reset(&self) {
        run_script_ok_extra(&["reset", &self.name], &self.extra);
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        let _ = run_script(&["destroy", &self.name]);
    }
}
