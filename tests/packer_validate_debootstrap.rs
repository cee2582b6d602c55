//! Every debootstrap Packer template, rendered as vmbuild renders it, passes the
//! real `packer validate` (qemu/libvirt and virtualbox-ovf). Packer checks that
//! the SSH key file and the OVF exist, so the test creates small stand-ins
//! (a real key pair, a real qcow2, an OVF naming a real VMDK).
//! Gated by `VMBUILD_E2E=1` (tests/support/gate.rs); each test has a deadline.
#[path = "support/gate.rs"]
mod gate;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use vmbuild::platform::Provider;
use vmbuild::stage::debootstrap::template::{DebootstrapVars, render};
use vmbuild::template::Templates;

/// Gate the test, check for packer and qemu-img, arm a deadline (packer
/// validate takes seconds).
fn begin(test: &str) -> Option<gate::Deadline> {
    if !gate::e2e("runs the real packer validate") {
        return None;
    }
    gate::require_program("packer", "version", "scripts/deps/base-box.txt");
    gate::require_program("qemu-img", "--version", "apt-get install qemu-utils");
    Some(gate::Deadline::arm(test, Duration::from_secs(180)))
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stand_ins(dir: &Path) -> DebootstrapVars {
    let p = |n: &str| dir.join(n).display().to_string();
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(dir.join("key")));
    run(Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(dir.join("base.qcow2"))
        .arg("1G"));
    run(Command::new("qemu-img")
        .args([
            "convert",
            "-q",
            "-O",
            "vmdk",
            "-o",
            "subformat=streamOptimized",
        ])
        .arg(dir.join("base.qcow2"))
        .arg(dir.join("base.vmdk")));
    let ovf = vmbuild::export::ovf::render(&vmbuild::export::ovf::OvfSpec {
        name: "t".into(),
        cpus: 2,
        memory_mb: 1024,
        disk_capacity_bytes: 1 << 30,
        vmdk_name: "base.vmdk".into(),
        vmdk_size: std::fs::metadata(dir.join("base.vmdk")).unwrap().len(),
        os_id: vmbuild::export::ovf::CIM_OS_DEBIAN_64,
        os_description: "Debian".into(),
    });
    std::fs::write(dir.join("base.ovf"), ovf).unwrap();
    std::fs::write(dir.join("vagrant.pub"), "ssh-rsa AAAA vagrant\n").unwrap();
    DebootstrapVars {
        accelerator: "tcg".into(),
        cpu_model: "max".into(),
        cpus: 2,
        memory_mb: 1024,
        disk_gb: 4,
        base_image: p("base.qcow2"),
        ovf_source: p("base.ovf"),
        output_directory: p("output"),
        vm_name: "t.qcow2".into(),
        box_output: p("t.box"),
        ssh_private_key_file: p("key"),
        vagrant_public_key_file: p("vagrant.pub"),
        serial_log: format!("file:{}", p("serial.log")),
        environment_vars: vec!["http_proxy=http://127.0.0.1:3128".into()],
    }
}

#[test]
fn rendered_debootstrap_templates_pass_packer_validate() {
    let Some(d) = begin("rendered_debootstrap_templates_pass_packer_validate") else {
        return;
    };
    d.step("stand-ins: key pair, qcow2, VMDK, OVF");
    let dir = tempfile::tempdir().unwrap();
    let vars = stand_ins(dir.path());
    for provider in [Provider::Libvirt, Provider::Virtualbox] {
        d.step(&format!("packer validate ({provider:?})"));
        let text = render(&Templates::new(None), provider, &vars).unwrap();
        let file = dir.path().join(format!("{}.json", provider.as_str()));
        std::fs::write(&file, text).unwrap();
        let out = run(Command::new("packer")
            .arg("validate")
            .arg(&file)
            .current_dir(dir.path())
            .env("CHECKPOINT_DISABLE", "1"));
        // success is the exit status; 1.6.6 prints only warnings then
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("Error"), "{provider:?}: {stdout}");
    }
}

#[test]
fn packer_validate_rejects_a_missing_key_file() {
    // the reason the stand-ins exist: validate really checks the key file
    let Some(d) = begin("packer_validate_rejects_a_missing_key_file") else {
        return;
    };
    d.step("packer validate with a missing key file");
    let dir = tempfile::tempdir().unwrap();
    let mut vars = stand_ins(dir.path());
    vars.ssh_private_key_file = dir.path().join("missing").display().to_string();
    let file = dir.path().join("t.json");
    std::fs::write(
        &file,
        render(&Templates::new(None), Provider::Libvirt, &vars).unwrap(),
    )
    .unwrap();
    let out = Command::new("packer")
        .arg("validate")
        .arg(&file)
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("ssh_private_key_file"));
}
