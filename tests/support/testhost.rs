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
//! #[path = "support/testhost.rs"]
//! mod testhost;
//!
//! #[test]
//! fn my_test() {
//!     if !testhost::e2e_enabled("needs root and a real sshd") { return; }
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
//! Needs root. Host names get the process id appended, so test binaries can
//! run in parallel; the rootfs build is serialised with flock in the script.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Whether e2e tests run (env `VMBUILD_E2E=1`); otherwise prints the skip line.
pub fn e2e_enabled(why: &str) -> bool {
    if std::env::var("VMBUILD_E2E").as_deref() == Ok("1") {
        return true;
    }
    eprintln!("SKIPPED (set VMBUILD_E2E=1): {why}");
    false
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
        let keys = run_script_ok(&["keys"]);
        let keys: Vec<PathBuf> = keys.lines().map(PathBuf::from).collect();
        assert_eq!(keys.len(), 3, "testhost.sh keys printed {keys:?}");
        // A free port can be taken between our probe and socat's bind, and
        // two ports can map to the same link-local /30: retry on a new port.
        let mut last = None;
        for _ in 0..5 {
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
            last = Some(out.status);
        }
        panic!("testhost {name} did not start: {last:?}");
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
