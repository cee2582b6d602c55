//! The Vagrant `box` artifact with the real qemu-img and the real Vagrant:
//! packed from the compressed qcow2 (reused when `qcow2` is exported too,
//! else converted to a scratch file that does not outlive the export), its
//! members in order, its disk identical to the source, and accepted by
//! `vagrant box add` for the libvirt provider.
#[path = "export_support.rs"]
mod support;

use std::io::Read;
use std::path::Path;
use std::process::Command;

use support::{listing, make_image, runner, sh};
use vmbuild::export::{ExportRequest, Format, export_disk};
use vmbuild::stage::export::box_vagrantfile;

fn members(path: &Path, out: &Path) -> Vec<String> {
    let mut ar = tar::Archive::new(std::fs::File::open(path).unwrap());
    let mut names = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        std::fs::write(out.join(&name), data).unwrap();
        names.push(name);
    }
    names
}

#[test]
fn box_holds_the_compressed_disk_and_vagrant_adds_it() {
    let dir = tempfile::tempdir().unwrap();
    let img = make_image(dir.path(), 1100, 4);
    let out = dir.path().join("builds");
    let (r, ui) = runner();
    let vagrantfile = box_vagrantfile(2, 1536, 8080);
    let mut req = ExportRequest {
        disk: &img,
        out_dir: &out,
        stem: "hub",
        formats: &[Format::Box],
        name: "hub",
        cpus: 2,
        memory_mb: 1536,
        box_vagrantfile: Some(&vagrantfile),
    };

    // box alone: a scratch qcow2, gone afterwards
    let arts = export_disk(&r, &ui, &req).unwrap();
    assert_eq!(arts.len(), 1);
    assert_eq!(listing(&out), ["hub.box", "hub.box.sha256"]);
    sh(
        "sh",
        &[
            "-c",
            &format!("cd '{}' && sha256sum -c hub.box.sha256", out.display()),
        ],
    );
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    assert_eq!(
        members(&out.join("hub.box"), &x),
        ["metadata.json", "Vagrantfile", "box.img"]
    );
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(x.join("metadata.json")).unwrap()).unwrap();
    assert_eq!(meta["virtual_size"], 2, "1100 MiB rounds up to 2 GiB");
    assert_eq!(
        std::fs::read_to_string(x.join("Vagrantfile")).unwrap(),
        vagrantfile
    );
    let disk = x.join("box.img");
    let info = sh(
        "qemu-img",
        &["info", "--output=json", disk.to_str().unwrap()],
    );
    assert!(info.contains("\"format\": \"qcow2\""), "{info}");
    sh("qemu-img", &["check", disk.to_str().unwrap()]);
    sh(
        "qemu-img",
        &["compare", img.to_str().unwrap(), disk.to_str().unwrap()],
    );
    assert!(
        std::fs::metadata(&disk).unwrap().len() < std::fs::metadata(&img).unwrap().len(),
        "the box's disk is compressed"
    );

    // with qcow2: the box wraps the very same qcow2 artifact
    req.formats = &[Format::Qcow2, Format::Box];
    let arts = export_disk(&r, &ui, &req).unwrap();
    assert_eq!(
        listing(&out),
        ["hub.box", "hub.box.sha256", "hub.qcow2", "hub.qcow2.sha256"]
    );
    members(&out.join("hub.box"), &x);
    assert_eq!(
        std::fs::read(x.join("box.img")).unwrap(),
        std::fs::read(&arts[0].path).unwrap()
    );

    // the same disk again: the same bytes (members carry the disk's mtime)
    let again = export_disk(&r, &ui, &req).unwrap();
    assert_eq!(
        arts.iter().map(|a| a.sha256).collect::<Vec<_>>(),
        again.iter().map(|a| a.sha256).collect::<Vec<_>>()
    );

    // the real Vagrant takes it as a libvirt box
    let home = dir.path().join("vagrant-home");
    let add = Command::new("vagrant")
        .args(["box", "add", "--name", "test/hub", "--provider", "libvirt"])
        .arg(out.join("hub.box"))
        .env("VAGRANT_HOME", &home)
        .output()
        .expect("vagrant (scripts/setup.sh installs it)");
    assert!(
        add.status.success(),
        "vagrant box add: {}{}",
        String::from_utf8_lossy(&add.stdout),
        String::from_utf8_lossy(&add.stderr)
    );
    let listed = sh_env("vagrant", &["box", "list"], &home, dir.path());
    assert!(
        listed.contains("test/hub") && listed.contains("libvirt"),
        "{listed}"
    );

    // and loads the Vagrantfile inside it under a project that uses the box
    let project = dir.path().join("project");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(
        project.join("Vagrantfile"),
        "Vagrant.configure(\"2\") { |c| c.vm.box = \"test/hub\" }\n",
    )
    .unwrap();
    sh_env("vagrant", &["validate", "-p"], &home, &project);
}

fn sh_env(program: &str, args: &[&str], home: &Path, cwd: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .env("VAGRANT_HOME", home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
