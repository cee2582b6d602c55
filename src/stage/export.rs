//! `-e`: export the appliance to the configured formats.
//!
//! The source is the project's VM that `-u` provisioned (any provider):
//! [`crate::machine::export_prep`] cleans it up and halts it. Its disk
//! becomes the `.box` (Vagrant's conventions kept); the OVA, VMDK and qcow2
//! come from a sealed copy of it ([`crate::machine::seal`]), so no
//! build-time way in ships in them. A VirtualBox VM is packed by `vagrant
//! package` (box only). Without a VM there is nothing to export: `-e` says
//! what to run, unless `--base-box` asks for the unprovisioned base box,
//! which is then exported as `<name>-base.*`. With `--openstack CLOUD` (or
//! `openstack.cloud`) the qcow2 is uploaded to Glance afterwards.
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Component, Path, PathBuf};

use crate::context::Context;
use crate::error::Error;
use crate::export::hash::copy_interruptible;
use crate::export::uptodate::ExportRecord;
use crate::export::{self, ExportError, ExportRequest, Format, vagrant_box};
use crate::machine::{self, Machine, export_prep, vagrant::package};

/// The member of a Vagrant libvirt box holding the disk.
pub const BOX_DISK: &str = vagrant_box::DISK;

/// Read `export.formats` (duplicates dropped); an unknown name is the user's error.
pub fn plan(names: &[String]) -> Result<Vec<Format>, Error> {
    let mut formats = Vec::new();
    for n in names {
        match Format::from_name(n) {
            Some(f) if !formats.contains(&f) => formats.push(f),
            Some(_) => {}
            None => {
                return Err(Error::Usage(format!(
                    "export.formats: unknown format `{n}` (expected box, ova, qcow2 or vmdk)"
                )));
            }
        }
    }
    Ok(formats)
}

/// Run the export stage; the artifacts it wrote.
pub fn run(ctx: &Context) -> Result<Vec<export::Artifact>, Error> {
    ctx.ui.step("Exporting");
    let formats = plan(&ctx.config.export.formats)?;
    if upload_requested(ctx) && !formats.contains(&Format::Qcow2) {
        return Err(Error::Usage(
            "an OpenStack upload needs the `qcow2` export format in export.formats".into(),
        ));
    }
    let artifacts = match machine::existing(ctx) {
        _ if ctx.opts.base_box => from_base_box(ctx, &formats)?,
        None => {
            return Err(Error::Usage(
                "no provisioned VM to export: run `vmbuild -u` first (or `vmbuild -pue` for everything); \
                 `vmbuild -e --base-box` exports the unprovisioned base box instead, as `<name>-base.*`"
                    .into(),
            ));
        }
        Some(m) if m.provider().is_virtualbox() => {
            package::refuse_disk_formats(&formats)?;
            export_prep::clean_up_and_halt(ctx, &m)?;
            let boxes = package::package(ctx)?;
            audit(ctx, &boxes)?;
            boxes
        }
        Some(m) => from_vm(ctx, &m, &formats)?,
    };
    upload(ctx, &artifacts)?;
    Ok(artifacts)
}

