//! The base box's disk as the qemu provider boots it: `box.img` streamed
//! once out of `builds/<name>-libvirt.box` into the work dir's cache, named
//! by the box file's stamp. VM disks are overlays of it, so it is never
//! written to; `-c` keeps it (the cache survives).
use std::path::{Path, PathBuf};

use crate::context::Context;
use crate::error::Error;
use crate::export::ExportError;
use crate::machine::base_box::BoxStamp;

/// The extracted disk of `box_file` (extracted now if needed).
pub(super) fn base_image(ctx: &Context, box_file: &Path) -> Result<PathBuf, Error> {
    let stamp = BoxStamp::of(box_file)?;
    let key = crate::manifest::sha256_hex(stamp.as_str().as_bytes());
    let dir = ctx.work_dir().join("cache").join("qemu-base");
    let image = dir.join(format!("{}.qcow2", &key[..16]));
    if image.is_file() {
        return Ok(image);
    }
    if ctx.runner.is_dry_run() {
        ctx.ui.info(&format!(
            "would extract box.img from {} to {}",
            box_file.display(),
            image.display()
        ));
        return Ok(image);
    }
    std::fs::create_dir_all(&dir).map_err(|e| ExportError::io("creating", &dir, e))?;
    crate::artifact::sweep_partials(&dir).map_err(|e| ExportError::io("cleaning", &dir, e))?;
    ctx.ui.info(&format!(
        "extracting the base box's disk from {}",
        box_file.display()
    ));
    let mut tmp = tempfile::Builder::new()
        .prefix(crate::artifact::PARTIAL_PREFIX)
        .tempfile_in(&dir)
        .map_err(|e| ExportError::io("creating a temp file in", &dir, e))?;
    let found = crate::stage::export::copy_member(
        box_file,
        crate::stage::export::BOX_DISK,
        tmp.as_file_mut(),
    )
    .map_err(|e| {
        if e.kind() == std::io::ErrorKind::Interrupted {
            Error::Interrupted
        } else {
            ExportError::io("reading", box_file, e).into()
        }
    })?;
    if !found {
        return Err(ExportError::NoInput(format!(
            "`{}` has no `{}`",
            box_file.display(),
            crate::stage::export::BOX_DISK
        ))
        .into());
    }
    tmp.persist(&image)
        .map_err(|e| ExportError::io("installing", &image, e.error))?;
    Ok(image)
}
