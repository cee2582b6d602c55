//! [`ImageRoot`]: the image's root filesystem, read as if it were `/`.
//!
//! Every path is resolved inside the image (`openat2` with `RESOLVE_IN_ROOT`):
//! an absolute symlink in the image such as `/etc/ssl/certs/x.pem ->
//! /usr/share/...` points into the image, never at this machine's files.
//! Walks never follow symlinks. Works the same on a mounted image and on a
//! plain directory (the detectors' tests use staged directories).
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use super::error::AuditError;
use super::sys;
use crate::interrupt;

/// What kind of object a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (only reported by walks and listings, which never follow them).
    Symlink,
    /// A device, FIFO or socket.
    Other,
}

/// Metadata of one object in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Its kind.
    pub kind: Kind,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Owner's uid.
    pub uid: u32,
}

impl Meta {
    fn of(m: &std::fs::Metadata) -> Meta {
        let t = m.file_type();
        let kind = if t.is_file() {
            Kind::File
        } else if t.is_dir() {
            Kind::Dir
        } else if t.is_symlink() {
            Kind::Symlink
        } else {
            debug_assert!(
                t.is_fifo() || t.is_socket() || t.is_block_device() || t.is_char_device()
            );
            Kind::Other
        };
        Meta {
            kind,
            size: m.len(),
            mode: m.mode() & 0o7777,
            uid: m.uid(),
        }
    }
}

/// What a walk does after visiting a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// Visit what it holds.
    Descend,
    /// Leave it out.
    Skip,
}

/// The largest file the detectors read whole (bigger ones are read up to this).
pub const READ_LIMIT: u64 = 8 << 20;

/// The image's root directory.
#[derive(Debug)]
pub struct ImageRoot {
    dir: File,
}

fn missing(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP)
    )
}

impl ImageRoot {
    /// The tree below `dir`, read as if `dir` were `/`.
    pub fn open(dir: &Path) -> Result<ImageRoot, AuditError> {
        let dir = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(dir)
            .map_err(|e| AuditError::io("opening the image root", dir, e))?;
        Ok(ImageRoot { dir })
    }

    fn open_at(&self, path: &str, flags: libc::c_int) -> Result<Option<File>, AuditError> {
        match sys::open_in_root(&self.dir, path, flags) {
            Ok(f) => Ok(Some(f)),
            Err(e) if missing(&e) => Ok(None),
            Err(e) => Err(AuditError::io("opening", path, e)),
        }
    }

    /// Metadata of `path` (symlinks followed inside the image); `None` if absent.
    pub fn stat(&self, path: &str) -> Result<Option<Meta>, AuditError> {
        let Some(f) = self.open_at(path, libc::O_PATH)? else {
            return Ok(None);
        };
        let m = f
            .metadata()
            .map_err(|e| AuditError::io("reading", path, e))?;
        Ok(Some(Meta::of(&m)))
    }

    /// Whether `path` is a regular file.
    pub fn is_file(&self, path: &str) -> Result<bool, AuditError> {
        Ok(self.stat(path)?.is_some_and(|m| m.kind == Kind::File))
    }

    /// The first `limit` bytes of the regular file `path`; `None` if there is
    /// no such file (or it is not a regular file).
    pub fn read_limited(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, AuditError> {
        // look before opening: a masked unit links to /dev/null, and device
        // nodes cannot be opened on the nodev mount
        if !self.is_file(path)? {
            return Ok(None);
        }
        let Some(f) = self.open_at(path, libc::O_RDONLY)? else {
            return Ok(None);
        };
        let m = f
            .metadata()
            .map_err(|e| AuditError::io("reading", path, e))?;
        if !m.file_type().is_file() {
            return Ok(None);
        }
        let mut buf = Vec::with_capacity(m.len().min(limit) as usize);
        f.take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| AuditError::io("reading", path, e))?;
        Ok(Some(buf))
    }

