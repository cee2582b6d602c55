//! Mount-namespace system calls shared by the stages that mount disk images
//! themselves (the debootstrap builder, the image audit): a private mount
//! namespace for the working thread, and lazy unmounts that still work after
//! Ctrl-C, when the runner no longer starts `umount`.
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

/// A libc return code as a result (`0` is success, else `errno`).
pub(crate) fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Move the calling thread (and the programs it starts from now on) into a
/// new mount namespace whose mounts do not propagate anywhere. Mounts made in
/// it are invisible to the rest of the machine, vanish when the thread and
/// its children are gone, and no namespace created meanwhile by another
/// process can copy (and pin) them.
pub(crate) fn enter_private_mount_namespace() -> io::Result<()> {
    // SAFETY: unshare(2)/mount(2) with constant arguments; CLONE_NEWNS only
    // affects this thread (it implies CLONE_FS, which is per-thread).
    unsafe {
        check(libc::unshare(libc::CLONE_NEWNS))?;
        check(libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ))
    }
}

/// Detach the mount at `path` lazily: a busy mount goes once unused (and a
/// loop device set up by `mount -o loop` is freed with it).
pub(crate) fn lazy_umount(path: &Path) -> io::Result<()> {
    let c = cstr(path)?;
    // SAFETY: umount2(2) on a valid C string.
    check(unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) })
}
