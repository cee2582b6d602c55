//! The KVM probe: KVM only when it really works.
//!
//! `/dev/kvm` existing is not enough: on some hosts guests hang or qemu aborts
//! ("failed to set MSR 0x10a") although the device is there and libvirt reports
//! KVM as available. So we boot a Linux kernel under `-accel kvm` with a short
//! timeout and require it to reach its final panic (no root file system): that
//! exercises the CPU features a real guest uses. SeaBIOS alone is not enough —
//! it runs fine on hosts where Linux guests then hang.
use std::path::{Path, PathBuf};

use crate::process::{Cmd, Output};

/// Seconds the probe guest gets (it needs ~1 s under working KVM).
pub const PROBE_TIMEOUT_SECS: u64 = 20;

/// The probe: boot `kernel` (no initrd, no disk) under KVM, serial on stdout;
/// `timeout` kills it if KVM hangs.
pub fn probe_cmd(kernel: &Path) -> Cmd {
    Cmd::new("timeout")
        .args(["-k", "2", &PROBE_TIMEOUT_SECS.to_string()])
        .args(["qemu-system-x86_64", "-accel", "kvm", "-cpu", "host"])
        .args(["-machine", "pc", "-m", "256", "-smp", "1", "-nodefaults"])
        .args(["-display", "none", "-no-reboot", "-serial", "stdio"])
        .arg("-kernel")
        .arg(kernel)
        .args(["-append", "console=ttyS0 panic=-1 loglevel=4"])
}

/// Whether the probe guest ran to its end: the kernel panics because it has no
/// root file system, which proves the CPU ran Linux's whole early boot.
pub fn probe_succeeded(out: &Output) -> bool {
    let text = out.stdout_str();
    text.contains("Kernel panic") || text.contains("VFS: Unable to mount root")
}

/// Kernels on the host that can serve as probe guests, best first.
pub fn host_kernels() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/boot")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .collect();
    found.sort();
    found.reverse();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(stdout: &str) -> Output {
        Output {
            code: Some(0),
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
        }
    }

    #[test]
    fn only_a_kernel_that_reached_its_end_counts() {
        assert!(!probe_succeeded(&out("SeaBIOS\n")));
        assert!(probe_succeeded(&out(
            "[    0.9] Kernel panic - not syncing: VFS: Unable to mount root fs\n"
        )));
    }

    #[test]
    fn probe_argv_has_a_timeout_and_no_disk() {
        let argv = probe_cmd(Path::new("/boot/vmlinuz")).argv();
        assert_eq!(&argv[..4], ["timeout", "-k", "2", "20"]);
        assert!(argv.iter().any(|a| a == "-no-reboot"));
        assert!(argv.contains(&"kvm".to_owned()));
        assert!(!argv.iter().any(|a| a.starts_with("-drive") || a == "-hda"));
    }
}
