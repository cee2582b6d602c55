//! Using a booted appliance from outside, like a student and an attacker
//! would: the hub over HTTPS through nginx (tests/support/hub_check.py) and
//! the attacks of issue 12 (tests/support/security_check.py), run with a
//! cached venv that has `requests` and `websocket-client`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::vm::{self, Vm};

/// Where the checker venv is cached across runs.
const CHECKER_VENV: &str = "/var/cache/vmbuild-test/checker-venv";

/// requests + websocket-client for the checkers, in a cached venv.
pub fn checker_python() -> PathBuf {
    cached_venv(
        CHECKER_VENV,
        ".ready-2",
        &["requests==2.34.2", "websocket-client==1.9.2"],
    )
}

/// The python3 of a venv at `dir` with `packages`, made once and kept
/// across runs (`stamp` names this package set: a new one rebuilds it).
pub fn cached_venv(dir: &str, stamp: &str, packages: &[&str]) -> PathBuf {
    let venv = Path::new(dir);
    let py = venv.join("bin/python3");
    let ready = venv.join(stamp);
    if !ready.exists() {
        let _ = std::fs::remove_dir_all(venv);
        std::fs::create_dir_all(venv.parent().unwrap()).unwrap();
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(venv)
            .status()
            .unwrap();
        assert!(
            ok.success(),
            "python3 -m venv (apt-get install python3-venv)"
        );
        let ok = Command::new(&py)
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
            .args(packages)
            .status()
            .unwrap();
        assert!(ok.success(), "pip install {}", packages.join(" "));
        std::fs::write(&ready, "").unwrap();
    }
    py
}

/// A booted appliance and what it should offer.
pub struct Appliance<'a> {
    /// For messages: `OVA`, `qcow2`.
    pub label: &'a str,
    /// Also run the attacks (tests/support/security_check.py).
    pub attack: bool,
    /// The guest.
    pub guest: &'a Vm,
    /// Host ports forwarded to the guest's 22, 80 and 443.
    pub ssh_port: u16,
    /// Host port of the guest's port 80.
    pub http_port: u16,
    /// Host port of the guest's port 443.
    pub https_port: u16,
    /// The owner's account (`access.ssh_user`).
    pub owner_user: &'a str,
    /// The owner's private key (its public half is in vmbuild.toml).
    pub owner_key: &'a Path,
    /// Python modules a notebook cell imports, comma-separated.
    pub python_imports: &'a str,
    /// R libraries an R cell loads, comma-separated.
    pub r_libraries: &'a str,
    /// A shared-data file relative to the user's home, and its content.
    pub shared_file: &'a str,
    /// Text the shared file holds.
    pub shared_text: &'a str,
}

/// What the instance printed on its console at first boot.
pub struct FirstBoot {
    /// The per-instance admin password.
    pub admin_password: String,
    /// The SHA-256 fingerprint of the instance's TLS certificate.
    pub tls_fingerprint: String,
}

/// Wait for the first-boot note on the console (agetty shows it above the
/// login prompt): the per-instance admin password and the certificate's
/// fingerprint, which the note splits over two lines.
pub fn first_boot(guest: &Vm, limit: Duration) -> FirstBoot {
    let start = Instant::now();
    loop {
        let console = std::fs::read_to_string(&guest.serial)
            .unwrap_or_default()
            .replace('\r', "");
        if let Some(fb) = parse_first_boot(&console) {
            return fb;
        }
        assert!(
            start.elapsed() < limit,
            "no first-boot password and fingerprint on the console within {} s; console:\n{}",
            limit.as_secs(),
            vm::tail(&guest.serial, 3000)
        );
        std::thread::sleep(Duration::from_secs(3));
    }
}

/// The last complete first-boot note in `console`.
fn parse_first_boot(console: &str) -> Option<FirstBoot> {
    let lines: Vec<&str> = console.lines().collect();
    let password = lines
        .iter()
        .rev()
        .find_map(|l| l.split_once("initial password: ").map(|(_, v)| v.trim()))?;
    let at = lines
        .iter()
        .rposition(|l| l.contains("SHA-256 fingerprint (compare"))?;
    let fp: String = lines
        .get(at + 1..at + 3)?
        .iter()
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(":");
    let hex = fp.replace(':', "");
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| FirstBoot {
        admin_password: password.to_owned(),
        tls_fingerprint: fp,
    })
}

