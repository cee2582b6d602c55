//! Choosing qemu's accelerator: KVM only when it really works.
//!
//! `/dev/kvm` existing is not enough: on some hosts guests hang or qemu aborts
//! ("failed to set MSR 0x10a") although the device is there and libvirt reports
//! KVM as available. So we boot a Linux kernel under `-accel kvm` with a short
//! timeout and require it to reach its final panic (no root file system): that
//! exercises the CPU features a real guest uses. SeaBIOS alone is not enough —
//! it runs fine on hosts where Linux guests then hang.
use std::path::{Path, PathBuf};

use crate::config::Accelerator;
use crate::process::{Cmd, Output};

/// Seconds the probe guest gets (it needs ~1 s under working KVM).
pub const PROBE_TIMEOUT_SECS: u64 = 20;

/// The accelerator the build uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// Hardware virtualisation.
    Kvm,
    /// Software emulation.
    Tcg,
}

impl Accel {
    /// The name qemu and Packer use.
    pub fn as_str(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

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

/// How the accelerator was decided, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The config says so.
    Configured(Accel),
    /// `/dev/kvm` is missing.
    NoKvmDevice,
    /// No kernel to probe with: KVM cannot be verified.
    NoProbeKernel,
    /// Probe ran; `true` if KVM worked.
    Probed(bool),
}

impl Decision {
    /// The accelerator this decision means.
    pub fn accel(&self) -> Accel {
        match self {
            Decision::Configured(a) => *a,
            Decision::Probed(true) => Accel::Kvm,
            _ => Accel::Tcg,
        }
    }

    /// A line for the user.
    pub fn describe(&self) -> String {
        match self {
            Decision::Configured(a) => format!("accelerator {} (configured)", a.as_str()),
            Decision::NoKvmDevice => "accelerator tcg (no /dev/kvm)".into(),
            Decision::NoProbeKernel => {
                "accelerator tcg (no kernel to verify KVM with; set vm.accelerator = \"kvm\" to force)"
                    .into()
            }
            Decision::Probed(true) => "accelerator kvm (probe guest booted)".into(),
            Decision::Probed(false) => {
                "accelerator tcg (/dev/kvm exists but a probe guest did not boot under KVM)".into()
            }
        }
    }
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

/// Decide the accelerator for `choice`; `probe` runs the probe command.
/// `kernel` is a guest kernel to probe with when the host has none.
pub fn decide(
    choice: Accelerator,
    kvm_device: bool,
    kernel: Option<&Path>,
    probe: impl FnOnce(&Cmd) -> Option<Output>,
) -> Decision {
    match choice {
        Accelerator::Kvm => Decision::Configured(Accel::Kvm),
        Accelerator::Tcg => Decision::Configured(Accel::Tcg),
        Accelerator::Auto if !kvm_device => Decision::NoKvmDevice,
        Accelerator::Auto => match kernel {
            None => Decision::NoProbeKernel,
            Some(k) => Decision::Probed(probe(&probe_cmd(k)).is_some_and(|o| probe_succeeded(&o))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(stdout: &str) -> Option<Output> {
        Some(Output {
            code: Some(0),
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
        })
    }

    #[test]
    fn configured_choices_skip_the_probe() {
        let d = decide(Accelerator::Tcg, true, None, |_| panic!("no probe"));
        assert_eq!(d.accel(), Accel::Tcg);
        let d = decide(Accelerator::Kvm, false, None, |_| panic!("no probe"));
        assert_eq!(d.accel(), Accel::Kvm);
    }

    #[test]
    fn auto_falls_back_to_tcg_unless_the_guest_boots() {
        let k = Path::new("/k");
        assert_eq!(
            decide(Accelerator::Auto, false, Some(k), |_| panic!()),
            Decision::NoKvmDevice
        );
        assert_eq!(
            decide(Accelerator::Auto, true, None, |_| panic!()),
            Decision::NoProbeKernel
        );
        let hung = decide(Accelerator::Auto, true, Some(k), |_| out("SeaBIOS\n"));
        assert_eq!(hung.accel(), Accel::Tcg);
        let ok = decide(Accelerator::Auto, true, Some(k), |c| {
            assert!(c.argv().contains(&"kvm".to_owned()));
            out("[    0.9] Kernel panic - not syncing: VFS: Unable to mount root fs\n")
        });
        assert_eq!(ok, Decision::Probed(true));
        assert_eq!(
            decide(Accelerator::Auto, true, Some(k), |_| None).accel(),
            Accel::Tcg
        );
    }

    #[test]
    fn probe_argv_has_a_timeout_and_no_disk() {
        let argv = probe_cmd(Path::new("/boot/vmlinuz")).argv();
        assert_eq!(&argv[..4], ["timeout", "-k", "2", "20"]);
        assert!(argv.iter().any(|a| a == "-no-reboot"));
        assert!(!argv.iter().any(|a| a.starts_with("-drive") || a == "-hda"));
    }
}
