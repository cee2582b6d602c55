//! `-p`: build the base box. Choose the builder (debootstrap or installer),
//! check the cache, let the builder prepare a [`PackerJob`], run Packer, and
//! install the box and its manifest atomically into `builds/`.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::debootstrap;
use super::packer_job::PackerJob;
use crate::context::Context;
use crate::error::Error;
use crate::manifest::{self, BoxManifest, Freshness};
use crate::platform::{Builder, Provider};
use crate::stage::StageError;
use crate::stage::io_err;

mod lock;
mod packer_run;

/// `builds/<name>-<box provider>.box` (the qemu provider runs libvirt boxes).
pub fn box_destination(ctx: &Context, provider: Provider) -> PathBuf {
    crate::machine::base_box::path(ctx, provider)
}

/// The inputs every build shares, added to the builder's own.
fn full_inputs(
    mut inputs: BTreeMap<String, String>,
    ctx: &Context,
    b: Builder,
    p: Provider,
) -> BTreeMap<String, String> {
    inputs.insert("builder".into(), b.as_str().into());
    inputs.insert("provider".into(), p.box_provider().into());
    inputs.insert("name".into(), ctx.config.name.clone());
    inputs
}

/// Run the base-box stage.
pub fn run(ctx: &Context) -> Result<(), Error> {
    let t0 = Instant::now();
    let platform = ctx.platform()?;
    let (builder, provider) = (platform.builder, platform.provider);
    let dest = box_destination(ctx, provider);
    ctx.ui.step(&format!(
        "Base box {} ({} builder)",
        dest.display(),
        builder.as_str()
    ));
    let _lock = if ctx.runner.is_dry_run() {
        None
    } else {
        Some(lock::acquire(&ctx.work_dir())?)
    };
    let out_dir = ctx.output_dir();
    crate::artifact::sweep_partials(&out_dir).map_err(io_err("cleaning", &out_dir))?;
    let mut timings = BTreeMap::new();
    let (job, inputs, accel) = match builder {
        Builder::Debootstrap => {
            let plan = debootstrap::plan(ctx, provider)?;
            let inputs = full_inputs(plan.inputs.clone(), ctx, builder, provider);
            if is_fresh(ctx, &dest, &inputs) {
                return Ok(());
            }
            let t = Instant::now();
            let (job, accel) = debootstrap::prepare(ctx, &plan)?;
            timings.insert("prepare".to_owned(), t.elapsed().as_secs_f64());
            (job, inputs, accel.as_str().to_owned())
        }
        Builder::Installer => {
            let t = Instant::now();
            let job = super::installer::prepare(ctx)?;
            let inputs = full_inputs(job.inputs.iter().cloned().collect(), ctx, builder, provider);
            if is_fresh(ctx, &dest, &inputs) {
                return Ok(());
            }
            timings.insert("prepare".to_owned(), t.elapsed().as_secs_f64());
            (job, inputs, platform.accel.as_str().to_owned())
        }
    };
    let t = Instant::now();
    packer_run::run(ctx, &job)?;
    timings.insert("packer".to_owned(), t.elapsed().as_secs_f64());
    if ctx.runner.is_dry_run() {
        ctx.ui.info(&format!(
            "dry run: would install {} and its manifest",
            dest.display()
        ));
        return Ok(());
    }
    let info = Installed {
        builder,
        provider,
        inputs,
        accel,
        t0,
    };
    install(ctx, &job, &dest, info, timings)
}

/// A cache hit when the manifest's input hash matches and the box is intact.
fn is_fresh(ctx: &Context, dest: &Path, inputs: &BTreeMap<String, String>) -> bool {
    if ctx.opts.force {
        ctx.ui.info("--force: rebuilding");
        return false;
    }
    match manifest::freshness(dest, &manifest::input_hash(inputs)) {
        Freshness::UpToDate => {
            ctx.ui.info(&format!(
                "up to date (inputs unchanged): {}",
                dest.display()
            ));
            true
        }
        Freshness::Stale(why) => {
            if let Ok(Some(old)) = manifest::read(&manifest::path_for(dest)) {
                let changed = manifest::changed_inputs(&old.inputs, inputs);
                if !changed.is_empty() {
                    ctx.ui
                        .info(&format!("changed inputs: {}", changed.join(", ")));
                }
            }
            ctx.ui.info(&format!("building: {why}"));
            false
        }
    }
}

