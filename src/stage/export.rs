//! `-e`: export the latest base box's disk to the configured formats.
//!
//! The disk is `box.img` inside the newest `builds/<name>-*.box`; it is streamed
//! out of the (possibly gzip-compressed) tar into the work dir, exported by
//! [`crate::export::export_disk`], then removed; with `--openstack CLOUD` (or
//! `openstack.cloud`) the qcow2 is then uploaded to Glance. The `box` format
//! needs `vagrant package` of the VM the -u stage drove, which is not written
//! yet, so it is reported as not available rather than faked.
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Component, Path, PathBuf};

use crate::context::Context;
use crate::error::Error;
use crate::export::hash::copy_interruptible;
use crate::export::{self, ExportError, ExportRequest, Format};
use crate::stage::StageError;

/// The member of a Vagrant libvirt box holding the disk.
pub const BOX_DISK: &str = "box.img";

/// The configured formats split into ours and the Vagrant `box` format.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Formats made from the disk.
    pub formats: Vec<Format>,
    /// Whether `box` was asked for.
    pub vagrant_box: bool,
}

/// Read `export.formats`; an unknown name is the user's error.
pub fn plan(names: &[String]) -> Result<Plan, Error> {
    let mut p = Plan::default();
    for n in names {
        match (n.as_str(), Format::from_name(n)) {
            ("box", _) => p.vagrant_box = true,
            (_, Some(f)) if !p.formats.contains(&f) => p.formats.push(f),
            (_, Some(_)) => {}
            (other, None) => {
                return Err(Error::Usage(format!(
                    "export.formats: unknown format `{other}` (expected box, ova, qcow2 or vmdk)"
                )));
            }
        }
    }
    Ok(p)
}

/// Run the export stage.
pub fn run(ctx: &Context) -> Result<(), Error> {
    ctx.ui.step("Exporting");
    let plan = plan(&ctx.config.export.formats)?;
    let out_dir = ctx.output_dir();
    if !plan.formats.is_empty() {
        let box_path = latest_box(&out_dir, &ctx.config.name)?;
        let stem = box_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        ctx.ui.info(&format!("source: {}", box_path.display()));
        let disk = extract_disk(ctx, &box_path)?;
        let req = ExportRequest {
            disk: disk.path(),
            out_dir: &out_dir,
            stem: &stem,
            formats: &plan.formats,
            name: &ctx.config.name,
            cpus: ctx.config.vm.cpus,
            memory_mb: ctx.config.vm.memory_mb,
        };
        let artifacts =
            export::export_disk(ctx.runner.as_ref(), &ctx.ui, &req).map_err(into_error)?;
        upload(ctx, &artifacts)?;
    } else if upload_requested(ctx) {
        return Err(Error::Usage(
            "an OpenStack upload needs the `qcow2` export format in export.formats".into(),
        ));
    }
    if plan.vagrant_box {
        // Seam: `vagrant package` of the VM the -u stage provisioned goes here.
        return Err(StageError::Precondition(
            "export format `box` (`vagrant package` of the provisioned VM) is not implemented yet (issue 5); \
             no box was written (remove `box` from export.formats to export only the others)"
                .into(),
        )
        .into());
    }
    Ok(())
}

fn upload_requested(ctx: &Context) -> bool {
    ctx.opts.openstack.is_some() || ctx.config.openstack.cloud.is_some()
}

/// Upload the exported qcow2 to Glance when `--openstack` or `openstack.cloud` asks for it.
fn upload(ctx: &Context, artifacts: &[export::Artifact]) -> Result<(), Error> {
    if !upload_requested(ctx) {
        return Ok(());
    }
    let Some(qcow2) = artifacts.iter().find(|a| a.format == export::Format::Qcow2) else {
        return Err(Error::Usage(
            "an OpenStack upload needs the `qcow2` export format in export.formats".into(),
        ));
    };
    crate::cloud::upload_after_export(ctx, &qcow2.path)?;
    Ok(())
}

fn into_error(e: ExportError) -> Error {
    match e {
        ExportError::Process(p) => Error::Process(p),
        e if e.is_interrupted() => Error::Interrupted,
        e => Error::Export(e),
    }
}

