//! The debootstrap builder (mkosi-style): the disk is built natively with
//! debootstrap, cached in the work dir by its own inputs, then booted by
//! Packer for base provisioning (see [`super::base_box`]).
//!
//! [`plan`] is cheap (no I/O beyond reading templates): it names the inputs so
//! the caller can check the box cache first. [`prepare`] does the work: the
//! base disk (unless cached), the accelerator probe, the rendered template.
mod cmds;
mod disk;
pub(crate) mod progress;
pub mod recipe;
mod sys;
pub mod template;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::context::Context;
use crate::error::Error;
use crate::platform::{Accel, Provider};
use crate::stage::StageError;
use crate::stage::io_err;
use crate::stage::packer_job::PackerJob;
use recipe::{BaseDiskRecipe, VAGRANT_INSECURE_PUBLIC_KEY};
use template::DebootstrapVars;

/// The cached base disk and its companions, named by the recipe key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseDisk {
    /// Directory of base disks (`<work>/base`).
    pub dir: PathBuf,
    /// File stem: the first 16 hex digits of the recipe key.
    pub stem: String,
    /// The qcow2 (present = cache valid).
    pub qcow2: PathBuf,
    /// Private key whose public half is in the disk's `vagrant` account.
    pub key: PathBuf,
    /// The guest kernel (for the KVM probe).
    pub kernel: PathBuf,
    /// debootstrap's .deb cache (speeds up rebuilds).
    pub deb_cache: PathBuf,
}

/// What a debootstrap build will do, decided without doing it.
#[derive(Debug, Clone)]
pub struct DebootstrapPlan {
    /// The base disk's inputs.
    pub recipe: BaseDiskRecipe,
    /// Where the base disk is cached.
    pub disk: BaseDisk,
    /// Target provider (decides the Packer template and box format).
    pub provider: Provider,
    /// Directory for the rendered template and Packer's output.
    pub packer_dir: PathBuf,
    /// Named input hashes (the box cache key).
    pub inputs: BTreeMap<String, String>,
}

/// Work out paths and inputs for `provider` (cheap; runs nothing).
pub fn plan(ctx: &Context, provider: Provider) -> Result<DebootstrapPlan, Error> {
    let recipe = BaseDiskRecipe::from_config(&ctx.config);
    let key = recipe.key();
    let dir = ctx.work_dir().join("base");
    let stem = key[..16].to_owned();
    let disk = BaseDisk {
        qcow2: dir.join(format!("{stem}.qcow2")),
        key: dir.join(format!("{stem}.id_ed25519")),
        kernel: dir.join(format!("{stem}.vmlinuz")),
        deb_cache: ctx
            .work_dir()
            .join("cache")
            .join(format!("debs-{}", recipe.suite)),
        dir,
        stem,
    };
    let (tpl_text, _) = ctx.templates().source(template::template_name(provider))?;
    let mut inputs = BTreeMap::new();
    inputs.insert("base-disk".to_owned(), key);
    inputs.insert(
        format!("template:{}", template::template_name(provider)),
        crate::manifest::sha256_hex(tpl_text.as_bytes()),
    );
    inputs.insert(
        "settings".to_owned(),
        crate::manifest::sha256_hex(DebootstrapVars::settings_json(&ctx.config).as_bytes()),
    );
    inputs.insert(
        "vagrant-public-key".to_owned(),
        crate::manifest::sha256_hex(VAGRANT_INSECURE_PUBLIC_KEY.as_bytes()),
    );
    Ok(DebootstrapPlan {
        recipe,
        disk,
        provider,
        packer_dir: ctx.work_dir().join("packer"),
        inputs,
    })
}

