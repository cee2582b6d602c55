//! The project's Vagrantfile: its inputs from the config and the platform,
//! rendered from `box-configs/Vagrantfile.hbs`.
use std::path::Path;

use crate::context::Context;
use crate::error::Error;
use crate::platform::Provider;
use crate::stage::StageError;
use crate::template::vagrantfile::{
    self, SharedFolder, SyncedFolderKind, VagrantfileInput, VagrantfileVars,
};

/// Render the Vagrantfile for `provider` into `dir` (atomically).
pub fn write_vagrantfile(ctx: &Context, provider: Provider, dir: &Path) -> Result<(), Error> {
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

/// The Vagrantfile's inputs from the config (flags `-i`, `-d` already applied)
/// and the run's platform.
pub fn vagrantfile_input(ctx: &Context, provider: Provider) -> Result<VagrantfileInput, Error> {
    let c = &ctx.config;
    Ok(VagrantfileInput {
        provider,
        machine: c.name.clone(),
        box_name: super::box_add::box_name(ctx),
        vm_prefix: vagrantfile::vm_prefix(&ctx.project_dir),
        hostname: c.vm.hostname.clone(),
        cpus: c.vm.cpus,
        memory_mb: c.vm.memory_mb,
        ip: static_ip(&c.network.ip)?,
        forward_http_port: c.network.forward_http_port,
        shared: shared_folder(ctx, provider)?,
        accel: ctx.platform()?.accel,
        boot_timeout_secs: super::BOOT_TIMEOUT_SECS,
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

fn shared_folder(ctx: &Context, provider: Provider) -> Result<Option<SharedFolder>, Error> {
    let s = &ctx.config.shared_data;
    let Some(dir) = crate::machine::shared_data_dir(ctx)? else {
        return Ok(None);
    };
    let kind = SyncedFolderKind::choose(&s.kind, provider).map_err(Error::Usage)?;
    Ok(Some(SharedFolder {
        host_dir: dir.display().to_string(),
        mount_point: s.mount_point.clone(),
        read_only: s.read_only,
        kind,
    }))
}
