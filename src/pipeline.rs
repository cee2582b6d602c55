//! The stage pipeline: clean, reset, packer, up, export — always in that order.
use std::sync::Arc;

use crate::cli::Args;
use crate::context::{Context, RunOptions};
use crate::error::Error;
use crate::process::SystemRunner;
use crate::stage;
use crate::ui::Ui;

/// Run the stages the flags ask for.
pub fn run(args: &Args, ui: &Arc<Ui>) -> Result<(), Error> {
    if !(args.clean || args.reset || args.packer || args.up || args.export) {
        return Err(Error::Usage(
            "nothing to do: give at least one of -c, -r, -p, -u, -e (or a subcommand); see `vmbuild --help`".into(),
        ));
    }
    let config = crate::config::resolve_for_run(args, ui)?;
    let project_dir =
        std::env::current_dir().map_err(|e| Error::Usage(format!("no current directory: {e}")))?;
    let ctx = Context {
        config,
        project_dir,
        runner: Arc::new(SystemRunner::new(Arc::clone(ui), args.dry_run)),
        ui: Arc::clone(ui),
        opts: RunOptions {
            force: args.force,
            dry_run: args.dry_run,
            openstack: args.openstack.clone(),
        },
    };
    if args.clean {
        stage::clean::run(&ctx)?;
    }
    if args.reset {
        stage::reset::run(&ctx)?;
    }
    if args.packer {
        stage::base_box::run(&ctx)?;
    }
    if args.up {
        stage::up::run(&ctx)?;
    }
    if args.export {
        stage::export::run(&ctx)?;
    }
    Ok(())
}
