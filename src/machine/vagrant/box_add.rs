//! Registering the base box with Vagrant (`vagrant box add`), only when it
//! changed.
use std::path::{Path, PathBuf};

use crate::context::Context;
use crate::error::Error;
use crate::machine::base_box::BoxStamp;
use crate::platform::Provider;
use crate::stage::StageError;
use crate::tool::vagrant::Vagrant;

/// The name the base box is registered under: `vmbuild/<name>`.
pub fn box_name(ctx: &Context) -> String {
    format!("vmbuild/{}", ctx.config.name)
}

/// Where Vagrant keeps boxes (`$VAGRANT_HOME`, default `~/.vagrant.d`).
fn vagrant_home() -> Option<PathBuf> {
    std::env::var_os("VAGRANT_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".vagrant.d")))
}

/// Whether Vagrant holds box `name` for `provider`.
fn box_installed(name: &str, provider: Provider) -> bool {
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
pub fn add(ctx: &Context, v: &Vagrant, provider: Provider, stamp: &BoxStamp) -> Result<(), Error> {
    let name = box_name(ctx);
    let home = vagrant_home().unwrap_or_default();
    let content = format!("{}{}\n", stamp.as_str(), home.display());
    let stamp_file = ctx
        .work_dir()
        .join("cache")
        .join(format!("vagrant-box-{}.stamp", provider.as_str()));
    let previous = std::fs::read_to_string(&stamp_file).ok();
    if previous.as_deref() == Some(content.as_str()) && box_installed(&name, provider) {
        ctx.ui.info(&format!("box `{name}` is up to date"));
        return Ok(());
    }
    let machine_exists = super::created_with(v, &ctx.config.name).is_some();
    if machine_exists {
        ctx.ui.warn(
            "the base box changed, but a VM made from the old one exists; `vmbuild -c -u` rebuilds it from the new box",
        );
    } else if provider == Provider::Libvirt {
        super::libvirt::remove_box_volumes(ctx, &name)?;
    }
    ctx.ui.info(&format!(
        "adding box `{name}` from {}",
        stamp.path().display()
    ));
    let cmd = v.box_add(&name, provider.as_str(), stamp.path());
    super::stream_vagrant(ctx, &cmd, "vagrant box add")?;
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
