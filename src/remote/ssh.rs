//! The russh transport: one connection per host, up to 8 exec channels at once.
//!
//! **Host keys**: checked against a per-project known_hosts file
//! ([`super::known_hosts`]); [`HostKeyPolicy::TrustOnFirstUse`] records an
//! unknown host (for a VM this tool just built), [`HostKeyPolicy::Strict`]
//! refuses it; a changed key is always refused ([`RemoteError::HostKeyChanged`]).
//!
//! **First connection**: a host that never answered fails at once, naming
//! the cause (the name does not resolve, connection refused, no route, no
//! answer within 5 s), unless [`SshConfig::wait_for_host`] says to wait for
//! it (a VM that is still booting).
//!
//! **Retry rule** (a VM reboot is normal): when a connection that worked is
//! found dead, the transport reconnects with backoff (250 ms doubling to 5 s)
//! for at most [`SshConfig::retry_budget`]. A command is run again only when
//! - it surely did not start (the channel could not be opened or the exec
//!   request not sent), or
//! - it is marked [`RemoteCommand::idempotent`] (fact gathering, re-runnable
//!   apply steps, and every [`Transport::put`], which writes a temp file and
//!   renames it).
//!
//! Otherwise the caller gets [`RemoteError::Interrupted`]. A command that
//! ends without an exit status is an error ([`RemoteError::NoExitStatus`],
//! or [`RemoteError::Signaled`] when it was killed), never retried.
//!
//! **Stopping**: when [`SshConfig::stop`] turns true while a command runs
//! (Ctrl-C), its remote process group gets SIGINT, SIGTERM, SIGKILL two
//! seconds apart and the command ends with [`RemoteError::Stopped`].
//!
//! Private keys are loaded once and never logged; error messages carry the
//! command line shortened to ~200 characters (the caller masks secrets).
mod channel;
mod connect;
mod forward;
mod target;
mod tcp;
mod upload;

pub use forward::{ForwardService, ForwardedStream, RemoteForward};
pub use target::{Target, TargetError};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Semaphore};

use self::channel::Attempt;
use self::connect::{Conn, LoadedKey};
use super::{ExecOutput, OutputSink, RemoteCommand, RemoteError, Transport};

/// Exec channels open at once on one connection (OpenSSH allows 10).
pub const MAX_CHANNELS: usize = 8;

/// What to do with a host key that is not yet in known_hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Record it (for a VM this tool just built).
    TrustOnFirstUse,
    /// Refuse to connect.
    Strict,
}

/// Everything needed to reach one host.
#[derive(Debug, Clone)]
pub struct SshConfig {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// Private keys (OpenSSH, PKCS#1/PKCS#8 PEM; unencrypted), tried in order.
    pub key_paths: Vec<PathBuf>,
    /// The known_hosts file (usually `.vmbuild/known_hosts` in the project).
    pub known_hosts: PathBuf,
    /// Unknown host key handling.
    pub policy: HostKeyPolicy,
    /// Told about a key trusted on first use (to show its fingerprint).
    pub on_first_use: Option<super::known_hosts::OnFirstUse>,
    /// Limit for one connection attempt (TCP + key exchange + auth).
    pub connect_timeout: Duration,
    /// Keepalive interval; after 3 unanswered keepalives the connection is dead.
    pub keepalive: Duration,
    /// Total time spent reconnecting (to a host that answered before)
    /// before giving up.
    pub retry_budget: Duration,
    /// How long the first connection keeps trying while the host does not
    /// answer (zero: fail at once; a VM being booted wants a few minutes).
    pub wait_for_host: Duration,
    /// Polled while a command runs: true means the user asked to stop
    /// (default: Ctrl-C / SIGTERM, [`crate::interrupt::requested`]).
    pub stop: fn() -> bool,
    /// A port on the server's loopback forwarded to a service here (the
    /// package cache), requested on every connection; a refusal is not an
    /// error (see [`RemoteForward::bound_port`]).
    pub remote_forward: Option<RemoteForward>,
}

impl SshConfig {
    /// A config with defaults: known_hosts `.vmbuild/known_hosts` under
    /// `project_dir`, trust on first use, 15 s connect timeout, 15 s
    /// keepalive, 2 min retry budget once connected, no waiting for a host
    /// that never answered, stopped by Ctrl-C.
    pub fn new(target: &Target, key_paths: Vec<PathBuf>, project_dir: &std::path::Path) -> Self {
        SshConfig {
            host: target.host.clone(),
            port: target.port,
            user: target.user.clone(),
            key_paths,
            known_hosts: project_dir.join(".vmbuild/known_hosts"),
            policy: HostKeyPolicy::TrustOnFirstUse,
            on_first_use: None,
            connect_timeout: Duration::from_secs(15),
            keepalive: Duration::from_secs(15),
            retry_budget: Duration::from_secs(120),
            wait_for_host: Duration::ZERO,
            stop: crate::interrupt::requested,
            remote_forward: None,
        }
    }

    /// This config, waiting up to `budget` for a host that does not answer
    /// yet (a VM that is booting) before the first connection fails.
    pub fn waiting_for_host(mut self, budget: Duration) -> Self {
        self.wait_for_host = budget;
        self
    }

    /// `user@host:port` for messages.
    pub fn display_host(&self) -> String {
        Target {
            user: self.user.clone(),
            host: self.host.clone(),
            port: self.port,
        }
        .to_string()
    }
}

/// The live connection and a counter telling reconnects apart.
struct Live {
    generation: u64,
    conn: Arc<Conn>,
}

/// An SSH connection to one host implementing [`Transport`].
pub struct SshTransport {
    cfg: SshConfig,
    keys: Vec<LoadedKey>,
    live: Mutex<Option<Live>>,
    generations: std::sync::atomic::AtomicU64,
    channels: Semaphore,
}

