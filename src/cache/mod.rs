//! The host-side package cache: Debian packages, PyPI files and npm
//! tarballs fetched once on this machine (at native speed) and served to
//! every guest, of this run and later ones.
//!
//! It reaches the guest the same way for every provider (plain qemu,
//! Vagrant+libvirt in a network namespace, VirtualBox NAT, `vmbuild
//! provision --host`): over the SSH connection provisioning already has, as
//! a remote port forward on the guest's 127.0.0.1 served inside this
//! process ([`server`]). No daemon runs, nothing listens on the host's
//! network, and only the configured Debian mirrors, PyPI and the npm
//! registry are fetched ([`route`]).
//!
//! The guest trusts nothing new: apt checks the mirror's signatures, pip/uv
//! the sha256 PyPI lists for every file, npm each tarball's integrity. The
//! guest's settings that point at the cache are transient ([`guest`]): put
//! in place around the engine run and removed after it, whatever happened.
//!
//! Use: [`Cache::open`], put [`Cache::forward`] into the `SshConfig`, run
//! the engine inside [`Cache::around`], print [`Cache::summary`] after the
//! recap.
pub mod guest;
pub mod http;
pub mod pypi;
pub mod route;
pub mod server;
pub mod stats;
pub mod store;
pub mod upstream;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::remote::Transport;
use crate::remote::ssh::RemoteForward;
use crate::ui::Ui;

/// The port asked for on the guest's loopback (another one is taken if it
/// is in use).
pub const GUEST_PORT: u16 = 38142;

/// What went wrong in the cache. None of these fails a build: the guest
/// then fetches from upstream itself, or the file's install fails visibly.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The cache could not be set up.
    #[error("package cache: {0}")]
    Setup(String),
    /// A file in the cache directory could not be written.
    #[error("package cache `{}`: {message}", path.display())]
    Store {
        /// The directory or file.
        path: PathBuf,
        /// What happened.
        message: String,
    },
    /// Upstream could not be reached or sent something wrong.
    #[error("package cache: fetching `{url}`: {message}")]
    Upstream {
        /// What was fetched.
        url: String,
        /// What happened.
        message: String,
    },
    /// A client in the guest sent something this cache does not speak.
    #[error("package cache: {0}")]
    Client(String),
}

/// The cache for one provisioning run.
#[derive(Debug)]
pub struct Cache {
    server: Option<Arc<server::Server>>,
    forward: Option<RemoteForward>,
    /// Whether `around` touches the guest at all (not in `--check` runs).
    settings: bool,
}

impl Cache {
    /// The cache `config` asks for. When it is off or cannot be set up
    /// (a warning says why), provisioning runs as it would without it.
    pub fn open(config: &Config, ui: &Ui) -> Cache {
        let off = Cache {
            server: None,
            forward: None,
            settings: true,
        };
        if !config.cache.enabled {
            return off;
        }
        let server = match Self::server(config) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                ui.warn(&format!("{e}; provisioning without it"));
                return off;
            }
        };
        let s = server.clone();
        let service: crate::remote::ssh::ForwardService = Arc::new(move |stream| {
            let s = s.clone();
            tokio::spawn(s.serve(stream));
        });
        Cache {
            forward: Some(RemoteForward::new(GUEST_PORT, service)),
            server: Some(server),
            settings: true,
        }
    }

    /// No cache and no guest settings at all: for runs that only look
    /// (`--check`), which must not change the guest even for a moment, and
    /// for the cleanup and seal before an export, which download nothing.
    pub fn none() -> Cache {
        Cache {
            server: None,
            forward: None,
            settings: false,
        }
    }

    fn server(config: &Config) -> Result<server::Server, CacheError> {
        let dir = dir(config)?;
        std::fs::create_dir_all(&dir).map_err(|e| CacheError::Store {
            path: dir.clone(),
            message: format!("cannot create: {e}"),
        })?;
        Ok(server::Server {
            store: store::Store::new(dir),
            client: upstream::client(config)?,
            stats: stats::Stats::default(),
            apt_hosts: guest::mirror_hosts([
                config.base.mirror.as_str(),
                config.base.security_mirror.as_str(),
            ]),
            problems: Default::default(),
            seen: Default::default(),
        })
    }

    /// The forward to put into the `SshConfig` (`None` when off).
    pub fn forward(&self) -> Option<RemoteForward> {
        self.forward.clone()
    }

    /// Run `work` (the engine) with the guest set up for the build: dpkg
    /// without fsync always, the cache when the forward is up. The settings
    /// are removed afterwards even when `work` failed; a failure to set up
    /// or remove them is a warning, never the run's result.
    pub async fn around<T: Transport, F: Future>(
        &self,
        t: &T,
        sudo: bool,
        ui: &Ui,
        work: F,
    ) -> F::Output {
        if !self.settings {
            return work.await;
        }
        let port = self.forward.as_ref().and_then(RemoteForward::bound_port);
        if self.forward.is_some() && port.is_none() {
            ui.warn("package cache: the SSH server refused the port forward; the guest fetches packages itself");
        }
        let mirrors = self
            .server
            .as_ref()
            .map(|s| s.apt_hosts.clone())
            .unwrap_or_default();
        let as_root = |c: crate::remote::RemoteCommand| if sudo { c.sudo() } else { c };
        if let Err(e) = run(t, as_root(guest::setup(port, &mirrors))).await {
            ui.warn(&format!("build-time guest settings not written: {e}"));
        }
        let out = work.await;
        if let Err(e) = run(t, as_root(guest::teardown())).await {
            ui.warn(&format!(
                "build-time guest settings not removed ({e}): remove {}, {} and {} by hand",
                guest::APT_CONF,
                guest::DPKG_CONF,
                guest::ENV_FILE
            ));
        }
        out
    }

    /// The line for after the recap (`None` when the cache was off), and
    /// any upstream problems it met.
    pub fn summary(&self) -> Option<String> {
        let s = self.server.as_ref()?;
        let mut line = format!("{} in {}", s.stats.summary(), s.store.root().display());
        let problems = s.problems.lock().unwrap_or_else(|e| e.into_inner());
        for p in problems.iter().take(5) {
            line.push_str(&format!("\n  {p}"));
        }
        Some(line)
    }

    /// (hits, misses) so far, for tests and benchmarks.
    pub fn totals(&self) -> (u64, u64) {
        self.server.as_ref().map_or((0, 0), |s| s.stats.totals())
    }
}

