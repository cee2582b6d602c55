//! The installer's Packer template view-model, and the pure rendering of the
//! installer build (preseed + Packer JSON) from the configuration.
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::preseed::{PRESEED_TEMPLATE, PreseedVars, VAGRANT_USER, VarsError};
use super::{TemplateError, Templates};
use crate::config::{Accelerator, Config};

/// Which Packer builder drives the installer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum InstallerBuilder {
    /// Packer's `qemu` builder (box for Vagrant's libvirt provider).
    Qemu,
    /// Packer's `virtualbox-iso` builder (box for Vagrant's virtualbox provider).
    VirtualboxIso,
}

impl InstallerBuilder {
    /// Packer's builder `type`.
    pub fn packer_type(self) -> &'static str {
        match self {
            InstallerBuilder::Qemu => "qemu",
            InstallerBuilder::VirtualboxIso => "virtualbox-iso",
        }
    }

    /// The Packer template that builds with it.
    pub fn template_name(self) -> &'static str {
        match self {
            InstallerBuilder::Qemu => "box-configs/installer-qemu.json.hbs",
            InstallerBuilder::VirtualboxIso => "box-configs/installer-virtualbox.json.hbs",
        }
    }

    /// The Vagrant provider of the box Packer's vagrant post-processor makes.
    pub fn vagrant_provider(self) -> &'static str {
        match self {
            InstallerBuilder::Qemu => "libvirt",
            InstallerBuilder::VirtualboxIso => "virtualbox",
        }
    }

    /// The guest's disk as the installer sees it (virtio vs SATA).
    pub fn disk_device(self) -> &'static str {
        match self {
            InstallerBuilder::Qemu => "/dev/vda",
            InstallerBuilder::VirtualboxIso => "/dev/sda",
        }
    }

    /// Whether the template attaches a second serial port (for the installer syslog).
    pub fn has_second_serial_port(self) -> bool {
        self == InstallerBuilder::Qemu
    }
}

/// Paths of one installer build, all inside the work dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallerPaths {
    /// The cached, verified installer ISO.
    pub iso: PathBuf,
    /// The job directory (`<work>/installer/<builder>`).
    pub job_dir: PathBuf,
}

impl InstallerPaths {
    /// Directory served by Packer's HTTP server (holds `preseed.cfg`).
    pub fn http_dir(&self) -> PathBuf {
        self.job_dir.join("http")
    }
    /// The rendered Packer template.
    pub fn template(&self) -> PathBuf {
        self.job_dir.join("packer.json")
    }
    /// Packer's output directory.
    pub fn output_dir(&self) -> PathBuf {
        self.job_dir.join("output")
    }
    /// The box written by the vagrant post-processor.
    pub fn box_path(&self, name: &str, builder: InstallerBuilder) -> PathBuf {
        self.job_dir
            .join(format!("{name}-{}.box", builder.vagrant_provider()))
    }
    /// The guest's first serial port (installer screen, later the console).
    pub fn serial_console_log(&self) -> PathBuf {
        self.job_dir.join("serial-console.log")
    }
    /// The guest's second serial port (the installer's syslog).
    pub fn installer_syslog_log(&self) -> PathBuf {
        self.job_dir.join("installer-syslog.log")
    }
}

/// Everything the installer Packer templates can use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstallerVars {
    /// Packer builder type.
    pub builder: String,
    /// VM / disk image name.
    pub vm_name: String,
    /// Local path of the verified ISO.
    pub iso_url: String,
    /// `sha256:<hex>`.
    pub iso_checksum: String,
    /// Packer's output directory.
    pub output_directory: String,
    /// Directory served by Packer's HTTP server.
    pub http_directory: String,
    /// Where the vagrant post-processor writes the box.
    pub box_output: String,
    /// Virtual CPUs.
    pub cpus: u32,
    /// Memory, MiB.
    pub memory_mb: u32,
    /// Disk size, MiB.
    pub disk_size_mb: u64,
    /// qemu accelerator (`tcg` or `kvm`).
    pub accelerator: String,
    /// Wait before typing the boot command, e.g. `10s`.
    pub boot_wait: String,
    /// Host name for the boot command.
    pub hostname: String,
    /// Domain for the boot command (may be empty).
    pub domain: String,
    /// First serial port log file.
    pub serial_console_log: String,
    /// qemu `-serial` value for the first port.
    pub qemu_serial_console: String,
    /// qemu `-serial` value for the second port (installer syslog).
    pub qemu_serial_syslog: String,
    /// User Packer logs in as.
    pub ssh_username: String,
    /// Its password (Vagrant's conventional, public `vagrant`).
    pub ssh_password: String,
    /// How long Packer waits for SSH (the whole installation).
    pub ssh_timeout: String,
    /// Stops the guest after provisioning.
    pub shutdown_command: String,
}

