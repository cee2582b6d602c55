//! The `.part` file: appended to, hashed as it grows, locked against a
//! second writer.
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{DownloadError, Progress, io_err};

/// The `.part` file with a running hash of everything in it.
pub(super) struct PartFile {
    file: File,
    path: PathBuf,
    hasher: Sha256,
    /// Bytes in the file.
    pub(super) len: u64,
}

impl PartFile {
    /// Open (or create) `path` and hash what it already holds.
    pub(super) fn open(path: &Path) -> Result<PartFile, DownloadError> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .append(true)
            .open(path)
            .map_err(io_err("opening", path))?;
        lock_exclusive(&file, path)?;
        let mut hasher = Sha256::new();
        let len = io::copy(&mut file, &mut HashWriter(&mut hasher))
            .map_err(io_err("reading partial download", path))?;
        Ok(PartFile {
            file,
            path: path.to_owned(),
            hasher,
            len,
        })
    }

    /// Throw away what is there (the source cannot continue from it).
    pub(super) fn restart(&mut self) -> Result<(), DownloadError> {
        self.file
            .set_len(0)
            .map_err(io_err("truncating", &self.path))?;
        self.hasher = Sha256::new();
        self.len = 0;
        Ok(())
    }

    /// Append everything `r` yields, reporting progress; stops on interruption.
    pub(super) fn append_from(
        &mut self,
        url: &str,
        r: &mut dyn Read,
        total: Option<u64>,
        progress: Progress<'_>,
    ) -> Result<u64, DownloadError> {
        let mut buf = vec![0u8; 256 * 1024];
        let mut n_total = 0;
        loop {
            if crate::interrupt::requested() {
                return Err(DownloadError::Interrupted {
                    url: url.to_owned(),
                });
            }
            let n = match r.read(&mut buf) {
                Ok(0) => return Ok(n_total),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err("receiving", Path::new(url))(e)),
            };
            self.file
                .write_all(&buf[..n])
                .map_err(io_err("writing", &self.path))?;
            self.hasher.update(&buf[..n]);
            self.len += n as u64;
            n_total += n as u64;
            progress(self.len, total);
        }
    }

    /// Flush to disk; the hex SHA-256 of the whole file.
    pub(super) fn finish(&mut self) -> Result<String, DownloadError> {
        self.file
            .sync_all()
            .map_err(io_err("flushing", &self.path))?;
        Ok(hex::encode(self.hasher.clone().finalize()))
    }
}

/// Two runs appending to one `.part` would corrupt it: the second one is
/// refused. The lock goes away with the file descriptor.
fn lock_exclusive(file: &File, path: &Path) -> Result<(), DownloadError> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock(2) on a descriptor we own for the duration of the call.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.kind() == io::ErrorKind::WouldBlock {
        Err(DownloadError::Busy {
            path: path.display().to_string(),
        })
    } else {
        Err(io_err("locking", path)(e))
    }
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.update(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
