//! Helpers shared by the `export_*` tests (included with `#[path]`; as its own
//! test target it holds no tests).
#![allow(dead_code, unreachable_pub, missing_docs)]
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use vmbuild::process::SystemRunner;
use vmbuild::ui::Ui;

/// Run a system tool for inspection (tests may use std::process directly).
pub fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn runner() -> (SystemRunner, Arc<Ui>) {
    let ui = Arc::new(Ui::silent());
    (SystemRunner::new(Arc::clone(&ui), false), ui)
}

/// A qcow2 of `virtual_mib` MiB whose first `random_mib` MiB are random, the
/// next `random_mib` MiB compressible text, the rest zero.
pub fn make_image(dir: &Path, virtual_mib: u64, random_mib: u64) -> PathBuf {
    let raw = dir.join("src.raw");
    let mut data = vec![0u8; (random_mib * 2 * 1024 * 1024) as usize];
    let (rand_part, text_part) = data.split_at_mut((random_mib * 1024 * 1024) as usize);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for chunk in rand_part.chunks_mut(8) {
        // xorshift: fast, incompressible enough for zlib
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    for (i, b) in text_part.iter_mut().enumerate() {
        *b = b"vmbuild export test line\n"[i % 25];
    }
    std::fs::write(&raw, &data).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&raw).unwrap();
    f.set_len(virtual_mib * 1024 * 1024).unwrap();
    let img = dir.join("src.qcow2");
    sh(
        "qemu-img",
        &[
            "convert",
            "-f",
            "raw",
            "-O",
            "qcow2",
            raw.to_str().unwrap(),
            img.to_str().unwrap(),
        ],
    );
    std::fs::remove_file(&raw).unwrap();
    img
}

/// Names in `dir`, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
