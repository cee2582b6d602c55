//! [`export_disk`]: one VM disk in, the requested artifacts out.
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::hash::{HashingWriter, Sha256Digest, hash_file};
use super::ova::{OvaNames, write_ova};
use super::ovf::{CIM_OS_DEBIAN_64, OvfSpec};
use super::ustar::PackedFile;
use super::{
    Artifact, ExportError, Format, checksums, ovf, ovf_check, qcow2, ustar, vagrant_box, vmdk,
};
use crate::artifact::{AtomicFile, sweep_partials};
use crate::interrupt;
use crate::process::Runner;
use crate::tool::qemu_img::{self, ImageInfo};
use crate::ui::Ui;

/// What to export and how the appliance is described.
#[derive(Debug, Clone)]
pub struct ExportRequest<'a> {
    /// The VM disk (any format qemu-img reads).
    pub disk: &'a Path,
    /// Where artifacts go (`builds/`).
    pub out_dir: &'a Path,
    /// File stem of the artifacts: `<stem>.qcow2`, `<stem>.ova`, …
    pub stem: &'a str,
    /// Formats to make (duplicates are ignored).
    pub formats: &'a [Format],
    /// Appliance name in the OVF descriptor.
    pub name: &'a str,
    /// Virtual CPUs stated in the OVF descriptor.
    pub cpus: u32,
    /// Memory (MiB) stated in the OVF descriptor.
    pub memory_mb: u32,
    /// The `Vagrantfile` packed into a `box` (which needs one).
    pub box_vagrantfile: Option<&'a str>,
}

impl ExportRequest<'_> {
    fn dest(&self, f: Format) -> PathBuf {
        self.out_dir
            .join(format!("{}.{}", self.stem, f.extension()))
    }

    fn wants(&self, f: Format) -> bool {
        self.formats.contains(&f)
    }
}

/// Export `req.disk` to every requested format in `req.out_dir`. Leftovers of
/// an interrupted earlier run are swept first; on any failure (or Ctrl-C) the
/// artifact being written is removed, so the directory only ever holds
/// complete artifacts (each with its `.sha256`).
pub fn export_disk(
    runner: &dyn Runner,
    ui: &Ui,
    req: &ExportRequest<'_>,
) -> Result<Vec<Artifact>, ExportError> {
    let swept = sweep_partials(req.out_dir)
        .map_err(|e| ExportError::io("cleaning partial files in", req.out_dir, e))?;
    if swept > 0 {
        ui.info(&format!(
            "removed {swept} partial file(s) left by an interrupted run"
        ));
    }
    if runner.is_dry_run() {
        return dry_run(runner, ui, req);
    }
    let info = probe(runner, req.disk)?;
    let mut out = Vec::new();
    if req.wants(Format::Qcow2) {
        out.push(make_qcow2(runner, ui, req, &info)?);
    }
    if req.wants(Format::Box) {
        let qcow2 = out.iter().find(|a| a.format == Format::Qcow2);
        out.push(make_box(
            runner,
            ui,
            req,
            &info,
            qcow2.map(|a| a.path.as_path()),
        )?);
    }
    if req.wants(Format::Vmdk) || req.wants(Format::Ova) {
        out.extend(make_vmdk_and_ova(runner, ui, req, &info)?);
    }
    Ok(out)
}

fn dry_run(
    runner: &dyn Runner,
    ui: &Ui,
    req: &ExportRequest<'_>,
) -> Result<Vec<Artifact>, ExportError> {
    runner.run(&qemu_img::info(req.disk))?;
    if req.wants(Format::Qcow2) {
        runner.run(&qcow2::convert_cmd(
            req.disk,
            "<format>",
            &req.dest(Format::Qcow2),
        ))?;
    }
    if req.wants(Format::Vmdk) || req.wants(Format::Ova) {
        runner.run(&vmdk::convert_cmd(
            req.disk,
            "<format>",
            &req.dest(Format::Vmdk),
        ))?;
    }
    for f in [Format::Box, Format::Ova] {
        if req.wants(f) {
            ui.info(&format!("would pack {}", req.dest(f).display()));
        }
    }
    Ok(Vec::new())
}

