//! `-c`: destroy the VM, remove work directories (keeping caches), sweep
//! half-written artifacts.
use std::path::Path;

use crate::context::Context;
use crate::error::Error;
use crate::stage::StageError;

/// Entries of the work dir that survive `-c`: downloads (`cache`) and base
/// disks (`base`) are expensive to rebuild and keyed by content, so they are
/// never stale.
pub const KEPT: &[&str] = &["cache", "base"];

/// Run the clean stage.
pub fn run(ctx: &Context) -> Result<(), Error> {
    ctx.ui
        .step("Cleaning: destroying the VM and removing work files");
    destroy_vm(ctx)?;
    remove_work_dir(ctx, &ctx.work_dir())?;
    let out = ctx.output_dir();
    if !ctx.runner.is_dry_run() {
        let n = crate::artifact::sweep_partials(&out).map_err(|source| StageError::Io {
            what: "removing half-written files in",
            path: out.display().to_string(),
            source,
        })?;
        if n > 0 {
            ctx.ui.info(&format!(
                "removed {n} half-written file(s) from {}",
                out.display()
            ));
        }
    }
    Ok(())
}

/// `vagrant destroy -f` when Vagrant has state for this project. Destroy
/// powers the VM off itself; a graceful `halt` first would only cost time
/// for a disk that is thrown away.
pub fn destroy_vm(ctx: &Context) -> Result<(), Error> {
    let v = super::up::vagrant(ctx);
    if !v.state_dir().join("machines").exists() {
        ctx.ui.info("no Vagrant machine for this project");
        return Ok(());
    }
    if !v.dir().join("Vagrantfile").exists() {
        return Err(StageError::Precondition(format!(
            "`{}` has Vagrant state but no Vagrantfile; remove the VM by hand (e.g. `virsh destroy` / `undefine`) and run `vmbuild -r`",
            v.dir().display()
        ))
        .into());
    }
    ctx.ui.info("destroying the VM (vagrant destroy -f)");
    super::up::stream_vagrant(ctx, &v.destroy(), "vagrant destroy")?;
    Ok(())
}

/// Remove everything in `work` except [`KEPT`] entries.
fn remove_work_dir(ctx: &Context, work: &Path) -> Result<(), Error> {
    let Ok(rd) = std::fs::read_dir(work) else {
        return Ok(());
    };
    for e in rd {
        let e = e.map_err(|source| StageError::Io {
            what: "listing",
            path: work.display().to_string(),
            source,
        })?;
        let name = e.file_name().to_string_lossy().into_owned();
        if KEPT.contains(&name.as_str()) {
            continue;
        }
        let p = e.path();
        if ctx.runner.is_dry_run() {
            ctx.ui.info(&format!("would remove {}", p.display()));
            continue;
        }
        let res = if p.is_dir() && !p.is_symlink() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        res.map_err(|source| StageError::Io {
            what: "removing",
            path: p.display().to_string(),
            source,
        })?;
        ctx.ui.debug(&format!("removed {}", p.display()));
    }
    Ok(())
}
