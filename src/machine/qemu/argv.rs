//! The qemu command line of a VM vmbuild runs itself (pure: spec in, argv out).
use std::path::PathBuf;

use crate::platform::Accel;
use crate::process::Cmd;

/// A host folder shared with the guest over virtio-9p.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// Host directory.
    pub dir: PathBuf,
    /// 9p mount tag (the appliance mounts `vmbuild_data`).
    pub tag: String,
    /// Read-only for the guest.
    pub read_only: bool,
}

/// Everything the command line depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuSpec {
    /// The VM's name (qemu `-name`, shown in `ps`).
    pub name: String,
    /// The qcow2 the guest boots (an overlay: changes go there).
    pub disk: PathBuf,
    /// Accelerator; also decides the CPU model.
    pub accel: Accel,
    /// vCPUs.
    pub cpus: u32,
    /// Memory, MiB.
    pub memory_mb: u32,
    /// Host loopback ports forwarded to guest TCP ports: (host, guest).
    pub forwards: Vec<(u16, u16)>,
    /// Folder shared over 9p.
    pub share: Option<Share>,
    /// QMP control socket.
    pub qmp: PathBuf,
    /// Serial console log.
    pub serial: PathBuf,
    /// pid file qemu writes.
    pub pidfile: PathBuf,
}

/// `qemu-system-x86_64` for `spec`: virtio disk and NIC, user-mode network
/// with the forwards on 127.0.0.1 only, no display, the serial console to a
/// file, QMP on a unix socket (for a clean ACPI shutdown).
pub(super) fn command(spec: &QemuSpec) -> Cmd {
    let fwd: String = spec
        .forwards
        .iter()
        .map(|(h, g)| format!(",hostfwd=tcp:127.0.0.1:{h}-:{g}"))
        .collect();
    let mut c = Cmd::new("qemu-system-x86_64")
        .args(["-name", &spec.name])
        .args(["-machine", "q35", "-accel", spec.accel.as_str()])
        .args(["-cpu", spec.accel.qemu_cpu()])
        .args(["-smp", &spec.cpus.to_string()])
        .args(["-m", &spec.memory_mb.to_string()])
        .args(["-display", "none", "-nodefaults", "-no-user-config"])
        .arg("-drive")
        .arg(format!(
            "file={},if=virtio,format=qcow2,discard=unmap,cache=unsafe",
            opt_path(&spec.disk)
        ))
        .args(["-netdev", &format!("user,id=n0{fwd}")])
        .args(["-device", "virtio-net-pci,netdev=n0"])
        .args(["-device", "virtio-rng-pci"])
        .arg("-serial")
        .arg(format!("file:{}", spec.serial.display()))
        .arg("-qmp")
        .arg(format!("unix:{},server=on,wait=off", spec.qmp.display()))
        .arg("-pidfile")
        .arg(&spec.pidfile);
    if let Some(s) = &spec.share {
        c = c.arg("-virtfs").arg(format!(
            "local,path={},mount_tag={},security_model=none{}",
            opt_path(&s.dir),
            s.tag,
            if s.read_only { ",readonly=on" } else { "" }
        ));
    }
    c
}

/// A path inside a qemu `key=value,…` option: commas are doubled.
fn opt_path(p: &std::path::Path) -> String {
    p.display().to_string().replace(',', ",,")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> QemuSpec {
        QemuSpec {
            name: "vmbuild-hub".into(),
            disk: "/w/qemu/disk,1.qcow2".into(),
            accel: Accel::Tcg,
            cpus: 2,
            memory_mb: 2048,
            forwards: vec![(40022, 22), (40080, 80)],
            share: None,
            qmp: "/w/qemu/qmp.sock".into(),
            serial: "/w/qemu/serial.log".into(),
            pidfile: "/w/qemu/qemu.pid".into(),
        }
    }

    #[test]
    fn tcg_guests_get_the_max_cpu_and_loopback_only_forwards() {
        let argv = command(&spec()).argv();
        let s = argv.join(" ");
        assert!(s.contains("-accel tcg -cpu max"), "{s}");
        assert!(
            s.contains(
                "user,id=n0,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:40080-:80"
            ),
            "{s}"
        );
        assert!(s.contains("file=/w/qemu/disk,,1.qcow2,if=virtio"), "{s}");
        assert!(
            s.contains("unix:/w/qemu/qmp.sock,server=on,wait=off"),
            "{s}"
        );
        assert!(!s.contains("-virtfs"));
    }

    #[test]
    fn kvm_passes_the_host_cpu_and_a_share_is_9p() {
        let mut sp = spec();
        sp.accel = Accel::Kvm;
        sp.share = Some(Share {
            dir: "/data".into(),
            tag: "vmbuild_data".into(),
            read_only: true,
        });
        let s = command(&sp).argv().join(" ");
        assert!(s.contains("-accel kvm -cpu host"), "{s}");
        assert!(
            s.contains(
                "-virtfs local,path=/data,mount_tag=vmbuild_data,security_model=none,readonly=on"
            ),
            "{s}"
        );
    }
}
