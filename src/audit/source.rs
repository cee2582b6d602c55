//! What the image file is, and where its disk is: the file itself (qcow2,
//! VMDK, raw), a member of an uncompressed tar (OVA, Vagrant box) read in
//! place, or a member of a tar.gz (Vagrant box) that must be extracted.
use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::error::AuditError;

/// The container the user gave us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// A qcow2 disk.
    Qcow2,
    /// A VMDK disk (sparse, streamOptimized or monolithic flat descriptor).
    Vmdk,
    /// A raw disk (or a bare filesystem).
    Raw,
    /// An OVA (tar with an OVF descriptor and VMDK disks).
    Ova,
    /// A Vagrant box (tar, or tar.gz, with `box.img` or VirtualBox's files).
    VagrantBox,
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImageFormat::Qcow2 => "qcow2",
            ImageFormat::Vmdk => "VMDK",
            ImageFormat::Raw => "raw",
            ImageFormat::Ova => "OVA",
            ImageFormat::VagrantBox => "Vagrant box",
        })
    }
}

/// A disk format qemu reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFormat {
    /// qcow2.
    Qcow2,
    /// VMDK.
    Vmdk,
    /// raw.
    Raw,
}

impl DiskFormat {
    /// qemu's driver name.
    pub fn driver(self) -> &'static str {
        match self {
            DiskFormat::Qcow2 => "qcow2",
            DiskFormat::Vmdk => "vmdk",
            DiskFormat::Raw => "raw",
        }
    }
}

/// Where the disk's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiskLocation {
    /// The whole file.
    File(PathBuf),
    /// `size` bytes at `offset` of an uncompressed archive.
    Member {
        /// The archive.
        archive: PathBuf,
        /// Member name.
        name: String,
        /// Where its data starts.
        offset: u64,
        /// Its size.
        size: u64,
    },
    /// The first disk member of a gzip-compressed tar: must be extracted.
    Compressed(PathBuf),
}

/// The identified image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The container.
    pub format: ImageFormat,
    /// Where the disk is.
    pub location: DiskLocation,
    /// The disk's format (for [`DiskLocation::Compressed`]: known after extraction).
    pub disk: Option<DiskFormat>,
}

/// What the first bytes of a file say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    /// A disk format qemu reads.
    Disk(DiskFormat),
    /// gzip.
    Gzip,
    /// A tar archive.
    Tar,
    /// A disk format we do not audit.
    Other(&'static str),
    /// None of the above.
    Unknown,
}

/// Identify a format from the first 4 KiB of a file.
pub fn sniff(head: &[u8]) -> Sniff {
    let at = |off: usize, magic: &[u8]| head.get(off..off + magic.len()) == Some(magic);
    if at(0, b"QFI\xfb") {
        Sniff::Disk(DiskFormat::Qcow2)
    } else if at(0, b"KDMV") || at(0, b"# Disk DescriptorFile") {
        Sniff::Disk(DiskFormat::Vmdk)
    } else if at(0, &[0x1f, 0x8b]) {
        Sniff::Gzip
    } else if at(257, b"ustar") {
        Sniff::Tar
    } else if at(0x40, &[0x7f, 0x10, 0xda, 0xbe]) {
        Sniff::Other("a VDI disk")
    } else if at(0, b"vhdxfile") {
        Sniff::Other("a VHDX disk")
    } else if at(0, b"conectix") {
        Sniff::Other("a VHD disk")
    } else if at(510, &[0x55, 0xaa])
        || at(512, b"EFI PART")
        || at(0x438, &[0x53, 0xef])
        || at(0, b"XFSB")
    {
        Sniff::Disk(DiskFormat::Raw)
    } else {
        Sniff::Unknown
    }
}

fn read_head(file: &mut File, offset: u64, path: &Path) -> Result<Vec<u8>, AuditError> {
    let mut head = vec![0; 4096];
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| AuditError::io("reading", path, e))?;
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(AuditError::io("reading", path, e)),
        }
    }
    head.truncate(n);
    Ok(head)
}

/// Whether a tar member name is a disk we audit.
pub fn is_disk_member(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    base == "box.img"
        || [".vmdk", ".qcow2", ".img", ".raw"]
            .iter()
            .any(|e| base.ends_with(e))
}

