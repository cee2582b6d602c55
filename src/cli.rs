//! Command-line arguments: clap's types, converted once into a plain
//! [`Request`] by [`Args::into_request`]. Nothing below this module sees clap.
use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand};

use crate::config::ProviderChoice;
use crate::error::ExitCode;
use crate::request::{
    Action, AuditRequest, ConfigCommand, ConfigOverrides, Global, HubCommand, HubRequest,
    ProvisionRequest, RemoteHost, Request, Stages, UploadRequest,
};
use crate::ui::Verbosity;

const EXAMPLES: &str = "\
Examples:
  vmbuild -pue                      build the base box, provision it, export it
  vmbuild -p --dry-run              show the rendered templates and commands, run nothing
  vmbuild -u -i 192.168.56.10 -d ~/course-data
  vmbuild -e --openstack mycloud    export and upload the qcow2 to Glance
  vmbuild -c                        halt and destroy the VM, remove work dirs
  vmbuild config init               write a commented vmbuild.toml
  vmbuild provision --host root@127.0.0.1:2222 --key id_ed25519 recipes/base.toml --check
  vmbuild provision --host debian@203.0.113.7      the appliance recipes, on any Debian 12 machine
  vmbuild hub set mem_limit 2G      change the running hub's settings

  vmbuild config show --provider qemu   print the effective configuration
  VMBUILD_VM__CPUS=4 vmbuild -p     override vm.cpus from the environment

Stages always run in the order c, p, u, e, whatever order the flags are typed.
Configuration layers: embedded default < vmbuild.toml (or --config FILE) <
VMBUILD_* variables (double underscore nests: VMBUILD_HUB__ADMIN_PASSWORD) < flags.
Exit codes: 0 done, 1 a build step failed, 2 bad input (flags, config, recipe), 130 interrupted.";

/// vmbuild: build a multi-user JupyterHub appliance VM (Vagrant box, OVA, qcow2).
#[derive(Debug, Parser)]
#[command(name = "vmbuild", version, about, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct Args {
    /// Build the base box with Packer
    #[arg(short = 'p')]
    pub packer: bool,
    /// Bring the VM up with Vagrant and provision it
    #[arg(short = 'u')]
    pub up: bool,
    /// Export: Vagrant box, OVA, compressed qcow2 (and upload with --openstack)
    #[arg(short = 'e')]
    pub export: bool,
    /// Clean: halt and destroy the VM, remove work directories
    #[arg(short = 'c')]
    pub clean: bool,
    /// Reset Vagrant state (.vagrant)
    #[arg(short = 'r')]
    pub reset: bool,
    /// Static IP of the VM's private network, or `dhcp`
    #[arg(short = 'i', value_name = "IP|dhcp", global = true, value_parser = crate::config::check_ip)]
    pub ip: Option<String>,
    /// Host directory shared at /srv/data, or `none` to copy bundled data in
    #[arg(short = 'd', value_name = "DIR|none", global = true, value_parser = crate::config::check_data_dir)]
    pub data_dir: Option<String>,
    /// Write the full log (all tool output) to this file
    #[arg(short = 'l', value_name = "LOGFILE", global = true)]
    pub log: Option<PathBuf>,
    /// Configuration file [default: ./vmbuild.toml if present]
    #[arg(long, value_name = "FILE", global = true, env = "VMBUILD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Hypervisor provider: auto, virtualbox, libvirt or qemu [default: auto, detected]
    #[arg(long, global = true, value_name = "PROVIDER",
          value_parser = clap::builder::PossibleValuesParser::new(ProviderChoice::NAMES))]
    pub provider: Option<String>,
    /// Render everything into the work dir and print every command; run nothing
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Rebuild even when the inputs are unchanged
    #[arg(long)]
    pub force: bool,
    /// With -e: upload the qcow2 to this clouds.yaml cloud
    #[arg(long, value_name = "CLOUD")]
    pub openstack: Option<String>,
    /// With -e: export the unprovisioned base box (files named `<name>-base.*`)
    #[arg(long)]
    pub base_box: bool,
    /// More output (every command and tool line)
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Only warnings and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// A subcommand instead of stage flags
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show, create or describe the configuration
    Config {
        /// What to do
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Run recipes against a host over SSH (the engine the -u stage uses)
    Provision(ProvisionArgs),
    /// Upload a qcow2 image to OpenStack Glance
    Upload(UploadArgs),
    /// Show or change the running hub's settings (tljh-config on the VM)
    Hub(HubArgs),
    /// Inspect an image offline for what must not ship (keys, passwords, secrets, caches)
    Audit(AuditArgs),
}

