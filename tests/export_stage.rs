//! `vmbuild -e` end to end with the real binary and qemu-img: the disk is
//! streamed out of the newest base box in `builds/`, qcow2 and OVA are written
//! with checksums. Without a VM from `-u` the base box itself is the `box`
//! artifact: said so, not packed again.
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

fn vmbuild(project: &Path, formats: &str) -> (i32, String) {
    std::fs::write(
        project.join("vmbuild.toml"),
        format!("name = \"stagetest\"\n[export]\nformats = [{formats}]\n"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vmbuild"))
        .arg("-e")
        .current_dir(project)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn export_stage_without_a_vm_exports_the_base_box_disk() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();

    let (code, err) = vmbuild(p, r#""qcow2""#);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("vmbuild -p"), "{err}");

    write_box(p, "stagetest-1.box");
    let (code, err) = vmbuild(p, r#""qcow2", "ova", "box""#);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("not provisioned"), "{err}");
    assert!(
        err.contains("the base box") && err.contains("stagetest-1.box is the box"),
        "{err}"
    );
    assert_eq!(
        listing(&p.join("builds")),
        [
            "stagetest-1.box",
            "stagetest-1.ova",
            "stagetest-1.ova.sha256",
            "stagetest-1.qcow2",
            "stagetest-1.qcow2.sha256"
        ]
    );
    // the extracted disk was scratch: nothing left in the work dir
    let work = p.join(".vmbuild/export");
    assert!(
        !work.exists() || listing(&work).is_empty(),
        "{:?}",
        listing(&work)
    );

    let (code, err) = vmbuild(p, r#""vmdk""#);
    assert_eq!(code, 0, "{err}");
    assert!(p.join("builds/stagetest-1.vmdk.sha256").exists());

    let (code, err) = vmbuild(p, r#""iso""#);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("iso"), "{err}"); // refused by config validation or by the stage
}
