//! The platform of a run: which provider runs the VMs, which accelerator qemu
//! uses, which builder makes the base disk. Decided once per run, here and
//! nowhere else, from what actually answers on the machine (VirtualBox runs,
//! the libvirt daemon answers, a probe guest boots under KVM), and carried in
//! the run's [`crate::context::Context`].
//!
//! [`decide`] is pure: it asks a [`Probes`] implementation, so every branch is
//! unit-tested; [`SystemProbes`] asks the real machine.
pub mod kvm;
mod probe;

use thiserror::Error;

pub use probe::{SystemProbes, on_path, probe_kernels};

use crate::config::{Accelerator, BuilderChoice, Config, ProviderChoice};

/// Where the VMs of `-u` run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// VirtualBox through Vagrant.
    Virtualbox,
    /// libvirt through Vagrant (vagrant-libvirt).
    Libvirt,
    /// Plain qemu, run by vmbuild itself.
    Qemu,
}

impl Provider {
    /// Its name in config, flags and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Virtualbox => "virtualbox",
            Provider::Libvirt => "libvirt",
            Provider::Qemu => "qemu",
        }
    }

    /// The Vagrant box provider its base box is for: qemu runs libvirt boxes
    /// (a qcow2 `box.img`).
    pub fn box_provider(self) -> &'static str {
        match self {
            Provider::Virtualbox => "virtualbox",
            Provider::Libvirt | Provider::Qemu => "libvirt",
        }
    }

    /// Whether the VM is built and run with VirtualBox (else qemu underneath).
    pub fn is_virtualbox(self) -> bool {
        self == Provider::Virtualbox
    }

    /// Whether Vagrant drives the VM.
    pub fn uses_vagrant(self) -> bool {
        self != Provider::Qemu
    }
}

/// The accelerator qemu uses (Packer's qemu builder, libvirt, plain qemu).
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

    /// The guest CPU model. Under KVM the host's own; under TCG `max`, which
    /// QEMU 7.2 emulates with SSE4.2, POPCNT and AVX2 (x86-64-v3): with qemu's
    /// default `qemu64` today's numpy wheels die with "Illegal instruction".
    pub fn qemu_cpu(self) -> &'static str {
        match self {
            Accel::Kvm => "host",
            Accel::Tcg => "max",
        }
    }

    /// The libvirt domain type (`<domain type=…>`).
    pub fn libvirt_domain_type(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "qemu",
        }
    }
}

/// The base-box builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    /// Native disk build with debootstrap, then Packer from the disk image.
    Debootstrap,
    /// Debian installer + preseed under Packer.
    Installer,
}

impl Builder {
    /// Its name in config, logs and manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Builder::Debootstrap => "debootstrap",
            Builder::Installer => "installer",
        }
    }
}

/// The decision, with the reason for each part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// Who runs the VMs.
    pub provider: Provider,
    /// qemu's accelerator.
    pub accel: Accel,
    /// Who builds the base disk.
    pub builder: Builder,
    /// Why this provider (for the one line the user sees).
    pub provider_reason: String,
    /// Why this accelerator.
    pub accel_reason: String,
    /// Why this builder.
    pub builder_reason: String,
}

impl Platform {
    /// The one line that tells the user what was chosen and why.
    pub fn describe(&self) -> String {
        format!(
            "platform: provider {} ({}); accelerator {} ({}); builder {} ({})",
            self.provider.as_str(),
            self.provider_reason,
            self.accel.as_str(),
            self.accel_reason,
            self.builder.as_str(),
            self.builder_reason
        )
    }
}

/// A provider the user asked for cannot work here.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PlatformError {
    /// `provider = "libvirt"` (or `--provider libvirt`) but no daemon answers.
    #[error(
        "provider `libvirt` was asked for, but {why}. Start the daemon (`systemctl start libvirtd`, \
         or `libvirtd -d` where no init system runs) or use `--provider qemu`"
    )]
    LibvirtNotAnswering {
        /// What the probe found.
        why: String,
    },
    /// `provider = "virtualbox"` but VirtualBox (or Vagrant) cannot run.
    #[error(
        "provider `virtualbox` was asked for, but {why}. Install VirtualBox and Vagrant, or use `--provider qemu`"
    )]
    VirtualboxMissing {
        /// What the probe found.
        why: String,
    },
    /// `provider = "qemu"` but qemu is not installed.
    #[error(
        "provider `qemu` was asked for, but {why}. Install qemu (`apt-get install qemu-system-x86 qemu-utils`)"
    )]
    QemuMissing {
        /// What the probe found.
        why: String,
    },
}