    /// The regular file `path` as text (lossy, up to [`READ_LIMIT`]).
    pub fn read_text(&self, path: &str) -> Result<Option<String>, AuditError> {
        Ok(self
            .read_limited(path, READ_LIMIT)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// The entries of directory `path` (name and metadata, symlinks not
    /// followed), sorted by name; empty if it is not a directory.
    pub fn list(&self, path: &str) -> Result<Vec<(String, Meta)>, AuditError> {
        let Some(f) = self.open_at(path, libc::O_RDONLY | libc::O_DIRECTORY)? else {
            return Ok(Vec::new());
        };
        use std::os::fd::AsRawFd;
        // our own descriptor of the (already confined) directory
        let proc_path = format!("/proc/self/fd/{}", f.as_raw_fd());
        let rd = std::fs::read_dir(&proc_path).map_err(|e| AuditError::io("listing", path, e))?;
        let mut out = Vec::new();
        for e in rd {
            let e = e.map_err(|e| AuditError::io("listing", path, e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let m = match e.metadata() {
                Ok(m) => m,
                // removed meanwhile (only on a live directory, never a mounted image)
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(AuditError::io("reading", join(path, &name), err)),
            };
            out.push((name, Meta::of(&m)));
        }
        drop(f);
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Visit everything below directory `path` (depth first, never following
    /// symlinks); `visit` gets each path and its metadata and decides whether
    /// to enter a directory. Stops with [`AuditError::Interrupted`] on Ctrl-C.
    pub fn walk(
        &self,
        path: &str,
        visit: &mut dyn FnMut(&str, &Meta) -> Result<Walk, AuditError>,
    ) -> Result<(), AuditError> {
        if interrupt::requested() {
            return Err(AuditError::Interrupted);
        }
        for (name, meta) in self.list(path)? {
            let child = join(path, &name);
            if visit(&child, &meta)? == Walk::Descend && meta.kind == Kind::Dir {
                self.walk(&child, visit)?;
            }
        }
        Ok(())
    }

    /// Total size of the regular files below `path` (or of `path` itself), and
    /// how many there are.
    pub fn du(&self, path: &str) -> Result<(u64, u64), AuditError> {
        match self.stat(path)? {
            None => Ok((0, 0)),
            Some(m) if m.kind == Kind::File => Ok((m.size, 1)),
            Some(m) if m.kind != Kind::Dir => Ok((0, 0)),
            Some(_) => {
                let (mut size, mut files) = (0, 0);
                self.walk(path, &mut |_, m| {
                    if m.kind == Kind::File {
                        size += m.size;
                        files += 1;
                    }
                    Ok(Walk::Descend)
                })?;
                Ok((size, files))
            }
        }
    }
}

/// `dir/name` for image paths (`/` + `etc` = `/etc`).
pub fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// `path` with `.` and `..` resolved lexically (for naming files in
/// findings; reads resolve them inside the image anyway).
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_symlinks_resolve_inside_the_image() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/real"), "inside").unwrap();
        // points at the host's /etc/hostname if followed naively
        std::os::unix::fs::symlink("/etc/real", root.join("etc/link")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", root.join("etc/escape")).unwrap();
        std::os::unix::fs::symlink("../../../../etc/hostname", root.join("etc/dots")).unwrap();
        let r = ImageRoot::open(root).unwrap();
        assert_eq!(r.read_text("/etc/link").unwrap().as_deref(), Some("inside"));
        assert_eq!(r.read_text("/etc/escape").unwrap(), None);
        assert_eq!(r.read_text("/etc/dots").unwrap(), None);
        assert_eq!(r.read_text("/nope/x").unwrap(), None);
    }

    #[test]
    fn paths_normalize() {
        assert_eq!(normalize("/etc/sudoers.d/../sudo-more"), "/etc/sudo-more");
        assert_eq!(normalize("/../../x/./y/"), "/x/y");
    }

    #[test]
    fn walks_do_not_follow_symlinks_and_du_sums_files() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/one"), "1").unwrap();
        std::fs::write(root.join("a/b/two"), "22").unwrap();
        std::os::unix::fs::symlink("/", root.join("a/loop")).unwrap();
        let r = ImageRoot::open(root).unwrap();
        let mut seen = Vec::new();
        r.walk("/a", &mut |p, m| {
            seen.push((p.to_owned(), m.kind));
            Ok(Walk::Descend)
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                ("/a/b".to_owned(), Kind::Dir),
                ("/a/b/two".to_owned(), Kind::File),
                ("/a/loop".to_owned(), Kind::Symlink),
                ("/a/one".to_owned(), Kind::File),
            ]
        );
        assert_eq!(r.du("/a").unwrap(), (3, 2));
        assert_eq!(r.du("/missing").unwrap(), (0, 0));
    }
}
