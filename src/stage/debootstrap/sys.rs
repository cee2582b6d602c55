//! The few system calls the disk build makes itself: last-resort detaching of
//! loop devices when a build is interrupted (then the runner no longer starts
//! programs, so `losetup -d` cannot be spawned); the private mount namespace
//! and lazy unmounts are [`crate::mount`]'s.
use std::fs::OpenOptions;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::mount::check;
pub(super) use crate::mount::{enter_private_mount_namespace, lazy_umount};

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
