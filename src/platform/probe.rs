//! The real machine's answers to the platform decision.
//!
//! Each probe runs a harmless read-only command (also under `--dry-run`,
//! which would otherwise decide on guesses), except the KVM probe, which
//! boots a kernel and is skipped in a dry run. The KVM verdict is kept for the
//! rest of the host's boot (keyed by `/proc/sys/kernel/random/boot_id` and the
//! probe kernel), so a machine where KVM hangs pays the 20 s once, not on
//! every run.
use std::path::{Path, PathBuf};

use super::Probes;
use super::kvm;
use crate::process::{Cmd, Runner};

/// Probes the machine vmbuild runs on.
pub struct SystemProbes<'a> {
    /// Runs the probe commands (never a dry-run runner).
    pub runner: &'a dyn Runner,
    /// Kernels that can serve as the KVM probe guest, best first.
    pub kernels: Vec<PathBuf>,
    /// Where the KVM verdict is kept for the rest of the host's boot.
    pub cache_dir: PathBuf,
    /// `--dry-run`: do not boot the KVM probe guest.
    pub dry_run: bool,
}

/// Whether `program` is an executable file on `$PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no output")
        .trim_start_matches("error: ")
        .to_owned()
}

impl SystemProbes<'_> {
    fn kvm_cache_file(&self, kernel: &Path) -> Option<PathBuf> {
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        let key = crate::manifest::sha256_hex(
            format!("{}\n{}", boot.trim(), kernel.display()).as_bytes(),
        );
        Some(self.cache_dir.join(format!("kvm-probe-{}", &key[..16])))
    }
}

impl Probes for SystemProbes<'_> {
    fn virtualbox(&self) -> Result<String, String> {
        if !on_path("VBoxManage") {
            return Err("VirtualBox: VBoxManage not found".into());
        }
        let out = self
            .runner
            .run_unchecked(&Cmd::new("VBoxManage").arg("--version"))
            .map_err(|e| format!("VirtualBox: {e}"))?;
        if !out.success() {
            return Err(format!(
                "VirtualBox: `VBoxManage --version` failed: {}",
                last_line(&out.stderr_str())
            ));
        }
        if !on_path("vagrant") {
            return Err("VirtualBox runs, but vagrant is not installed".into());
        }
        Ok(format!("VirtualBox {} runs", out.stdout_str().trim()))
    }

    fn libvirt(&self) -> Result<String, String> {
        if !on_path("virsh") {
            return Err("libvirt: virsh not found".into());
        }
        let cmd =
            Cmd::new("timeout").args(["15", "virsh", "--connect", "qemu:///system", "version"]);
        let out = self
            .runner
            .run_unchecked(&cmd)
            .map_err(|e| format!("libvirt: {e}"))?;
        if !out.success() {
            return Err(format!(
                "libvirt: no daemon answers ({})",
                last_line(&out.stderr_str())
            ));
        }
        if !on_path("vagrant") {
            return Err("libvirt answers, but vagrant is not installed".into());
        }
        Ok("the libvirt daemon answers".into())
    }

    fn qemu(&self) -> Result<String, String> {
        for p in ["qemu-system-x86_64", "qemu-img"] {
            if !on_path(p) {
                return Err(format!("{p} not found"));
            }
        }
        Ok("qemu installed".into())
    }

    fn kvm(&self) -> Result<String, String> {
        if !Path::new("/dev/kvm").exists() {
            return Err("no /dev/kvm".into());
        }
        let Some(kernel) = self.kernels.first() else {
            return Err(
                "/dev/kvm exists, but there is no kernel to verify KVM with yet (none in /boot, no base disk \
                 built); set vm.accelerator = \"kvm\" to use it unverified"
                    .into(),
            );
        };
        if self.dry_run {
            return Err("dry run: KVM not probed".into());
        }
        let cache = self.kvm_cache_file(kernel);
        if let Some(verdict) = cache.as_ref().and_then(|c| std::fs::read_to_string(c).ok()) {
            return match verdict.strip_prefix("ok ") {
                Some(how) => Ok(format!("{} (probed earlier this boot)", how.trim())),
                None => Err(format!(
                    "{} (probed earlier this boot)",
                    verdict.trim_start_matches("no ").trim()
                )),
            };
        }
        let verdict = match self.runner.run_unchecked(&kvm::probe_cmd(kernel)) {
            Ok(out) if kvm::probe_succeeded(&out) => {
                Ok("a probe guest booted under KVM".to_owned())
            }
            Ok(_) => Err("/dev/kvm exists but a probe guest did not boot under KVM".to_owned()),
            Err(e) if e.is_interrupted() => return Err("interrupted".into()),
            Err(e) => Err(format!("the KVM probe could not run: {e}")),
        };
        if let Some(c) = cache {
            let text = match &verdict {
                Ok(how) => format!("ok {how}\n"),
                Err(why) => format!("no {why}\n"),
            };
            // a lost cache file only costs the next run another probe
            let _ = std::fs::create_dir_all(&self.cache_dir)
                .and_then(|()| crate::artifact::write_atomic(&c, text.as_bytes()));
        }
        verdict
    }

    fn debootstrap(&self) -> Result<String, String> {
        if !cfg!(target_os = "linux") {
            return Err("debootstrap needs Linux".into());
        }
        // SAFETY: geteuid(2) cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return Err("not root (debootstrap needs loop devices and mounts)".into());
        }
        if !on_path("debootstrap") {
            return Err("debootstrap not installed".into());
        }
        Ok("root on Linux".into())
    }
}

/// Kernels that can boot the KVM probe: the host's own, else the one `-p`
/// keeps next to each cached base disk (`<work>/base/*.vmlinuz`).
pub fn probe_kernels(work_dir: &Path) -> Vec<PathBuf> {
    let mut v = kvm::host_kernels();
    let mut cached: Vec<PathBuf> = std::fs::read_dir(work_dir.join("base"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "vmlinuz"))
        .collect();
    cached.sort();
    v.extend(cached);
    v
}