impl std::fmt::Debug for SshTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // keys stay out of Debug on purpose
        f.debug_struct("SshTransport")
            .field("host", &self.cfg.display_host())
            .finish()
    }
}

impl SshTransport {
    /// Load the keys and connect (retrying while the host is unreachable,
    /// within `retry_budget`). Host key and authentication failures are final.
    pub async fn connect(cfg: SshConfig) -> Result<SshTransport, RemoteError> {
        let keys = connect::load_keys(&cfg.key_paths)?;
        let t = SshTransport {
            cfg,
            keys,
            live: Mutex::new(None),
            generations: Default::default(),
            channels: Semaphore::new(MAX_CHANNELS),
        };
        t.current().await?;
        Ok(t)
    }

    /// The configuration this transport was made with.
    pub fn config(&self) -> &SshConfig {
        &self.cfg
    }

    /// How many times a connection was (re)established.
    pub fn connections_made(&self) -> u64 {
        self.generations.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Close the connection politely (later calls reconnect).
    pub async fn disconnect(&self) {
        if let Some(live) = self.live.lock().await.take() {
            let _ = live
                .conn
                .disconnect(russh::Disconnect::ByApplication, "", "en")
                .await;
        }
    }

    /// The live connection, reconnecting (one caller at a time) if needed.
    async fn current(&self) -> Result<(u64, Arc<Conn>), RemoteError> {
        let mut live = self.live.lock().await;
        if let Some(l) = live.as_ref()
            && !l.conn.is_closed()
        {
            return Ok((l.generation, l.conn.clone()));
        }
        *live = None;
        let first = self.connections_made() == 0;
        let budget = if first {
            self.cfg.wait_for_host
        } else {
            self.cfg.retry_budget
        };
        let conn = Arc::new(self.connect_with_retry(budget, first).await?);
        let generation = self
            .generations
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        *live = Some(Live {
            generation,
            conn: conn.clone(),
        });
        Ok((generation, conn))
    }

    /// Forget connection `generation` if it is still the current one.
    async fn invalidate(&self, generation: u64) {
        let mut live = self.live.lock().await;
        if live.as_ref().is_some_and(|l| l.generation == generation) {
            *live = None;
        }
    }

    /// Connect, retrying transient failures within `budget`; a first
    /// connection that runs out reports the network's own cause.
    async fn connect_with_retry(&self, budget: Duration, first: bool) -> Result<Conn, RemoteError> {
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            match connect::connect_once(&self.cfg, &self.keys).await {
                Ok(c) => return Ok(c),
                Err(e) if !connect::is_transient(&e) => return Err(e),
                Err(e) if first && start.elapsed() + connect::backoff(attempt) > budget => {
                    return Err(e);
                }
                Err(e) => {
                    let delay = connect::backoff(attempt);
                    if start.elapsed() + delay > budget {
                        return Err(RemoteError::Disconnected {
                            host: self.cfg.display_host(),
                            message: format!(
                                "gave up reconnecting after {} s: {e}",
                                start.elapsed().as_secs()
                            ),
                        });
                    }
                    // a reboot can take a while: Ctrl-C must not wait it out
                    if (self.cfg.stop)() {
                        return Err(RemoteError::Stopped {
                            host: self.cfg.display_host(),
                            command: "(reconnecting)".into(),
                        });
                    }
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn exec_inner(
        &self,
        cmd: &RemoteCommand,
        sink: OutputSink<'_>,
    ) -> Result<ExecOutput, RemoteError> {
        let _permit = self
            .channels
            .acquire()
            .await
            .map_err(|_| RemoteError::Ssh("transport closed".into()))?;
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            let (generation, conn) = self.current().await?;
            let host = self.cfg.display_host();
            let message = match channel::run(&conn, cmd, sink, self.cfg.stop, &host).await {
                Ok(out) => return Ok(out),
                Err(Attempt::Failed(e)) => return Err(e),
                Err(Attempt::NotStarted(m)) => {
                    // a channel refused on a healthy connection is retried on it
                    if conn.is_closed() {
                        self.invalidate(generation).await;
                    }
                    m
                }
                Err(Attempt::Interrupted(message)) => {
                    self.invalidate(generation).await;
                    if !cmd.is_idempotent() {
                        return Err(RemoteError::Interrupted {
                            host: self.cfg.display_host(),
                            command: channel::short(cmd),
                            message,
                        });
                    }
                    message
                }
            };
            let delay = connect::backoff(attempt);
            if start.elapsed() + delay > self.cfg.retry_budget {
                return Err(RemoteError::Disconnected {
                    host: self.cfg.display_host(),
                    message: format!("`{}`: {message}", channel::short(cmd)),
                });
            }
            // the first reconnect is immediate; later ones back off
            if !conn.is_closed() || attempt > 0 {
                tokio::time::sleep(delay).await;
            }
            attempt += 1;
        }
    }
}

impl Transport for SshTransport {
    async fn exec_streaming(
        &self,
        cmd: &RemoteCommand,
        sink: OutputSink<'_>,
    ) -> Result<ExecOutput, RemoteError> {
        self.exec_inner(cmd, sink).await
    }

    async fn put(
        &self,
        content: &[u8],
        path: &str,
        mode: u32,
        sudo: bool,
    ) -> Result<(), RemoteError> {
        let cmd = upload::command(content, path, mode, sudo, &upload::random_tag());
        let out = self.exec(&cmd).await.map_err(|e| RemoteError::Upload {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        if out.success() {
            return Ok(());
        }
        let stderr = out.stderr_str();
        Err(RemoteError::Upload {
            path: path.to_owned(),
            message: format!("exit status {}: {}", out.status, stderr.trim()),
        })
    }
}
