//! What the user asked for, as plain data: the command line after parsing.
//!
//! `cli.rs` owns the clap types and converts them into a [`Request`] once;
//! everything below takes these plain values, so no module under the CLI
//! depends on clap or on how a flag is spelled.
use std::path::PathBuf;

use crate::config::ProviderChoice;
use crate::ui::Verbosity;

/// One run of vmbuild.
#[derive(Debug, Clone)]
pub struct Request {
    /// Options every action shares.
    pub global: Global,
    /// What to do.
    pub action: Action,
}

/// Options every action shares.
#[derive(Debug, Clone, Default)]
pub struct Global {
    /// `--config FILE` (else `./vmbuild.toml` when present).
    pub config_file: Option<PathBuf>,
    /// Flags that override configuration keys.
    pub overrides: ConfigOverrides,
    /// `-l FILE`: the full log.
    pub log: Option<PathBuf>,
    /// `-q` / `-v`.
    pub verbosity: Verbosity,
    /// `--dry-run`: print commands, run nothing.
    pub dry_run: bool,
}

/// Flags that set configuration keys (the top configuration layer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigOverrides {
    /// `--provider` → `provider`.
    pub provider: Option<ProviderChoice>,
    /// `-i` → `network.ip`.
    pub ip: Option<String>,
    /// `-d` → `shared_data.host_dir`.
    pub data_dir: Option<String>,
}

/// The action of a run.
#[derive(Debug, Clone)]
pub enum Action {
    /// Stage flags (`-c -r -p -u -e`).
    Stages(Stages),
    /// `vmbuild config …`.
    Config(ConfigCommand),
    /// `vmbuild provision …`.
    Provision(ProvisionRequest),
    /// `vmbuild upload …`.
    Upload(UploadRequest),
    /// `vmbuild hub …`.
    Hub(HubRequest),
    /// `vmbuild audit …`.
    Audit(AuditRequest),
}

/// `vmbuild audit IMAGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRequest {
    /// The image to inspect.
    pub image: PathBuf,
    /// `--json`: the findings as JSON on stdout.
    pub json: bool,
    /// `--report FILE`: also write them as JSON there.
    pub report: Option<PathBuf>,
    /// `--vagrant-box`: Vagrant's conventions are expected.
    pub vagrant_box: bool,
}

/// Which stages to run (always in the order clean, reset, packer, up, export).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stages {
    /// `-c`.
    pub clean: bool,
    /// `-r`.
    pub reset: bool,
    /// `-p`.
    pub packer: bool,
    /// `-u`.
    pub up: bool,
    /// `-e`.
    pub export: bool,
    /// `--force`: rebuild even on a cache hit.
    pub force: bool,
    /// `--openstack CLOUD`: upload the qcow2 after export.
    pub openstack: Option<String>,
    /// `--base-box`: export the unprovisioned base box (named as such).
    pub base_box: bool,
}

impl Stages {
    /// Whether any stage was asked for.
    pub fn any(&self) -> bool {
        self.clean || self.reset || self.packer || self.up || self.export
    }
}

/// `vmbuild config …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigCommand {
    /// Print the effective configuration.
    Show,
    /// Write a commented `vmbuild.toml`.
    Init {
        /// Where.
        path: PathBuf,
        /// Overwrite.
        force: bool,
    },
    /// Print the JSON schema.
    Schema,
}

/// An SSH target given on the command line (`--host`, `--key`, `--known-hosts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteHost {
    /// `USER@ADDR[:PORT]`, unparsed.
    pub host: String,
    /// Private key files to try.
    pub keys: Vec<PathBuf>,
    /// known_hosts file [default: `.vmbuild/known_hosts`].
    pub known_hosts: Option<PathBuf>,
    /// `--strict`: refuse a host key that is not in known_hosts.
    pub strict: bool,
}

/// `vmbuild provision …`.
#[derive(Debug, Clone)]
pub struct ProvisionRequest {
    /// The machine.
    pub remote: RemoteHost,
    /// Recipe files (empty: the project's or the built-in appliance).
    pub recipes: Vec<PathBuf>,
    /// `--check`.
    pub check: bool,
    /// `--diff`.
    pub diff: bool,
    /// `--tags`.
    pub tags: Vec<String>,
    /// `--keep-going`.
    pub keep_going: bool,
    /// `--report FILE`.
    pub report: Option<PathBuf>,
    /// `--var KEY=VALUE`.
    pub vars: Vec<String>,
}

/// `vmbuild upload …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRequest {
    /// The qcow2 (default: the last exported one).
    pub image: Option<PathBuf>,
    /// clouds.yaml cloud.
    pub cloud: Option<String>,
    /// Image name in Glance.
    pub name: Option<String>,
}

/// `vmbuild hub …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRequest {
    /// What to do.
    pub command: HubCommand,
    /// Another machine instead of the project's VM.
    pub remote: Option<RemoteHost>,
}

/// `vmbuild hub` actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubCommand {
    /// Print the settings.
    Show,
    /// Set a key.
    Set {
        /// Setting name.
        key: String,
        /// New value.
        value: String,
    },
    /// Back to the provisioned value.
    Unset {
        /// Setting name.
        key: String,
    },
    /// Restart the hub.
    Reload,
}