/// Build (or reuse) the base disk, render the template for the run's
/// accelerator. Returns the job and the accelerator used.
pub fn prepare(ctx: &Context, plan: &DebootstrapPlan) -> Result<(PackerJob, Accel), Error> {
    let disk = &plan.disk;
    if disk.qcow2.exists() {
        ctx.ui
            .info(&format!("base disk cached: {}", disk.qcow2.display()));
    } else {
        if !ctx.runner.is_dry_run() && unsafe_euid() != 0 {
            return Err(StageError::Precondition(
                "the debootstrap builder needs root (loop devices, mounts, chroot); run as root or set base.builder = \"installer\"".into(),
            )
            .into());
        }
        ctx.ui.step(&format!(
            "Building the base disk with debootstrap ({} GiB)",
            plan.recipe.disk_gb
        ));
        let t = std::time::Instant::now();
        disk::build(ctx, &plan.recipe, disk)?;
        ctx.ui.info(&format!(
            "base disk built in {:.0} s",
            t.elapsed().as_secs_f64()
        ));
    }
    let accel = ctx.platform()?.accel;

    let dir = &plan.packer_dir;
    std::fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
    let p = plan.provider.box_provider();
    let vagrant_pub = dir.join("vagrant.pub");
    std::fs::write(&vagrant_pub, format!("{VAGRANT_INSECURE_PUBLIC_KEY}\n"))
        .map_err(io_err("writing", &vagrant_pub))?;
    let ovf_source = if plan.provider.is_virtualbox() {
        ovf_source(ctx, plan)?
    } else {
        PathBuf::new()
    };
    let box_path = dir.join(format!("{}-{p}.box", ctx.config.name));
    let output_dir = dir.join(format!("output-{p}"));
    let vars = DebootstrapVars {
        accelerator: accel.as_str().to_owned(),
        cpu_model: accel.qemu_cpu().to_owned(),
        cpus: ctx.config.vm.cpus,
        memory_mb: ctx.config.vm.memory_mb,
        disk_gb: ctx.config.vm.disk_gb,
        base_image: template::path_str(&disk.qcow2),
        ovf_source: template::path_str(&ovf_source),
        output_directory: template::path_str(&output_dir),
        vm_name: format!(
            "{}.{}",
            ctx.config.name,
            if plan.provider.is_virtualbox() {
                "ovf"
            } else {
                "qcow2"
            }
        ),
        box_output: template::path_str(&box_path),
        ssh_private_key_file: template::path_str(&disk.key),
        vagrant_public_key_file: template::path_str(&vagrant_pub),
        serial_log: if plan.provider.is_virtualbox() {
            template::path_str(&dir.join(format!("serial-{p}.log")))
        } else {
            format!("file:{}", dir.join(format!("serial-{p}.log")).display())
        },
        environment_vars: template::environment_vars(&ctx.config),
    };
    let text = template::render(&ctx.templates(), plan.provider, &vars)?;
    let tpl = dir.join(format!("debootstrap-{p}.json"));
    crate::artifact::write_atomic(&tpl, text.as_bytes()).map_err(io_err("writing", &tpl))?;
    Ok((
        PackerJob {
            template: tpl,
            work_dir: dir.clone(),
            packer_output_dir: output_dir,
            box_path,
            inputs: plan.inputs.clone().into_iter().collect(),
        },
        accel,
    ))
}

/// VirtualBox needs the disk as a VMDK inside an OVF.
fn ovf_source(ctx: &Context, plan: &DebootstrapPlan) -> Result<PathBuf, Error> {
    let dir = plan.packer_dir.join("virtualbox-source");
    std::fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
    let vmdk_name = format!("{}.vmdk", plan.disk.stem);
    let vmdk = dir.join(&vmdk_name);
    let ovf = dir.join(format!("{}.ovf", plan.disk.stem));
    if !vmdk.exists() {
        let tmp = dir.join(format!("{}{vmdk_name}", crate::artifact::PARTIAL_PREFIX));
        let c = crate::tool::qemu_img::convert(
            &plan.disk.qcow2,
            Some("qcow2"),
            &tmp,
            "vmdk",
            false,
            &["subformat=streamOptimized"],
        );
        ctx.runner.run(&c)?;
        if !ctx.runner.is_dry_run() {
            std::fs::rename(&tmp, &vmdk).map_err(io_err("renaming", &tmp))?;
        }
    }
    let vmdk_size = std::fs::metadata(&vmdk).map(|m| m.len()).unwrap_or(0);
    let spec = crate::export::ovf::OvfSpec {
        name: ctx.config.name.clone(),
        cpus: ctx.config.vm.cpus,
        memory_mb: ctx.config.vm.memory_mb,
        disk_capacity_bytes: u64::from(plan.recipe.disk_gb) << 30,
        vmdk_name,
        vmdk_size,
        os_id: crate::export::ovf::CIM_OS_DEBIAN_64,
        os_description: format!("Debian ({})", plan.recipe.suite),
    };
    crate::artifact::write_atomic(&ovf, crate::export::ovf::render(&spec).as_bytes())
        .map_err(io_err("writing", &ovf))?;
    Ok(ovf)
}

fn unsafe_euid() -> u32 {
    // SAFETY: geteuid(2) cannot fail.
    unsafe { libc::geteuid() }
}
