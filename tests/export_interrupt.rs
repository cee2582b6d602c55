//! Ctrl-C during an export (in-process: the interrupt flag is process-wide, so
//! this lives in its own test binary): qemu-img is stopped, the temp file is
//! removed, nothing is left in the output directory.
#[path = "export_support.rs"]
mod support;

use std::time::{Duration, Instant};

use support::{listing, make_image, runner};
use vmbuild::export::{ExportRequest, Format, export_disk};

#[test]
fn ctrl_c_while_qemu_img_writes_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // big enough that the streamOptimized conversion takes a while
    let img = make_image(dir.path(), 512, 96);
    let out = dir.path().join("builds");
    std::fs::create_dir(&out).unwrap();

    let watch = out.clone();
    let t = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let started = listing(&watch)
                .iter()
                .any(|n| n.starts_with(".partial-x.vmdk"));
            if started {
                std::thread::sleep(Duration::from_millis(200)); // let qemu-img get going
                vmbuild::interrupt::request();
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    });
    let (r, ui) = runner();
    let req = ExportRequest {
        disk: &img,
        out_dir: &out,
        stem: "x",
        formats: &[Format::Vmdk, Format::Ova],
        name: "x",
        cpus: 1,
        memory_mb: 512,
        box_vagrantfile: None,
    };
    let res = export_disk(&r, &ui, &req);
    assert!(t.join().unwrap(), "the export never started writing");
    let e = res.expect_err("export should have been interrupted");
    assert!(e.is_interrupted(), "{e}");
    assert!(listing(&out).is_empty(), "left behind: {:?}", listing(&out));
}
