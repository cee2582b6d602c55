//! Boot the qcow2 an export just made, under qemu (TCG, `-cpu max`), until
//! the guest's sshd answers and `vagrant` logs in through a user-mode port
//! forward.
//!
//! The disk exported is named, never searched for: `$VMBUILD_TEST_DEBIAN_DISK`
//! (an image or a `.box`) when set, otherwise the shared lean base box that
//! `vmbuild -p` builds or verifies up to date right now
//! (tests/support/base_box.rs). The guest boots exactly the artifact
//! `export_disk` returned, checked against its `.sha256` first.
//!
//! Gated by `VMBUILD_E2E=1` (tests/support/gate.rs); needs root when it
//! builds the base box. On its deadline's expiry it names its step and shows
//! the guest's console.
#[path = "support/base_box.rs"]
mod base_box;
#[path = "support/gate.rs"]
mod gate;
#[path = "export_support.rs"]
mod support;
#[path = "support/vm.rs"]
mod vm;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::runner;
use vmbuild::export::{ExportRequest, Format, export_disk};

/// A cold base-box build (~7 min), the export (~1 min) and a boot to SSH
/// (~1 min under TCG), with room for a cold mirror and a busy machine.
const DEADLINE: Duration = Duration::from_secs(45 * 60);

/// The disk to export: the one named by `VMBUILD_TEST_DEBIAN_DISK`, or the
/// shared base box, built or verified by `vmbuild -p` now.
fn source_disk() -> PathBuf {
    match std::env::var_os("VMBUILD_TEST_DEBIAN_DISK") {
        Some(p) => {
            let p = PathBuf::from(p);
            gate::require(
                p.is_file(),
                &format!("VMBUILD_TEST_DEBIAN_DISK={} (no such file)", p.display()),
            );
            p
        }
        None => {
            gate::require_root("`vmbuild -p` builds the base box with debootstrap");
            base_box::shared_box()
        }
    }
}

/// `src` as a qcow2 the export can read: a `.box`'s `box.img`, extracted
/// into `dir`, or `src` itself.
fn disk_image(src: &Path, dir: &Path) -> PathBuf {
    if src.extension().is_none_or(|e| e != "box") {
        return src.to_owned();
    }
    let p = dir.join("box.img");
    let mut f = std::fs::File::create(&p).unwrap();
    assert!(
        vmbuild::stage::export::copy_member(src, "box.img", &mut f).unwrap(),
        "no box.img in {}",
        src.display()
    );
    p
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut std::fs::File::open(path).unwrap(), &mut h).unwrap();
    hex::encode(h.finalize())
}

/// Log in as `vagrant` with Vagrant's insecure key and run `remote`; None
/// until sshd lets us in.
fn ssh_vagrant(key: &Path, port: u16, remote: &str) -> Option<String> {
    let out = Command::new("ssh")
        .args(["-o", "StrictHostKeyChecking=no"])
        .args(["-o", "UserKnownHostsFile=/dev/null"])
        .args(["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"])
        .args(["-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"])
        .arg("-i")
        .arg(key)
        .args(["-p", &port.to_string(), "vagrant@127.0.0.1", remote])
        .stdin(Stdio::null())
        .output()
        .expect("ssh (apt-get install openssh-client)");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn exported_qcow2_boots_to_ssh() {
    if !gate::e2e("exports a Debian disk to qcow2 and boots that qcow2 under qemu (TCG)") {
        return;
    }
    gate::require_program(
        "qemu-system-x86_64",
        "--version",
        "apt-get install qemu-system-x86",
    );
    let d = gate::Deadline::arm("exported_qcow2_boots_to_ssh", DEADLINE);
    d.step("the source disk");
    let src = source_disk();
    eprintln!("exporting {}", src.display());
    let dir = tempfile::tempdir_in("/var/tmp").unwrap();
    let disk = disk_image(&src, dir.path());

    d.step("export_disk to qcow2");
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
    assert_eq!(arts.len(), 1, "one format asked for, one artifact");
    let art = &arts[0];
    assert_eq!(art.format, Format::Qcow2);
    assert_eq!(art.path, out.join("boot.qcow2"));
    // the file on disk is the artifact the export describes
    let sha = sha256_hex(&art.path);
    assert_eq!(sha, art.sha256.hex());
    assert!(
        std::fs::read_to_string(&art.checksum_path)
            .unwrap()
            .starts_with(&sha),
        "{} does not match the artifact",
        art.checksum_path.display()
    );

    d.step(&format!("boot {} to SSH", art.path.display()));
    let port = vm::free_port();
    let serial = dir.path().join("console.log");
    let console = serial.clone();
    d.context("guest console", move || vm::tail(&console, 3000));
    let guest = vm::Vm::boot(&vm::VmSpec {
        hardware: vm::Hardware::Virtio,
        disk: &art.path,
        memory_mb: 1024,
        cpus: 2,
        forwards: vec![(port, 22)],
        share: None,
        serial,
        // the artifact stays as exported
        snapshot: true,
    });
    let booted = guest.wait_for_ssh(port, Duration::from_secs(600));
    eprintln!("MEASURED exported qcow2 boot to SSH banner: {booted:.0?}");

    d.step("log in as vagrant");
    let key = vm::vagrant_insecure_key(dir.path());
    let since = Instant::now();
    let said = loop {
        // sshd answers before the vagrant user's login works on a first boot
        let remote = "sudo -n true && echo SUDO-OK; cat /etc/debian_version";
        if let Some(s) = ssh_vagrant(&key, port, remote) {
            break s;
        }
        assert!(
            since.elapsed() < Duration::from_secs(300),
            "sshd answers but `vagrant` cannot log in after 300 s; console tail:\n{}",
            guest.console_tail(3000)
        );
        std::thread::sleep(Duration::from_secs(3));
    };
    assert!(said.contains("SUDO-OK"), "{said}");
    assert!(
        said.lines().last().is_some_and(|v| v.starts_with("12")),
        "{said}"
    );
    drop(guest);
    assert_eq!(
        sha256_hex(&art.path),
        sha,
        "the artifact changed while it booted (snapshot mode)"
    );
}