/// Run the hub and security checks against `a`; panics with the checkers'
/// output on the first failure.
pub fn check_appliance(a: &Appliance<'_>) {
    let fb = first_boot(a.guest, Duration::from_secs(300));
    let py = checker_python();
    let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
    let base = format!("https://127.0.0.1:{}", a.https_port);
    let t = Instant::now();
    let hub = Command::new(&py)
        .arg(support.join("hub_check.py"))
        .args(["--imports", a.python_imports])
        .args(["--r-libraries", a.r_libraries])
        .args([&fb.tls_fingerprint, &base, "admin", &fb.admin_password])
        .args([a.shared_file, a.shared_text])
        .status()
        .unwrap();
    assert!(
        hub.success(),
        "{}: hub checks failed; the hub's journal:\n{}\nconsole:\n{}",
        a.label,
        hub_journal(a),
        vm::tail(&a.guest.serial, 3000)
    );
    eprintln!(
        "MEASURED {} hub checks: {:.0} s",
        a.label,
        t.elapsed().as_secs_f64()
    );
    // the spawner's limits hold on the server hub_check started
    let mem = owner_ssh(
        a,
        "systemctl show -p MemoryMax --value jupyter-admin.service",
    );
    assert_eq!(
        mem.trim(),
        "1073741824",
        "{}: the user's unit carries the 1G memory limit",
        a.label
    );
    if !a.attack {
        return;
    }
    let t = Instant::now();
    let vagrant_key =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ssh/vagrant_insecure_key");
    let sec = Command::new(&py)
        .arg(support.join("security_check.py"))
        .args(["--hub", &base, "--fingerprint", &fb.tls_fingerprint])
        .args(["--http", &format!("http://127.0.0.1:{}", a.http_port)])
        .args(["--ssh", &format!("127.0.0.1:{}", a.ssh_port)])
        .arg("--vagrant-key")
        .arg(&vagrant_key)
        .args(["--admin", "admin", "--admin-password", &fb.admin_password])
        .args(["--owner-user", a.owner_user, "--owner-key"])
        .arg(a.owner_key)
        .status()
        .unwrap();
    assert!(
        sec.success(),
        "{}: security checks failed; console:\n{}",
        a.label,
        vm::tail(&a.guest.serial, 3000)
    );
    eprintln!(
        "MEASURED {} security checks: {:.0} s",
        a.label,
        t.elapsed().as_secs_f64()
    );
}

/// `command` on the appliance as its owner (`access.ssh_user`), by key;
/// its stdout.
/// Reboot the guest from inside (`systemctl reboot` through the owner's
/// sudo) and wait until it is back: SSH answers with a new boot ID.
pub fn reboot(a: &Appliance<'_>, limit: Duration) -> Duration {
    let boot_id = |a: &Appliance<'_>| owner_ssh(a, "cat /proc/sys/kernel/random/boot_id");
    let before = boot_id(a);
    assert!(
        !before.trim().is_empty(),
        "{}: no boot ID over SSH",
        a.label
    );
    owner_ssh(a, "sudo -n systemctl reboot");
    let t = Instant::now();
    loop {
        let now = boot_id(a);
        if !now.trim().is_empty() && now != before {
            return t.elapsed();
        }
        assert!(
            t.elapsed() < limit,
            "{}: not back from the reboot within {} s; console:\n{}",
            a.label,
            limit.as_secs(),
            vm::tail(&a.guest.serial, 3000)
        );
        std::thread::sleep(Duration::from_secs(5));
    }
}

/// The last lines the hub and the admin's server logged, for a failed check
/// (the console shows only what reaches the serial port).
fn hub_journal(a: &Appliance<'_>) -> String {
    owner_ssh(
        a,
        "sudo -n journalctl --no-pager -o short-monotonic -n 150 -u jupyterhub -u jupyter-admin 2>&1",
    )
}

fn owner_ssh(a: &Appliance<'_>, command: &str) -> String {
    let out = Command::new("ssh")
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "IdentitiesOnly=yes",
        ])
        // a wedged guest must not hang the test past its deadline
        .args(["-o", "ConnectTimeout=30", "-o", "ServerAliveInterval=15"])
        .arg("-i")
        .arg(a.owner_key)
        .args(["-p", &a.ssh_port.to_string()])
        .arg(format!("{}@127.0.0.1", a.owner_user))
        .arg(command)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_first_boot_note_is_read_from_the_console() {
    let console = "x\r\nJupyterHub: https://10.0.2.15/\nIts certificate's SHA-256 fingerprint (compare it with your browser's):\n  AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\n  AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\nHub admin (admin) initial password: s3cret-Pw\n";
    let fb = parse_first_boot(&console.replace('\r', "")).unwrap();
    assert_eq!(fb.admin_password, "s3cret-Pw");
    assert_eq!(fb.tls_fingerprint.replace(':', "").len(), 64);
}
