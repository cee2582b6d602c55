//! libvirt specifics of Vagrant VMs: the storage volumes vagrant-libvirt
//! uploads boxes to, and the domain's disk that `-e` exports.
use std::path::PathBuf;

use crate::context::Context;
use crate::error::Error;
use crate::process::Cmd;
use crate::stage::StageError;

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

/// The libvirt domain vagrant-libvirt made for this project (its
/// `default_prefix` from the Vagrantfile, then the machine name).
pub fn domain_name(ctx: &Context) -> String {
    format!(
        "{}{}",
        crate::template::vagrantfile::vm_prefix(&ctx.project_dir),
        ctx.config.name
    )
}

/// `virsh domblklist --details DOMAIN`.
pub fn domblklist_cmd(domain: &str) -> Cmd {
    Cmd::new("virsh")
        .args(["-c", "qemu:///system", "domblklist", "--details"])
        .arg(domain)
}

/// One row of `virsh domblklist --details`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDevice {
    /// `disk`, `cdrom`, …
    pub device: String,
    /// Guest device, e.g. `vda`.
    pub target: String,
    /// Host file, `None` for an empty drive (`-`).
    pub source: Option<PathBuf>,
}

/// Parse `virsh domblklist --details` (the source may contain spaces).
pub fn parse_domblklist(text: &str) -> Vec<BlockDevice> {
    text.lines()
        .skip_while(|l| !l.trim_start().starts_with("---"))
        .skip(1)
        .filter_map(|l| {
            let mut rest = l.trim();
            let mut next = || {
                let (field, tail) = rest.split_once(char::is_whitespace)?;
                rest = tail.trim_start();
                Some(field.to_owned())
            };
            let (_kind, device, target) = (next()?, next()?, next()?);
            let source = (rest != "-" && !rest.is_empty()).then(|| PathBuf::from(rest));
            Some(BlockDevice {
                device,
                target,
                source,
            })
        })
        .collect()
}

/// The system disk of the project's VM (its domain exists, running or
/// not): a qcow2 whose backing file is the box's volume, which
/// `qemu-img convert` flattens.
pub fn system_disk(ctx: &Context) -> Result<PathBuf, Error> {
    let domain = domain_name(ctx);
    let out = ctx.runner.run(&domblklist_cmd(&domain))?;
    parse_domblklist(&out.stdout_str())
        .into_iter()
        .find(|d| d.device == "disk")
        .and_then(|d| d.source)
        .ok_or_else(|| {
            StageError::Unexpected(format!("libvirt domain `{domain}` has no disk with a file"))
                .into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn system_disk_from_captured_domblklist() {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/tools/vagrant/virsh-domblklist.txt"
        );
        let devs = parse_domblklist(&std::fs::read_to_string(p).unwrap());
        assert_eq!(
            devs,
            [
                BlockDevice {
                    device: "disk".into(),
                    target: "vda".into(),
                    source: Some(PathBuf::from("/tmp/vmbv-dev/disk.qcow2"))
                },
                BlockDevice {
                    device: "cdrom".into(),
                    target: "hdc".into(),
                    source: None
                }
            ]
        );
        let spaced = parse_domblklist("---\n file disk vda /var/lib/a b.img\n");
        assert_eq!(
            spaced[0].source.as_deref(),
            Some(Path::new("/var/lib/a b.img"))
        );
    }

    #[test]
    fn box_volumes_are_found_in_vol_list() {
        let text = " Name                                                   Path\n--------------------------------------\n vmbuild-VAGRANTSLASH-hub_vagrant_box_image_0_1795323885_box.img   /var/lib/libvirt/images/x.img\n vmbuild-0123abcd-hub.img   /var/lib/libvirt/images/y.img\n\n";
        let vols = parse_vol_list(text);
        assert_eq!(vols.len(), 2);
        let p = box_volume_prefix("vmbuild/hub");
        assert_eq!(vols.iter().filter(|v| v.starts_with(&p)).count(), 1);
    }
}
