//! Running commands on the guest: the one transport every remote command uses.
//!
//! [`RemoteCommand`] is built as data (program + arguments, escaped by
//! construction in [`escape`]); a [`Transport`] executes it. [`ssh`] is the
//! real russh transport; [`fake`] records commands for unit tests.
pub mod command;
pub mod escape;
pub mod fake;
pub mod known_hosts;
pub mod safe_write;
pub mod ssh;

mod error;

pub use command::RemoteCommand;
pub use error::RemoteError;

use std::future::Future;

/// What a remote command left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit status (a missing exit status is reported as an error, never as 0).
    pub status: u32,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    /// Whether the command exited 0.
    pub fn success(&self) -> bool {
        self.status == 0
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

/// Which stream a piece of a running command's output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Receives a running command's output as it arrives (progress display);
/// the whole output is still returned in [`ExecOutput`].
pub type OutputSink<'a> = &'a (dyn Fn(Stream, &[u8]) + Send + Sync);

fn discard(_: Stream, _: &[u8]) {}

/// A way to run commands and place files on one host.
///
/// Implementations must be usable concurrently (`&self`): the engine runs up
/// to 8 commands at once over one connection.
pub trait Transport: Send + Sync {
    /// Run `cmd` to completion; any exit status is returned (not an error).
    fn exec(
        &self,
        cmd: &RemoteCommand,
    ) -> impl Future<Output = Result<ExecOutput, RemoteError>> + Send {
        self.exec_streaming(cmd, &discard)
    }

    /// Like [`Transport::exec`], handing each piece of output to `sink` as
    /// it arrives. A command retried after a reconnect streams again.
    fn exec_streaming(
        &self,
        cmd: &RemoteCommand,
        sink: OutputSink<'_>,
    ) -> impl Future<Output = Result<ExecOutput, RemoteError>> + Send;

    /// Write `content` to `path` atomically (temp file + rename on the
    /// remote) with `mode`, as root when `sudo`.
    fn put(
        &self,
        content: &[u8],
        path: &str,
        mode: u32,
        sudo: bool,
    ) -> impl Future<Output = Result<(), RemoteError>> + Send;
}