/// The newest `<name>.box` or `<name>-*.box` in `dir`.
pub fn latest_box(dir: &Path, name: &str) -> Result<PathBuf, Error> {
    let none = || {
        ExportError::NoInput(format!(
            "no base box `{}/{name}-*.box` to export; build one with `vmbuild -p`",
            dir.display()
        ))
    };
    let rd = std::fs::read_dir(dir).map_err(|_| none())?;
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    for e in rd {
        let e = e.map_err(|e| ExportError::io("listing", dir, e))?;
        let fname = e.file_name().to_string_lossy().into_owned();
        let ours = fname == format!("{name}.box") || fname.starts_with(&format!("{name}-"));
        if !(ours && fname.ends_with(".box")) {
            continue;
        }
        let mtime = e
            .metadata()
            .and_then(|m| m.modified())
            .map_err(|err| ExportError::io("reading", &e.path(), err))?;
        if best.as_ref().is_none_or(|(t, _)| mtime > *t) {
            best = Some((mtime, e.path()));
        }
    }
    Ok(best.ok_or_else(none)?.1)
}

/// Stream `box.img` out of the box (tar, or tar.gz as Packer writes it) into a
/// temp file in `<work dir>/export/`, removed when dropped.
fn extract_disk(ctx: &Context, box_path: &Path) -> Result<tempfile::NamedTempFile, Error> {
    let work = ctx.work_dir().join("export");
    std::fs::create_dir_all(&work).map_err(|e| ExportError::io("creating", &work, e))?;
    // a disk left by a run that was killed outright
    crate::artifact::sweep_partials(&work).map_err(|e| ExportError::io("cleaning", &work, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!("{}export-disk.", crate::artifact::PARTIAL_PREFIX))
        .tempfile_in(&work)
        .map_err(|e| ExportError::io("creating a temp file in", &work, e))?;
    if ctx.runner.is_dry_run() {
        ctx.ui.info(&format!(
            "would extract {BOX_DISK} from {}",
            box_path.display()
        ));
        return Ok(tmp);
    }
    let found = copy_member(box_path, BOX_DISK, tmp.as_file_mut())
        .map_err(|e| ExportError::io("reading", box_path, e))?;
    if !found {
        return Err(
            ExportError::NoInput(format!("`{}` has no `{BOX_DISK}`", box_path.display())).into(),
        );
    }
    Ok(tmp)
}

/// Copy the tar member `name` of `archive` (gzip detected by magic) to `out`;
/// false if there is none.
pub fn copy_member(archive: &Path, name: &str, out: &mut File) -> std::io::Result<bool> {
    let mut f = BufReader::with_capacity(1 << 20, File::open(archive)?);
    let mut magic = [0u8; 2];
    let gz = f.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    let f = BufReader::with_capacity(1 << 20, File::open(archive)?);
    let r: Box<dyn Read> = if gz {
        Box::new(flate2::read::GzDecoder::new(f))
    } else {
        Box::new(f)
    };
    let mut ar = tar::Archive::new(r);
    for entry in ar.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let parts = path
            .components()
            .filter(|c| !matches!(c, Component::CurDir));
        if parts.eq(Path::new(name).components()) {
            copy_interruptible(&mut entry, out)?;
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn box_is_split_off_and_unknown_formats_are_refused() {
        let p = plan(&names(&["box", "ova", "qcow2", "ova"])).unwrap();
        assert_eq!(
            p,
            Plan {
                formats: vec![Format::Ova, Format::Qcow2],
                vagrant_box: true
            }
        );
        let e = plan(&names(&["iso"])).unwrap_err();
        assert!(e.to_string().contains("unknown format `iso`"), "{e}");
        assert_eq!(e.exit_code(), crate::ExitCode::Usage);
    }

    #[test]
    fn finds_the_newest_box_and_streams_its_disk_out_of_tar_gz() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("app-1.box");
        std::fs::write(&old, b"x").unwrap();
        let filetime = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(filetime)
            .unwrap();
        let new = dir.path().join("app-2.box");
        let gz =
            flate2::write::GzEncoder::new(File::create(&new).unwrap(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (n, data) in [("metadata.json", &b"{}"[..]), ("./box.img", &b"DISK"[..])] {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, n, data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap();
        assert_eq!(latest_box(dir.path(), "app").unwrap(), new);
        assert!(
            latest_box(dir.path(), "other")
                .unwrap_err()
                .to_string()
                .contains("vmbuild -p")
        );

        let out_path = dir.path().join("disk");
        let mut out = File::create(&out_path).unwrap();
        assert!(copy_member(&new, BOX_DISK, &mut out).unwrap());
        assert_eq!(std::fs::read(&out_path).unwrap(), b"DISK");
        assert!(!copy_member(&new, "nope", &mut out).unwrap());
    }
}
