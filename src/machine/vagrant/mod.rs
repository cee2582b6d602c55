//! A VM run by Vagrant (VirtualBox or libvirt).
//!
//! The Vagrant dir is `<work_dir>/vagrant/`: the rendered Vagrantfile and
//! Vagrant's `.vagrant` state. The base box from `builds/` is registered as
//! `vmbuild/<name>`; `vagrant up --no-provision` boots it, and vmbuild's own
//! recipe engine reaches it at the SSH endpoint `vagrant ssh-config` reports.
pub mod box_add;
pub mod libvirt;
pub mod package;
mod vagrantfile;

use std::path::PathBuf;
use std::sync::Mutex;

pub use vagrantfile::{static_ip, vagrantfile_input, write_vagrantfile};

use super::session::Endpoint;
use crate::context::Context;
use crate::error::Error;
use crate::platform::Provider;
use crate::process::{Cmd, StreamKind};
use crate::remote::ssh::Target;
use crate::tool::vagrant::{SshConfig, Vagrant, VagrantError, machine_readable, ssh_config};

/// Seconds Vagrant waits for SSH after booting (software emulation is slow).
pub const BOOT_TIMEOUT_SECS: u32 = 900;

/// The project's Vagrant directory.
pub fn vagrant_dir(ctx: &Context) -> PathBuf {
    ctx.work_dir().join("vagrant")
}

/// Vagrant commands for this project.
pub fn vagrant(ctx: &Context) -> Vagrant {
    Vagrant::new(&vagrant_dir(ctx))
}

/// The provider of the VM Vagrant's state records for `machine` (an `id`
/// file under `.vagrant/machines/<machine>/<provider>/`), if any.
pub fn created_with(v: &Vagrant, machine: &str) -> Option<Provider> {
    std::fs::read_dir(v.state_dir().join("machines").join(machine))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("id").is_file())
        .find_map(|e| match e.file_name().to_str() {
            Some("libvirt") => Some(Provider::Libvirt),
            Some("virtualbox") => Some(Provider::Virtualbox),
            _ => None,
        })
}

/// The clean-up the orphan guard runs if vmbuild dies while Vagrant boots
/// or uses the VM: `vagrant destroy -f` for a VM this run creates, `vagrant
/// halt -f` for one it boots ([`crate::process::guard`]).
static ARMED: Mutex<Option<crate::process::guard::Cleanup>> = Mutex::new(None);

fn arm(ctx: &Context, v: &Vagrant) {
    if ctx.runner.is_dry_run() {
        return;
    }
    let verb = if created_with(v, &ctx.config.name).is_some() {
        "halt"
    } else {
        "destroy"
    };
    let argv = vec![
        "env".to_owned(),
        format!("VAGRANT_CWD={}", v.dir().display()),
        "vagrant".to_owned(),
        verb.to_owned(),
        "-f".to_owned(),
    ];
    let c = crate::process::guard::on_exit(&argv);
    if let Some(old) = ARMED.lock().unwrap_or_else(|e| e.into_inner()).replace(c) {
        old.disarm();
    }
}

fn disarm() {
    if let Some(c) = ARMED.lock().unwrap_or_else(|e| e.into_inner()).take() {
        c.disarm();
    }
}

/// A project's Vagrant VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VagrantVm {
    /// Vagrant's provider for it.
    pub provider: Provider,
}

impl VagrantVm {
    /// Register the base box if it changed, render the Vagrantfile and
    /// `vagrant up` (creates or boots the VM); its SSH endpoint.
    pub fn up(&self, ctx: &Context) -> Result<Endpoint, Error> {
        let box_file = super::base_box::file(ctx, self.provider)?;
        let v = vagrant(ctx);
        write_vagrantfile(ctx, self.provider, v.dir())?;
        box_add::add(
            ctx,
            &v,
            self.provider,
            &super::base_box::BoxStamp::of(&box_file)?,
        )?;
        arm(ctx, &v);
        stream_vagrant(ctx, &v.up(self.provider.as_str()), "vagrant up")?;
        self.endpoint(ctx)
    }

    /// The run is done with the VM: it stays up after vmbuild exits.
    pub fn keep_running(&self) {
        disarm();
    }

    /// Boot the VM if it is halted (Vagrant returns at once for a running
    /// one); its SSH endpoint.
    pub fn start(&self, ctx: &Context) -> Result<Endpoint, Error> {
        let v = vagrant(ctx);
        arm(ctx, &v);
        stream_vagrant(ctx, &v.up(self.provider.as_str()), "vagrant up")?;
        self.endpoint(ctx)
    }

