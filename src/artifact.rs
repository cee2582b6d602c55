//! Writing artifacts atomically: to a temp file in the destination directory,
//! renamed into place only when complete. An interrupted write leaves at most
//! a `.tmp` file that the next run removes; never a half-written artifact.
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Prefix of in-progress files; [`sweep_partials`] removes leftovers.
pub const PARTIAL_PREFIX: &str = ".partial-";

/// A file being written that appears at its final path only on [`commit`](Self::commit).
#[derive(Debug)]
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    dest: PathBuf,
    mode: u32,
}

impl AtomicFile {
    /// Start writing the file that will become `dest`.
    pub fn create(dest: &Path) -> io::Result<AtomicFile> {
        let dir = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!("{PARTIAL_PREFIX}{name}."))
            .tempfile_in(dir)?;
        Ok(AtomicFile {
            tmp,
            dest: dest.to_owned(),
            mode: 0o644,
        })
    }

    /// Give the final file `mode` instead of 0644 (e.g. 0600 for files holding secrets).
    pub fn with_mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    /// The open file to write to.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// The temporary path (for tools that write by path).
    pub fn temp_path(&self) -> &Path {
        self.tmp.path()
    }

    /// Flush to disk and move into place with its mode (default 0644; the
    /// temp file starts 0600 so nobody reads it half-written).
    pub fn commit(self) -> io::Result<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        self.tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(self.mode))?;
        self.tmp.as_file().sync_all()?;
        self.tmp.persist(&self.dest).map_err(|e| e.error)?;
        Ok(self.dest)
    }
}

/// Write `bytes` to `dest` atomically (mode 0644).
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_mode(dest, bytes, 0o644)
}

/// Write `bytes` to `dest` atomically with `mode`; the file is never visible
/// with a wider mode.
pub fn write_atomic_mode(dest: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    use io::Write;
    let mut f = AtomicFile::create(dest)?.with_mode(mode);
    f.file().write_all(bytes)?;
    f.commit().map(|_| ())
}

/// Move a finished file (written elsewhere on the same file system) into place atomically.
pub fn install(src: &Path, dest: &Path) -> io::Result<()> {
    if let Some(d) = dest.parent() {
        std::fs::create_dir_all(d)?;
    }
    std::fs::rename(src, dest)
}

/// Remove leftovers of interrupted writes in `dir`.
pub fn sweep_partials(dir: &Path) -> io::Result<usize> {
    let mut n = 0;
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    for e in rd {
        let e = e?;
        if e.file_name().to_string_lossy().starts_with(PARTIAL_PREFIX) {
            let p = e.path();
            if p.is_dir() {
                std::fs::remove_dir_all(&p)?
            } else {
                std::fs::remove_file(&p)?
            }
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn nothing_appears_until_commit_and_partials_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.box");
        let mut f = AtomicFile::create(&dest).unwrap();
        f.file().write_all(b"data").unwrap();
        assert!(!dest.exists());
        f.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"data");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
            0o644
        );

        let f = AtomicFile::create(&dest).unwrap();
        let tmp = f.temp_path().to_owned();
        std::mem::forget(f); // as if the process died mid-write
        assert!(tmp.exists());
        assert_eq!(sweep_partials(dir.path()).unwrap(), 1);
        assert!(!tmp.exists());
        assert_eq!(std::fs::read(&dest).unwrap(), b"data");
    }
}
