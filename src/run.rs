//! One run: set up output and signal handling for a [`Request`], dispatch it
//! to its action, and turn the outcome into an exit code.
use std::sync::Arc;

use crate::error::{Error, ExitCode};
use crate::request::{Action, Request};
use crate::ui::Ui;

/// Run `request` and return the process exit code.
pub fn run(request: Request) -> i32 {
    let g = &request.global;
    let ui = match Ui::new(g.verbosity, g.log.as_deref()) {
        Ok(ui) => Arc::new(ui),
        Err(e) => {
            eprintln!(
                "error: cannot open log file `{}`: {e}",
                g.log.as_deref().unwrap_or_else(|| "".as_ref()).display()
            );
            return ExitCode::Usage as i32;
        }
    };
    if let Err(e) = crate::interrupt::install() {
        ui.warn(&format!("cannot install signal handlers: {e}"));
    }
    let code = match dispatch(&request, &ui) {
        Ok(()) => 0,
        Err(e) => {
            ui.error(&e.to_string());
            e.exit_code() as i32
        }
    };
    crate::process::guard::finish();
    code
}

fn dispatch(request: &Request, ui: &Arc<Ui>) -> Result<(), Error> {
    let g = &request.global;
    match &request.action {
        Action::Config(c) => crate::config::cli::run(c, g, ui),
        Action::Provision(p) => crate::command::provision::run(p, g, ui),
        Action::Upload(u) => crate::cloud::cli::upload(u, g, ui),
        Action::Hub(h) => crate::command::hub::run(h, g, ui),
        Action::Audit(a) => crate::audit::cli::run(a, ui),
        Action::Stages(s) => crate::pipeline::run(s, g, ui),
    }
}
