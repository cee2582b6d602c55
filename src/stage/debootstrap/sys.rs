//! The few system calls the disk build makes itself: a private mount
//! namespace for the building thread, and last-resort cleanup of mounts and
//! loop devices when a build is interrupted (then the runner no longer starts
//! programs, so `umount`/`losetup -d` cannot be spawned).
use std::ffi::CString;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Move the calling thread (and the programs it starts from now on) into a
/// new mount namespace whose mounts do not propagate anywhere. Mounts made in
/// it vanish when the thread and its children are gone, and no namespace
/// created meanwhile by another process can copy (and pin) them.
pub(super) fn enter_private_mount_namespace() -> io::Result<()> {
    // SAFETY: unshare(2)/mount(2) with constant arguments; CLONE_NEWNS only
    // affects this thread (it implies CLONE_FS, which is per-thread).
    unsafe {
        check(libc::unshare(libc::CLONE_NEWNS))?;
        let root = c"/";
        check(libc::mount(
            std::ptr::null(),
            root.as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ))
    }
}

/// Detach the mount at `path` (lazily: busy mounts go once unused).
pub(super) fn lazy_umount(path: &Path) -> io::Result<()> {
    let c = cstr(path)?;
    // SAFETY: umount2(2) on a valid C string.
    check(unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) })
}

const BLKPG: libc::c_ulong = 0x1269;
const BLKPG_DEL_PARTITION: libc::c_int = 2;
const LOOP_CLR_FD: libc::c_ulong = 0x4C01;

#[repr(C)]
struct BlkpgPartition {
    start: i64,
    length: i64,
    pno: libc::c_int,
    devname: [u8; 64],
    volname: [u8; 64],
}

#[repr(C)]
struct BlkpgIoctlArg {
    op: libc::c_int,
    flags: libc::c_int,
    datalen: libc::c_int,
    data: *mut libc::c_void,
}

/// Drop partition `pno` of `dev` and detach the loop device (what `partx -d`
/// and `losetup -d` do). A busy device is detached once it is closed.
pub(super) fn detach_loop(dev: &Path, pno: i32) -> io::Result<()> {
    let f = OpenOptions::new().read(true).open(dev)?;
    let mut part = BlkpgPartition {
        start: 0,
        length: 0,
        pno,
        devname: [0; 64],
        volname: [0; 64],
    };
    let mut arg = BlkpgIoctlArg {
        op: BLKPG_DEL_PARTITION,
        flags: 0,
        datalen: std::mem::size_of::<BlkpgPartition>() as libc::c_int,
        data: (&raw mut part).cast(),
    };
    // SAFETY: BLKPG with a properly laid out blkpg_ioctl_arg pointing at a live
    // blkpg_partition; failure (no such partition) is harmless and ignored.
    let _ = unsafe { libc::ioctl(f.as_raw_fd(), BLKPG as _, &raw mut arg) };
    // SAFETY: LOOP_CLR_FD takes no argument.
    check(unsafe { libc::ioctl(f.as_raw_fd(), LOOP_CLR_FD as _, 0) })
}
