//! Getting the VM `-u` provisioned ready to be exported: the cleanup recipes
//! run in it (no logs, caches, host keys, machine id, build-time proxies or
//! per-instance secrets ship), then it is shut down so its file systems are
//! flushed.
//!
//! A stamp of the halted disk (path, size, mtime) in the VM's state lets a
//! re-run of `-e` skip booting the VM again when nothing touched the disk
//! since its cleanup; any boot changes the mtime.
use std::path::{Path, PathBuf};

use super::Machine;
use super::base_box::BoxStamp;
use crate::appliance::files::RecipeSet;
use crate::context::Context;
use crate::error::Error;
use crate::stage::io_err as io;

const STAMP: &str = "vmbuild-export-ready";

/// The VM's disk, cleaned up and halted.
#[derive(Debug, Clone)]
pub struct Halted {
    /// The system disk.
    pub disk: PathBuf,
    /// Its stamp (path, size, mtime) after the cleanup.
    pub stamp: String,
    /// Nothing touched it since an earlier `-e` cleaned it up.
    pub untouched: bool,
}

/// Clean the VM up and halt it (unless the stamp shows that was done and the
/// disk is untouched since); return its system disk.
pub fn cleaned_and_halted(ctx: &Context, m: &Machine) -> Result<Halted, Error> {
    if ctx.runner.is_dry_run() {
        clean_up_and_halt(ctx, m)?;
        return Ok(Halted {
            disk: PathBuf::from("<the VM's disk>"),
            stamp: String::new(),
            untouched: false,
        });
    }
    let disk = m.disk(ctx)?;
    let stamp = m.state_file(ctx, STAMP);
    let current = BoxStamp::of(&disk)?;
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(current.as_str()) {
        ctx.ui.info(
            "the VM is halted and its disk untouched since the last export's cleanup: not booting it again",
        );
        return Ok(Halted {
            disk,
            stamp: current.as_str().to_owned(),
            untouched: true,
        });
    }
    remove_if_present(&stamp)?;
    clean_up_and_halt(ctx, m)?;
    let halted = BoxStamp::of(&disk)?;
    crate::artifact::write_atomic(&stamp, halted.as_str().as_bytes())
        .map_err(io("writing", &stamp))?;
    Ok(Halted {
        disk,
        stamp: halted.as_str().to_owned(),
        untouched: false,
    })
}

/// Boot the VM if it is halted, run the cleanup recipes in it, halt it.
pub fn clean_up_and_halt(ctx: &Context, m: &Machine) -> Result<(), Error> {
    let endpoint = m.start(ctx)?;
    if ctx.runner.is_dry_run() {
        ctx.ui
            .info("would run the cleanup recipes in the VM over SSH");
        return m.halt(ctx);
    }
    ctx.ui.info("cleaning the VM up for export");
    super::session::apply_set(ctx, &endpoint, RecipeSet::Cleanup, m.shares_data_itself())?;
    m.halt(ctx)?;
    // the cleanup removed the host keys: the next boot makes new ones, to be
    // trusted afresh rather than refused as a changed key
    remove_if_present(&endpoint.known_hosts)
}

fn remove_if_present(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("removing", path)(e)),
        _ => Ok(()),
    }
}
