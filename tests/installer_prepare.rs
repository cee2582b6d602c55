//! `installer::prepare` on real files: caching, re-runs, refused inputs.
//! No VM and no Packer: runs in every `cargo test`.
#[path = "support/installer_ctx.rs"]
#[allow(dead_code)]
mod support;

use std::os::unix::fs::PermissionsExt;

use support::context;
use vmbuild::ExitCode;
use vmbuild::stage::installer::prepare;

fn iso(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("src.iso");
    std::fs::write(&p, vec![7u8; 100_000]).unwrap();
    p
}

#[test]
fn prepare_caches_the_iso_and_a_rerun_converges() {
    let dir = tempfile::tempdir().unwrap();
    let src = iso(dir.path());
    let ctx = context(dir.path(), &src, "qemu", "");
    let first = prepare(&ctx).unwrap();
    let cached = dir
        .path()
        .join("cache/iso")
        .join(format!("{}.iso", support::sha256_file(&src)));
    assert!(cached.is_file());
    assert_eq!(
        first
            .inputs
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>(),
        ["packer-template", "preseed", "installer-iso"]
    );
    for f in [
        first.template.clone(),
        first.work_dir.join("http/preseed.cfg"),
    ] {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.display());
    }
    // the source may vanish: the cache serves the re-run, with identical inputs
    std::fs::remove_file(&src).unwrap();
    std::fs::create_dir_all(&first.packer_output_dir).unwrap(); // as a crashed run leaves it
    let second = prepare(&ctx).unwrap();
    assert_eq!(first, second);
    assert!(
        !second.packer_output_dir.exists(),
        "stale Packer output is removed"
    );
}

#[test]
fn a_wrong_checksum_fails_the_build_and_caches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = iso(dir.path());
    let mut ctx = context(dir.path(), &src, "qemu", "");
    ctx.config.base.installer.iso_sha256 = "0".repeat(64);
    let err = prepare(&ctx).unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Failed);
    let msg = err.to_string();
    assert!(
        msg.contains("checksum mismatch") && msg.contains(&"0".repeat(64)),
        "{msg}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path().join("cache/iso"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "nothing may stay in the cache: {left:?}");
    assert!(!dir.path().join("installer").exists(), "nothing rendered");
}

#[test]
fn a_mirror_the_installer_cannot_use_is_a_user_error() {
    let dir = tempfile::tempdir().unwrap();
    let src = iso(dir.path());
    let mut ctx = context(dir.path(), &src, "virtualbox", "");
    ctx.config.base.mirror = "file:///srv/mirror".into();
    let err = prepare(&ctx).unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Usage);
    assert!(err.to_string().contains("base.mirror"), "{err}");
    assert!(
        !dir.path().join("cache/iso").exists(),
        "config errors come before the (large) download"
    );
}

#[test]
fn a_broken_template_override_is_reported_with_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = iso(dir.path());
    let over = dir.path().join("templates/box-configs");
    std::fs::create_dir_all(&over).unwrap();
    std::fs::write(
        over.join("installer-qemu.json.hbs"),
        "{ \"builders\": [ {{cpus}} ",
    )
    .unwrap();
    let mut ctx = context(dir.path(), &src, "qemu", "");
    ctx.config.build.templates_dir = Some(dir.path().join("templates").display().to_string());
    let err = prepare(&ctx).unwrap_err().to_string();
    assert!(
        err.contains("installer-qemu.json.hbs") && err.contains("not valid JSON"),
        "{err}"
    );
}
