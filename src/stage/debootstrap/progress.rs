//! Showing a long tool run as phases: a spinner with the current line on a
//! terminal, one timestamped line per phase otherwise (via [`Ui`]), and in
//! plain mode the latest detail every [`PLAIN_EVERY`] while a phase lasts,
//! so a CI log never goes quiet for minutes.
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

/// How often plain mode shows that a long phase is alive.
const PLAIN_EVERY: Duration = Duration::from_secs(30);

use crate::ui::{Ui, Verbosity};

/// Phase lines plus a live detail line.
pub(crate) struct PhaseDisplay {
    ui: Arc<Ui>,
    pb: ProgressBar,
    last: String,
    since: Instant,
    printed: Instant,
}

impl PhaseDisplay {
    /// A display labelled `label` (e.g. `packer`).
    pub(crate) fn new(ui: &Arc<Ui>, label: &str) -> Self {
        PhaseDisplay {
            ui: Arc::clone(ui),
            pb: ui.progress(label, None),
            last: String::new(),
            since: Instant::now(),
            printed: Instant::now(),
        }
    }

    /// Enter phase `text` (printed once, however often it is repeated).
    pub(crate) fn phase(&mut self, text: &str) {
        if text != self.last {
            self.last = text.to_owned();
            self.since = Instant::now();
            self.printed = Instant::now();
            let ui = &self.ui;
            self.pb.suspend(|| ui.info(text));
            self.pb.set_message(ui.mask(text));
        }
    }

    /// A detail line: the spinner shows it, `-v` prints it (the runner has
    /// already written it to the log).
    pub(crate) fn detail(&mut self, text: &str) {
        self.pb.set_message(self.ui.mask(text.trim()));
        if self.ui.verbosity() == Verbosity::Verbose {
            let ui = &self.ui;
            self.pb.suspend(|| ui.debug(text));
        } else if !self.ui.is_terminal() && self.printed.elapsed() >= PLAIN_EVERY {
            self.printed = Instant::now();
            self.ui.info(&format!(
                "{} ({} s): {}",
                self.last,
                self.since.elapsed().as_secs(),
                text.trim()
            ));
        }
    }

    /// Remove the spinner.
    pub(crate) fn finish(&self) {
        self.pb.finish_and_clear();
    }
}

impl Drop for PhaseDisplay {
    fn drop(&mut self) {
        self.pb.finish_and_clear();
    }
}

/// The phase a debootstrap line announces (`I: Retrieving libc6 2.36` →
/// `debootstrap: retrieving packages`), with its rank: the second stage
/// alternates unpacking and configuring, so callers only move forward.
pub(crate) fn debootstrap_phase(line: &str) -> Option<(u8, &'static str)> {
    let rest = line.strip_prefix("I: ")?;
    let word = rest.split_whitespace().next()?;
    Some(match word {
        "Retrieving" | "Checking" | "Validating" | "Found" | "Resolving" => {
            (0, "debootstrap: retrieving packages")
        }
        "Extracting" => (1, "debootstrap: extracting"),
        "Installing" | "Unpacking" => (2, "debootstrap: unpacking"),
        "Configuring" => (3, "debootstrap: configuring packages"),
        "Base" => (4, "debootstrap: done"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debootstrap_lines_map_to_few_phases() {
        assert_eq!(
            debootstrap_phase("I: Retrieving libc6 2.36-9"),
            Some((0, "debootstrap: retrieving packages"))
        );
        assert_eq!(
            debootstrap_phase("I: Configuring ca-certificates..."),
            Some((3, "debootstrap: configuring packages"))
        );
        assert_eq!(
            debootstrap_phase("I: Base system installed successfully."),
            Some((4, "debootstrap: done"))
        );
        assert_eq!(debootstrap_phase("W: something"), None);
    }
}
