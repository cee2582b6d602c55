//! The rendered Vagrantfiles: snapshots of every variant, and the real
//! `vagrant validate -p` on each (VirtualBox and libvirt).
//!
//! vagrant-libvirt 0.11.2 crashes in `validate -p` on a 9p or virtiofs
//! synced folder (its `usable?` check needs a libvirt connection that `-p`
//! does not make), so the libvirt variant with a shared folder is validated
//! without `-p`, against a running libvirtd, in `e2e_vagrant_libvirt.rs`.
//!
//! The `vagrant validate` tests run wherever vagrant is installed; without
//! it they are gated like every e2e test (tests/support/gate.rs): skipped
//! unless `VMBUILD_E2E=1`, which then requires vagrant, and never skipped
//! under `CI=true`.
#[path = "support/gate.rs"]
mod gate;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use vmbuild::platform::{Accel, Provider};
use vmbuild::template::Templates;
use vmbuild::template::vagrantfile::{
    SharedFolder, SyncedFolderKind, TEMPLATE, VagrantfileInput, VagrantfileVars,
};

/// A shared-folder path with a space and a quote, as users have them.
const SNAPSHOT_SHARE: &str = "/srv/course data/it's here";

fn input(provider: Provider, share: &str) -> VagrantfileInput {
    VagrantfileInput {
        provider,
        machine: "jupyterhub-appliance".into(),
        box_name: "vmbuild/jupyterhub-appliance".into(),
        vm_prefix: "vmbuild-0123abcd-".into(),
        hostname: "jupyterhub".into(),
        cpus: 2,
        memory_mb: 2048,
        ip: Some("192.168.56.10".into()),
        forward_http_port: 8080,
        shared: Some(SharedFolder {
            host_dir: share.into(),
            mount_point: "/srv/data".into(),
            read_only: true,
            kind: if provider.is_virtualbox() {
                SyncedFolderKind::Virtualbox
            } else {
                SyncedFolderKind::NineP
            },
        }),
        accel: Accel::Tcg,
        boot_timeout_secs: 900,
    }
}

fn render(i: &VagrantfileInput) -> String {
    Templates::new(None)
        .render(TEMPLATE, &VagrantfileVars::new(i))
        .expect("the built-in Vagrantfile template renders")
}

/// (name, rendered text, whether `validate -p` can check it)
fn variants(share: &str) -> Vec<(&'static str, String, bool)> {
    let vb = input(Provider::Virtualbox, share);
    let lv = input(Provider::Libvirt, share);
    let mut lv_plain = lv.clone();
    lv_plain.ip = None;
    lv_plain.shared = None;
    lv_plain.forward_http_port = 0;
    lv_plain.accel = Accel::Kvm;
    let mut lv_virtiofs = lv.clone();
    if let Some(s) = lv_virtiofs.shared.as_mut() {
        s.kind = SyncedFolderKind::Virtiofs;
        s.read_only = false;
    }
    vec![
        ("virtualbox", render(&vb), true),
        ("libvirt", render(&lv), false),
        ("libvirt_dhcp_no_share_kvm", render(&lv_plain), true),
        ("libvirt_virtiofs", render(&lv_virtiofs), false),
    ]
}

#[test]
fn rendered_vagrantfiles_match_snapshots() {
    for (name, text, _) in variants(SNAPSHOT_SHARE) {
        insta::assert_snapshot!(format!("vagrantfile_{name}"), text);
    }
}

/// Whether the test runs (see the module docs), with its deadline armed:
/// `vagrant validate` takes a few seconds per Vagrantfile (Ruby start-up).
fn begin(test: &str) -> Option<gate::Deadline> {
    let has_vagrant = Command::new("vagrant").arg("--version").output().is_ok();
    if !has_vagrant {
        if !gate::e2e("runs the real `vagrant validate` (vagrant is not installed)") {
            return None;
        }
        gate::require(false, "the program `vagrant` (scripts/deps/vagrant.txt)");
    }
    Some(gate::Deadline::arm(test, Duration::from_secs(300)))
}

#[test]
fn vagrant_validate_accepts_them() {
    let Some(d) = begin("vagrant_validate_accepts_them") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    // Vagrant checks that the shared folder exists
    let share = home.path().join("course data/it's here");
    std::fs::create_dir_all(&share).unwrap();
    for (name, text, checkable) in variants(&share.display().to_string()) {
        if !checkable {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Vagrantfile"), &text).unwrap();
        d.step(&format!("vagrant validate -p ({name})"));
        let started = std::time::Instant::now();
        let out = validate(dir.path(), home.path());
        eprintln!(
            "vagrant validate -p ({name}): {:.1} s",
            started.elapsed().as_secs_f64()
        );
        assert!(
            out.status.success()
                && String::from_utf8_lossy(&out.stdout).contains("validated successfully"),
            "{name}: vagrant validate -p failed\n--- Vagrantfile\n{text}\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A Vagrantfile error is reported by vagrant: proves the check is real.
#[test]
fn vagrant_validate_rejects_a_broken_vagrantfile() {
    let Some(d) = begin("vagrant_validate_rejects_a_broken_vagrantfile") else {
        return;
    };
    d.step("vagrant validate -p on a misspelt option");
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let share = home.path().join("share");
    std::fs::create_dir_all(&share).unwrap();
    let text = variants(&share.display().to_string())[0]
        .1
        .replace("m.vm.hostname", "m.vm.hostnam");
    std::fs::write(dir.path().join("Vagrantfile"), text).unwrap();
    let out = validate(dir.path(), home.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a misspelt option must fail validation"
    );
    assert!(
        stderr.contains("hostnam"),
        "vagrant names the bad option: {stderr}"
    );
}

fn validate(dir: &Path, home: &Path) -> std::process::Output {
    Command::new("vagrant")
        .args(["validate", "-p"])
        .env("VAGRANT_CWD", dir)
        .env("VAGRANT_HOME", home)
        .env("VAGRANT_CHECKPOINT_DISABLE", "1")
        .current_dir(dir)
        .output()
        .expect("run vagrant")
}
