//! Running a recipe over a transport with the user watching: one line per
//! resource, a progress bar on a terminal (used by `vmbuild provision`, `-u`
//! and `-e`'s cleanup and seal, through [`crate::machine::session`]).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::RecipeError;
use super::engine::{Engine, Progress, RunOptions};
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
    let mut opts = opts;
    opts.secrets = ui.secrets();
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
    let mut alive = Alive::default();
    let mut show = |p: &Progress| alive.show(ui, &bar, p);
    let report = Engine::new(t, opts, &mut print)
        .with_progress(&mut show)
        .run(recipe)
        .await;
    bar.finish_and_clear();
    let report = report?;
    if report.interrupted {
        ui.step("Recap");
        for l in report.recap() {
            ui.info(&l);
        }
        return Err(RecipeError::Interrupted(format!(
            "stopped on {} before every resource ran",
            report.host
        )));
    }
    Ok(report)
}

/// When a long-running resource last said it is alive in plain output.
#[derive(Default)]
struct Alive {
    label: String,
    last_line: Option<std::time::Duration>,
}

/// Plain progress lines (no terminal, and the `-l` log): the first after
/// this long, then one per [`ALIVE_EVERY`].
const ALIVE_FIRST: std::time::Duration = std::time::Duration::from_secs(10);
/// See [`ALIVE_FIRST`].
const ALIVE_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// Whether a plain "still running" line is due after `elapsed`, the last
/// one having been printed at `last`.
fn alive_line_due(last: Option<std::time::Duration>, elapsed: std::time::Duration) -> bool {
    match last {
        None => elapsed >= ALIVE_FIRST,
        Some(at) => elapsed >= at + ALIVE_EVERY,
    }
}

impl Alive {
    /// A spinner message on a terminal; periodic plain lines otherwise (and
    /// always in the log), so a 10-minute install is never silent.
    fn show(&mut self, ui: &Ui, bar: &ProgressBar, p: &Progress) {
        match p {
            Progress::Started { label, with } => {
                self.label = label.clone();
                self.last_line = None;
                if with.is_empty() {
                    ui.log(&format!("    running {label}"));
                } else {
                    let line = format!(
                        "running {label} with {} in one transaction",
                        with.join(", ")
                    );
                    bar.suspend(|| ui.info(&line));
                }
            }
            Progress::Running {
                label,
                elapsed,
                doing,
            } => {
                if *label != self.label {
                    self.label = label.clone();
                    self.last_line = None;
                }
                let secs = elapsed.as_secs();
                let text = format!(
                    "{label}: {}m{:02}s{}",
                    secs / 60,
                    secs % 60,
                    doing
                        .as_deref()
                        .map(|d| format!(", {d}"))
                        .unwrap_or_default()
                );
                bar.set_message(ui.mask(&text));
                if alive_line_due(self.last_line, *elapsed) {
                    self.last_line = Some(*elapsed);
                    let line = format!("still running {text}");
                    if bar.is_hidden() {
                        ui.info(&line);
                    } else {
                        ui.log(&format!("    {line}"));
                    }
                }
            }
        }
    }
}

fn progress(ui: &Ui, total: u64) -> ProgressBar {
    if !ui.is_terminal() || ui.verbosity() != Verbosity::Normal {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    // the spinner turns while a long resource runs, not only between them
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
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
#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn plain_progress_lines_after_10_s_then_every_30_s() {
        let s = Duration::from_secs;
        let mut last = None;
        let mut printed = Vec::new();
        for t in 1..=75 {
            if alive_line_due(last, s(t)) {
                last = Some(s(t));
                printed.push(t);
            }
        }
        assert_eq!(printed, [10, 40, 70]);
    }
}
