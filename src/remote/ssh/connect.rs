//! Opening one authenticated russh connection: TCP, host key check against
//! the project's known_hosts, public-key authentication.
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, AuthResult, Handle};
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};

use super::{HostKeyPolicy, SshConfig};
use crate::remote::RemoteError;
use crate::remote::known_hosts::{self, Verdict};

/// A private key loaded from disk, with its path for messages. Deliberately
/// not `Debug`: key material must never reach a log.
#[derive(Clone)]
pub(crate) struct LoadedKey {
    pub(crate) path: PathBuf,
    pub(crate) key: Arc<PrivateKey>,
}

/// Load every key in `paths`; unreadable ones are skipped, but at least one
/// must load. Passphrase-protected keys are not supported (no prompt).
pub(crate) fn load_keys(paths: &[PathBuf]) -> Result<Vec<LoadedKey>, RemoteError> {
    let mut keys = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        match load_key(path) {
            Ok(key) => keys.push(LoadedKey {
                path: path.clone(),
                key: Arc::new(key),
            }),
            Err(message) => problems.push((path, message)),
        }
    }
    if keys.is_empty() {
        let (path, message) = match problems.into_iter().next() {
            Some((p, m)) => (p.display().to_string(), m),
            None => ("(none)".to_owned(), "no key paths configured".to_owned()),
        };
        return Err(RemoteError::Key { path, message });
    }
    Ok(keys)
}

fn load_key(path: &Path) -> Result<PrivateKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    // the error text of the decoder never contains key material
    russh::keys::decode_secret_key(&text, None).map_err(|e| match e {
        russh::keys::Error::KeyIsEncrypted => {
            "the key is passphrase-protected (not supported; use an unencrypted key)".to_owned()
        }
        other => format!("not a supported private key ({other})"),
    })
}

/// The russh callbacks: only the host key check matters. Its verdict is left
/// in `verdict` because russh turns a rejection into a generic error.
pub(crate) struct Client {
    host: String,
    port: u16,
    known_hosts: PathBuf,
    policy: HostKeyPolicy,
    on_first_use: Option<known_hosts::OnFirstUse>,
    verdict: Arc<Mutex<Option<RemoteError>>>,
    forward: Option<super::RemoteForward>,
}

impl Client {
    fn check(&self, key: &russh::keys::PublicKey) -> Result<(), RemoteError> {
        let text = match std::fs::read_to_string(&self.known_hosts) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(RemoteError::Connect {
                    host: self.host_port(),
                    message: format!("cannot read {}: {e}", self.known_hosts.display()),
                });
            }
        };
        let actual = known_hosts::fingerprint(key);
        match known_hosts::check(&known_hosts::parse(&text), &self.host, self.port, key) {
            Verdict::Known => Ok(()),
            Verdict::Changed { line, expected } => Err(RemoteError::HostKeyChanged {
                host: self.host_port(),
                expected,
                actual,
                known_hosts: format!("{}:{line}", self.known_hosts.display()),
            }),
            Verdict::Unknown => match self.policy {
                HostKeyPolicy::Strict => Err(RemoteError::HostKeyUnknown {
                    host: self.host_port(),
                    actual,
                    known_hosts: self.known_hosts.display().to_string(),
                    hint: known_hosts::how_to_add(&self.host, self.port, &self.known_hosts),
                }),
                HostKeyPolicy::TrustOnFirstUse => {
                    known_hosts::append(&self.known_hosts, &self.host, self.port, key).map_err(
                        |e| RemoteError::Connect {
                            host: self.host_port(),
                            message: format!("cannot write {}: {e}", self.known_hosts.display()),
                        },
                    )?;
                    if let Some(hook) = &self.on_first_use {
                        (hook.0)(&known_hosts::FirstUse::new(
                            &self.host,
                            self.port,
                            key,
                            &self.known_hosts,
                        ));
                    }
                    Ok(())
                }
            },
        }
    }

    fn host_port(&self) -> String {
        known_hosts::host_pattern(&self.host, self.port)
    }
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            PublicKeyOrCertificate::Certificate(cert) => {
                *self.verdict.lock().unwrap() = Some(RemoteError::Connect {
                    host: self.host_port(),
                    message: format!(
                        "cannot check a host certificate ({}); only plain host keys are supported",
                        cert.algorithm()
                    ),
                });
                return Ok(false);
            }
        };
        match self.check(key) {
            Ok(()) => Ok(true),
            Err(e) => {
                *self.verdict.lock().unwrap() = Some(e);
                Ok(false)
            }
        }
    }

    async fn server_channel_open_forwarded_tcpip(
        &mut self,
        channel: russh::Channel<client::Msg>,
        _connected_address: &str,
        _connected_port: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: client::ChannelOpenHandle,
        _session: &mut client::Session,
    ) -> Result<(), Self::Error> {
        // only the port this client asked for is ever opened towards it
        match &self.forward {
            Some(f) => {
                reply.accept().await;
                (f.service)(Box::new(channel.into_stream()));
            }
            None => {
                reply
                    .reject(russh::ChannelOpenFailure::AdministrativelyProhibited)
                    .await
            }
        }
        Ok(())
    }
}

