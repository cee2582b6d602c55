//! End to end: `vmbuild -p` with the debootstrap builder and real Packer, in a
//! temp project with a lean config (8 GiB sparse disk, the size e2e_main uses, so its base disk is a cache hit). One test, in order, so the
//! expensive parts are shared:
//! 1. a build interrupted (SIGINT) in the Packer phase exits 130 and leaves
//!    nothing in builds/ and no packer/qemu behind;
//! 2. the next run builds the box (reusing the base disk);
//! 3. a third run is a cache hit; `--force --dry-run` would rebuild;
//!
//! The box's disk booting, with `vagrant` logging in by Vagrant's key and
//! using sudo, is what `-u` does in e2e_main.rs and e2e_vagrant_libvirt.rs.
//!
//! The base disk and .deb cache live under /var/cache/vmbuild-test/base-box
//! (keyed by content), so later CI runs skip debootstrap.
//!
//! Gated by `VMBUILD_E2E=1` (tests/support/gate.rs); needs root. On its
//! deadline's expiry it names its step and shows the build VM's and the
//! booted box's serial consoles.
#[path = "support/base_box.rs"]
mod base_box;
#[path = "support/gate.rs"]
mod gate;
#[path = "support/vm.rs"]
mod vm;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The whole test: an interrupted build, a cold build (debootstrap ~3 min,
/// Packer ~3.5 min under TCG when the mirror is warm), and two cache hits;
/// generous for a cold mirror and a busy machine.
const DEADLINE: Duration = Duration::from_secs(60 * 60);

/// The last bytes of every `serial-*.log` under `dir` (the build VM's
/// console, wherever the work dir puts it).
fn build_consoles(dir: &Path) -> String {
    fn walk(d: &Path, depth: u32, out: &mut String) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() && depth > 0 && !p.is_symlink() {
                walk(&p, depth - 1, out);
            } else if name.starts_with("serial-") && name.ends_with(".log") {
                *out += &format!("== {}\n{}\n", p.display(), vm::tail(&p, 3000));
            }
        }
    }
    let mut out = String::new();
    walk(dir, 4, &mut out);
    out
}

/// Kills a child process (and its process group) when dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("vmbuild-e2e-box-")
        .tempdir()
        .unwrap();
    std::fs::write(dir.path().join("vmbuild.toml"), base_box::BOX_CONFIG).unwrap();
    std::fs::create_dir_all(dir.path().join("builds")).unwrap();
    std::fs::write(dir.path().join("builds/README.md"), "# builds\n").unwrap();
    // share the content-keyed base-disk and .deb caches between runs
    base_box::share_caches(dir.path());
    dir
}

fn vmbuild(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vmbuild"));
    c.args(args).current_dir(dir).stdin(Stdio::null());
    c
}

/// Run to completion, echoing output; returns (exit code, stderr text).
fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = vmbuild(dir, args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("--- vmbuild {args:?} ---\n{err}");
    (out.status.code().unwrap_or(-1), err)
}

/// PIDs of processes other than us whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<(u32, String)> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter_map(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            cmd.contains(needle).then_some((pid, cmd))
        })
        .collect()
}

