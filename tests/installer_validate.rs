//! The installer builder's rendered files checked by the real tools:
//! `packer validate` for both builders and `debconf-set-selections --checkonly`
//! on the preseed. `prepare` runs for real (the "ISO" is a small local file).
//! Gated by `VMBUILD_E2E=1` (tests/support/gate.rs); each test has a deadline.
#[path = "support/gate.rs"]
mod gate;
#[path = "support/installer_ctx.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::context;
use vmbuild::stage::installer::prepare;

/// Gate the test, check for `program`, arm a deadline (each runs a tool or
/// two for seconds).
fn begin(test: &str, what: &str, program: &str) -> Option<gate::Deadline> {
    if !gate::e2e(what) {
        return None;
    }
    gate::require_program(program, "--version", "scripts/deps/installer.txt");
    Some(gate::Deadline::arm(test, Duration::from_secs(180)))
}

fn fake_iso(dir: &Path) -> std::path::PathBuf {
    let iso = dir.join("fake installer.iso");
    std::fs::write(
        &iso,
        b"not really an ISO, but packer validate does not boot it",
    )
    .unwrap();
    iso
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// debconf's system database is locked by every user (a parallel test, an
/// apt run): give debconf-set-selections a database of its own.
fn private_debconf(dir: &Path) -> std::path::PathBuf {
    let d = dir.join("debconf");
    std::fs::create_dir_all(&d).unwrap();
    let rc = d.join("debconf.conf");
    std::fs::write(
        &rc,
        format!(
            "Config: configdb\nTemplates: templatedb\n\n\
             Name: configdb\nDriver: File\nFilename: {0}/config.dat\n\n\
             Name: templatedb\nDriver: File\nFilename: {0}/templates.dat\n",
            d.display()
        ),
    )
    .unwrap();
    rc
}

#[test]
fn debconf_check_rejects_a_broken_preseed() {
    let Some(d) = begin(
        "debconf_check_rejects_a_broken_preseed",
        "runs debconf-set-selections",
        "debconf-set-selections",
    ) else {
        return;
    };
    d.step("debconf-set-selections --checkonly on a broken preseed");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.cfg");
    std::fs::write(&bad, "d-i mirror/suite\n").unwrap();
    let out = Command::new("debconf-set-selections")
        .env("DEBCONF_SYSTEMRC", private_debconf(dir.path()))
        .arg("--checkonly")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the check itself must catch errors");
}

fn validate(provider: &str, packer_type: &str) {
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(
        dir.path(),
        &fake_iso(dir.path()),
        provider,
        "[proxy]\nhttp_proxy = \"http://proxy.invalid:3128\"\n",
    );
    let job = prepare(&ctx).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&job.template).unwrap()).unwrap();
    assert_eq!(json["builders"][0]["type"], packer_type);

    let t = std::time::Instant::now();
    let out = run(Command::new("packer")
        .arg("validate")
        .arg(&job.template)
        .current_dir(&job.work_dir));
    eprintln!(
        "packer validate ({packer_type}) took {:?}: {}",
        t.elapsed(),
        out.trim()
    );

    let preseed = job.work_dir.join("http/preseed.cfg");
    run(Command::new("debconf-set-selections")
        .env("DEBCONF_SYSTEMRC", private_debconf(dir.path()))
        .arg("--checkonly")
        .arg(&preseed));
    let text = std::fs::read_to_string(&preseed).unwrap();
    assert!(text.contains("d-i mirror/http/proxy string http://proxy.invalid:3128"));
}

#[test]
fn qemu_template_validates_and_preseed_parses() {
    let Some(d) = begin(
        "qemu_template_validates_and_preseed_parses",
        "runs packer validate and debconf-set-selections",
        "packer",
    ) else {
        return;
    };
    d.step("packer validate + debconf-set-selections --checkonly (qemu)");
    validate("qemu", "qemu");
}

#[test]
fn virtualbox_template_validates_and_preseed_parses() {
    let Some(d) = begin(
        "virtualbox_template_validates_and_preseed_parses",
        "runs packer validate and debconf-set-selections",
        "packer",
    ) else {
        return;
    };
    d.step("packer validate + debconf-set-selections --checkonly (virtualbox)");
    validate("virtualbox", "virtualbox-iso");
}

#[test]
fn the_preseeded_password_hash_is_vagrants_password() {
    let Some(d) = begin(
        "the_preseeded_password_hash_is_vagrants_password",
        "runs openssl passwd",
        "openssl",
    ) else {
        return;
    };
    use vmbuild::template::preseed::VAGRANT_PASSWORD_CRYPTED;
    d.step("openssl passwd -6");
    let salt = VAGRANT_PASSWORD_CRYPTED.split('$').nth(2).unwrap();
    let out = run(Command::new("openssl").args(["passwd", "-6", "-salt", salt, "vagrant"]));
    assert_eq!(out.trim(), VAGRANT_PASSWORD_CRYPTED);
}
