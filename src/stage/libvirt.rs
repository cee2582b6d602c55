//! libvirt specifics of the `-u` stage: which domain type (`kvm` or `qemu`)
//! to ask vagrant-libvirt for.
//!
//! libvirt reports KVM as available whenever `/dev/kvm` exists, yet on some
//! hosts a KVM guest hangs or qemu aborts. So `kvm` is chosen only when the
//! probe of [`crate::tool::accel`] booted a kernel under KVM.
use std::path::Path;

use crate::context::Context;
use crate::error::Error;
use crate::process::Cmd;
use crate::template::vagrantfile::LibvirtDriver;
use crate::tool::accel::{self, Accel, Decision};

/// The libvirt domain type for `accel`.
pub fn driver_for(accel: Accel) -> LibvirtDriver {
    match accel {
        Accel::Kvm => LibvirtDriver::Kvm,
        Accel::Tcg => LibvirtDriver::Qemu,
    }
}

/// Decide the libvirt domain type for this run, from config `vm.accelerator`
/// (probing KVM for `auto`; `--dry-run` assumes software emulation).
/// A probe that cannot run at all means software emulation, with a warning.
pub fn driver(ctx: &Context) -> Result<LibvirtDriver, Error> {
    // no kernel on the host (common in containers): the base disk's own
    // kernel, which `-p` keeps next to the cached disk, serves as well
    let kernel = accel::host_kernels().into_iter().next().or_else(|| {
        super::debootstrap::plan(ctx, super::debootstrap::BoxProvider::Libvirt)
            .ok()
            .map(|p| p.disk.kernel)
            .filter(|k| k.exists())
    });
    let mut probe_err = None;
    let decision = if ctx.runner.is_dry_run() {
        Decision::Configured(Accel::Tcg)
    } else {
        accel::decide(
            ctx.config.vm.accelerator,
            Path::new("/dev/kvm").exists(),
            kernel.as_deref(),
            |cmd| match ctx.runner.run_unchecked(cmd) {
                Ok(out) => Some(out),
                Err(e) => {
                    probe_err = Some(e);
                    None
                }
            },
        )
    };
    if let Some(e) = probe_err {
        if e.is_interrupted() {
            return Err(e.into());
        }
        ctx.ui.warn(&format!("KVM probe could not run: {e}"));
    }
    ctx.ui.info(&format!("libvirt: {}", decision.describe()));
    Ok(driver_for(decision.accel()))
}

/// `virsh vol-list` of the pool vagrant-libvirt uploads boxes to.
pub fn vol_list_cmd() -> Cmd {
    Cmd::new("virsh").args(["-c", "qemu:///system", "vol-list", "default"])
}

/// `virsh vol-delete` of one volume in that pool.
pub fn vol_delete_cmd(volume: &str) -> Cmd {
    Cmd::new("virsh")
        .args(["-c", "qemu:///system", "vol-delete", "--pool", "default"])
        .arg(volume)
}

/// Volume names in `virsh vol-list` output (a ` Name  Path` table).
pub fn parse_vol_list(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.trim_start().starts_with("---"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// The prefix of the volumes vagrant-libvirt makes from box `box_name`.
pub fn box_volume_prefix(box_name: &str) -> String {
    format!(
        "{}_vagrant_box_image_",
        box_name.replace('/', "-VAGRANTSLASH-")
    )
}

/// Delete the volumes vagrant-libvirt uploaded from earlier versions of box
/// `box_name` (each is a full disk; a re-added box gets a new one). Only
/// call this when no VM of the project exists: a VM's disk is backed by one.
/// Housekeeping: failures are warnings.
pub fn remove_box_volumes(ctx: &Context, box_name: &str) -> Result<(), Error> {
    let out = match ctx.runner.run_unchecked(&vol_list_cmd()) {
        Ok(o) if o.success() => o,
        Ok(o) => {
            // no pool yet: vagrant-libvirt creates it on first `up`
            if !o.stderr_str().contains("not found") {
                ctx.ui.warn(&format!(
                    "cannot list libvirt volumes: {}",
                    o.stderr_str().trim()
                ));
            }
            return Ok(());
        }
        Err(e) if e.is_interrupted() => return Err(e.into()),
        Err(e) => {
            ctx.ui.warn(&format!("cannot list libvirt volumes: {e}"));
            return Ok(());
        }
    };
    let prefix = box_volume_prefix(box_name);
    for vol in parse_vol_list(&out.stdout_str())
        .into_iter()
        .filter(|v| v.starts_with(&prefix))
    {
        ctx.ui
            .info(&format!("removing the old box volume `{vol}` from libvirt"));
        if let Err(e) = ctx.runner.run(&vol_delete_cmd(&vol)) {
            ctx.ui
                .warn(&format!("cannot delete libvirt volume `{vol}`: {e}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_volumes_are_found_in_vol_list() {
        let text = " Name                                                   Path\n--------------------------------------\n vmbuild-VAGRANTSLASH-hub_vagrant_box_image_0_1795323885_box.img   /var/lib/libvirt/images/x.img\n vmbuild-0123abcd-hub.img   /var/lib/libvirt/images/y.img\n\n";
        let vols = parse_vol_list(text);
        assert_eq!(vols.len(), 2);
        let p = box_volume_prefix("vmbuild/hub");
        assert_eq!(vols.iter().filter(|v| v.starts_with(&p)).count(), 1);
    }

    #[test]
    fn tcg_means_the_qemu_domain_type() {
        assert_eq!(driver_for(Accel::Tcg), LibvirtDriver::Qemu);
        assert_eq!(driver_for(Accel::Kvm), LibvirtDriver::Kvm);
    }
}
