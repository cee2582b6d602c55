//! The one place external programs are started.
//!
//! Command lines are data ([`Cmd`]) built by pure functions in [`crate::tool`]
//! and the stages; a [`Runner`] executes them. [`SystemRunner`] is the real
//! one (with `--dry-run` support); [`FakeRunner`] replays canned outputs in tests.
mod cmd;
mod error;
mod fake;
pub mod guard;
mod system;

pub use cmd::Cmd;
pub use error::ProcessError;
pub use fake::FakeRunner;
pub use system::SystemRunner;

/// Which stream a line of child output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// What a finished program left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Exit code; `None` if killed by a signal.
    pub code: Option<i32>,
    /// Captured standard output (empty for streamed runs).
    pub stdout: Vec<u8>,
    /// Captured standard error (for streamed runs: the last lines only).
    pub stderr: Vec<u8>,
}

impl Output {
    /// Whether the program exited 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Standard output as text (lossy).
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error as text (lossy).
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Something that runs [`Cmd`]s.
pub trait Runner: Send + Sync {
    /// Run to completion capturing output; a non-zero exit is an error.
    fn run(&self, cmd: &Cmd) -> Result<Output, ProcessError> {
        let out = self.run_unchecked(cmd)?;
        if out.success() {
            Ok(out)
        } else {
            Err(ProcessError::failed(cmd, &out))
        }
    }

    /// Run to completion capturing output; any exit code is returned as is.
    fn run_unchecked(&self, cmd: &Cmd) -> Result<Output, ProcessError>;

    /// Run, handing each output line to `on_line` as it arrives (and to the
    /// log); a non-zero exit is an error carrying the stderr tail.
    fn stream(
        &self,
        cmd: &Cmd,
        on_line: &mut dyn FnMut(StreamKind, &str),
    ) -> Result<Output, ProcessError>;

    /// Whether commands are only printed, not run (`--dry-run`).
    fn is_dry_run(&self) -> bool {
        false
    }

    /// Start `cmd` in its own session, output appended to `log`, and return
    /// its pid without waiting. It is watched by the orphan [`guard`] until
    /// [`guard::forget`] is called for it.
    fn spawn_detached(&self, cmd: &Cmd, log: &std::path::Path) -> Result<u32, ProcessError>;
}
