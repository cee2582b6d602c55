//! Export with the real qemu-img; the OVA is taken apart with the system tar
//! and checked the way an importer would: member order, ustar, manifest hashes,
//! the descriptor's cross-references, and the disk itself with qemu-img.
#[path = "export_support.rs"]
mod support;

use std::collections::HashMap;

use support::{listing, make_image, runner, sh};
use vmbuild::export::ovf_check;
use vmbuild::export::{ExportRequest, Format, export_disk};

#[test]
fn exports_qcow2_vmdk_and_ova_that_tools_accept() {
    let dir = tempfile::tempdir().unwrap();
    let img = make_image(dir.path(), 64, 4);
    let out = dir.path().join("builds");
    let (r, ui) = runner();
    let req = ExportRequest {
        disk: &img,
        out_dir: &out,
        stem: "hub-1",
        formats: &[Format::Qcow2, Format::Vmdk, Format::Ova],
        name: "hub",
        cpus: 2,
        memory_mb: 1536,
        box_vagrantfile: None,
    };
    let arts = export_disk(&r, &ui, &req).unwrap();
    assert_eq!(arts.len(), 3);
    assert_eq!(
        listing(&out),
        [
            "hub-1.ova",
            "hub-1.ova.sha256",
            "hub-1.qcow2",
            "hub-1.qcow2.sha256",
            "hub-1.vmdk",
            "hub-1.vmdk.sha256"
        ]
    );
    // every checksum file verifies with coreutils
    for a in &arts {
        sh(
            "sh",
            &[
                "-c",
                &format!(
                    "cd '{}' && sha256sum -c '{}'",
                    out.display(),
                    a.checksum_path.display()
                ),
            ],
        );
        assert_eq!(std::fs::metadata(&a.path).unwrap().len(), a.size);
        for p in [&a.path, &a.checksum_path] {
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(p).unwrap().permissions(),
            );
            assert_eq!(mode & 0o777, 0o644, "{}", p.display());
        }
    }

    // qcow2: consistent, compressed, same content as the source
    let q = out.join("hub-1.qcow2");
    sh("qemu-img", &["check", q.to_str().unwrap()]);
    sh(
        "qemu-img",
        &["compare", img.to_str().unwrap(), q.to_str().unwrap()],
    );

    // OVA: system tar lists .ovf first, then the vmdk, then the manifest; ustar headers
    let ova = out.join("hub-1.ova");
    let members: Vec<String> = sh("tar", &["-tf", ova.to_str().unwrap()])
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(members, ["hub-1.ovf", "hub-1-disk001.vmdk", "hub-1.mf"]);
    let bytes = std::fs::read(&ova).unwrap();
    assert_eq!(
        &bytes[257..263],
        b"ustar\0",
        "first header is not POSIX ustar"
    );

    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    sh(
        "tar",
        &["-xf", ova.to_str().unwrap(), "-C", x.to_str().unwrap()],
    );

    // manifest: `SHA256(name)= hex` for every other member, matching sha256sum of the extracted file
    let mf = std::fs::read_to_string(x.join("hub-1.mf")).unwrap();
    let mut listed = HashMap::new();
    for line in mf.lines() {
        let (lhs, hex) = line.split_once("= ").expect("manifest line has `= `");
        let name = lhs
            .strip_prefix("SHA256(")
            .and_then(|s| s.strip_suffix(')'))
            .expect("SHA256(name)");
        listed.insert(name.to_owned(), hex.to_owned());
    }
    assert_eq!(listed.len(), 2);
    for name in ["hub-1.ovf", "hub-1-disk001.vmdk"] {
        let sum = sh("sha256sum", &[x.join(name).to_str().unwrap()]);
        assert_eq!(
            sum.split_whitespace().next().unwrap(),
            listed[name],
            "{name}"
        );
    }

    // the extracted disk is a sane streamOptimized VMDK with the source's content
    let vmdk = x.join("hub-1-disk001.vmdk");
    let info: serde_json::Value = serde_json::from_str(&sh(
        "qemu-img",
        &["info", "--output=json", vmdk.to_str().unwrap()],
    ))
    .unwrap();
    assert_eq!(info["format"], "vmdk");
    assert_eq!(
        info["format-specific"]["data"]["create-type"],
        "streamOptimized"
    );
    assert_eq!(info["virtual-size"], 64 * 1024 * 1024);
    sh("qemu-img", &["check", vmdk.to_str().unwrap()]);
    sh(
        "qemu-img",
        &["compare", img.to_str().unwrap(), vmdk.to_str().unwrap()],
    );
    // and identical to the standalone .vmdk artifact
    assert_eq!(
        std::fs::read(&vmdk).unwrap(),
        std::fs::read(out.join("hub-1.vmdk")).unwrap()
    );

    // descriptor: parsed back with an XML parser, every cross-reference resolves
    let ovf = std::fs::read_to_string(x.join("hub-1.ovf")).unwrap();
    let s = ovf_check::check(&ovf).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(
        (s.name.as_str(), s.cpus, s.memory_mb, s.os_id),
        ("hub", 2, 1536, 96)
    );
    assert_eq!(s.disks.len(), 1);
    assert_eq!(s.disks[0].href, "hub-1-disk001.vmdk");
    assert_eq!(s.disks[0].capacity_bytes, 64 * 1024 * 1024);
    let doc = roxmltree::Document::parse(&ovf).unwrap();
    let file = doc.descendants().find(|n| n.has_tag_name("File")).unwrap();
    let size_attr = file
        .attributes()
        .find(|a| a.name() == "size")
        .unwrap()
        .value();
    assert_eq!(
        size_attr.parse::<u64>().unwrap(),
        std::fs::metadata(&vmdk).unwrap().len()
    );

    // a re-run replaces the artifacts and converges on the same set of files
    export_disk(&r, &ui, &req).unwrap();
    assert_eq!(listing(&out).len(), 6);
}

#[test]
fn missing_disk_is_a_clear_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("builds");
    std::fs::create_dir(&out).unwrap();
    let (r, ui) = runner();
    let missing = dir.path().join("nope.qcow2");
    let req = ExportRequest {
        disk: &missing,
        out_dir: &out,
        stem: "x",
        formats: &[Format::Ova],
        name: "x",
        cpus: 1,
        memory_mb: 512,
        box_vagrantfile: None,
    };
    let e = export_disk(&r, &ui, &req).unwrap_err();
    assert!(
        e.to_string().contains("nope.qcow2") && e.to_string().contains("does not exist"),
        "{e}"
    );
    assert!(listing(&out).is_empty());
}