/// `vmbuild audit` on every artifact before the export is done: an artifact
/// with findings is moved aside (`<file>.failed-audit`, no checksum file) so
/// nothing unsafe looks ready to ship, and the stage fails naming what was
/// found. The box is judged as a box (Vagrant's conventions are expected).
fn audit(ctx: &Context, artifacts: &[export::Artifact]) -> Result<(), Error> {
    if ctx.runner.is_dry_run() || artifacts.is_empty() {
        return Ok(());
    }
    ctx.ui.step("Auditing the artifacts");
    let mut failed = Vec::new();
    for a in artifacts {
        let opts = crate::audit::AuditOptions {
            vagrant_box: a.format == Format::Box,
        };
        let report = match crate::audit::audit_image(ctx.runner.as_ref(), &ctx.ui, &a.path, &opts) {
            Ok(r) => r,
            Err(crate::audit::AuditError::NeedsRoot) => {
                ctx.ui.warn(&format!(
                    "{} was not audited: `vmbuild audit` needs root; run it as root before you ship the image",
                    a.path.display()
                ));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        ctx.ui.info(&report.summary());
        if report.is_clean() {
            continue;
        }
        for l in report.finding_lines() {
            ctx.ui.warn(&l);
        }
        let aside = a.path.with_file_name(format!(
            "{}.failed-audit",
            a.path.file_name().unwrap_or_default().to_string_lossy()
        ));
        let _ = std::fs::remove_file(&a.checksum_path);
        std::fs::rename(&a.path, &aside)
            .map_err(|e| ExportError::io("moving aside", &a.path, e))?;
        failed.push(format!(
            "{} ({} finding(s))",
            aside.display(),
            report.findings.len()
        ));
    }
    if failed.is_empty() {
        return Ok(());
    }
    Err(crate::stage::StageError::Unexpected(format!(
        "the audit found what must not ship in: {}; see the findings above (`vmbuild audit FILE` lists them again)",
        failed.join(", ")
    ))
    .into())
}

/// The VM's disk, cleaned up and halted: the box from it as it is, the
/// disk formats from a sealed copy.
fn from_vm(ctx: &Context, m: &Machine, formats: &[Format]) -> Result<Vec<export::Artifact>, Error> {
    let halted = export_prep::cleaned_and_halted(ctx, m)?;
    let disk = &halted.disk;
    ctx.ui.info(&format!(
        "source: the provisioned VM's disk {}",
        disk.display()
    ));
    let c = &ctx.config;
    let vagrantfile = box_vagrantfile(c.vm.cpus, c.vm.memory_mb, c.network.forward_http_port);
    let settings = crate::manifest::sha256_hex(
        format!(
            "{}\n{formats:?}\n{}\n{}\n{}\n{vagrantfile}\n{}",
            env!("CARGO_PKG_VERSION"),
            c.name,
            c.vm.cpus,
            c.vm.memory_mb,
            ctx.output_dir().display()
        )
        .as_bytes(),
    );
    let record_file = m.state_file(ctx, "vmbuild-exported.json");
    if halted.untouched
        && let Some(done) =
            ExportRecord::read(&record_file).and_then(|r| r.still_valid(&halted.stamp, &settings))
    {
        ctx.ui.info(
            "the artifacts in the output dir were exported from this very disk with these settings: up to date",
        );
        return Ok(done);
    }
    let out_dir = ctx.output_dir();
    let request = |disk: &Path, formats: &[Format]| -> Result<Vec<export::Artifact>, Error> {
        if formats.is_empty() {
            return Ok(Vec::new());
        }
        let req = ExportRequest {
            disk,
            out_dir: &out_dir,
            stem: &c.name,
            formats,
            name: &c.name,
            cpus: c.vm.cpus,
            memory_mb: c.vm.memory_mb,
            box_vagrantfile: Some(&vagrantfile),
        };
        export::export_disk(ctx.runner.as_ref(), &ctx.ui, &req).map_err(into_error)
    };
    let boxes: Vec<Format> = formats
        .iter()
        .copied()
        .filter(|f| *f == Format::Box)
        .collect();
    let disks: Vec<Format> = formats
        .iter()
        .copied()
        .filter(|f| *f != Format::Box)
        .collect();
    let _ = std::fs::remove_file(&record_file);
    let mut artifacts = request(disk, &boxes)?;
    if !disks.is_empty() {
        if ctx.runner.is_dry_run() {
            ctx.ui
                .info("would seal a copy of the disk for OVA and qcow2");
            artifacts.extend(request(disk, &disks)?);
        } else {
            let sealed = machine::seal::sealed(ctx, disk)?;
            artifacts.extend(request(sealed.disk(), &disks)?);
        }
    }
    audit(ctx, &artifacts)?;
    if !ctx.runner.is_dry_run() {
        // losing the record only costs the next -e a re-export
        let _ = ExportRecord::new(&halted.stamp, &settings, &artifacts).write(&record_file);
    }
    Ok(artifacts)
}

/// The `Vagrantfile` inside the appliance box: defaults for a project that
/// says `config.vm.box = "..."`; anything in that project's Vagrantfile wins.
/// No driver is named: vagrant-libvirt picks KVM where there is one.
pub fn box_vagrantfile(cpus: u32, memory_mb: u32, http_port: u16) -> String {
    let forward = if http_port == 0 {
        String::new()
    } else {
        format!(
            "  # JupyterHub on https://localhost:{http_port}/ (its own certificate; another port if taken)\n  \
             config.vm.network \"forwarded_port\", guest: 443, host: {http_port}, host_ip: \"127.0.0.1\", auto_correct: true\n"
        )
    };
    format!(
        "# The JupyterHub appliance box, packed by vmbuild.\n\
         Vagrant.configure(\"2\") do |config|\n  \
         # the appliance needs no copy of the project folder\n  \
         config.vm.synced_folder \".\", \"/vagrant\", disabled: true\n\
         {forward}  \
         config.vm.provider :libvirt do |libvirt|\n    \
         libvirt.cpus = {cpus}\n    \
         libvirt.memory = {memory_mb}\n  \
         end\n\
         end\n"
    )
}

/// `--base-box`: the base box's disk, named `<name>-base.*` so that nobody
/// takes it for the appliance.
fn from_base_box(ctx: &Context, formats: &[Format]) -> Result<Vec<export::Artifact>, Error> {
    let out_dir = ctx.output_dir();
    let box_path = latest_box(&out_dir, &ctx.config.name)?;
    let disk_formats: Vec<Format> = formats
        .iter()
        .copied()
        .filter(|f| *f != Format::Box)
        .collect();
    ctx.ui.warn(&format!(
        "--base-box: exporting the unprovisioned base box {} (no hub; Vagrant's key and passwordless sudo included) as `{}-base.*`",
        box_path.display(),
        ctx.config.name
    ));
    if formats.contains(&Format::Box) {
        ctx.ui.info(&format!(
            "format `box`: the base box {} is the box; nothing more to pack",
            box_path.display()
        ));
    }
    if disk_formats.is_empty() {
        return Ok(Vec::new());
    }
    let stem = format!("{}-base", ctx.config.name);
    let disk = extract_disk(ctx, &box_path)?;
    let req = ExportRequest {
        disk: disk.path(),
        out_dir: &out_dir,
        stem: &stem,
        formats: &disk_formats,
        name: &ctx.config.name,
        cpus: ctx.config.vm.cpus,
        memory_mb: ctx.config.vm.memory_mb,
        box_vagrantfile: None,
    };
    export::export_disk(ctx.runner.as_ref(), &ctx.ui, &req).map_err(into_error)
}

fn upload_requested(ctx: &Context) -> bool {
    ctx.opts.openstack.is_some() || ctx.config.openstack.cloud.is_some()
}

/// Upload the exported qcow2 to Glance when `--openstack` or `openstack.cloud` asks for it.
fn upload(ctx: &Context, artifacts: &[export::Artifact]) -> Result<(), Error> {
    if !upload_requested(ctx) {
        return Ok(());
    }
    let Some(qcow2) = artifacts.iter().find(|a| a.format == Format::Qcow2) else {
        // --dry-run writes nothing
        return Ok(());
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

/// The newest base box `<name>-*.box` in `dir` (`<name>.box` is the
/// appliance box an earlier export wrote, not a base box).
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
        let ours = fname.starts_with(&format!("{name}-"));
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
    // the disk is as old as its box: archives made from it stay reproducible
    if let Ok(t) = std::fs::metadata(box_path).and_then(|m| m.modified()) {
        let _ = tmp.as_file().set_modified(t);
    }
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
    fn formats_are_deduplicated_and_unknown_ones_refused() {
        let p = plan(&names(&["box", "ova", "qcow2", "ova"])).unwrap();
        assert_eq!(p, [Format::Box, Format::Ova, Format::Qcow2]);
        let e = plan(&names(&["iso"])).unwrap_err();
        assert!(e.to_string().contains("unknown format `iso`"), "{e}");
        assert_eq!(e.exit_code(), crate::ExitCode::Usage);
    }

    #[test]
    fn box_vagrantfile_sets_the_vm_size_and_forwards_the_hub_when_asked() {
        let v = box_vagrantfile(4, 4096, 8080);
        assert!(v.contains("libvirt.cpus = 4\n"), "{v}");
        assert!(v.contains("libvirt.memory = 4096\n"), "{v}");
        assert!(
            v.contains("guest: 443, host: 8080, host_ip: \"127.0.0.1\", auto_correct: true"),
            "{v}"
        );
        assert!(!box_vagrantfile(1, 512, 0).contains("forwarded_port"));
        assert!(
            !v.contains("driver"),
            "the box must not force KVM or TCG: {v}"
        );
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
        // an appliance box from an earlier export is not a base box
        std::fs::write(dir.path().join("app.box"), b"x").unwrap();
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