/// AES-GCM first: with AES-NI (ring) it moves bulk data (uploads, large
/// outputs) several times faster than ChaCha20-Poly1305, russh's default.
const CIPHERS: &[russh::cipher::Name] = &[
    russh::cipher::AES_256_GCM,
    russh::cipher::AES_128_GCM,
    russh::cipher::CHACHA20_POLY1305,
    russh::cipher::AES_256_CTR,
    russh::cipher::AES_128_CTR,
];

/// An established, authenticated connection.
pub(crate) type Conn = Handle<Client>;

/// Whether a failed connection attempt is worth retrying (the host may be
/// booting) or final (wrong key, changed host key, …). Local problems are
/// reported as `Connect` errors whose message starts with "cannot ".
pub(crate) fn is_transient(e: &RemoteError) -> bool {
    matches!(
        e,
        RemoteError::Connect { .. }
            | RemoteError::Unreachable { .. }
            | RemoteError::Timeout { .. }
            | RemoteError::Disconnected { .. }
    ) && !matches!(e, RemoteError::Connect { message, .. } if message.starts_with("cannot "))
}

/// One attempt: connect, check the host key, authenticate (bounded by
/// `connect_timeout` as a whole).
pub(crate) async fn connect_once(cfg: &SshConfig, keys: &[LoadedKey]) -> Result<Conn, RemoteError> {
    let secs = cfg.connect_timeout.as_secs().max(1);
    match tokio::time::timeout(cfg.connect_timeout, connect_inner(cfg, keys)).await {
        Ok(r) => r,
        Err(_) => Err(RemoteError::Timeout {
            what: format!("connecting to {}", cfg.display_host()),
            secs,
        }),
    }
}

async fn connect_inner(cfg: &SshConfig, keys: &[LoadedKey]) -> Result<Conn, RemoteError> {
    let config = Arc::new(client::Config {
        preferred: russh::Preferred {
            cipher: std::borrow::Cow::Borrowed(CIPHERS),
            ..Default::default()
        },
        keepalive_interval: Some(cfg.keepalive),
        keepalive_max: 3,
        inactivity_timeout: None,
        nodelay: true,
        ..Default::default()
    });
    let verdict = Arc::new(Mutex::new(None));
    let handler = Client {
        host: cfg.host.clone(),
        port: cfg.port,
        known_hosts: cfg.known_hosts.clone(),
        policy: cfg.policy,
        on_first_use: cfg.on_first_use.clone(),
        verdict: verdict.clone(),
        forward: cfg.remote_forward.clone(),
    };
    let stream = super::tcp::connect(cfg).await?;
    let mut handle = match client::connect_stream(config, stream, handler).await {
        Ok(h) => h,
        Err(e) => {
            if let Some(v) = verdict.lock().unwrap().take() {
                return Err(v);
            }
            return Err(RemoteError::Connect {
                host: cfg.display_host(),
                message: e.to_string(),
            });
        }
    };
    authenticate(&mut handle, cfg, keys).await?;
    if let Some(f) = &cfg.remote_forward {
        request_forward(&handle, f).await;
    }
    Ok(handle)
}

