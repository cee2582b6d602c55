//! The base box as Vagrant sees it: which provider, which file in `builds/`,
//! and registering it (`vagrant box add`) only when it changed.
use std::path::{Path, PathBuf};

use crate::config::ProviderChoice;
use crate::context::Context;
use crate::error::Error;
use crate::stage::StageError;
use crate::template::vagrantfile::VagrantProvider;
use crate::tool::vagrant::Vagrant;

/// The Vagrant provider for config `provider` (`qemu` boxes run under libvirt).
/// `auto`: libvirt when installed, else VirtualBox when installed, else libvirt.
pub fn provider(ctx: &Context) -> VagrantProvider {
    match ctx.config.provider {
        ProviderChoice::Virtualbox => VagrantProvider::Virtualbox,
        ProviderChoice::Libvirt | ProviderChoice::Qemu => VagrantProvider::Libvirt,
        ProviderChoice::Auto if !on_path("libvirtd") && on_path("VBoxManage") => {
            VagrantProvider::Virtualbox
        }
        ProviderChoice::Auto => VagrantProvider::Libvirt,
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// The name the base box is registered under: `vmbuild/<name>`.
pub fn box_name(ctx: &Context) -> String {
    format!("vmbuild/{}", ctx.config.name)
}

/// The base box `-p` left in the output dir for `provider`
/// (`builds/<name>-<provider>.box`, see [`super::base_box::box_destination`]).
pub fn base_box_file(ctx: &Context, provider: VagrantProvider) -> Result<PathBuf, Error> {
    let file = ctx
        .output_dir()
        .join(format!("{}-{}.box", ctx.config.name, provider.as_str()));
    if file.is_file() || ctx.runner.is_dry_run() {
        return Ok(file);
    }
    Err(StageError::Precondition(format!(
        "no base box `{}` for the {} provider: build it first with `vmbuild -p`",
        file.display(),
        provider.as_str()
    ))
    .into())
}

/// What identifies one build of the box file (cheap: no hashing of a GB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoxStamp(String);

impl BoxStamp {
    /// The stamp of `file`: absolute path, size and modification time.
    pub fn of(file: &Path) -> Result<BoxStamp, Error> {
        let io = |source| StageError::Io {
            what: "reading the base box",
            path: file.display().to_string(),
            source,
        };
        let path = std::path::absolute(file).map_err(io)?;
        let (size, mtime) = match std::fs::metadata(&path) {
            Ok(m) => (m.len(), m.modified().map_err(io)?),
            // --dry-run without a box: nothing will be read anyway
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, std::time::UNIX_EPOCH),
            Err(e) => return Err(io(e).into()),
        };
        let nanos = mtime
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Ok(BoxStamp(format!("{}\n{size}\n{nanos}\n", path.display())))
    }

    /// The stamp's text (what to store and compare).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The box file.
    pub fn path(&self) -> &Path {
        Path::new(self.0.lines().next().unwrap_or_default())
    }
}

/// Where Vagrant keeps boxes (`$VAGRANT_HOME`, default `~/.vagrant.d`).
fn vagrant_home() -> Option<PathBuf> {
    std::env::var_os("VAGRANT_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".vagrant.d")))
}

/// Whether Vagrant holds box `name` for `provider`.
fn box_installed(name: &str, provider: VagrantProvider) -> bool {
    vagrant_home().is_some_and(|h| {
        h.join("boxes")
            .join(name.replace('/', "-VAGRANTSLASH-"))
            .join("0")
            .join(provider.as_str())
            .join("metadata.json")
            .is_file()
    })
}

/// `vagrant box add --force` unless this very file was added last time and
/// Vagrant still has it. The stamp lives in `<work_dir>/cache/` so that `-c`
/// does not force a re-add (and, for libvirt, a new 1 GB volume upload).
pub fn add(
    ctx: &Context,
    v: &Vagrant,
    provider: VagrantProvider,
    stamp: &BoxStamp,
) -> Result<(), Error> {
    let name = box_name(ctx);
    let home = vagrant_home().unwrap_or_default();
    let content = format!("{}{}\n", stamp.0, home.display());
    let stamp_file = ctx
        .work_dir()
        .join("cache")
        .join(format!("vagrant-box-{}.stamp", provider.as_str()));
    let previous = std::fs::read_to_string(&stamp_file).ok();
    if previous.as_deref() == Some(content.as_str()) && box_installed(&name, provider) {
        ctx.ui.info(&format!("box `{name}` is up to date"));
        return Ok(());
    }
    let machine_exists = super::up::machine_created(v, &ctx.config.name);
    if machine_exists {
        ctx.ui.warn(
            "the base box changed, but a VM made from the old one exists; `vmbuild -c -u` rebuilds it from the new box",
        );
    } else if provider == VagrantProvider::Libvirt {
        super::libvirt::remove_box_volumes(ctx, &name)?;
    }
    ctx.ui.info(&format!(
        "adding box `{name}` from {}",
        stamp.path().display()
    ));
    let cmd = v.box_add(&name, provider.as_str(), stamp.path());
    super::up::stream_vagrant(ctx, &cmd, "vagrant box add")?;
    if !ctx.runner.is_dry_run() {
        crate::artifact::write_atomic(&stamp_file, content.as_bytes()).map_err(|source| {
            StageError::Io {
                what: "writing",
                path: stamp_file.display().to_string(),
                source,
            }
        })?;
    }
    Ok(())
}