async fn run<T: Transport>(t: &T, cmd: crate::remote::RemoteCommand) -> Result<(), String> {
    match t.exec(&cmd).await {
        Ok(o) if o.success() => Ok(()),
        Ok(o) => Err(format!(
            "exit status {}: {}",
            o.status,
            o.stderr_str().trim()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// The cache directory: `cache.dir`, else `$XDG_CACHE_HOME/vmbuild`, else
/// `~/.cache/vmbuild`.
pub fn dir(config: &Config) -> Result<PathBuf, CacheError> {
    if let Some(d) = config.cache.dir.as_deref().filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return Ok(PathBuf::from(x).join("vmbuild"));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".cache/vmbuild")),
        None => Err(CacheError::Setup(
            "no cache directory: set `cache.dir`, XDG_CACHE_HOME or HOME".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::fake::FakeTransport;

    fn config(enabled: bool, dir: &std::path::Path) -> Config {
        let mut c: Config = toml::from_str(include_str!("../config/default.toml")).unwrap();
        c.cache.enabled = enabled;
        c.cache.dir = Some(dir.display().to_string());
        c
    }

    #[tokio::test]
    async fn settings_around_the_run_even_when_it_fails() {
        let d = tempfile::tempdir().unwrap();
        let t = FakeTransport::default();
        let cache = Cache::open(&config(true, d.path()), &Ui::silent());
        assert!(cache.forward().is_some());
        let out: Result<(), &str> = cache
            .around(&t, true, &Ui::silent(), async { Err("failed") })
            .await;
        assert_eq!(out, Err("failed"));
        let cmds = t.commands.lock().unwrap().clone();
        assert_eq!(cmds.len(), 2, "{cmds:?}");
        // no forward was bound (no SSH connection): dpkg only, no cache files
        assert!(
            cmds[0].starts_with("sudo ") && cmds[0].contains(guest::DPKG_CONF),
            "{}",
            cmds[0]
        );
        assert!(
            cmds[0].ends_with(&format!("{} '' {} ''", guest::APT_CONF, guest::ENV_FILE)),
            "{}",
            cmds[0]
        );
        assert!(cmds[1].contains("rm -f"), "{}", cmds[1]);
        assert_eq!(
            cache.summary().unwrap(),
            format!("cache: not used in {}", d.path().display())
        );
    }

    #[tokio::test]
    async fn disabled_and_check_runs() {
        let d = tempfile::tempdir().unwrap();
        let off = Cache::open(&config(false, d.path()), &Ui::silent());
        assert!(off.forward().is_none() && off.summary().is_none());
        let t = FakeTransport::default();
        off.around(&t, false, &Ui::silent(), async {}).await;
        assert_eq!(
            t.commands.lock().unwrap().len(),
            2,
            "dpkg settings still apply"
        );
        let t = FakeTransport::default();
        Cache::none()
            .around(&t, false, &Ui::silent(), async {})
            .await;
        assert!(
            t.commands.lock().unwrap().is_empty(),
            "--check touches nothing"
        );
    }

    #[test]
    fn directory() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(dir(&config(true, d.path())).unwrap(), d.path());
    }
}
