//! Boot the Debian installer the way `vmbuild -p` does (rendered Packer
//! template, qemu builder, boot_command, preseed over Packer's HTTP server)
//! and stop as soon as the installer has fetched our preseed.
//!
//! A full install cannot finish on machines whose mirror lacks the
//! installer's own .udeb files, so the evidence is the installer's syslog,
//! which the preseed's early_command streams to the 2nd serial port: it only
//! appears once the preseed was fetched and run. The installer ISO is a small
//! one built from debian-installer-12-netboot-amd64 (tests/support/make-mini-iso.sh)
//! and reaches vmbuild through a file:// URL, so the download path runs too.
//!
//! Gated by `VMBUILD_E2E=1` (tests/support/gate.rs). On its deadline's
//! expiry it names its step and shows the console, the installer's syslog
//! and Packer's log.
#[path = "support/gate.rs"]
mod gate;
#[path = "support/installer_ctx.rs"]
mod support;

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::context;
use vmbuild::stage::installer::prepare;

/// Give up (and fail) if nothing happens for this long; a safety net, not a
/// timing assertion.
const GIVE_UP: Duration = Duration::from_secs(15 * 60);
/// The whole test: the mini ISO, the wait above, stopping Packer.
const DEADLINE: Duration = Duration::from_secs(20 * 60);

/// Stops packer (and its qemu) however the test ends.
struct PackerGuard(Child);

impl PackerGuard {
    fn signal_group(&self, sig: i32) {
        // SAFETY: kill(2) on the process group we created for our own child.
        unsafe { libc::kill(-(self.0.id() as i32), sig) };
    }

    /// SIGINT (Packer stops qemu and deletes its output), then SIGKILL.
    fn stop(&mut self) -> Duration {
        let t = Instant::now();
        if self.0.try_wait().ok().flatten().is_some() {
            return t.elapsed();
        }
        self.signal_group(libc::SIGINT);
        while t.elapsed() < Duration::from_secs(60) {
            if self.0.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        self.signal_group(libc::SIGKILL); // stragglers of the group, if any
        let _ = self.0.wait();
        t.elapsed()
    }
}

impl Drop for PackerGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Serialise with other VM-booting runs of this test (2 cores).
fn lock() -> File {
    let f = File::create("/tmp/vmbuild-installer-boot.lock").unwrap();
    // SAFETY: flock(2) on an fd we own.
    assert_eq!(
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&f), libc::LOCK_EX) },
        0
    );
    f
}

fn make_mini_iso(dir: &Path) -> PathBuf {
    let iso = dir.join("mini.iso");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/make-mini-iso.sh");
    let out = Command::new("bash").arg(script).arg(&iso).output().unwrap();
    assert!(
        out.status.success(),
        "make-mini-iso.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    iso
}

fn read(p: &Path) -> String {
    std::fs::read(p)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The installer's own log line for our loaded preseed file, if there is one
/// (written by network-preseed's preseed.sh).
fn preseed_fetched(syslog: &str) -> Option<String> {
    syslog
        .lines()
        .find(|l| l.contains("successfully loaded preseed file from http://"))
        .map(str::to_owned)
}

/// The guest clock (`HH:MM:SS` of the syslog prefix) of the first line containing `what`.
fn guest_time(syslog: &str, what: &str) -> Option<u32> {
    let line = syslog.lines().find(|l| l.contains(what))?;
    let hms = line.split_whitespace().nth(2)?;
    let mut parts = hms.split(':').map(|p| p.parse::<u32>().ok());
    Some(parts.next()?? * 3600 + parts.next()?? * 60 + parts.next()??)
}

#[test]
fn installer_boots_and_fetches_the_preseed() {
    if !gate::e2e("boots the Debian installer in qemu under Packer (~2 min)") {
        return;
    }
    gate::require_program("packer", "version", "scripts/deps/installer.txt");
    gate::require_program(
        "qemu-system-x86_64",
        "--version",
        "scripts/deps/installer.txt",
    );
    let d = gate::Deadline::arm("installer_boots_and_fetches_the_preseed", DEADLINE);
    d.step("wait for other runs of this test (lock)");
    let _lock = lock();
    d.step("make the mini installer ISO");
    let dir = tempfile::tempdir().unwrap();
    let iso = make_mini_iso(dir.path());
    let ctx = context(
        dir.path(),
        &iso,
        "qemu",
        "[vm]\ncpus = 1\nmemory_mb = 1024\ndisk_gb = 4\naccelerator = \"tcg\"\n",
    );
    let job = prepare(&ctx).unwrap();
    let syslog = job.work_dir.join("installer-syslog.log");
    let console = job.work_dir.join("serial-console.log");
    let packer_log = dir.path().join("packer.log");

    for (label, path) in [
        ("serial console", console.clone()),
        ("installer syslog", syslog.clone()),
        ("packer log", packer_log.clone()),
    ] {
        d.context(label, move || tail(&read(&path), 30));
    }
    d.step("packer build: wait for the installer to fetch the preseed");
    let started = Instant::now();
    let log = File::create(&packer_log).unwrap();
    let child = Command::new("packer")
        .arg("build")
        .arg(&job.template)
        .current_dir(&job.work_dir)
        .env("PACKER_LOG", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0)
        .spawn()
        .expect("packer is installed (scripts/deps/installer.txt)");
    let mut packer = PackerGuard(child);

    let evidence = loop {
        if let Some(line) = preseed_fetched(&read(&syslog)) {
            break line;
        }
        if let Ok(Some(status)) = packer.0.try_wait() {
            panic!(
                "packer exited ({status}) before the preseed was fetched:\n{}\n--- console ---\n{}",
                tail(&read(&packer_log), 30),
                tail(&read(&console), 30)
            );
        }
        assert!(
            started.elapsed() < GIVE_UP,
            "no preseed fetch after {GIVE_UP:?}:\n{}\n--- console ---\n{}",
            tail(&read(&packer_log), 30),
            tail(&read(&console), 30)
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    let to_fetch = started.elapsed();
    d.step("stop packer (SIGINT)");
    let stop_took = packer.stop();
    eprintln!(
        "packer build start to preseed fetch: {to_fetch:.1?}; stopping packer+qemu: {stop_took:.1?}\n\
         evidence (installer syslog on ttyS1): {evidence}"
    );
    let log = read(&syslog);
    if let (Some(boot), Some(fetch)) = (
        guest_time(&log, "Command line:"),
        guest_time(&log, "successfully loaded preseed file"),
    ) {
        eprintln!(
            "guest clock: kernel start to preseed loaded: {} s",
            fetch - boot
        );
    }
    // The early_command that streams the syslog is in our preseed: the log
    // existing at all proves the installer ran our file, and it names our URL.
    assert!(
        evidence.contains(":") && evidence.ends_with("/preseed.cfg"),
        "{evidence}"
    );
    assert!(
        !job.packer_output_dir.exists(),
        "packer left its output directory behind after SIGINT"
    );
}
