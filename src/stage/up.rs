//! `-u`: bring the VM up with Vagrant, then provision it over SSH.
//!
//! The Vagrant dir is `<work_dir>/vagrant/`: the rendered Vagrantfile and
//! Vagrant's `.vagrant` state. The base box from `builds/` is registered as
//! `vmbuild/<name>`; `vagrant up --no-provision` boots it, and vmbuild's own
//! recipe engine provisions it over the SSH endpoint `vagrant ssh-config`
//! reports. Ctrl-C during this stage destroys the VM.
use std::path::{Path, PathBuf};

use super::vagrant_box::{self, BoxStamp};
use crate::context::Context;
use crate::error::Error;
use crate::process::{Cmd, StreamKind};
use crate::stage::StageError;
use crate::template::vagrantfile::{
    self, SharedFolder, SyncedFolderKind, VagrantProvider, VagrantfileInput, VagrantfileVars,
};
use crate::tool::vagrant::{SshConfig, Vagrant, VagrantError, machine_readable, ssh_config};

/// Seconds Vagrant waits for SSH after booting (software emulation is slow).
const BOOT_TIMEOUT_SECS: u32 = 900;

/// The project's Vagrant directory.
pub fn vagrant_dir(ctx: &Context) -> PathBuf {
    ctx.work_dir().join("vagrant")
}

/// Vagrant commands for this project.
pub fn vagrant(ctx: &Context) -> Vagrant {
    Vagrant::new(&vagrant_dir(ctx))
}

/// Whether Vagrant's state records a created VM for `machine` (an `id` file
/// under `.vagrant/machines/<machine>/<provider>/`).
pub fn machine_created(v: &Vagrant, machine: &str) -> bool {
    std::fs::read_dir(v.state_dir().join("machines").join(machine))
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.path().join("id").is_file())
}

/// Run the up stage.
pub fn run(ctx: &Context) -> Result<(), Error> {
    ctx.ui.step("Bringing the VM up with Vagrant");
    let provider = vagrant_box::provider(ctx);
    let box_file = vagrant_box::base_box_file(ctx, provider)?;
    let v = vagrant(ctx);
    write_vagrantfile(ctx, provider, v.dir())?;
    vagrant_box::add(ctx, &v, provider, &BoxStamp::of(&box_file)?)?;
    let result = up_and_provision(ctx, &v, provider);
    if result.as_ref().is_err_and(is_interrupted) {
        // Vagrant removes a VM it was creating itself; one it had finished
        // (interrupted while provisioning) is ours to destroy
        destroy_after_interrupt(ctx, &v);
    }
    result
}

fn is_interrupted(e: &Error) -> bool {
    matches!(e.exit_code(), crate::error::ExitCode::Interrupted)
}

fn up_and_provision(ctx: &Context, v: &Vagrant, provider: VagrantProvider) -> Result<(), Error> {
    stream_vagrant(ctx, &v.up(provider.as_str()), "vagrant up")?;
    if ctx.runner.is_dry_run() {
        ctx.ui
            .info("would read `vagrant ssh-config` and provision the VM over SSH");
        return Ok(());
    }
    let ssh = read_ssh_config(ctx, v)?;
    ctx.ui
        .info(&format!("VM is up; SSH endpoint {}", ssh.target()));
    let known_hosts = v.state_dir().join("vmbuild_known_hosts");
    let result = super::provision::run(
        ctx,
        &ssh,
        known_hosts,
        crate::appliance::files::RecipeSet::Provision,
    );
    // the engine finishes its current command on Ctrl-C; then we stop
    if crate::interrupt::requested() {
        return Err(Error::Interrupted);
    }
    result
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

/// After Ctrl-C: destroy the VM so that nothing is left running.
pub fn destroy_after_interrupt(ctx: &Context, v: &Vagrant) {
    if !machine_created(v, &ctx.config.name) {
        return;
    }
    ctx.ui
        .warn("interrupted: destroying the VM (vagrant destroy -f)");
    if let Err(e) = ctx.runner.run(&v.destroy().cleanup()) {
        ctx.ui.error(&format!(
            "could not destroy the VM after the interruption; run `vmbuild -c`: {e}"
        ));
    }
}

/// Render the Vagrantfile for `provider` into `dir` (atomically).
pub fn write_vagrantfile(
    ctx: &Context,
    provider: VagrantProvider,
    dir: &Path,
) -> Result<(), Error> {
    let input = vagrantfile_input(ctx, provider)?;
    let text = ctx
        .templates()
        .render(vagrantfile::TEMPLATE, &VagrantfileVars::new(&input))?;
    let path = dir.join("Vagrantfile");
    crate::artifact::write_atomic(&path, text.as_bytes()).map_err(|source| StageError::Io {
        what: "writing the Vagrantfile",
        path: path.display().to_string(),
        source,
    })?;
    ctx.ui.debug(&format!("rendered {}", path.display()));
    Ok(())
}

/// The Vagrantfile's inputs from the config (flags `-i`, `-d` already applied).
pub fn vagrantfile_input(
    ctx: &Context,
    provider: VagrantProvider,
) -> Result<VagrantfileInput, Error> {
    let c = &ctx.config;
    let libvirt_driver = match provider {
        VagrantProvider::Libvirt => super::libvirt::driver(ctx)?,
        VagrantProvider::Virtualbox => vagrantfile::LibvirtDriver::Qemu,
    };
    Ok(VagrantfileInput {
        provider,
        machine: c.name.clone(),
        box_name: vagrant_box::box_name(ctx),
        vm_prefix: vagrantfile::vm_prefix(&ctx.project_dir),
        hostname: c.vm.hostname.clone(),
        cpus: c.vm.cpus,
        memory_mb: c.vm.memory_mb,
        ip: static_ip(&c.network.ip)?,
        forward_http_port: c.network.forward_http_port,
        shared: shared_folder(ctx, provider)?,
        libvirt_driver,
        boot_timeout_secs: BOOT_TIMEOUT_SECS,
    })
}

/// `None` for `dhcp`, else the address (IPv4 only: Vagrant's private networks).
pub fn static_ip(ip: &str) -> Result<Option<String>, Error> {
    if ip == "dhcp" {
        return Ok(None);
    }
    ip.parse::<std::net::Ipv4Addr>()
        .map(|a| Some(a.to_string()))
        .map_err(|_| {
            Error::Usage(format!(
                "network address `{ip}` (flag -i, config `network.ip`): expected an IPv4 address like 192.168.56.10, or `dhcp`"
            ))
        })
}

fn shared_folder(ctx: &Context, provider: VagrantProvider) -> Result<Option<SharedFolder>, Error> {
    let s = &ctx.config.shared_data;
    if s.host_dir == "none" {
        return Ok(None);
    }
    let kind = SyncedFolderKind::choose(&s.kind, provider).map_err(Error::Usage)?;
    let dir = ctx.project_dir.join(&s.host_dir);
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "shared data folder `{}` (flag -d, config `shared_data.host_dir`) is not a directory; create it, or pass `-d none`",
            dir.display()
        )));
    }
    Ok(Some(SharedFolder {
        host_dir: dir.display().to_string(),
        mount_point: s.mount_point.clone(),
        read_only: s.read_only,
        kind,
    }))
}

#[cfg(test)]
#[path = "up_tests.rs"]
mod tests;