struct Installed {
    builder: Builder,
    provider: Provider,
    inputs: BTreeMap<String, String>,
    accel: String,
    t0: Instant,
}

/// Move the finished box into place and write its manifest. The old manifest
/// goes first, so a crash in between leaves a box without manifest (rebuilt
/// next time), never a manifest describing another box.
fn install(
    ctx: &Context,
    job: &PackerJob,
    dest: &Path,
    info: Installed,
    mut timings: BTreeMap<String, f64>,
) -> Result<(), Error> {
    let src = &job.box_path;
    if !src.exists() {
        return Err(StageError::Unexpected(format!(
            "packer finished but wrote no box at `{}`",
            src.display()
        ))
        .into());
    }
    let t = Instant::now();
    let (digest, size) = crate::export::hash::hash_file(src).map_err(io_err("hashing", src))?;
    timings.insert("hash".to_owned(), t.elapsed().as_secs_f64());
    let mpath = manifest::path_for(dest);
    match std::fs::remove_file(&mpath) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(io_err("removing", &mpath)(e));
        }
        _ => {}
    }
    move_into_place(src, dest)?;
    timings.insert("total".to_owned(), info.t0.elapsed().as_secs_f64());
    let m = BoxManifest {
        format_version: manifest::FORMAT_VERSION,
        name: ctx.config.name.clone(),
        provider: info.provider.box_provider().to_owned(),
        builder: info.builder.as_str().to_owned(),
        input_hash: manifest::input_hash(&info.inputs),
        inputs: info.inputs,
        box_file: dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        box_size: size,
        box_sha256: digest.hex(),
        tools: tool_versions(ctx, info.builder),
        accelerator: info.accel,
        timings_secs: timings
            .into_iter()
            .map(|(k, v)| (k, (v * 10.0).round() / 10.0))
            .collect(),
        created: now_rfc3339(),
    };
    manifest::write(&mpath, &m).map_err(io_err("writing", &mpath))?;
    let _ = std::fs::remove_dir_all(&job.packer_output_dir);
    ctx.ui.info(&format!(
        "box: {} ({:.0} MiB), manifest: {}",
        dest.display(),
        size as f64 / 1048576.0,
        mpath.display()
    ));
    Ok(())
}

/// Rename within a file system; across file systems copy to a temp name first.
fn move_into_place(src: &Path, dest: &Path) -> Result<(), Error> {
    match crate::artifact::install(src, dest) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            let mut f =
                crate::artifact::AtomicFile::create(dest).map_err(io_err("creating", dest))?;
            let mut r = std::fs::File::open(src).map_err(io_err("opening", src))?;
            crate::export::hash::copy_interruptible(&mut r, f.file())
                .map_err(io_err("copying", src))?;
            f.commit().map_err(io_err("installing", dest))?;
            std::fs::remove_file(src).map_err(io_err("removing", src))
        }
        Err(e) => Err(io_err("installing", dest)(e)),
    }
}

fn tool_versions(ctx: &Context, builder: Builder) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    let first_line = |c: &crate::process::Cmd| {
        ctx.runner
            .run_unchecked(c)
            .ok()
            .and_then(|o| o.stdout_str().lines().next().map(str::to_owned))
            .unwrap_or_else(|| "unknown".to_owned())
    };
    let packer = first_line(&crate::tool::packer::version());
    v.insert(
        "packer".into(),
        crate::tool::packer::parse_version(&packer).unwrap_or(packer),
    );
    v.insert(
        "qemu-img".into(),
        first_line(&crate::process::Cmd::new("qemu-img").arg("--version")),
    );
    if builder == Builder::Debootstrap {
        v.insert(
            "debootstrap".into(),
            first_line(&crate::process::Cmd::new("debootstrap").arg("--version")),
        );
    }
    v
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