/// Identify `path` (read only; nothing is extracted yet).
pub fn identify(path: &Path) -> Result<Source, AuditError> {
    let shown = path.display().to_string();
    let mut file = File::open(path).map_err(|source| AuditError::Open {
        path: shown.clone(),
        source,
    })?;
    let meta = file
        .metadata()
        .map_err(|e| AuditError::io("reading", path, e))?;
    if meta.is_dir() {
        return Err(AuditError::NotAnImage {
            path: shown,
            why: "it is a directory".into(),
        });
    }
    let head = read_head(&mut file, 0, path)?;
    let not_image = |why: &str| AuditError::NotAnImage {
        path: shown.clone(),
        why: why.into(),
    };
    match sniff(&head) {
        Sniff::Disk(d) => Ok(Source {
            format: match d {
                DiskFormat::Qcow2 => ImageFormat::Qcow2,
                DiskFormat::Vmdk => ImageFormat::Vmdk,
                DiskFormat::Raw => ImageFormat::Raw,
            },
            location: DiskLocation::File(path.to_owned()),
            disk: Some(d),
        }),
        Sniff::Gzip => Ok(Source {
            format: ImageFormat::VagrantBox,
            location: DiskLocation::Compressed(path.to_owned()),
            disk: None,
        }),
        Sniff::Tar => tar_source(path, &mut file),
        Sniff::Other(what) => Err(AuditError::Unsupported {
            path: shown,
            what: what.into(),
        }),
        Sniff::Unknown if head.is_empty() => Err(not_image("the file is empty")),
        Sniff::Unknown => Err(not_image(
            "no qcow2, VMDK, OVA, Vagrant box (tar or tar.gz) or partition table signature",
        )),
    }
}

fn tar_source(path: &Path, file: &mut File) -> Result<Source, AuditError> {
    let shown = path.display().to_string();
    file.seek(SeekFrom::Start(0))
        .map_err(|e| AuditError::io("reading", path, e))?;
    let mut archive = tar::Archive::new(&mut *file);
    let mut names = Vec::new();
    let mut disk = None;
    let entries = archive
        .entries()
        .map_err(|e| AuditError::io("reading the tar archive", path, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| AuditError::io("reading the tar archive", path, e))?;
        let name = entry
            .path()
            .map_err(|e| AuditError::io("reading the tar archive", path, e))?
            .to_string_lossy()
            .into_owned();
        if disk.is_none() && is_disk_member(&name) {
            if entry.header().entry_type().is_gnu_sparse() {
                return Err(AuditError::Unsupported {
                    path: shown,
                    what: format!("the sparse tar member `{name}`"),
                });
            }
            disk = Some((name.clone(), entry.raw_file_position(), entry.size()));
        }
        names.push(name);
    }
    let Some((name, offset, size)) = disk else {
        return Err(AuditError::NotAnImage {
            path: shown,
            why: "a tar archive with no disk (box.img, *.vmdk, *.qcow2, *.img)".into(),
        });
    };
    let head = read_head(file, offset, path)?;
    let Sniff::Disk(d) = sniff(&head) else {
        return Err(AuditError::NotAnImage {
            path: shown,
            why: format!("its member `{name}` is no disk image qemu reads"),
        });
    };
    let format = if names.iter().any(|n| n.ends_with(".ovf"))
        && !names.iter().any(|n| n.ends_with("metadata.json"))
    {
        ImageFormat::Ova
    } else {
        ImageFormat::VagrantBox
    };
    Ok(Source {
        format,
        location: DiskLocation::Member {
            archive: path.to_owned(),
            name,
            offset,
            size,
        },
        disk: Some(d),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(off: usize, magic: &[u8]) -> Vec<u8> {
        let mut v = vec![0; 4096];
        v[off..off + magic.len()].copy_from_slice(magic);
        v
    }

    #[test]
    fn magic_numbers() {
        assert_eq!(sniff(&with(0, b"QFI\xfb")), Sniff::Disk(DiskFormat::Qcow2));
        assert_eq!(sniff(&with(0, b"KDMV")), Sniff::Disk(DiskFormat::Vmdk));
        assert_eq!(sniff(&with(0, &[0x1f, 0x8b, 8])), Sniff::Gzip);
        assert_eq!(sniff(&with(257, b"ustar\0")), Sniff::Tar);
        assert_eq!(
            sniff(&with(510, &[0x55, 0xaa])),
            Sniff::Disk(DiskFormat::Raw)
        );
        assert_eq!(
            sniff(&with(0x438, &[0x53, 0xef])),
            Sniff::Disk(DiskFormat::Raw)
        );
        assert_eq!(
            sniff(&with(0x40, &[0x7f, 0x10, 0xda, 0xbe])),
            Sniff::Other("a VDI disk")
        );
        assert_eq!(sniff(b"hello world"), Sniff::Unknown);
    }

    #[test]
    fn text_files_directories_and_missing_files_are_bad_input() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("notes.txt");
        std::fs::write(&t, "hello").unwrap();
        for p in [t.as_path(), d.path(), &d.path().join("missing")] {
            let e = identify(p).unwrap_err();
            assert_eq!(e.exit_code(), crate::error::ExitCode::Usage, "{e}");
        }
    }

    #[test]
    fn disk_members() {
        assert!(is_disk_member("box.img"));
        assert!(is_disk_member("./box.img"));
        assert!(is_disk_member("hub-disk001.vmdk"));
        assert!(!is_disk_member("metadata.json"));
        assert!(!is_disk_member("hub.ovf"));
    }
}