/// `vmbuild audit ...`
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  vmbuild audit builds/jupyterhub-appliance.ova
  vmbuild audit builds/jupyterhub-appliance.qcow2 --report audit.json
  vmbuild audit --json builds/jupyterhub-appliance-libvirt.box

Reads qcow2, VMDK, raw disks, OVA and Vagrant boxes (tar or tar.gz) offline
and read-only (needs root: it mounts the image read-only in a private mount
namespace, through qemu-storage-daemon). Exit codes: 0 clean, 1 findings (or
the audit failed), 2 not an image it can read, 130 interrupted.")]
pub struct AuditArgs {
    /// The image to inspect
    #[arg(value_name = "IMAGE")]
    pub image: PathBuf,
    /// Print the findings as JSON on stdout instead of lines
    #[arg(long)]
    pub json: bool,
    /// Also write the findings as JSON to this file
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Accept Vagrant's conventions (insecure key and NOPASSWD for `vagrant`)
    #[arg(long)]
    pub vagrant_box: bool,
}

/// `vmbuild hub ...`
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  vmbuild hub show
  vmbuild hub set mem_limit 2G
  vmbuild hub set admin_users alice,bob
  vmbuild hub set authenticator_settings.allowed_organizations '[\"my-org\"]'
  vmbuild hub set authenticator_settings.client_secret - < secret.txt
  vmbuild hub unset mem_limit
  vmbuild hub --host debian@203.0.113.7 --key ~/.ssh/id_ed25519 show

Keys: admin_users, authenticator, mem_limit, cpu_limit, idle_timeout_secs,
start_timeout_secs, allow_all, default_url, authenticator_settings.<name>.
Changes are validated on the VM, kept in /opt/tljh/config/local.json (they
survive re-provisioning) and the hub restarts; user servers keep running.")]
pub struct HubArgs {
    /// What to do
    #[command(subcommand)]
    pub action: HubAction,
    /// Another machine, as USER@ADDR[:PORT] [default: this project's Vagrant VM]
    #[arg(long, value_name = "USER@ADDR[:PORT]")]
    pub host: Option<String>,
    /// Private key for --host
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// known_hosts file for --host [default: .vmbuild/known_hosts]
    #[arg(long, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,
    /// Refuse a --host key that is not in known_hosts (default: trust it on first use and show its fingerprint)
    #[arg(long)]
    pub strict: bool,
}

/// `vmbuild hub` actions.
#[derive(Debug, Clone, Subcommand)]
pub enum HubAction {
    /// Print the hub's settings (secrets masked)
    Show,
    /// Set KEY to VALUE, then restart the hub
    Set {
        /// Setting name
        key: String,
        /// New value (lists comma-separated; JSON for authenticator settings);
        /// `-` reads it from standard input (for secrets: not in argv or history)
        value: String,
    },
    /// Back to the provisioned value, then restart the hub
    Unset {
        /// Setting name
        key: String,
    },
    /// Restart the hub with the current settings
    Reload,
}

/// `vmbuild config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the effective configuration (secrets masked)
    Show,
    /// Write a commented vmbuild.toml with the defaults
    Init {
        /// Where to write it
        #[arg(default_value = "vmbuild.toml")]
        path: PathBuf,
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
    },
    /// Print a JSON schema of vmbuild.toml for editors
    Schema,
}