/// Format and virtual size of the source disk.
pub(super) fn probe(runner: &dyn Runner, disk: &Path) -> Result<ImageInfo, ExportError> {
    if !disk.is_file() {
        return Err(ExportError::NoInput(format!(
            "disk image `{}` does not exist",
            disk.display()
        )));
    }
    let out = runner.run(&qemu_img::info(disk))?;
    qemu_img::parse_info(&out.stdout_str()).map_err(|e| ExportError::ToolOutput {
        tool: "qemu-img info",
        detail: e.to_string(),
    })
}

fn check_interrupt() -> Result<(), ExportError> {
    if interrupt::requested() {
        Err(ExportError::Interrupted)
    } else {
        Ok(())
    }
}

/// Move a finished temp file into place and write its checksum file.
fn finish(
    ui: &Ui,
    format: Format,
    tmp: AtomicFile,
    dest: &Path,
    sha256: Sha256Digest,
    size: u64,
    started: Instant,
) -> Result<Artifact, ExportError> {
    check_interrupt()?;
    set_readable(tmp.temp_path())?;
    let path = tmp
        .commit()
        .map_err(|e| ExportError::io("moving into place", dest, e))?;
    record(ui, format, path, sha256, size, started)
}

/// An artifact now at its final `path`: write its checksum file and say so.
pub fn record(
    ui: &Ui,
    format: Format,
    path: PathBuf,
    sha256: Sha256Digest,
    size: u64,
    started: Instant,
) -> Result<Artifact, ExportError> {
    let checksum_path = checksums::write_for(&path, &sha256)
        .map_err(|e| ExportError::io("writing checksum of", &path, e))?;
    ui.info(&format!(
        "wrote {} ({:.1} MB, sha256 {}) in {:.1} s",
        path.display(),
        size as f64 / 1e6,
        sha256.hex(),
        started.elapsed().as_secs_f64()
    ));
    Ok(Artifact {
        format,
        path,
        checksum_path,
        sha256,
        size,
    })
}

/// Temp files are created 0600; a finished artifact is for sharing.
fn set_readable(path: &Path) -> Result<(), ExportError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
        .map_err(|e| ExportError::io("setting permissions of", path, e))
}

fn create(dest: &Path) -> Result<AtomicFile, ExportError> {
    AtomicFile::create(dest).map_err(|e| ExportError::io("creating", dest, e))
}

fn make_qcow2(
    runner: &dyn Runner,
    ui: &Ui,
    req: &ExportRequest<'_>,
    info: &ImageInfo,
) -> Result<Artifact, ExportError> {
    let started = Instant::now();
    let tmp = create(&req.dest(Format::Qcow2))?;
    runner.run(&qcow2::convert_cmd(req.disk, &info.format, tmp.temp_path()))?;
    // qemu-img needs a seekable file, so this is the one artifact hashed by re-reading it
    // (straight from the page cache).
    let (sha, size) =
        hash_file(tmp.temp_path()).map_err(|e| ExportError::io("hashing", tmp.temp_path(), e))?;
    finish(
        ui,
        Format::Qcow2,
        tmp,
        &req.dest(Format::Qcow2),
        sha,
        size,
        started,
    )
}

/// Archive members carry the source disk's mtime, not the clock's: the same
/// disk exported twice gives the same bytes (and checksums).
fn member_mtime(disk: &Path) -> u64 {
    std::fs::metadata(disk)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or_else(ustar::now, |d| d.as_secs())
}

