//! A qemu guest for tests: boot a disk under TCG (KVM does not work on these
//! machines) with `-cpu max` (x86-64-v3: today's numpy wheels need it; qemu's
//! default `qemu64` dies with "Illegal instruction"), user-mode networking,
//! forwarded loopback ports and optionally a 9p share; killed on drop.
//! [`Hardware::Ovf`] boots on the hardware an exported OVF declares, as far as
//! qemu emulates it (AHCI SATA disk, E1000 NIC).
#![allow(dead_code)]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The virtual hardware a guest boots on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hardware {
    /// virtio disk and NIC (qemu, libvirt, OpenStack).
    #[default]
    Virtio,
    /// What vmbuild's OVF declares for VirtualBox: AHCI SATA disk, E1000 NIC.
    Ovf,
}

/// What to boot and how.
pub struct VmSpec<'a> {
    /// The virtual hardware.
    pub hardware: Hardware,
    /// qcow2 disk (changes go to it: give an overlay for a throwaway run).
    pub disk: &'a Path,
    /// Guest memory.
    pub memory_mb: u32,
    /// vCPUs.
    pub cpus: u32,
    /// Guest TCP ports to forward from 127.0.0.1 (host port, guest port).
    pub forwards: Vec<(u16, u16)>,
    /// A host folder shared over virtio-9p: (path, mount tag, read-only).
    pub share: Option<(PathBuf, String, bool)>,
    /// Serial console log.
    pub serial: PathBuf,
    /// Throw writes away (qemu `-snapshot`) instead of writing to `disk`.
    pub snapshot: bool,
}

/// A running guest; killed when dropped.
pub struct Vm {
    child: Child,
    /// Serial console log.
    pub serial: PathBuf,
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Vm {
    /// Boot `spec`.
    pub fn boot(spec: &VmSpec<'_>) -> Vm {
        let fwd: String = spec
            .forwards
            .iter()
            .map(|(h, g)| format!(",hostfwd=tcp:127.0.0.1:{h}-:{g}"))
            .collect();
        let mut c = Command::new("qemu-system-x86_64");
        c.args([
            "-accel",
            "tcg",
            "-cpu",
            "max",
            "-display",
            "none",
            "-nodefaults",
        ])
        .args([
            "-m",
            &spec.memory_mb.to_string(),
            "-smp",
            &spec.cpus.to_string(),
        ])
        .args(["-netdev", &format!("user,id=n0{fwd}")]);
        let drive = format!(
            "file={},format=qcow2,discard=unmap,cache=unsafe",
            spec.disk.display()
        );
        match spec.hardware {
            Hardware::Virtio => {
                c.arg("-drive")
                    .arg(format!("{drive},if=virtio"))
                    .args(["-device", "virtio-net-pci,netdev=n0"]);
            }
            Hardware::Ovf => {
                // VirtualBox's default chipset (PIIX3) with an AHCI SATA controller
                c.args(["-machine", "pc"])
                    .arg("-drive")
                    .arg(format!("{drive},if=none,id=d0"))
                    .args(["-device", "ahci,id=sata"])
                    .args(["-device", "ide-hd,drive=d0,bus=sata.0"])
                    .args(["-device", "e1000,netdev=n0"]);
            }
        }
        c.arg("-serial")
            .arg(format!("file:{}", spec.serial.display()))
            .stdin(Stdio::null());
        if spec.snapshot {
            c.arg("-snapshot");
        }
        if let Some((dir, tag, ro)) = &spec.share {
            c.arg("-virtfs").arg(format!(
                "local,path={},mount_tag={tag},security_model=none{}",
                dir.display(),
                if *ro { ",readonly=on" } else { "" }
            ));
        }
        let child = c
            .spawn()
            .expect("qemu-system-x86_64 (apt-get install qemu-system-x86)");
        Vm {
            child,
            serial: spec.serial.clone(),
        }
    }

    /// The last `n` bytes of the serial console, for failure messages.
    pub fn console_tail(&self, n: usize) -> String {
        let log = std::fs::read_to_string(&self.serial).unwrap_or_default();
        log[log.len().saturating_sub(n)..].to_owned()
    }

    /// Wait until sshd on 127.0.0.1:`port` sends its banner.
    pub fn wait_for_ssh(&self, port: u16, limit: Duration) -> Duration {
        let start = Instant::now();
        while start.elapsed() < limit {
            if banner(port).is_some() {
                return start.elapsed();
            }
            std::thread::sleep(Duration::from_secs(3));
        }
        panic!(
            "no SSH banner within {} s; console tail:\n{}",
            limit.as_secs(),
            self.console_tail(3000)
        );
    }
}

/// sshd's banner on 127.0.0.1:`port`, if it answers.
pub fn banner(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.starts_with("SSH-2.0-").then_some(text)
}

/// A qcow2 overlay at `overlay` over `base` (which stays untouched).
pub fn overlay(base: &Path, overlay: &Path) {
    let ok = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b"])
        .arg(base)
        .arg(overlay)
        .status()
        .expect("qemu-img");
    assert!(ok.success(), "qemu-img create overlay");
}

/// Vagrant's well-known insecure private key (the base box accepts it).
pub fn vagrant_insecure_key(dir: &Path) -> PathBuf {
    let src = Path::new("/usr/share/rubygems-integration/all/gems")
        .read_dir()
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("keys/vagrant"))
        .find(|p| p.is_file())
        .expect("vagrant's insecure key (apt-get install vagrant)");
    let key = dir.join("vagrant_insecure_key");
    std::fs::copy(&src, &key).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    key
}

/// The last `n` bytes of a log file (a console, say), for failure messages.
pub fn tail(path: &Path, n: usize) -> String {
    let log = std::fs::read(path).unwrap_or_default();
    String::from_utf8_lossy(&log[log.len().saturating_sub(n)..]).into_owned()
}
