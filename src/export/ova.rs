//! The OVA container: a ustar archive holding the `.ovf` descriptor first (as
//! OVF requires), then the VMDK, then the `.mf` manifest of `SHA256(name)= hex`
//! lines. Putting the manifest last lets the VMDK be hashed while it is copied
//! into the archive: one read of the disk, no second pass.
use std::io::Write;
use std::path::Path;

use super::ExportError;
use super::hash::Sha256Digest;
use super::ustar::{self, PackedFile, member_bytes, member_file};

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

/// Write the OVA to `out`: `ovf_xml` as `names.ovf`, the file `vmdk` as
/// `names.vmdk` (streamed and hashed), then the manifest, then the end blocks.
pub fn write_ova(
    out: &mut impl Write,
    names: &OvaNames,
    ovf_xml: &str,
    vmdk: &Path,
    mtime: u64,
) -> Result<PackedFile, ExportError> {
    let out_err = |e| ExportError::io("writing the OVA for", vmdk, e);
    member_bytes(out, &names.ovf, ovf_xml.as_bytes(), mtime).map_err(out_err)?;
    let packed = member_file(out, &names.vmdk, vmdk, mtime)?;
    let ovf_digest = Sha256Digest(sha2_digest(ovf_xml.as_bytes()));
    let mf = manifest(&[(&names.ovf, &ovf_digest), (&names.vmdk, &packed.sha256)]);
    member_bytes(out, &names.mf, mf.as_bytes(), mtime).map_err(out_err)?;
    ustar::end(out).map_err(out_err)?;
    Ok(packed)
}

fn sha2_digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

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
