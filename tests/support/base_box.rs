//! The lean base box the VM suites share: its config (same base-disk inputs
//! everywhere, so the content-keyed debootstrap cache hits), the cache dirs
//! and the lock that serialises builds into them.
#![allow(dead_code)]

use std::os::fd::AsRawFd;
use std::path::Path;

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

/// The lock on [`BASE_CACHE`], held by whichever suite builds with it
/// (e2e_main through its `-p`). Waiting for it is not the waiting test's
/// work, so take it before arming a deadline: the holder's own deadline
/// bounds the wait.
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
