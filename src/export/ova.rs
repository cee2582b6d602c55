//! The OVA container: a ustar archive holding the `.ovf` descriptor first (as
//! OVF requires), then the VMDK, then the `.mf` manifest of `SHA256(name)= hex`
//! lines. Putting the manifest last lets the VMDK be hashed while it is copied
//! into the archive: one read of the disk, no second pass.
use std::io::{self, Read, Write};
use std::path::Path;

use super::ExportError;
use super::hash::{HashingReader, Sha256Digest, copy_interruptible};

/// Tar block size.
const BLOCK: u64 = 512;

/// Names of the members of one OVA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvaNames {
    /// The descriptor, `<stem>.ovf`.
    pub ovf: String,
    /// The disk, `<stem>-disk001.vmdk` (VirtualBox's naming).
    pub vmdk: String,
    /// The manifest, `<stem>.mf`.
    pub mf: String,
}

impl OvaNames {
    /// Member names for an appliance file stem.
    pub fn for_stem(stem: &str) -> Self {
        OvaNames {
            ovf: format!("{stem}.ovf"),
            vmdk: format!("{stem}-disk001.vmdk"),
            mf: format!("{stem}.mf"),
        }
    }
}

/// The manifest text: one `SHA256(name)= hex` line per file, in the form
/// VirtualBox and ovftool write.
pub fn manifest(entries: &[(&str, &Sha256Digest)]) -> String {
    entries
        .iter()
        .map(|(name, d)| format!("SHA256({name})= {}\n", d.hex()))
        .collect()
}

/// A ustar header for a regular file.
pub fn ustar_header(name: &str, size: u64, mtime: u64) -> io::Result<tar::Header> {
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

fn member_bytes(out: &mut impl Write, name: &str, data: &[u8], mtime: u64) -> io::Result<()> {
    out.write_all(ustar_header(name, data.len() as u64, mtime)?.as_bytes())?;
    out.write_all(data)?;
    out.write_all(&[0u8; BLOCK as usize][..padding(data.len() as u64)])
}

/// What packing the VMDK measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedDisk {
    /// SHA-256 of the VMDK.
    pub sha256: Sha256Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// Write the OVA to `out`: `ovf_xml` as `names.ovf`, the file `vmdk` as
/// `names.vmdk` (streamed and hashed), then the manifest, then the end blocks.
pub fn write_ova(
    out: &mut impl Write,
    names: &OvaNames,
    ovf_xml: &str,
    vmdk: &Path,
    mtime: u64,
) -> Result<PackedDisk, ExportError> {
    let out_err = |e| ExportError::io("writing the OVA for", vmdk, e);
    member_bytes(out, &names.ovf, ovf_xml.as_bytes(), mtime).map_err(out_err)?;

    let f = std::fs::File::open(vmdk).map_err(|e| ExportError::io("opening", vmdk, e))?;
    let expected = f
        .metadata()
        .map_err(|e| ExportError::io("reading size of", vmdk, e))?
        .len();
    out.write_all(
        ustar_header(&names.vmdk, expected, mtime)
            .map_err(out_err)?
            .as_bytes(),
    )
    .map_err(out_err)?;
    // take(): never write more than the header announced, even if the file grew.
    let mut r = HashingReader::new(f.take(expected));
    copy_interruptible(&mut r, out).map_err(|e| ExportError::io("packing", vmdk, e))?;
    let (sha256, size) = r.finish();
    if size != expected {
        return Err(ExportError::SizeChanged {
            path: vmdk.display().to_string(),
            expected,
            actual: size,
        });
    }
    out.write_all(&[0u8; BLOCK as usize][..padding(size)])
        .map_err(out_err)?;

    let ovf_digest = Sha256Digest(sha2_digest(ovf_xml.as_bytes()));
    let mf = manifest(&[(&names.ovf, &ovf_digest), (&names.vmdk, &sha256)]);
    member_bytes(out, &names.mf, mf.as_bytes(), mtime).map_err(out_err)?;
    out.write_all(&[0u8; 2 * BLOCK as usize]).map_err(out_err)?;
    Ok(PackedDisk { sha256, size })
}

fn sha2_digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_lines_name_each_file() {
        let d = Sha256Digest([1; 32]);
        assert_eq!(
            manifest(&[("a.ovf", &d)]),
            format!("SHA256(a.ovf)= {}\n", "01".repeat(32))
        );
    }

    #[test]
    fn members_are_ustar_in_order_ovf_vmdk_mf() {
        let dir = tempfile::tempdir().unwrap();
        let vmdk = dir.path().join("d.vmdk");
        std::fs::write(&vmdk, vec![7u8; 1000]).unwrap();
        let names = OvaNames::for_stem("app");
        let mut buf = Vec::new();
        let packed = write_ova(&mut buf, &names, "<Envelope/>", &vmdk, 1_700_000_000).unwrap();
        assert_eq!(buf.len() % 512, 0);
        assert_eq!(packed.size, 1000);

        let mut ar = tar::Archive::new(buf.as_slice());
        let mut seen = Vec::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            assert!(e.header().as_ustar().is_some(), "not ustar");
            let name = e.path().unwrap().display().to_string();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            seen.push((name, data));
        }
        let order: Vec<_> = seen.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(order, ["app.ovf", "app-disk001.vmdk", "app.mf"]);
        let mf = String::from_utf8(seen[2].1.clone()).unwrap();
        assert!(mf.contains(&format!(
            "SHA256(app-disk001.vmdk)= {}",
            packed.sha256.hex()
        )));
        assert!(mf.starts_with("SHA256(app.ovf)= "));
    }
}
