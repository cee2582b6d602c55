//! The lean base box the VM suites share: its config (same base-disk inputs
//! everywhere, so the content-keyed debootstrap cache hits), the cache dirs
//! and the lock that serialises builds into them.
#![allow(dead_code)]

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// debootstrap base disks and .deb cache shared by every suite.
pub const BASE_CACHE: &str = "/var/cache/vmbuild-test/base-box";

/// An 8 GiB (sparse) libvirt-format box (run by the qemu provider) with nothing extra:
/// quick to build, boot and copy. The libvirt suite switches the provider.
pub const BOX_CONFIG: &str = r#"name = "e2e-base"
provider = "qemu"

[vm]
cpus = 2
memory_mb = 1024
disk_gb = 8
accelerator = "auto"

[base]
builder = "debootstrap"
extra_packages = []
"#;

/// An exclusive flock held while the value lives.
pub struct Lock(#[allow(dead_code)] std::fs::File);

/// Lock `path` (created if missing), waiting for other holders.
pub fn lock(path: &Path) -> Lock {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap();
    // SAFETY: flock on an open file descriptor we own.
    assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
    Lock(f)
}

/// The lock on [`BASE_CACHE`].
pub fn lock_cache() -> Lock {
    lock(&Path::new(BASE_CACHE).join(".lock"))
}

/// Make `project`'s work dir use the shared base-disk and .deb caches.
pub fn share_caches(project: &Path) {
    let work = project.join(".vmbuild");
    std::fs::create_dir_all(&work).unwrap();
    for sub in ["base", "cache"] {
        let target = Path::new(BASE_CACHE).join(sub);
        std::fs::create_dir_all(&target).unwrap();
        if !work.join(sub).exists() {
            std::os::unix::fs::symlink(&target, work.join(sub)).unwrap();
        }
    }
}

/// The project [`shared_box`] builds in: [`BOX_CONFIG`], kept across runs.
pub const BOX_PROJECT: &str = "/var/cache/vmbuild-test/base-box/project";

/// The lean base box of [`BOX_PROJECT`], made or verified up to date by
/// `vmbuild -p` right now (a cache hit when its inputs are unchanged; a
/// build of ~7 min otherwise), under the cache lock. The path is that
/// project's box, never a file found by searching. Panics with vmbuild's
/// output when the build fails.
pub fn shared_box() -> PathBuf {
    let dir = Path::new(BOX_PROJECT);
    std::fs::create_dir_all(dir.join("builds")).unwrap();
    std::fs::write(dir.join("vmbuild.toml"), BOX_CONFIG).unwrap();
    share_caches(dir);
    let _l = lock_cache();
    let out = Command::new(env!("CARGO_BIN_EXE_vmbuild"))
        .arg("-p")
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run vmbuild");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("--- vmbuild -p in {BOX_PROJECT}: {}\n{text}", out.status);
    assert!(
        out.status.success(),
        "vmbuild -p failed in {BOX_PROJECT}:\n{text}"
    );
    let b = dir.join("builds/e2e-base-libvirt.box");
    assert!(
        b.is_file(),
        "vmbuild -p succeeded but made no {}",
        b.display()
    );
    b
}