    /// The running VM's SSH endpoint (`vagrant ssh-config`).
    pub fn endpoint(&self, ctx: &Context) -> Result<Endpoint, Error> {
        let v = vagrant(ctx);
        if ctx.runner.is_dry_run() {
            return Ok(Endpoint {
                target: Target {
                    user: "vagrant".into(),
                    host: "127.0.0.1".into(),
                    port: 22,
                },
                keys: Vec::new(),
                known_hosts: known_hosts(&v),
                http_port: None,
                https_port: None,
            });
        }
        let ssh = read_ssh_config(ctx, &v)?;
        let port = |p: u16| (p != 0).then_some(p);
        Ok(Endpoint {
            target: Target {
                user: ssh.user.clone(),
                host: ssh.host_name.clone(),
                port: ssh.port,
            },
            keys: ssh.identity_files.clone(),
            known_hosts: known_hosts(&v),
            // the forwarded port is the guest's 443 (http there redirects)
            http_port: None,
            https_port: port(ctx.config.network.forward_http_port),
        })
    }

    /// `vagrant halt`.
    pub fn halt(&self, ctx: &Context) -> Result<(), Error> {
        stream_vagrant(ctx, &vagrant(ctx).halt(), "vagrant halt")?;
        disarm();
        Ok(())
    }

    /// `vagrant destroy -f`. Destroy powers the VM off itself; a graceful
    /// halt first would only cost time for a disk that is thrown away.
    pub fn destroy(&self, ctx: &Context) -> Result<(), Error> {
        let v = vagrant(ctx);
        if !v.dir().join("Vagrantfile").exists() {
            return Err(crate::stage::StageError::Precondition(format!(
                "`{}` has Vagrant state but no Vagrantfile; remove the VM by hand (e.g. `virsh destroy` / `undefine`) and run `vmbuild -r`",
                v.dir().display()
            ))
            .into());
        }
        ctx.ui.info("destroying the VM (vagrant destroy -f)");
        stream_vagrant(ctx, &v.destroy(), "vagrant destroy")?;
        disarm();
        Ok(())
    }

    /// After Ctrl-C: destroy the VM so that nothing is left running.
    pub fn destroy_after_interrupt(&self, ctx: &Context) {
        let v = vagrant(ctx);
        if created_with(&v, &ctx.config.name).is_none() {
            return;
        }
        ctx.ui
            .warn("interrupted: destroying the VM (vagrant destroy -f)");
        match ctx.runner.run(&v.destroy().cleanup()) {
            Ok(_) => disarm(),
            Err(e) => ctx.ui.error(&format!(
                "could not destroy the VM after the interruption; run `vmbuild -c`: {e}"
            )),
        }
    }

    /// The system disk of the (halted) VM: libvirt's domain disk, a qcow2
    /// whose backing file is the box's volume.
    pub fn disk(&self, ctx: &Context) -> Result<PathBuf, Error> {
        match self.provider {
            Provider::Libvirt => libvirt::system_disk(ctx),
            _ => Err(crate::stage::StageError::Precondition(
                "vmbuild reads the disks of libvirt and qemu VMs only".into(),
            )
            .into()),
        }
    }

    /// A file in Vagrant's state dir (removed with the VM by `-c` and `-r`).
    pub fn state_file(&self, ctx: &Context, name: &str) -> PathBuf {
        vagrant(ctx).state_dir().join(name)
    }
}

/// The known_hosts file for the project's Vagrant VM.
pub fn known_hosts(v: &Vagrant) -> PathBuf {
    v.state_dir().join("vmbuild_known_hosts")
}

/// `vagrant ssh-config` of the machine, parsed.
pub fn read_ssh_config(ctx: &Context, v: &Vagrant) -> Result<SshConfig, Error> {
    let name = &ctx.config.name;
    let cmd = v.ssh_config(name);
    let out = ctx
        .runner
        .run(&cmd)
        .map_err(|e| VagrantError::from_run(&cmd, "", e))?;
    let hosts = ssh_config::parse(&out.stdout_str()).map_err(VagrantError::from)?;
    hosts
        .into_iter()
        .find(|h| &h.host == name)
        .ok_or_else(|| VagrantError::NoSshHost(name.clone()).into())
}

/// Run a Vagrant command with `--machine-readable` output: its `ui` lines
/// become progress lines, an `error-exit` becomes the error message.
pub fn stream_vagrant(ctx: &Context, cmd: &Cmd, label: &str) -> Result<(), VagrantError> {
    let pb = ctx.ui.progress(label, None);
    let mut errors = String::new();
    let res = ctx.runner.stream(cmd, &mut |kind, line| {
        let Some(l) = machine_readable::parse_line(line) else {
            return;
        };
        if kind == StreamKind::Stdout && l.kind == "error-exit" {
            errors.push_str(line);
            errors.push('\n');
        }
        if let Some(msg) = machine_readable::ui_message(&l) {
            for m in msg
                .lines()
                .map(str::trim_end)
                .filter(|m| !m.trim().is_empty())
            {
                if m.starts_with("==>") && !ctx.ui.is_terminal() {
                    ctx.ui.info(m);
                } else {
                    ctx.ui.debug(m);
                }
                pb.set_message(m.to_owned());
            }
        }
    });
    pb.finish_and_clear();
    res.map(|_| ())
        .map_err(|e| VagrantError::from_run(cmd, &errors, e))
}

#[cfg(test)]
mod tests;