/// The box wraps the compressed qcow2: the `qcow2` artifact when one was
/// made, else a scratch conversion next to the box, removed afterwards.
fn make_box(
    runner: &dyn Runner,
    ui: &Ui,
    req: &ExportRequest<'_>,
    info: &ImageInfo,
    qcow2: Option<&Path>,
) -> Result<Artifact, ExportError> {
    let started = Instant::now();
    let dest = req.dest(Format::Box);
    let vagrantfile = req.box_vagrantfile.ok_or_else(|| {
        ExportError::NoInput("a `box` export needs the box's Vagrantfile (a bug in vmbuild)".into())
    })?;
    let scratch;
    let disk = match qcow2 {
        Some(path) => path,
        None => {
            scratch = create(&req.dest(Format::Qcow2))?;
            runner.run(&qcow2::convert_cmd(
                req.disk,
                &info.format,
                scratch.temp_path(),
            ))?;
            check_interrupt()?;
            scratch.temp_path()
        }
    };
    let mut tmp = create(&dest)?;
    let mut w = HashingWriter::new(tmp.file());
    vagrant_box::write_box(
        &mut w,
        info.virtual_size,
        vagrantfile,
        disk,
        member_mtime(req.disk),
    )?;
    let (_, sha, size) = w.finish();
    finish(ui, Format::Box, tmp, &dest, sha, size, started)
}

/// The VMDK is made once; the OVA streams it in (hashing it on the way), and
/// that hash also serves the standalone `.vmdk` artifact.
fn make_vmdk_and_ova(
    runner: &dyn Runner,
    ui: &Ui,
    req: &ExportRequest<'_>,
    info: &ImageInfo,
) -> Result<Vec<Artifact>, ExportError> {
    let started = Instant::now();
    let vmdk_tmp = create(&req.dest(Format::Vmdk))?;
    runner.run(&vmdk::convert_cmd(
        req.disk,
        &info.format,
        vmdk_tmp.temp_path(),
    ))?;
    check_interrupt()?;
    let mut out = Vec::new();
    let mut packed = None;
    if req.wants(Format::Ova) {
        let (art, disk) = make_ova(ui, req, info, vmdk_tmp.temp_path())?;
        out.push(art);
        packed = Some(disk);
    }
    if req.wants(Format::Vmdk) {
        let PackedFile { sha256, size } = match packed {
            Some(p) => p,
            None => {
                let (sha256, size) = hash_file(vmdk_tmp.temp_path())
                    .map_err(|e| ExportError::io("hashing", vmdk_tmp.temp_path(), e))?;
                PackedFile { sha256, size }
            }
        };
        out.push(finish(
            ui,
            Format::Vmdk,
            vmdk_tmp,
            &req.dest(Format::Vmdk),
            sha256,
            size,
            started,
        )?);
    }
    Ok(out)
}

fn make_ova(
    ui: &Ui,
    req: &ExportRequest<'_>,
    info: &ImageInfo,
    vmdk: &Path,
) -> Result<(Artifact, PackedFile), ExportError> {
    let started = Instant::now();
    let names = OvaNames::for_stem(req.stem);
    let vmdk_size = std::fs::metadata(vmdk)
        .map_err(|e| ExportError::io("reading size of", vmdk, e))?
        .len();
    let xml = ovf::render(&OvfSpec {
        name: req.name.to_owned(),
        cpus: req.cpus,
        memory_mb: req.memory_mb,
        disk_capacity_bytes: info.virtual_size,
        vmdk_name: names.vmdk.clone(),
        vmdk_size,
        os_id: CIM_OS_DEBIAN_64,
        os_description: "Debian GNU/Linux 12 (64-bit)".into(),
    });
    ovf_check::check(&xml).map_err(ExportError::Descriptor)?;
    let mut tmp = create(&req.dest(Format::Ova))?;
    let mtime = member_mtime(req.disk);
    let mut w = HashingWriter::new(tmp.file());
    let packed = write_ova(&mut w, &names, &xml, vmdk, mtime)?;
    let (_, sha, size) = w.finish();
    Ok((
        finish(
            ui,
            Format::Ova,
            tmp,
            &req.dest(Format::Ova),
            sha,
            size,
            started,
        )?,
        packed,
    ))
}
