//! `-e` for the VirtualBox provider: the box is Vagrant's own `vagrant
//! package` of the cleaned-up, halted VM (VirtualBox exports it through
//! VBoxManage). vmbuild converts disks of libvirt and qemu VMs only, so the
//! other formats are refused with a way out ([`refuse_disk_formats`]).
//!
//! Noticed, not handled: after the cleanup removed the host keys, sshd takes
//! no new connection, so Vagrant's graceful halt (over SSH) fails and the
//! VirtualBox provider powers the VM off; the cleanup ends with `fstrim` and
//! `sync`, so what was written is on disk. (libvirt falls back to an ACPI
//! shutdown, which is clean.)
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::context::Context;
use crate::error::Error;
use crate::export::hash::hash_file;
use crate::export::{self, ExportError, Format};
use crate::stage::StageError;

/// Where `vagrant package` writes: a fresh name (it refuses an existing
/// file) with the partial prefix, so an interrupted run's leftover is swept.
pub fn partial_path(out_dir: &Path, name: &str, pid: u32) -> PathBuf {
    out_dir.join(format!(
        "{}{name}.box.{pid}",
        crate::artifact::PARTIAL_PREFIX
    ))
}

/// A VirtualBox VM exports to the `box` format only: say so before anything
/// is done.
pub fn refuse_disk_formats(formats: &[Format]) -> Result<(), Error> {
    match formats.iter().find(|f| **f != Format::Box) {
        Some(f) => Err(StageError::Precondition(format!(
            "export format `{}` from a VirtualBox VM is not supported: vmbuild exports disks of libvirt and qemu VMs; \
             use `--provider qemu` or `--provider libvirt`, or export.formats = [\"box\"]",
            f.extension()
        ))
        .into()),
        None => Ok(()),
    }
}

/// `vagrant package` of the cleaned-up, halted VirtualBox VM.
pub fn package(ctx: &Context) -> Result<Vec<export::Artifact>, Error> {
    let v = super::vagrant(ctx);
    let out_dir = ctx.output_dir();
    let dest = out_dir.join(format!("{}.box", ctx.config.name));
    let tmp = partial_path(&out_dir, &ctx.config.name, std::process::id());
    let started = Instant::now();
    let packed = super::stream_vagrant(ctx, &v.package(&ctx.config.name, &tmp), "vagrant package")
        .map_err(Error::from)
        .and_then(|()| {
            if ctx.runner.is_dry_run() {
                return Ok(None);
            }
            let (sha256, size) =
                hash_file(&tmp).map_err(|e| ExportError::io("hashing", &tmp, e))?;
            std::fs::rename(&tmp, &dest)
                .map_err(|e| ExportError::io("moving into place", &dest, e))?;
            let art = export::record(&ctx.ui, Format::Box, dest, sha256, size, started)?;
            Ok(Some(art))
        });
    if packed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    Ok(packed?.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vagrant_package_writes_a_partial_file_in_the_output_dir() {
        let p = partial_path(Path::new("/p/builds"), "hub", 42);
        assert_eq!(p, Path::new("/p/builds/.partial-hub.box.42"));
    }
}
