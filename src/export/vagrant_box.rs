//! The Vagrant `box` artifact for the libvirt provider, in the layout
//! vagrant-libvirt's own `vagrant package` writes (box format v1):
//! `metadata.json`, `Vagrantfile`, then the disk as `box.img`.
//!
//! vagrant-libvirt's `package` shells out to virt-sysprep and virt-sparsify
//! (libguestfs, which needs a host kernel in /boot and boots a helper VM)
//! and ignores their failures. We do their work ourselves: the cleanup recipes
//! run in the guest before it is halted (sysprep), and `qemu-img convert`
//! skips unallocated and zeroed clusters after the guest's `fstrim` (sparsify).
//! The disk is the compressed qcow2, so the tar itself is not gzipped: a
//! second compression would cost minutes for a few percent.
use std::io::Write;
use std::path::Path;

use super::ExportError;
use super::ustar::{self, PackedFile, member_bytes, member_file};

/// The box member holding the disk.
pub const DISK: &str = "box.img";

/// `metadata.json` of a v1 libvirt box; `virtual_size` is in GiB, rounded
/// up, as vagrant-libvirt reads it.
pub fn metadata_json(virtual_size_bytes: u64) -> String {
    let gib = virtual_size_bytes.div_ceil(1 << 30).max(1);
    format!(
        "{{\n  \"provider\": \"libvirt\",\n  \"format\": \"qcow2\",\n  \"virtual_size\": {gib}\n}}\n"
    )
}

/// Write the box to `out`: metadata, Vagrantfile, the qcow2 `disk` (streamed
/// and hashed), end blocks. Small members first, so readers that stop at the
/// metadata need not read past the disk.
pub fn write_box(
    out: &mut impl Write,
    virtual_size_bytes: u64,
    vagrantfile: &str,
    disk: &Path,
    mtime: u64,
) -> Result<PackedFile, ExportError> {
    let out_err = |e| ExportError::io("writing the box for", disk, e);
    member_bytes(
        out,
        "metadata.json",
        metadata_json(virtual_size_bytes).as_bytes(),
        mtime,
    )
    .map_err(out_err)?;
    member_bytes(out, "Vagrantfile", vagrantfile.as_bytes(), mtime).map_err(out_err)?;
    let packed = member_file(out, DISK, disk, mtime)?;
    ustar::end(out).map_err(out_err)?;
    Ok(packed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn virtual_size_is_whole_gib_rounded_up() {
        let m: serde_json::Value = serde_json::from_str(&metadata_json(10 << 30)).unwrap();
        assert_eq!(m["virtual_size"], 10);
        assert_eq!(m["provider"], "libvirt");
        assert_eq!(m["format"], "qcow2");
        let m: serde_json::Value = serde_json::from_str(&metadata_json((10 << 30) + 1)).unwrap();
        assert_eq!(m["virtual_size"], 11);
    }

    #[test]
    fn members_in_order_with_the_disk_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let disk = dir.path().join("d.qcow2");
        std::fs::write(&disk, vec![9u8; 1500]).unwrap();
        let mut buf = Vec::new();
        let packed =
            write_box(&mut buf, 2 << 30, "Vagrant.configure(\"2\") {}\n", &disk, 1).unwrap();
        assert_eq!(packed.size, 1500);
        let mut ar = tar::Archive::new(buf.as_slice());
        let mut names = Vec::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            let name = e.path().unwrap().display().to_string();
            if name == DISK {
                assert_eq!(data, vec![9u8; 1500]);
            }
            names.push(name);
        }
        assert_eq!(names, ["metadata.json", "Vagrantfile", "box.img"]);
    }
}
