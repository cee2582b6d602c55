//! Running a recipe over a transport with the user watching: one line per
//! resource, a progress bar on a terminal (used by `vmbuild provision`, `-u`
//! and `-e`'s cleanup and seal, through [`crate::machine::session`]).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::RecipeError;
use super::engine::{Engine, RunOptions};
use super::load::Recipe;
use super::report::{Outcome, Report, Status, line};
use crate::remote::Transport;
use crate::ui::{Ui, Verbosity};

/// Run `recipe` over `t`, printing as it goes (used by `provision` and `-u`).
pub async fn run_with<T: Transport>(
    t: &T,
    recipe: &Recipe,
    opts: RunOptions,
    ui: &Ui,
) -> Result<Report, RecipeError> {
    let check = opts.check;
    ui.step(&format!(
        "{} {} resources on {}",
        if check { "Checking" } else { "Provisioning" },
        recipe.entries.len(),
        opts.host
    ));
    let bar = progress(ui, recipe.entries.len() as u64);
    let mut print = |o: &Outcome| {
        bar.suspend(|| print_outcome(ui, o, check));
        bar.inc(1);
        bar.set_message(o.label.clone());
    };
    let report = Engine::new(t, opts, &mut print).run(recipe).await;
    bar.finish_and_clear();
    report
}

fn progress(ui: &Ui, total: u64) -> ProgressBar {
    if !ui.is_terminal() || ui.verbosity() != Verbosity::Normal {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_draw_target(ProgressDrawTarget::stderr());
    pb
}

fn print_outcome(ui: &Ui, o: &Outcome, check: bool) {
    let text = line(o, check);
    match o.status {
        Status::Failed => ui.warn(&text),
        _ => ui.info(&text),
    }
    if o.changes.len() > 1 {
        for c in &o.changes {
            ui.info(&format!("             - {c}"));
        }
    }
    for d in &o.diffs {
        for l in d.lines() {
            ui.info(&format!("             {l}"));
        }
    }
    if let Some(f) = &o.failure {
        ui.warn(&format!("    command: {}", f.command));
        ui.warn(&format!("    exit status: {}", f.status));
        for l in f.stderr_tail.lines() {
            ui.warn(&format!("    | {l}"));
        }
    }
}
