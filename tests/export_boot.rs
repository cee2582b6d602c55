//! Boot the exported qcow2 under qemu (TCG) until the guest's sshd answers
//! with its `SSH-2.0-` banner through a user-mode port forward.
//!
//! Needs VMBUILD_E2E=1 and a real Debian disk, found in this order:
//! `$VMBUILD_TEST_DEBIAN_DISK` (an image or a `.box`), the newest `builds/*.box`
//! of this checkout, any `*.qcow2` under `.vmbuild/` or `/var/cache/vmbuild-test/`.
//! Without one it prints SKIPPED and why.
#[path = "export_support.rs"]
mod support;

#[path = "support/vm.rs"]
mod vm;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::runner;
use vmbuild::export::{ExportRequest, Format, export_disk};

struct Qemu(Child);

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find(dir: &Path, depth: u32, pred: &dyn Fn(&Path) -> bool, found: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() && depth > 0 {
            find(&p, depth - 1, pred, found);
        } else if p.is_file() && pred(&p) {
            found.push(p);
        }
    }
}

fn newest(mut v: Vec<PathBuf>) -> Option<PathBuf> {
    v.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    v.pop()
}

fn debian_disk() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("VMBUILD_TEST_DEBIAN_DISK") {
        return Some(PathBuf::from(p));
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let is_box = |p: &Path| p.extension().is_some_and(|e| e == "box");
    let is_qcow2 = |p: &Path| p.extension().is_some_and(|e| e == "qcow2");
    let mut v = Vec::new();
    find(&repo.join("builds"), 0, &is_box, &mut v);
    if let Some(b) = newest(v) {
        return Some(b);
    }
    let mut v = Vec::new();
    find(&repo.join(".vmbuild"), 3, &is_qcow2, &mut v);
    find(Path::new("/var/cache/vmbuild-test"), 3, &is_qcow2, &mut v);
    newest(v)
}

#[test]
fn exported_qcow2_boots_to_ssh() {
    if std::env::var("VMBUILD_E2E").as_deref() != Ok("1") {
        eprintln!(
            "SKIPPED (set VMBUILD_E2E=1): boots the exported qcow2 under qemu (about 1-2 min under TCG)"
        );
        return;
    }
    let Some(src) = debian_disk() else {
        eprintln!(
            "SKIPPED: no Debian disk to boot; build one with `vmbuild -p` (builds/*.box) or set \
             VMBUILD_TEST_DEBIAN_DISK=/path/to/disk.qcow2"
        );
        return;
    };
    eprintln!("booting an export of {}", src.display());
    let dir = tempfile::tempdir().unwrap();
    let disk = if src.extension().is_some_and(|e| e == "box") {
        let p = dir.path().join("box.img");
        let mut f = std::fs::File::create(&p).unwrap();
        assert!(
            vmbuild::stage::export::copy_member(&src, "box.img", &mut f).unwrap(),
            "no box.img in the box"
        );
        p
    } else {
        src
    };
    let out = dir.path().join("builds");
    let (r, ui) = runner();
    let req = ExportRequest {
        disk: &disk,
        out_dir: &out,
        stem: "boot",
        formats: &[Format::Qcow2],
        name: "boot",
        cpus: 2,
        memory_mb: 1024,
        box_vagrantfile: None,
    };
    let arts = export_disk(&r, &ui, &req).unwrap();

    let port = vm::free_port();
    let console = dir.path().join("console.log");
    let qemu = Qemu(
        Command::new("qemu-system-x86_64")
            .args([
                "-accel",
                "tcg",
                "-m",
                "1024",
                "-smp",
                "2",
                "-display",
                "none",
                "-no-reboot",
            ])
            .arg("-drive")
            .arg(format!(
                "file={},if=virtio,format=qcow2,snapshot=on",
                arts[0].path.display()
            ))
            .args([
                "-netdev",
                &format!("user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:22"),
                "-device",
                "virtio-net-pci,netdev=n0",
            ])
            .arg("-serial")
            .arg(format!("file:{}", console.display()))
            .stdin(Stdio::null())
            .spawn()
            .expect("qemu-system-x86_64 (apt-get install qemu-system-x86)"),
    );
    let deadline = Instant::now() + Duration::from_secs(360);
    let mut got = None;
    while Instant::now() < deadline && got.is_none() {
        got = vm::banner(port);
        if got.is_none() {
            std::thread::sleep(Duration::from_secs(3));
        }
    }
    drop(qemu);
    let log = std::fs::read_to_string(&console).unwrap_or_default();
    let tail: String = log
        .lines()
        .rev()
        .take(30)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    let got = got.unwrap_or_else(|| panic!("no SSH banner within 6 min; console tail:\n{tail}"));
    eprintln!("guest sshd answered: {}", got.trim());
}