/// What the decision asks of the machine. Each answer is `Ok(how)` with a few
/// words on what answered, or `Err(why not)`.
pub trait Probes {
    /// VirtualBox runs (`VBoxManage --version`) and Vagrant is installed.
    fn virtualbox(&self) -> Result<String, String>;
    /// The libvirt daemon answers and Vagrant with vagrant-libvirt is installed.
    fn libvirt(&self) -> Result<String, String>;
    /// qemu-system-x86_64 and qemu-img are installed.
    fn qemu(&self) -> Result<String, String>;
    /// A probe guest boots under KVM.
    fn kvm(&self) -> Result<String, String>;
    /// debootstrap can run (root on Linux, debootstrap installed).
    fn debootstrap(&self) -> Result<String, String>;
}

/// Decide the platform for `config`. Probes are asked only when the config
/// leaves the choice open (`auto`) or to check an explicit provider.
pub fn decide(config: &Config, probes: &dyn Probes) -> Result<Platform, PlatformError> {
    let (provider, provider_reason) = provider(config.provider, probes)?;
    let (accel, accel_reason) = match config.vm.accelerator {
        Accelerator::Kvm => (Accel::Kvm, "configured".to_owned()),
        Accelerator::Tcg => (Accel::Tcg, "configured".to_owned()),
        Accelerator::Auto => match probes.kvm() {
            Ok(how) => (Accel::Kvm, how),
            Err(why) => (Accel::Tcg, why),
        },
    };
    let (builder, builder_reason) = match config.base.builder {
        BuilderChoice::Debootstrap => (Builder::Debootstrap, "configured".to_owned()),
        BuilderChoice::Installer => (Builder::Installer, "configured".to_owned()),
        BuilderChoice::Auto => match probes.debootstrap() {
            Ok(how) => (Builder::Debootstrap, how),
            Err(why) => (Builder::Installer, why),
        },
    };
    Ok(Platform {
        provider,
        accel,
        builder,
        provider_reason,
        accel_reason,
        builder_reason,
    })
}

