//! `-r`: reset Vagrant's state for this project (`<work_dir>/vagrant/.vagrant`).
//!
//! For when that state no longer matches reality (a VM deleted by hand, a
//! crashed run). A VM the state still knows is destroyed first, so a reset
//! never orphans a running VM.
use crate::context::Context;
use crate::error::Error;
use crate::stage::StageError;
use crate::tool::vagrant::machine_readable;

/// Run the reset stage.
pub fn run(ctx: &Context) -> Result<(), Error> {
    ctx.ui.step("Resetting Vagrant state");
    let v = crate::machine::vagrant::vagrant(ctx);
    let state = v.state_dir();
    if !state.exists() {
        ctx.ui.info("no Vagrant state to reset");
        return Ok(());
    }
    if v.dir().join("Vagrantfile").exists() {
        match ctx.runner.run_unchecked(&v.status()) {
            Ok(out) => {
                let machines = machine_readable::parse_status(&out.stdout_str());
                if machines.iter().any(|m| m.exists()) {
                    super::clean::destroy_vm(ctx)?;
                }
            }
            Err(e) if e.is_interrupted() => return Err(e.into()),
            // a broken state is what -r is for: go on and remove it
            Err(e) => ctx.ui.warn(&format!(
                "`vagrant status` failed, removing the state anyway: {e}"
            )),
        }
    }
    if ctx.runner.is_dry_run() {
        ctx.ui.info(&format!("would remove {}", state.display()));
        return Ok(());
    }
    std::fs::remove_dir_all(&state).map_err(|source| StageError::Io {
        what: "removing",
        path: state.display().to_string(),
        source,
    })?;
    ctx.ui.info(&format!("removed {}", state.display()));
    Ok(())
}
