//! The system calls the audit makes itself: `openat2` confined to the
//! image's root, and signalling the storage daemon; the private mount
//! namespace and lazy unmounts are [`crate::mount`]'s.
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::Path;

pub(super) use crate::mount::{enter_private_mount_namespace, lazy_umount};

/// Whether `path` is the root of a mount (its device differs from its parent's).
pub(super) fn is_mount_point(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (
        std::fs::symlink_metadata(path),
        path.parent().map(std::fs::symlink_metadata),
    ) {
        (Ok(a), Some(Ok(b))) => a.dev() != b.dev(),
        _ => false,
    }
}

/// `struct open_how` of openat2(2) (libc's is non-exhaustive).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Open `path` below the directory `root` as if `root` were `/`: absolute
/// symlinks and `..` in the image resolve inside the image, never to the
/// host's files (`RESOLVE_IN_ROOT`), and no mount is crossed.
pub(super) fn open_in_root(root: &File, path: &str, flags: libc::c_int) -> io::Result<File> {
    let c = CString::new(path).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // openat2 refuses O_PATH with anything but O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW
    let extra = if flags & libc::O_PATH != 0 {
        libc::O_CLOEXEC
    } else {
        libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK
    };
    let how = OpenHow {
        flags: (flags | extra) as u64,
        mode: 0,
        resolve: libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS | libc::RESOLVE_NO_XDEV,
    };
    // SAFETY: openat2(2) with a live directory fd, a valid C string and a
    // properly sized open_how; the returned fd is owned by the File.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            c.as_ptr(),
            &raw const how,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd from openat2 that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd as libc::c_int) })
}

/// Send `sig` to process `pid`; `false` when it no longer exists.
pub(super) fn signal(pid: i32, sig: libc::c_int) -> bool {
    // SAFETY: kill(2) has no memory effects.
    unsafe { libc::kill(pid, sig) == 0 }
}

/// The process group of `pid` (a daemon's group outlives its leader).
pub(super) fn process_group(pid: i32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // after the command name: state, ppid, pgrp
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

/// Whether process `pid` is gone (or only a zombie waiting to be reaped).
pub(super) fn process_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // the state follows the command name, which is in parentheses
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => true,
    }
}
