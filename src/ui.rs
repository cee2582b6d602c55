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
    secrets: crate::mask::Secrets,
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
pub const MASK: &str = crate::mask::MASK;

/// Open the `-l` log for appending. A new log is created 0600 (before the
/// umask): it records every command run. The last path component is never
/// followed when it is a symlink (`O_NOFOLLOW`), so a link planted where
/// the log will go cannot make vmbuild write elsewhere. An existing log is
/// appended to only when it is a regular file owned by the effective user.
pub fn open_log(path: &Path) -> std::io::Result<File> {
    use std::io::{Error, ErrorKind};
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        // O_NONBLOCK: opening a FIFO must not hang; it is refused below
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                Error::new(
                    ErrorKind::InvalidInput,
                    "it is a symbolic link; vmbuild does not follow links for its log, name the file itself",
                )
            } else {
                e
            }
        })?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "it is not a regular file",
        ));
    }
    // SAFETY: geteuid(2) cannot fail and has no side effects.
    let euid = unsafe { libc::geteuid() };
    if meta.uid() != euid {
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "it belongs to uid {}, not to this user (uid {euid}); vmbuild appends only to its own log",
                meta.uid()
            ),
        ));
    }
    Ok(file)
}

impl Ui {
    /// A Ui writing to stderr, and to `log_path` when given (see [`open_log`]).
    pub fn new(verbosity: Verbosity, log_path: Option<&Path>) -> std::io::Result<Ui> {
        let log = match log_path {
            Some(p) => Some(Mutex::new(open_log(p)?)),
            None => None,
        };
        Ok(Ui {
            verbosity,
            is_term: std::io::stderr().is_terminal(),
            log,
            secrets: crate::mask::Secrets::new(),
        })
    }

    /// A quiet Ui for tests and library use: prints nothing, logs nothing.
    pub fn silent() -> Ui {
        Ui {
            verbosity: Verbosity::Quiet,
            is_term: false,
            log: None,
            secrets: crate::mask::Secrets::new(),
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

    /// Register a secret: from now on it is masked in every line we print or
    /// log, whole, line by line and in its escaped forms ([`crate::mask`]).
    /// Empty and very short strings are ignored (masking "a" would garble output).
    pub fn add_secret(&self, secret: &str) {
        self.secrets.add(secret);
    }

    /// `text` with every registered secret replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        self.secrets.mask(text)
    }

    /// The registered secrets (shared: later additions show up).
    pub fn secrets(&self) -> crate::mask::Secrets {
        self.secrets.clone()
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
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use super::*;

    #[test]
    fn a_new_log_is_private_and_an_existing_one_is_appended_to() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.log");
        let ui = Ui::new(Verbosity::Quiet, Some(&path)).unwrap();
        ui.log("first");
        drop(ui);
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let ui = Ui::new(Verbosity::Quiet, Some(&path)).unwrap();
        ui.log("second");
        drop(ui);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("first\n") && text.ends_with("second\n"),
            "{text}"
        );
        assert_eq!(std::fs::metadata(&path).unwrap().ino(), meta.ino());
    }

    #[test]
    fn a_symlinked_log_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("victim");
        std::fs::write(&target, "precious\n").unwrap();
        let link = dir.path().join("run.log");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = open_log(&link).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
        // a dangling link is not followed to create its target either
        let dangling = dir.path().join("dangling.log");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(open_log(&dangling).is_err());
        assert!(!dir.path().join("nowhere").exists());
    }

    #[test]
    fn only_regular_files_are_logs() {
        let dir = tempfile::tempdir().unwrap();
        let e = open_log(dir.path()).unwrap_err();
        assert!(
            e.to_string().contains("Is a directory") || e.to_string().contains("regular"),
            "{e}"
        );
        let e = open_log(Path::new("/dev/null")).unwrap_err();
        assert_eq!(e.to_string(), "it is not a regular file");
    }

    #[test]
    fn a_log_owned_by_someone_else_is_refused() {
        // SAFETY: geteuid(2) cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("SKIPPED: needs root to give a file away");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.log");
        std::fs::write(&path, "theirs\n").unwrap();
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        let e = open_log(&path).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(e.to_string().contains("belongs to uid 65534"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "theirs\n");
    }

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
