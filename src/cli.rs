//! Command-line arguments and dispatch. No build logic lives here.
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args as ClapArgs, Parser, Subcommand};

use crate::config::ProviderChoice;
use crate::error::{Error, ExitCode};
use crate::ui::{Ui, Verbosity};

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
    /// Hypervisor provider [default: detected]
    #[arg(long, value_enum, global = true)]
    pub provider: Option<ProviderArg>,
    /// Render everything into the work dir and print every command; run nothing
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Rebuild even when the inputs are unchanged
    #[arg(long)]
    pub force: bool,
    /// With -e: upload the qcow2 to this clouds.yaml cloud
    #[arg(long, value_name = "CLOUD")]
    pub openstack: Option<String>,
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

/// `--provider` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ProviderArg {
    /// VirtualBox
    Virtualbox,
    /// Vagrant's libvirt provider
    Libvirt,
    /// Plain qemu
    Qemu,
}

impl From<ProviderArg> for ProviderChoice {
    fn from(p: ProviderArg) -> Self {
        match p {
            ProviderArg::Virtualbox => ProviderChoice::Virtualbox,
            ProviderArg::Libvirt => ProviderChoice::Libvirt,
            ProviderArg::Qemu => ProviderChoice::Qemu,
        }
    }
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
}

/// `vmbuild hub ...`
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  vmbuild hub show
  vmbuild hub set mem_limit 2G
  vmbuild hub set admin_users alice,bob
  vmbuild hub set authenticator_settings.allowed_organizations '[\"my-org\"]'
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
        /// New value (lists comma-separated; JSON for authenticator settings)
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
    let args = match Args::try_parse_from(args) {
        Ok(a) => a,
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
    let verbosity = if args.quiet {
        Verbosity::Quiet
    } else if args.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let ui = match Ui::new(verbosity, args.log.as_deref()) {
        Ok(ui) => Arc::new(ui),
        Err(e) => {
            eprintln!(
                "error: cannot open log file `{}`: {e}",
                args.log.as_deref().unwrap_or_else(|| "".as_ref()).display()
            );
            return ExitCode::Usage as i32;
        }
    };
    if let Err(e) = crate::interrupt::install() {
        ui.warn(&format!("cannot install signal handlers: {e}"));
    }
    match dispatch(&args, &ui) {
        Ok(()) => 0,
        Err(e) => {
            ui.error(&e.to_string());
            e.exit_code() as i32
        }
    }
}

fn dispatch(args: &Args, ui: &Arc<Ui>) -> Result<(), Error> {
    match &args.command {
        Some(Command::Config { action }) => crate::config::cli::run(action, args, ui),
        Some(Command::Provision(p)) => crate::recipe::cli::provision(p, args, ui),
        Some(Command::Upload(u)) => crate::cloud::cli::upload(u, args, ui),
        Some(Command::Hub(h)) => crate::appliance::hub::run(h, args, ui),
        None => crate::pipeline::run(args, ui),
    }
}