fn interrupted_build_leaves_nothing(dir: &Path) {
    let mut child = KillOnDrop(
        vmbuild(dir, &["-p"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = mpsc::channel();
    let stderr = child.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[interrupted run] {line}");
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(1200);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("packer never started its VM");
        if line.contains("Waiting for SSH") || line.contains("Waiting 5s for boot") {
            break;
        }
    }
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        !processes_mentioning(&dir.display().to_string()).is_empty(),
        "packer/qemu should be running now"
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGINT) };
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.0.try_wait().unwrap() {
            break st;
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "vmbuild did not stop after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status.code(), Some(130), "exit code after SIGINT");
    std::thread::sleep(Duration::from_secs(2));
    let left = processes_mentioning(&dir.display().to_string());
    assert!(left.is_empty(), "processes left behind: {left:#?}");
    let builds: Vec<String> = std::fs::read_dir(dir.join("builds"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(builds, ["README.md"], "builds/ after an interrupted run");
}

fn check_box(dir: &Path) -> PathBuf {
    let box_path = dir.join("builds/e2e-base-libvirt.box");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("builds/e2e-base-libvirt.box.json")).unwrap(),
    )
    .unwrap();
    let size = std::fs::metadata(&box_path).unwrap().len();
    assert_eq!(manifest["box_size"], size);
    assert_eq!(manifest["builder"], "debootstrap");
    assert_eq!(manifest["provider"], "libvirt");
    assert_eq!(manifest["box_file"], "e2e-base-libvirt.box");
    for tool in ["packer", "qemu-img", "debootstrap"] {
        assert!(
            manifest["tools"][tool]
                .as_str()
                .is_some_and(|v| !v.is_empty() && v != "unknown"),
            "{tool}: {manifest}"
        );
    }
    let sha = Command::new("sha256sum").arg(&box_path).output().unwrap();
    let sha = String::from_utf8_lossy(&sha.stdout);
    assert_eq!(
        manifest["box_sha256"].as_str().unwrap(),
        sha.split_whitespace().next().unwrap()
    );
    let list = Command::new("tar")
        .arg("-tzf")
        .arg(&box_path)
        .output()
        .unwrap();
    let mut names: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| l.trim_start_matches("./").to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["Vagrantfile", "box.img", "metadata.json"]);
    let meta = Command::new("tar")
        .arg("-xzOf")
        .arg(&box_path)
        .arg("metadata.json")
        .output()
        .unwrap();
    let meta: serde_json::Value = serde_json::from_slice(&meta.stdout).unwrap();
    assert_eq!(meta["format"], "qcow2");
    assert_eq!(meta["provider"], "libvirt");
    assert_eq!(meta["virtual_size"], 8);
    box_path
}

#[test]
fn base_box_builds_caches_and_survives_ctrl_c() {
    if !gate::e2e("builds a real base box as root (debootstrap, packer, qemu)") {
        return;
    }
    gate::require_root("the debootstrap builder mounts and chroots");
    let d = gate::Deadline::arm("base_box_builds_caches_and_survives_ctrl_c", DEADLINE);
    d.step("wait for the base-box cache lock");
    let _lock = base_box::lock_cache();
    let proj = project();
    let dir = proj.path().to_owned();
    let consoles = dir.clone();
    d.context("build VM consoles", move || build_consoles(&consoles));
    let dir = dir.as_path();

    d.step("vmbuild -p, interrupted with SIGINT while Packer boots its VM");
    interrupted_build_leaves_nothing(dir);

    d.step("vmbuild -p (the build)");
    let (code, _) = run(dir, &["-p"]);
    assert_eq!(code, 0, "build after the interrupted one");
    let box_path = check_box(dir);
    let manifest_before = std::fs::read(dir.join("builds/e2e-base-libvirt.box.json")).unwrap();

    d.step("vmbuild -p again (a cache hit)");
    let (code, err) = run(dir, &["-p"]);
    assert_eq!(code, 0);
    assert!(
        err.contains("up to date"),
        "second run should be a cache hit:\n{err}"
    );
    assert!(!err.contains("Running Packer"), "{err}");
    assert_eq!(
        std::fs::read(dir.join("builds/e2e-base-libvirt.box.json")).unwrap(),
        manifest_before
    );

    d.step("vmbuild -p --force --dry-run");
    let (code, err) = run(dir, &["-p", "--force", "--dry-run"]);
    assert_eq!(code, 0);
    assert!(
        err.contains("--force: rebuilding")
            && err.contains("would run: CHECKPOINT_DISABLE=… packer build"),
        "{err}"
    );
    // booting the box and logging in as vagrant with Vagrant's key: every
    // `-u` of e2e_main.rs and e2e_vagrant_libvirt.rs does
    let _ = box_path;
}
