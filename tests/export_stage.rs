//! `vmbuild -e` without a provisioned VM, with the real binary and qemu-img:
//! refused (exit 2, saying what to run), because an artifact that looks like
//! the appliance but has no hub is worse than an error. `--base-box` asks for
//! the bare base box on purpose: its disk is streamed out of the newest base
//! box in `builds/` and written as `<name>-base.{qcow2,ova}` with checksums;
//! the base box itself is the `box` artifact (said so, not packed again).
#[path = "export_support.rs"]
mod support;

use std::path::Path;
use std::process::Command;

use support::{listing, make_image};

fn write_box(project: &Path, name: &str) {
    let img = make_image(project, 32, 2);
    let builds = project.join("builds");
    std::fs::create_dir_all(&builds).unwrap();
    let f = std::fs::File::create(builds.join(name)).unwrap();
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        f,
        flate2::Compression::fast(),
    ));
    b.append_path_with_name(&img, "box.img").unwrap();
    let meta = br#"{"format":"qcow2","provider":"libvirt","virtual_size":1}"#;
    let mut h = tar::Header::new_ustar();
    h.set_size(meta.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "metadata.json", &meta[..]).unwrap();
    b.into_inner().unwrap().finish().unwrap();
    std::fs::remove_file(img).unwrap();
}

fn vmbuild(project: &Path, formats: &str, flags: &[&str]) -> (i32, String) {
    std::fs::write(
        project.join("vmbuild.toml"),
        format!("name = \"stagetest\"\n[export]\nformats = [{formats}]\n"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vmbuild"))
        .arg("-e")
        .args(flags)
        .current_dir(project)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn export_without_a_vm_is_refused_unless_the_base_box_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let base = ["--base-box"];

    let (code, err) = vmbuild(p, r#""qcow2""#, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no provisioned VM")
            && err.contains("vmbuild -u")
            && err.contains("--base-box"),
        "{err}"
    );
    assert!(!p.join("builds").exists() || listing(&p.join("builds")).is_empty());

    let (code, err) = vmbuild(p, r#""qcow2""#, &base);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("vmbuild -p"), "{err}");

    write_box(p, "stagetest-libvirt.box");
    let (code, err) = vmbuild(p, r#""qcow2""#, &[]);
    assert_eq!(code, 2, "a base box alone is still no appliance: {err}");

    let (code, err) = vmbuild(p, r#""qcow2", "ova", "box""#, &base);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("unprovisioned base box"), "{err}");
    assert!(
        err.contains("the base box") && err.contains("stagetest-libvirt.box is the box"),
        "{err}"
    );
    assert_eq!(
        listing(&p.join("builds")),
        [
            "stagetest-base.ova",
            "stagetest-base.ova.sha256",
            "stagetest-base.qcow2",
            "stagetest-base.qcow2.sha256",
            "stagetest-libvirt.box",
        ]
    );
    // the extracted disk was scratch: nothing left in the work dir
    let work = p.join(".vmbuild/export");
    assert!(
        !work.exists() || listing(&work).is_empty(),
        "{:?}",
        listing(&work)
    );

    let (code, err) = vmbuild(p, r#""vmdk""#, &base);
    assert_eq!(code, 0, "{err}");
    assert!(p.join("builds/stagetest-base.vmdk.sha256").exists());

    let (code, err) = vmbuild(p, r#""iso""#, &base);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("iso"), "{err}"); // refused by config validation or by the stage
}
