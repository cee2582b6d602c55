//! `-p`: build the base box. Choose the builder (debootstrap or installer),
//! check the cache, let the builder prepare a [`PackerJob`], run Packer, and
//! install the box and its manifest atomically into `builds/`.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::debootstrap::{self, BoxProvider};
use super::packer_job::PackerJob;
use crate::config::{Accelerator, BuilderChoice};
use crate::context::Context;
use crate::error::Error;
use crate::manifest::{self, BoxManifest, Freshness};
use crate::stage::StageError;
use crate::template::vagrantfile::VagrantProvider;

mod lock;
mod packer_run;

/// The builder actually used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    /// Native disk build, then Packer from the disk image.
    Debootstrap,
    /// Debian installer + preseed under Packer.
    Installer,
}

impl Builder {
    /// Its name in config, logs and manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Builder::Debootstrap => "debootstrap",
            Builder::Installer => "installer",
        }
    }
}

/// `auto`: debootstrap when it can run (root on Linux), installer otherwise.
pub fn choose_builder(choice: BuilderChoice, debootstrap_available: bool) -> Builder {
    match choice {
        BuilderChoice::Debootstrap => Builder::Debootstrap,
        BuilderChoice::Installer => Builder::Installer,
        BuilderChoice::Auto if debootstrap_available => Builder::Debootstrap,
        BuilderChoice::Auto => Builder::Installer,
    }
}

/// The box's provider (qemu and libvirt both give a libvirt box).
pub fn box_provider(ctx: &Context) -> BoxProvider {
    match super::vagrant_box::provider(ctx) {
        VagrantProvider::Virtualbox => BoxProvider::Virtualbox,
        _ => BoxProvider::Libvirt,
    }
}

/// `builds/<name>-<provider>.box`.
pub fn box_destination(ctx: &Context, provider: BoxProvider) -> PathBuf {
    ctx.output_dir()
        .join(format!("{}-{}.box", ctx.config.name, provider.as_str()))
}

/// The inputs every build shares, added to the builder's own.
fn full_inputs(
    mut inputs: BTreeMap<String, String>,
    ctx: &Context,
    b: Builder,
    p: BoxProvider,
) -> BTreeMap<String, String> {
    inputs.insert("builder".into(), b.as_str().into());
    inputs.insert("provider".into(), p.as_str().into());
    inputs.insert("name".into(), ctx.config.name.clone());
    inputs
}

/// Run the base-box stage.
pub fn run(ctx: &Context) -> Result<(), Error> {
    let t0 = Instant::now();
    let builder = choose_builder(ctx.config.base.builder, debootstrap::available());
    let provider = box_provider(ctx);
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
            let accel = if ctx.config.vm.accelerator == Accelerator::Kvm {
                "kvm"
            } else {
                "tcg"
            };
            (job, inputs, accel.to_owned())
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
    provider: BoxProvider,
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
        provider: info.provider.as_str().to_owned(),
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

fn io_err(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.display().to_string();
    move |source| Error::Stage(StageError::Io { what, path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_builder_is_debootstrap_only_where_it_can_run() {
        assert_eq!(
            choose_builder(BuilderChoice::Auto, true),
            Builder::Debootstrap
        );
        assert_eq!(
            choose_builder(BuilderChoice::Auto, false),
            Builder::Installer
        );
        assert_eq!(
            choose_builder(BuilderChoice::Installer, true),
            Builder::Installer
        );
        assert_eq!(
            choose_builder(BuilderChoice::Debootstrap, false),
            Builder::Debootstrap
        );
    }
}
