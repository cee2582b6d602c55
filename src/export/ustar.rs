//! Streaming ustar members for the archives we write (OVA, Vagrant box): the
//! header is written from the file's size taken up front, so a multi-GB disk
//! goes in with one buffered copy, hashed on the way, never held in memory.
use std::io::{self, Read, Write};
use std::path::Path;

use super::ExportError;
use super::hash::{HashingReader, Sha256Digest, copy_interruptible};

/// Tar block size.
pub const BLOCK: u64 = 512;

/// What streaming a file member measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedFile {
    /// SHA-256 of the member's bytes.
    pub sha256: Sha256Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// A ustar header for a regular file owned by root, mode 0644.
pub fn header(name: &str, size: u64, mtime: u64) -> io::Result<tar::Header> {
    let mut h = tar::Header::new_ustar();
    h.set_path(name)?;
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_username("root")?;
    h.set_groupname("root")?;
    h.set_mtime(mtime);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    Ok(h)
}

fn padding(size: u64) -> usize {
    ((BLOCK - size % BLOCK) % BLOCK) as usize
}

/// Write a member holding `data`.
pub fn member_bytes(out: &mut impl Write, name: &str, data: &[u8], mtime: u64) -> io::Result<()> {
    out.write_all(header(name, data.len() as u64, mtime)?.as_bytes())?;
    out.write_all(data)?;
    out.write_all(&[0u8; BLOCK as usize][..padding(data.len() as u64)])
}

/// Stream the file `path` in as member `name`, hashing it. A file that
/// changes size meanwhile is an error, never a corrupt archive.
pub fn member_file(
    out: &mut impl Write,
    name: &str,
    path: &Path,
    mtime: u64,
) -> Result<PackedFile, ExportError> {
    let out_err = |e| ExportError::io("writing an archive member from", path, e);
    let f = std::fs::File::open(path).map_err(|e| ExportError::io("opening", path, e))?;
    let expected = f
        .metadata()
        .map_err(|e| ExportError::io("reading size of", path, e))?
        .len();
    out.write_all(header(name, expected, mtime).map_err(out_err)?.as_bytes())
        .map_err(out_err)?;
    // take(): never write more than the header announced, even if the file grew.
    let mut r = HashingReader::new(f.take(expected));
    copy_interruptible(&mut r, out).map_err(|e| ExportError::io("packing", path, e))?;
    let (sha256, size) = r.finish();
    if size != expected {
        return Err(ExportError::SizeChanged {
            path: path.display().to_string(),
            expected,
            actual: size,
        });
    }
    out.write_all(&[0u8; BLOCK as usize][..padding(size)])
        .map_err(out_err)?;
    Ok(PackedFile { sha256, size })
}

/// The two zero blocks that end an archive.
pub fn end(out: &mut impl Write) -> io::Result<()> {
    out.write_all(&[0u8; 2 * BLOCK as usize])
}

/// Seconds since the epoch, for member mtimes.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_member_is_header_data_and_padding_to_whole_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, vec![1u8; 700]).unwrap();
        let mut buf = Vec::new();
        let packed = member_file(&mut buf, "f", &p, 0).unwrap();
        assert_eq!(packed.size, 700);
        assert_eq!(buf.len(), 512 + 1024);
    }
}
