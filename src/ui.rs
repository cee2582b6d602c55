//! User-facing output: step lines, progress, the `-l` log file, secret masking.
//!
//! On a terminal long work shows indicatif progress; otherwise every line is a
//! plain line with a UTC timestamp, so CI logs read well. Everything printed or
//! logged passes through [`Ui::mask`], which replaces registered secrets.
use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How chatty the screen output is. The log file always gets everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: errors and warnings only.
    Quiet,
    /// Default: step lines and progress.
    #[default]
    Normal,
    /// `-v`: also every command run and tool output.
    Verbose,
}

/// The output sink shared by the whole run.
pub struct Ui {
    verbosity: Verbosity,
    is_term: bool,
    log: Option<Mutex<File>>,
    secrets: Mutex<Vec<String>>,
}

impl std::fmt::Debug for Ui {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ui")
            .field("verbosity", &self.verbosity)
            .field("is_term", &self.is_term)
            .finish()
    }
}

/// The replacement text for a masked secret.
pub const MASK: &str = "********";

impl Ui {
    /// A Ui writing to stderr, and to `log_path` (appended) when given.
    pub fn new(verbosity: Verbosity, log_path: Option<&Path>) -> std::io::Result<Ui> {
        let log = match log_path {
            Some(p) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            )),
            None => None,
        };
        Ok(Ui {
            verbosity,
            is_term: std::io::stderr().is_terminal(),
            log,
            secrets: Mutex::new(Vec::new()),
        })
    }

    /// A quiet Ui for tests and library use: prints nothing, logs nothing.
    pub fn silent() -> Ui {
        Ui {
            verbosity: Verbosity::Quiet,
            is_term: false,
            log: None,
            secrets: Mutex::new(Vec::new()),
        }
    }

    /// The screen verbosity.
    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// Whether stderr is a terminal (progress bars) or not (timestamped lines).
    pub fn is_terminal(&self) -> bool {
        self.is_term
    }

    /// Register a secret: from now on it is masked in every line we print or log.
    /// Empty and very short strings are ignored (masking "a" would garble output).
    pub fn add_secret(&self, secret: &str) {
        if secret.len() >= 4 {
            let mut s = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
            if !s.iter().any(|x| x == secret) {
                s.push(secret.to_owned());
                // longest first, so a secret containing another is masked whole
                s.sort_by_key(|x| std::cmp::Reverse(x.len()));
            }
        }
    }

    /// `text` with every registered secret replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        let s = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_owned();
        for secret in s.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }

    fn stamp() -> String {
        let now = time::OffsetDateTime::now_utc();
        now.format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default()
    }

    fn emit(&self, min: Verbosity, line: &str) {
        let line = self.mask(line);
        self.log_masked(&line);
        if self.verbosity >= min {
            let mut err = std::io::stderr().lock();
            let _ = if self.is_term {
                writeln!(err, "{line}")
            } else {
                writeln!(err, "{} {line}", Self::stamp())
            };
        }
    }

    fn log_masked(&self, line: &str) {
        if let Some(log) = &self.log {
            let mut f = log.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(f, "{} {line}", Self::stamp());
        }
    }

    /// A stage or phase heading: `==> Building base box`.
    pub fn step(&self, msg: &str) {
        self.emit(Verbosity::Normal, &format!("==> {msg}"));
    }

    /// An ordinary progress line.
    pub fn info(&self, msg: &str) {
        self.emit(Verbosity::Normal, &format!("    {msg}"));
    }

    /// A warning: shown even with `-q`.
    pub fn warn(&self, msg: &str) {
        self.emit(Verbosity::Quiet, &format!("warning: {msg}"));
    }

    /// Detail shown with `-v` only (always logged).
    pub fn debug(&self, msg: &str) {
        self.emit(Verbosity::Verbose, &format!("    {msg}"));
    }

    /// A line that goes to the log file only (tool output at normal verbosity).
    pub fn log(&self, msg: &str) {
        self.log_masked(&self.mask(msg));
    }

    /// An error report, always shown.
    pub fn error(&self, msg: &str) {
        let line = self.mask(&format!("error: {msg}"));
        self.log_masked(&line);
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    /// A progress indicator: a bar (with `total`) or spinner on a terminal at
    /// normal verbosity, hidden otherwise (callers then print plain lines).
    pub fn progress(&self, label: &str, total: Option<u64>) -> ProgressBar {
        if !self.is_term || self.verbosity != Verbosity::Normal {
            return ProgressBar::hidden();
        }
        let pb = match total {
            Some(n) => {
                let pb = ProgressBar::new(n);
                pb.set_style(
                    ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                pb
            }
            None => {
                let pb = ProgressBar::new_spinner();
                pb.set_style(
                    ProgressStyle::with_template("{spinner} {prefix} [{elapsed}] {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                pb.enable_steady_tick(Duration::from_millis(120));
                pb
            }
        };
        pb.set_draw_target(ProgressDrawTarget::stderr());
        pb.set_prefix(label.to_owned());
        pb
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_longest_first() {
        let ui = Ui::silent();
        ui.add_secret("hunter2");
        ui.add_secret("hunter2-extended");
        ui.add_secret("ab"); // too short to mask
        assert_eq!(
            ui.mask("pw=hunter2-extended or hunter2 ab"),
            "pw=******** or ******** ab"
        );
    }
}