/// qemu `-serial file:PATH`; qemu option values escape `,` by doubling it.
pub fn qemu_serial_file(path: &Path) -> String {
    format!("file:{}", path.display().to_string().replace(',', ",,"))
}

/// The accelerator for the qemu builder. `auto` means TCG until a real KVM
/// probe is wired in: on machines where /dev/kvm exists but hangs, TCG is
/// the only safe default.
pub fn accelerator_name(a: Accelerator) -> &'static str {
    match a {
        Accelerator::Kvm => "kvm",
        Accelerator::Auto | Accelerator::Tcg => "tcg",
    }
}

impl InstallerVars {
    /// The template variables for `builder` with files at `paths`.
    pub fn from_config(
        cfg: &Config,
        builder: InstallerBuilder,
        paths: &InstallerPaths,
        iso_sha256: &str,
    ) -> Result<Self, VarsError> {
        let pre = PreseedVars::from_config(cfg, builder)?;
        let s = |p: PathBuf| p.display().to_string();
        Ok(InstallerVars {
            builder: builder.packer_type().to_owned(),
            vm_name: cfg.name.clone(),
            iso_url: s(paths.iso.clone()),
            iso_checksum: format!("sha256:{}", iso_sha256.to_ascii_lowercase()),
            output_directory: s(paths.output_dir()),
            http_directory: s(paths.http_dir()),
            box_output: s(paths.box_path(&cfg.name, builder)),
            cpus: cfg.vm.cpus,
            memory_mb: cfg.vm.memory_mb,
            disk_size_mb: u64::from(cfg.vm.disk_gb) * 1024,
            accelerator: accelerator_name(cfg.vm.accelerator).to_owned(),
            boot_wait: format!("{}s", cfg.base.installer.boot_wait_secs),
            hostname: pre.hostname,
            domain: pre.domain,
            serial_console_log: s(paths.serial_console_log()),
            qemu_serial_console: qemu_serial_file(&paths.serial_console_log()),
            qemu_serial_syslog: qemu_serial_file(&paths.installer_syslog_log()),
            ssh_username: VAGRANT_USER.to_owned(),
            ssh_password: "vagrant".to_owned(),
            ssh_timeout: "120m".to_owned(),
            shutdown_command: "echo vagrant | sudo -S /sbin/shutdown -P now".to_owned(),
        })
    }
}

/// Error of [`render_installer`]: bad configuration or a broken template.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A config value cannot go into the templates.
    #[error(transparent)]
    Vars(#[from] VarsError),
    /// A template failed.
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// The rendered texts of one installer build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedInstaller {
    /// `preseed.cfg`.
    pub preseed: String,
    /// The Packer template (JSON).
    pub packer_json: String,
}

/// Render the preseed and Packer template (pure: no files are written).
pub fn render_installer(
    templates: &Templates,
    cfg: &Config,
    builder: InstallerBuilder,
    paths: &InstallerPaths,
    iso_sha256: &str,
) -> Result<RenderedInstaller, RenderError> {
    let pre = PreseedVars::from_config(cfg, builder)?;
    let vars = InstallerVars::from_config(cfg, builder, paths, iso_sha256)?;
    Ok(RenderedInstaller {
        preseed: templates.render(PRESEED_TEMPLATE, &pre)?,
        packer_json: templates.render(builder.template_name(), &vars)?,
    })
}
