//! The VM lifecycle, below the stages: bring the project's VM up, find it
//! again in a later run, halt it, destroy it, hand its disk to `-e`; and the
//! SSH sessions to it ([`session`]).
//!
//! A project has at most one VM, made by one provider: Vagrant (VirtualBox or
//! libvirt) or vmbuild's own plain qemu. Which one exists is read from the
//! state on disk, so `-c`, `-e` and `vmbuild hub` act on the VM that is there
//! whatever this run's platform decision would be; only `-u` asks the
//! platform which provider makes a new one.
pub mod base_box;
pub mod export_prep;
pub mod qemu;
pub mod seal;
pub mod session;
pub mod vagrant;

use std::path::PathBuf;

pub use session::Endpoint;

use crate::context::Context;
use crate::error::Error;
use crate::platform::Provider;

/// The project's VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Machine {
    /// Run by Vagrant.
    Vagrant(vagrant::VagrantVm),
    /// Run by vmbuild with plain qemu.
    Qemu(qemu::QemuVm),
}

/// The project's VM, if one exists (read from the state on disk).
pub fn existing(ctx: &Context) -> Option<Machine> {
    let q = qemu::QemuVm::for_project(ctx);
    if q.exists() {
        return Some(Machine::Qemu(q));
    }
    vagrant::created_with(&vagrant::vagrant(ctx), &ctx.config.name)
        .map(|provider| Machine::Vagrant(vagrant::VagrantVm { provider }))
}

/// The VM `-u` brings up: the existing one, else a new one with the run's
/// provider. An existing VM of another provider is the user's to remove.
pub fn for_up(ctx: &Context) -> Result<Machine, Error> {
    let provider = ctx.platform()?.provider;
    if let Some(m) = existing(ctx) {
        if m.provider() != provider {
            return Err(Error::Usage(format!(
                "this project has a VM made with provider `{}`, but this run uses `{}`: \
                 remove it with `vmbuild -c`, or run with `--provider {}`",
                m.provider().as_str(),
                provider.as_str(),
                m.provider().as_str()
            )));
        }
        return Ok(m);
    }
    Ok(match provider {
        Provider::Qemu => Machine::Qemu(qemu::QemuVm::for_project(ctx)),
        p => Machine::Vagrant(vagrant::VagrantVm { provider: p }),
    })
}

/// The host folder of `-d DIR` (config `shared_data.host_dir`), checked to
/// be a directory; `None` for `none`.
pub fn shared_data_dir(ctx: &Context) -> Result<Option<PathBuf>, Error> {
    let s = &ctx.config.shared_data;
    if s.host_dir == "none" {
        return Ok(None);
    }
    let dir = ctx.project_dir.join(&s.host_dir);
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "shared data folder `{}` (flag -d, config `shared_data.host_dir`) is not a directory; create it, or pass `-d none`",
            dir.display()
        )));
    }
    Ok(Some(dir))
}

impl Machine {
    /// Who runs it.
    pub fn provider(&self) -> Provider {
        match self {
            Machine::Vagrant(v) => v.provider,
            Machine::Qemu(_) => Provider::Qemu,
        }
    }

    /// Create it if needed, boot it if halted, wait for SSH.
    pub fn up(&self, ctx: &Context) -> Result<Endpoint, Error> {
        match self {
            Machine::Vagrant(v) => v.up(ctx),
            Machine::Qemu(q) => q.up(ctx),
        }
    }

    /// Boot it if halted (it exists); wait for SSH.
    pub fn start(&self, ctx: &Context) -> Result<Endpoint, Error> {
        match self {
            Machine::Vagrant(v) => v.start(ctx),
            Machine::Qemu(q) => q.up(ctx),
        }
    }

    /// The SSH endpoint of the running VM.
    pub fn endpoint(&self, ctx: &Context) -> Result<Endpoint, Error> {
        match self {
            Machine::Vagrant(v) => v.endpoint(ctx),
            Machine::Qemu(q) => q.endpoint(ctx),
        }
    }

    /// Shut it down cleanly (ACPI).
    pub fn halt(&self, ctx: &Context) -> Result<(), Error> {
        match self {
            Machine::Vagrant(v) => v.halt(ctx),
            Machine::Qemu(q) => q.halt(ctx),
        }
    }

    /// Stop it and remove it with its disk.
    pub fn destroy(&self, ctx: &Context) -> Result<(), Error> {
        match self {
            Machine::Vagrant(v) => v.destroy(ctx),
            Machine::Qemu(q) => q.destroy(ctx),
        }
    }

    /// After an interruption of `-u`: leave no VM process running.
    pub fn stop_after_interrupt(&self, ctx: &Context) {
        match self {
            Machine::Vagrant(v) => v.destroy_after_interrupt(ctx),
            Machine::Qemu(q) => q.stop_after_interrupt(ctx),
        }
    }

    /// The run is done with the VM: it stays up after vmbuild exits.
    pub fn keep_running(&self, _ctx: &Context) {
        match self {
            Machine::Vagrant(v) => v.keep_running(),
            Machine::Qemu(q) => q.keep_running(),
        }
    }

    /// The system disk of the halted VM (what `-e` converts).
    pub fn disk(&self, ctx: &Context) -> Result<PathBuf, Error> {
        match self {
            Machine::Vagrant(v) => v.disk(ctx),
            Machine::Qemu(q) => Ok(q.disk()),
        }
    }

    /// A file in the VM's state, removed with the VM.
    pub fn state_file(&self, ctx: &Context, name: &str) -> PathBuf {
        match self {
            Machine::Vagrant(v) => v.state_file(ctx, name),
            Machine::Qemu(q) => q.dir().join(name),
        }
    }

    /// Whether the provider mounts the shared data folder itself (Vagrant's
    /// synced folders) rather than the recipes (9p from qemu's `-virtfs`).
    pub fn shares_data_itself(&self) -> bool {
        matches!(self, Machine::Vagrant(_))
    }
}
