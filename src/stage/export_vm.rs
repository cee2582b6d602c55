//! Getting the VM `-u` provisioned ready to be exported: the cleanup recipes
//! run in it (no logs, caches, host keys, machine id or build-time proxies
//! ship), then `vagrant halt` shuts it down so its file systems are flushed.
//!
//! A stamp of the halted disk (path, size, mtime) in Vagrant's state dir lets a
//! re-run of `-e` skip booting the VM again when nothing touched the disk
//! since its cleanup; any boot (`-u`, `vagrant up`) changes the mtime.
use std::path::{Path, PathBuf};

use super::up;
use super::vagrant_box::{self, BoxStamp};
use crate::appliance::files::RecipeSet;
use crate::context::Context;
use crate::error::Error;
use crate::stage::StageError;
use crate::tool::vagrant::Vagrant;

/// The stamp file, inside `.vagrant/` so that `-c` and `-r` drop it with the VM.
fn stamp_file(v: &Vagrant) -> PathBuf {
    v.state_dir().join("vmbuild-export-ready")
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| {
        StageError::Io {
            what,
            path: path.display().to_string(),
            source,
        }
        .into()
    }
}

/// Clean the VM up and halt it (unless the stamp shows that was done and the
/// disk is untouched since); return its system disk.
pub fn cleaned_and_halted(ctx: &Context, v: &Vagrant) -> Result<PathBuf, Error> {
    if ctx.runner.is_dry_run() {
        clean_up_and_halt(ctx, v)?;
        return Ok(PathBuf::from("<the VM's disk>"));
    }
    let disk = super::libvirt::system_disk(ctx)?;
    let stamp = stamp_file(v);
    let current = BoxStamp::of(&disk)?;
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(current.as_str()) {
        ctx.ui.info(
            "the VM is halted and its disk untouched since the last export's cleanup: not booting it again",
        );
        return Ok(disk);
    }
    remove_if_present(&stamp)?;
    clean_up_and_halt(ctx, v)?;
    let halted = BoxStamp::of(&disk)?;
    crate::artifact::write_atomic(&stamp, halted.as_str().as_bytes())
        .map_err(io("writing", &stamp))?;
    Ok(disk)
}

/// Boot the VM if it is halted, run the cleanup recipes in it, halt it. For
/// every provider.
pub fn clean_up_and_halt(ctx: &Context, v: &Vagrant) -> Result<(), Error> {
    // boots a halted VM; returns at once for a running one
    let provider = vagrant_box::provider(ctx);
    up::stream_vagrant(ctx, &v.up(provider.as_str()), "vagrant up")?;
    if ctx.runner.is_dry_run() {
        ctx.ui
            .info("would run the cleanup recipes in the VM over SSH");
        up::stream_vagrant(ctx, &v.halt(), "vagrant halt")?;
        return Ok(());
    }
    let ssh = up::read_ssh_config(ctx, v)?;
    let known_hosts = v.state_dir().join("vmbuild_known_hosts");
    ctx.ui.info("cleaning the VM up for export");
    super::provision::run(ctx, &ssh, known_hosts.clone(), RecipeSet::Cleanup)?;
    if crate::interrupt::requested() {
        return Err(Error::Interrupted);
    }
    up::stream_vagrant(ctx, &v.halt(), "vagrant halt")?;
    // the cleanup removed the host keys: the next boot makes new ones, to be
    // trusted afresh rather than refused as a changed key
    remove_if_present(&known_hosts)
}

fn remove_if_present(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("removing", path)(e)),
        _ => Ok(()),
    }
}
