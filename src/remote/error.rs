//! Transport errors.
use thiserror::Error;

impl RemoteError {
    /// Whether the user stopped the run (exit 130, not a failure).
    pub fn is_stopped(&self) -> bool {
        matches!(self, RemoteError::Stopped { .. })
    }
}

/// Something went wrong talking to the remote host.
#[derive(Debug, Error)]
pub enum RemoteError {
    /// Could not reach or log in to the host.
    #[error("cannot connect to {host}: {message}")]
    Connect {
        /// user@host:port.
        host: String,
        /// Why.
        message: String,
    },
    /// The TCP connection failed: the name does not resolve, nothing
    /// listens, no route, no answer.
    #[error("cannot reach {host}: {cause}")]
    Unreachable {
        /// user@host:port.
        host: String,
        /// Why, as the network said it.
        cause: String,
    },
    /// The user stopped the run (Ctrl-C) while a command ran; its remote
    /// processes were signalled.
    #[error("stopped by the user while `{command}` ran on {host} (its processes were signalled)")]
    Stopped {
        /// The host.
        host: String,
        /// The command (escaped, shortened).
        command: String,
    },
    /// The host presented a key different from the one we trusted before.
    #[error(
        "host key for {host} has changed (expected {expected}, got {actual}); refusing to connect. If the VM was rebuilt on purpose, remove its line from {known_hosts}"
    )]
    HostKeyChanged {
        /// host:port.
        host: String,
        /// Fingerprint on record.
        expected: String,
        /// Fingerprint presented.
        actual: String,
        /// The known_hosts file.
        known_hosts: String,
    },
    /// Authentication was refused.
    #[error("authentication as `{user}` on {host} was refused ({detail})")]
    Auth {
        /// The user.
        user: String,
        /// The host.
        host: String,
        /// Keys tried and the server's answer.
        detail: String,
    },
    /// A key file could not be read.
    #[error("cannot load SSH key `{path}`: {message}")]
    Key {
        /// The path.
        path: String,
        /// Why.
        message: String,
    },
    /// The channel closed without an exit status.
    #[error("`{command}`: the connection ended without an exit status")]
    NoExitStatus {
        /// The command (escaped, secrets masked by the caller).
        command: String,
    },
    /// The connection dropped and could not be re-established.
    #[error("connection to {host} lost: {message}")]
    Disconnected {
        /// The host.
        host: String,
        /// Why.
        message: String,
    },
    /// Uploading a file failed.
    #[error("upload to `{path}` failed: {message}")]
    Upload {
        /// Remote path.
        path: String,
        /// Why.
        message: String,
    },
    /// A protocol-level error from russh.
    #[error("ssh: {0}")]
    Ssh(String),
    /// Timed out.
    #[error("{what} timed out after {secs} s")]
    Timeout {
        /// What was being waited for.
        what: String,
        /// How long.
        secs: u64,
    },
    /// The host is not in known_hosts and the policy is strict.
    #[error(
        "host key for {host} ({actual}) is not in {known_hosts} and host key checking is strict; {hint}"
    )]
    HostKeyUnknown {
        /// host:port.
        host: String,
        /// Fingerprint presented.
        actual: String,
        /// The known_hosts file.
        known_hosts: String,
        /// How to add it.
        hint: String,
    },
    /// The remote command was killed by a signal (so it has no exit status).
    #[error("`{command}` was killed by signal {signal}")]
    Signaled {
        /// The command (escaped, shortened).
        command: String,
        /// Signal name, e.g. `KILL`.
        signal: String,
    },
    /// The connection dropped while a command ran that is not marked
    /// idempotent: it may have run partly, so it is not retried.
    #[error(
        "connection to {host} lost while `{command}` was running (it may have partly run; not retried): {message}"
    )]
    Interrupted {
        /// The host.
        host: String,
        /// The command (escaped, shortened).
        command: String,
        /// Why.
        message: String,
    },
}