/// `auto`: VirtualBox through Vagrant, else libvirt through Vagrant when its
/// daemon answers, else plain qemu.
fn provider(
    choice: ProviderChoice,
    probes: &dyn Probes,
) -> Result<(Provider, String), PlatformError> {
    match choice {
        ProviderChoice::Virtualbox => probes
            .virtualbox()
            .map(|how| (Provider::Virtualbox, format!("configured; {how}")))
            .map_err(|why| PlatformError::VirtualboxMissing { why }),
        ProviderChoice::Libvirt => probes
            .libvirt()
            .map(|how| (Provider::Libvirt, format!("configured; {how}")))
            .map_err(|why| PlatformError::LibvirtNotAnswering { why }),
        ProviderChoice::Qemu => probes
            .qemu()
            .map(|how| (Provider::Qemu, format!("configured; {how}")))
            .map_err(|why| PlatformError::QemuMissing { why }),
        ProviderChoice::Auto => {
            let vbox = match probes.virtualbox() {
                Ok(how) => return Ok((Provider::Virtualbox, how)),
                Err(why) => why,
            };
            let libvirt = match probes.libvirt() {
                Ok(how) => return Ok((Provider::Libvirt, format!("{how}; {vbox}"))),
                Err(why) => why,
            };
            match probes.qemu() {
                Ok(_) => Ok((Provider::Qemu, format!("{vbox}; {libvirt}"))),
                Err(why) => Err(PlatformError::QemuMissing {
                    why: format!("{why} ({vbox}; {libvirt})"),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Canned answers; a `None` probe must not be asked.
    #[derive(Default)]
    struct Fake {
        vbox: Option<Result<String, String>>,
        libvirt: Option<Result<String, String>>,
        qemu: Option<Result<String, String>>,
        kvm: Option<Result<String, String>>,
        debootstrap: Option<Result<String, String>>,
    }

    fn ask(a: &Option<Result<String, String>>, what: &str) -> Result<String, String> {
        a.clone()
            .unwrap_or_else(|| panic!("the {what} probe must not run"))
    }

    impl Probes for Fake {
        fn virtualbox(&self) -> Result<String, String> {
            ask(&self.vbox, "virtualbox")
        }
        fn libvirt(&self) -> Result<String, String> {
            ask(&self.libvirt, "libvirt")
        }
        fn qemu(&self) -> Result<String, String> {
            ask(&self.qemu, "qemu")
        }
        fn kvm(&self) -> Result<String, String> {
            ask(&self.kvm, "kvm")
        }
        fn debootstrap(&self) -> Result<String, String> {
            ask(&self.debootstrap, "debootstrap")
        }
    }

    fn config(toml: &str) -> Config {
        crate::config::parse_str("t.toml".as_ref(), toml).unwrap()
    }

    fn ok(s: &str) -> Option<Result<String, String>> {
        Some(Ok(s.into()))
    }
    fn no(s: &str) -> Option<Result<String, String>> {
        Some(Err(s.into()))
    }

    #[test]
    fn auto_prefers_virtualbox_then_libvirt_then_qemu() {
        let c = config("[vm]\naccelerator = \"tcg\"\n[base]\nbuilder = \"debootstrap\"\n");
        let vbox = Fake {
            vbox: ok("VBoxManage 7.1 runs"),
            ..Fake::default()
        };
        assert_eq!(decide(&c, &vbox).unwrap().provider, Provider::Virtualbox);
        let libvirt = Fake {
            vbox: no("VBoxManage not found"),
            libvirt: ok("libvirtd answers"),
            ..Fake::default()
        };
        let p = decide(&c, &libvirt).unwrap();
        assert_eq!(p.provider, Provider::Libvirt);
        assert_eq!(p.provider_reason, "libvirtd answers; VBoxManage not found");
        let bare = Fake {
            vbox: no("VBoxManage not found"),
            libvirt: no("no daemon answers at /var/run/libvirt/libvirt-sock"),
            qemu: ok("qemu 7.2"),
            ..Fake::default()
        };
        let p = decide(&c, &bare).unwrap();
        assert_eq!(p.provider, Provider::Qemu);
        assert_eq!(
            p.describe(),
            "platform: provider qemu (VBoxManage not found; no daemon answers at \
             /var/run/libvirt/libvirt-sock); accelerator tcg (configured); builder debootstrap (configured)"
        );
    }

    #[test]
    fn an_explicit_libvirt_without_a_daemon_is_the_users_error() {
        let c = config("provider = \"libvirt\"\n[vm]\naccelerator = \"tcg\"\n");
        let f = Fake {
            libvirt: no("no daemon answers at /var/run/libvirt/libvirt-sock"),
            ..Fake::default()
        };
        let e = decide(&c, &f).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("systemctl start libvirtd"), "{text}");
        assert!(text.contains("--provider qemu"), "{text}");
    }

    #[test]
    fn accelerator_and_builder_follow_their_probes_under_auto() {
        let c = config("provider = \"qemu\"\n");
        let f = Fake {
            qemu: ok("qemu 7.2"),
            kvm: no("/dev/kvm exists but a probe guest did not boot under KVM"),
            debootstrap: ok("root on Linux"),
            ..Fake::default()
        };
        let p = decide(&c, &f).unwrap();
        assert_eq!((p.accel, p.builder), (Accel::Tcg, Builder::Debootstrap));
        assert_eq!(p.accel.qemu_cpu(), "max");
        let f = Fake {
            qemu: ok("qemu 7.2"),
            kvm: ok("a probe guest booted under KVM"),
            debootstrap: no("not root"),
            ..Fake::default()
        };
        let p = decide(&c, &f).unwrap();
        assert_eq!((p.accel, p.builder), (Accel::Kvm, Builder::Installer));
        assert_eq!(
            (p.accel.qemu_cpu(), p.accel.libvirt_domain_type()),
            ("host", "kvm")
        );
    }

    #[test]
    fn qemu_runs_libvirt_boxes() {
        assert_eq!(Provider::Qemu.box_provider(), "libvirt");
        assert_eq!(Provider::Virtualbox.box_provider(), "virtualbox");
        assert!(!Provider::Qemu.uses_vagrant());
    }
}
