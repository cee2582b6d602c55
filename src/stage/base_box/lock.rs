//! One `-p` per project at a time: two builds would share Packer's output
//! directory and the base-disk temp files.
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::error::Error;
use crate::stage::StageError;

/// Held for the whole stage; the kernel releases it when the process dies.
#[derive(Debug)]
pub(crate) struct BuildLock(#[allow(dead_code)] File);

/// Take the lock file `<work_dir>/.base-box.lock`, failing fast if held.
pub(crate) fn acquire(work_dir: &Path) -> Result<BuildLock, Error> {
    let io = |what, source| StageError::Io {
        what,
        path: work_dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(work_dir).map_err(|e| io("creating", e))?;
    let f =
        File::create(work_dir.join(".base-box.lock")).map_err(|e| io("creating a lock in", e))?;
    // SAFETY: flock(2) on a descriptor we own.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(StageError::Precondition(format!(
            "another vmbuild is building the base box in `{}`; wait for it or stop it",
            work_dir.display()
        ))
        .into());
    }
    Ok(BuildLock(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_fails_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path()).unwrap();
        let err = acquire(dir.path()).unwrap_err().to_string();
        assert!(err.contains("another vmbuild"), "{err}");
        drop(first);
        acquire(dir.path()).unwrap();
    }
}
