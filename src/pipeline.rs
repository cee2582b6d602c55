//! The stage pipeline: clean, reset, packer, up, export — always in that
//! order, each a peer that calls down into the machine layer — then a summary
//! of what the run left for the user.
use std::sync::Arc;

use crate::context::{Context, RunOptions};
use crate::error::Error;
use crate::process::SystemRunner;
use crate::request::{Global, Stages};
use crate::stage;
use crate::summary::Summary;
use crate::ui::Ui;

/// Run the stages `stages` asks for.
pub fn run(stages: &Stages, global: &Global, ui: &Arc<Ui>) -> Result<(), Error> {
    if !stages.any() {
        return Err(Error::Usage(
            "nothing to do: give at least one of -c, -r, -p, -u, -e (or a subcommand); see `vmbuild --help`".into(),
        ));
    }
    if stages.base_box && !stages.export {
        return Err(Error::Usage("--base-box goes with -e".into()));
    }
    let config = crate::config::resolve_for_run(global, ui)?;
    let project_dir =
        std::env::current_dir().map_err(|e| Error::Usage(format!("no current directory: {e}")))?;
    let ctx = Context::new(
        config,
        project_dir,
        Arc::new(SystemRunner::new(Arc::clone(ui), global.dry_run)),
        Arc::clone(ui),
        RunOptions {
            force: stages.force,
            dry_run: global.dry_run,
            openstack: stages.openstack.clone(),
            base_box: stages.base_box,
        },
    );
    let mut summary = Summary::default();
    if stages.clean {
        summary.time("-c", || stage::clean::run(&ctx))?;
    }
    if stages.reset {
        summary.time("-r", || stage::reset::run(&ctx))?;
    }
    if stages.packer {
        summary.time("-p", || stage::base_box::run(&ctx))?;
    }
    if stages.up {
        summary.up = Some(summary.time("-u", || stage::up::run(&ctx))?);
    }
    if stages.export {
        summary.artifacts = summary.time("-e", || stage::export::run(&ctx))?;
    }
    summary.print(&ctx);
    Ok(())
}