/// Ask the server to listen for `f`: the port it had before (the guest
/// knows it), else the configured one, else any. A refusal leaves the
/// forward unbound rather than failing the connection.
async fn request_forward(handle: &Conn, f: &super::RemoteForward) {
    let mut bound = None;
    for port in [f.wanted(), 0] {
        // the server answers with the port it chose only when asked for 0
        if let Ok(p) = handle.tcpip_forward("127.0.0.1", u32::from(port)).await {
            bound = if port == 0 {
                u16::try_from(p).ok()
            } else {
                Some(port)
            };
            break;
        }
    }
    f.set_bound(bound);
}

async fn authenticate(
    handle: &mut Conn,
    cfg: &SshConfig,
    keys: &[LoadedKey],
) -> Result<(), RemoteError> {
    let ssh_err = |e: russh::Error| RemoteError::Connect {
        host: cfg.display_host(),
        message: format!("during authentication: {e}"),
    };
    let mut tried = Vec::new();
    for k in keys {
        let hash = if k.key.algorithm().is_rsa() {
            // rsa-sha2-512/256 where the server says so; else legacy ssh-rsa
            handle
                .best_supported_rsa_hash()
                .await
                .map_err(ssh_err)?
                .flatten()
        } else {
            None
        };
        let with_hash = PrivateKeyWithHashAlg::new(k.key.clone(), hash);
        match handle
            .authenticate_publickey(&cfg.user, with_hash)
            .await
            .map_err(ssh_err)?
        {
            AuthResult::Success => return Ok(()),
            AuthResult::Failure { .. } => {
                tried.push(format!(
                    "{} ({})",
                    k.path.display(),
                    k.key.algorithm().as_str()
                ));
            }
        }
    }
    Err(RemoteError::Auth {
        user: cfg.user.clone(),
        host: cfg.display_host(),
        detail: format!("keys tried: {}", tried.join(", ")),
    })
}

/// Delay before reconnect attempt `n` (0-based): 250 ms doubling, at most 5 s.
pub(crate) fn backoff(n: u32) -> Duration {
    Duration::from_millis(250u64.saturating_mul(1 << n.min(5))).min(Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let ms: Vec<u128> = (0..8).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(ms, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
    }

    #[test]
    fn only_network_failures_are_transient() {
        let c = |m: &str| RemoteError::Connect {
            host: "h".into(),
            message: m.into(),
        };
        assert!(is_transient(&c("Connection refused (os error 111)")));
        assert!(is_transient(&RemoteError::Unreachable {
            host: "h".into(),
            cause: "no route to host".into()
        }));
        assert!(!is_transient(&c("cannot write /x/known_hosts: denied")));
        assert!(!is_transient(&RemoteError::HostKeyChanged {
            host: "h".into(),
            expected: "a".into(),
            actual: "b".into(),
            known_hosts: "k".into()
        }));
        assert!(!is_transient(&RemoteError::Auth {
            user: "u".into(),
            host: "h".into(),
            detail: "d".into()
        }));
    }

    #[test]
    fn loads_openssh_and_pem_keys_and_reports_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "not a key").unwrap();
        let missing = dir.path().join("missing");
        let e = load_keys(&[bad.clone(), missing])
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("bad") && e.contains("not a supported private key"),
            "{e}"
        );
        let fixture = |n: &str| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/ssh")
                .join(n)
        };
        let keys = load_keys(&[bad, fixture("id_ed25519"), fixture("id_rsa_pem")]).unwrap();
        assert_eq!(keys.len(), 2);
        assert!(keys[1].key.algorithm().is_rsa());
        let e = load_keys(&[fixture("id_ed25519_encrypted")])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("passphrase-protected"), "{e}");
    }
}
