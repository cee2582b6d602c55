//! `-u`: bring the project's VM up (create it, or boot it, or find it
//! running) with the run's provider, then provision it over SSH with the
//! appliance recipes.
//!
//! Interrupted (Ctrl-C, or vmbuild killed: see [`crate::process::guard`]),
//! no VM process is left running; the disk stays, and the next `-u` boots it
//! and converges. Once provisioning is over, successful or not, the VM keeps
//! running for the next step (`-e`, `vmbuild hub`, a look around).
use crate::appliance::files::RecipeSet;
use crate::context::Context;
use crate::error::{Error, ExitCode};
use crate::machine::{self, Endpoint, session};

/// What `-u` leaves: the running VM and how to reach its hub.
#[derive(Debug, Clone)]
pub struct Up {
    /// The VM's SSH endpoint and hub ports.
    pub endpoint: Endpoint,
}

/// Run the up stage.
pub fn run(ctx: &Context) -> Result<Up, Error> {
    let m = machine::for_up(ctx)?;
    ctx.ui.step(&format!(
        "Bringing the VM up ({}) and provisioning it",
        m.provider().as_str()
    ));
    let endpoint = match m.up(ctx) {
        Ok(e) => e,
        Err(e) => {
            if e.exit_code() == ExitCode::Interrupted {
                m.stop_after_interrupt(ctx);
            }
            return Err(e);
        }
    };
    if ctx.runner.is_dry_run() {
        ctx.ui
            .info("would provision the VM over SSH with the appliance recipes");
        return Ok(Up { endpoint });
    }
    ctx.ui
        .info(&format!("VM is up; SSH endpoint {}", endpoint.target));
    let provisioned =
        session::apply_set(ctx, &endpoint, RecipeSet::Provision, m.shares_data_itself());
    match &provisioned {
        Err(e) if e.exit_code() == ExitCode::Interrupted => m.stop_after_interrupt(ctx),
        _ => m.keep_running(ctx),
    }
    provisioned?;
    Ok(Up { endpoint })
}