/// `vmbuild provision ...`
#[derive(Debug, ClapArgs)]
pub struct ProvisionArgs {
    /// Target as USER@ADDR[:PORT]
    #[arg(long, value_name = "USER@ADDR[:PORT]")]
    pub host: String,
    /// Private key file [default: ~/.ssh/id_ed25519, then id_rsa]
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// known_hosts file for this project [default: .vmbuild/known_hosts]
    #[arg(long, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,
    /// Refuse a host key that is not in known_hosts (default: trust it on first use and show its fingerprint)
    #[arg(long)]
    pub strict: bool,
    /// Recipe files [default: the project's recipes/*.toml, else the built-in appliance]
    #[arg(value_name = "RECIPE")]
    pub recipes: Vec<PathBuf>,
    /// Report what would change; change nothing
    #[arg(long)]
    pub check: bool,
    /// Show file diffs (secrets masked)
    #[arg(long)]
    pub diff: bool,
    /// Only resources with one of these tags
    #[arg(long, value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Go on after a failed resource
    #[arg(long)]
    pub keep_going: bool,
    /// Write a JSON report here
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Set a recipe variable (repeatable)
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
}

/// `vmbuild upload ...`
#[derive(Debug, ClapArgs)]
pub struct UploadArgs {
    /// The qcow2 image to upload [default: the last exported one in builds/]
    pub image: Option<PathBuf>,
    /// clouds.yaml cloud name [default: $OS_CLOUD or the config's openstack.cloud]
    #[arg(long)]
    pub cloud: Option<String>,
    /// Image name in Glance
    #[arg(long)]
    pub name: Option<String>,
}

/// Parse `args`, run, and return the exit code.
pub fn main<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let request = match Args::try_parse_from(args) {
        Ok(a) => a.into_request(),
        Err(e) => {
            let code = if e.use_stderr() {
                ExitCode::Usage as i32
            } else {
                0
            };
            let _ = e.print();
            return code;
        }
    };
    crate::run_request(request)
}

impl Args {
    /// The plain run description: the only place clap's types are read.
    pub fn into_request(self) -> Request {
        let verbosity = if self.quiet {
            Verbosity::Quiet
        } else if self.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        };
        let global = Global {
            config_file: self.config,
            overrides: ConfigOverrides {
                provider: self.provider.as_deref().and_then(ProviderChoice::from_name),
                ip: self.ip,
                data_dir: self.data_dir,
            },
            log: self.log,
            verbosity,
            dry_run: self.dry_run,
        };
        let action = match self.command {
            None => Action::Stages(Stages {
                clean: self.clean,
                reset: self.reset,
                packer: self.packer,
                up: self.up,
                export: self.export,
                force: self.force,
                openstack: self.openstack,
                base_box: self.base_box,
            }),
            Some(Command::Config { action }) => Action::Config(match action {
                ConfigAction::Show => ConfigCommand::Show,
                ConfigAction::Init { path, force } => ConfigCommand::Init { path, force },
                ConfigAction::Schema => ConfigCommand::Schema,
            }),
            Some(Command::Provision(p)) => Action::Provision(ProvisionRequest {
                remote: RemoteHost {
                    host: p.host,
                    keys: p.key.into_iter().collect(),
                    known_hosts: p.known_hosts,
                    strict: p.strict,
                },
                recipes: p.recipes,
                check: p.check,
                diff: p.diff,
                tags: p.tags,
                keep_going: p.keep_going,
                report: p.report,
                vars: p.vars,
            }),
            Some(Command::Upload(u)) => Action::Upload(UploadRequest {
                image: u.image,
                cloud: u.cloud,
                name: u.name,
            }),
            Some(Command::Hub(h)) => Action::Hub(HubRequest {
                command: match h.action {
                    HubAction::Show => HubCommand::Show,
                    HubAction::Set { key, value } => HubCommand::Set { key, value },
                    HubAction::Unset { key } => HubCommand::Unset { key },
                    HubAction::Reload => HubCommand::Reload,
                },
                remote: h.host.map(|host| RemoteHost {
                    host,
                    keys: h.key.into_iter().collect(),
                    known_hosts: h.known_hosts,
                    strict: h.strict,
                }),
            }),
            Some(Command::Audit(a)) => Action::Audit(AuditRequest {
                image: a.image,
                json: a.json,
                report: a.report,
                vagrant_box: a.vagrant_box,
            }),
        };
        Request { global, action }
    }
}
