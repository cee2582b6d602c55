//! The installer's Packer template view-model, and the pure rendering of the
//! installer build (preseed + Packer JSON) from the configuration.
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::preseed::{PRESEED_TEMPLATE, PreseedVars, VAGRANT_USER, VarsError};
use super::{TemplateError, Templates};
use crate::config::Config;
use crate::platform::{Accel, Provider};

/// What the installer build looks like for a provider: Packer's `qemu`
/// builder (a libvirt box) for the qemu-based providers, `virtualbox-iso` for
/// VirtualBox. Decided by [`crate::platform`]; these are its consequences.
pub mod for_provider {
    use crate::platform::Provider;

    /// Packer's builder `type`.
    pub fn packer_type(p: Provider) -> &'static str {
        if p.is_virtualbox() {
            "virtualbox-iso"
        } else {
            "qemu"
        }
    }

    /// The Packer template that builds with it.
    pub fn template_name(p: Provider) -> &'static str {
        if p.is_virtualbox() {
            "box-configs/installer-virtualbox.json.hbs"
        } else {
            "box-configs/installer-qemu.json.hbs"
        }
    }

    /// The guest's disk as the installer sees it (SATA vs virtio).
    pub fn disk_device(p: Provider) -> &'static str {
        if p.is_virtualbox() {
            "/dev/sda"
        } else {
            "/dev/vda"
        }
    }

    /// Whether the template attaches a second serial port (for the installer syslog).
    pub fn has_second_serial_port(p: Provider) -> bool {
        !p.is_virtualbox()
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
    pub fn box_path(&self, name: &str, provider: Provider) -> PathBuf {
        self.job_dir
            .join(format!("{name}-{}.box", provider.box_provider()))
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
    /// qemu `-cpu` model (`max` under TCG, `host` under KVM).
    pub cpu_model: String,
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
    /// Its password (Vagrant's conventional, public `vagrant`) for Packer's
    /// login only: [`SHUTDOWN_COMMAND`] locks it before the box is made.
    pub ssh_password: String,
    /// How long Packer waits for SSH (the whole installation).
    pub ssh_timeout: String,
    /// Stops the guest after provisioning.
    pub shutdown_command: String,
}

/// Packer's last command in the installed system: lock the `vagrant`
/// password the preseed gave for Packer's login (so no box has one; the
/// account keeps Vagrant's key and NOPASSWD rule), then power off.
pub const SHUTDOWN_COMMAND: &str =
    "sudo -n sh -c 'usermod --password \"!*\" vagrant && /sbin/shutdown -P now'";

/// qemu `-serial file:PATH`; qemu option values escape `,` by doubling it.
pub fn qemu_serial_file(path: &Path) -> String {
    format!("file:{}", path.display().to_string().replace(',', ",,"))
}

impl InstallerVars {
    /// The template variables for `provider` and `accel` with files at `paths`.
    pub fn from_config(
        cfg: &Config,
        provider: Provider,
        accel: Accel,
        paths: &InstallerPaths,
        iso_sha256: &str,
    ) -> Result<Self, VarsError> {
        let pre = PreseedVars::from_config(cfg, provider)?;
        let s = |p: PathBuf| p.display().to_string();
        Ok(InstallerVars {
            builder: for_provider::packer_type(provider).to_owned(),
            vm_name: cfg.name.clone(),
            iso_url: s(paths.iso.clone()),
            iso_checksum: format!("sha256:{}", iso_sha256.to_ascii_lowercase()),
            output_directory: s(paths.output_dir()),
            http_directory: s(paths.http_dir()),
            box_output: s(paths.box_path(&cfg.name, provider)),
            cpus: cfg.vm.cpus,
            memory_mb: cfg.vm.memory_mb,
            disk_size_mb: u64::from(cfg.vm.disk_gb) * 1024,
            accelerator: accel.as_str().to_owned(),
            cpu_model: accel.qemu_cpu().to_owned(),
            boot_wait: format!("{}s", cfg.base.installer.boot_wait_secs),
            hostname: pre.hostname,
            domain: pre.domain,
            serial_console_log: s(paths.serial_console_log()),
            qemu_serial_console: qemu_serial_file(&paths.serial_console_log()),
            qemu_serial_syslog: qemu_serial_file(&paths.installer_syslog_log()),
            ssh_username: VAGRANT_USER.to_owned(),
            ssh_password: "vagrant".to_owned(),
            ssh_timeout: "120m".to_owned(),
            // the password served only this login: the box ships without it
            shutdown_command: SHUTDOWN_COMMAND.to_owned(),
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
    (provider, accel): (Provider, Accel),
    paths: &InstallerPaths,
    iso_sha256: &str,
) -> Result<RenderedInstaller, RenderError> {
    let pre = PreseedVars::from_config(cfg, provider)?;
    let vars = InstallerVars::from_config(cfg, provider, accel, paths, iso_sha256)?;
    Ok(RenderedInstaller {
        preseed: templates.render(PRESEED_TEMPLATE, &pre)?,
        packer_json: templates.render(for_provider::template_name(provider), &vars)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        crate::config::parse_str(Path::new("test.toml"), extra).unwrap()
    }

    fn paths() -> InstallerPaths {
        InstallerPaths {
            iso: "/w/cache/iso/abc.iso".into(),
            job_dir: "/w/installer/qemu".into(),
        }
    }

    fn render(cfg: &Config, provider: Provider, accel: Accel) -> RenderedInstaller {
        render_installer(
            &Templates::default(),
            cfg,
            (provider, accel),
            &paths(),
            &"AB".repeat(32),
        )
        .unwrap()
    }

    fn builder_json(r: &RenderedInstaller) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&r.packer_json).unwrap();
        v["builders"][0].clone()
    }

    #[test]
    fn qemu_template_carries_the_config() {
        let cfg = config("name = \"hub\"\n[vm]\ncpus = 3\nmemory_mb = 1536\ndisk_gb = 9\n");
        let r = render(&cfg, Provider::Qemu, Accel::Tcg);
        let b = builder_json(&r);
        assert_eq!(b["type"], "qemu");
        assert_eq!(b["accelerator"], "tcg");
        assert!(
            r.packer_json.contains("\"-cpu\", \"max\""),
            "{}",
            r.packer_json
        );
        assert_eq!(b["iso_url"], "/w/cache/iso/abc.iso");
        assert_eq!(b["iso_checksum"], format!("sha256:{}", "ab".repeat(32)));
        assert_eq!(b["cpus"], 3);
        assert_eq!(b["memory"], 1536);
        assert_eq!(b["disk_size"], "9216M");
        assert_eq!(b["http_directory"], "/w/installer/qemu/http");
        // the preseed may hold a proxy password: serve it to the VM only
        assert_eq!(b["http_bind_address"], "127.0.0.1");
        assert_eq!(b["output_directory"], "/w/installer/qemu/output");
        assert_eq!(b["ssh_username"], "vagrant");
        let boot = b["boot_command"][0].as_str().unwrap();
        assert!(
            boot.contains("url=http://{{ .HTTPIP }}:{{ .HTTPPort }}/preseed.cfg"),
            "{boot}"
        );
        assert!(boot.contains("hostname=jupyterhub domain= "), "{boot}");
        assert_eq!(
            b["qemuargs"][1],
            serde_json::json!(["-serial", "file:/w/installer/qemu/installer-syslog.log"])
        );
        let v: serde_json::Value = serde_json::from_str(&r.packer_json).unwrap();
        assert_eq!(v["post-processors"][0]["type"], "vagrant");
        assert_eq!(
            v["post-processors"][0]["output"],
            "/w/installer/qemu/hub-libvirt.box"
        );
    }

    #[test]
    fn packer_locks_the_build_password_before_the_box_is_made() {
        let r = render(&config(""), Provider::Qemu, Accel::Tcg);
        let b = builder_json(&r);
        assert_eq!(
            b["shutdown_command"],
            "sudo -n sh -c 'usermod --password \"!*\" vagrant && /sbin/shutdown -P now'"
        );
    }

    #[test]
    fn virtualbox_template_uses_sata_and_a_file_serial_port() {
        let mut cfg = config("[vm]\naccelerator = \"kvm\"\n");
        // the loader accepts one label today; a dotted name still splits
        cfg.vm.hostname = "hub.example.org".into();
        let r = render(&cfg, Provider::Virtualbox, Accel::Kvm);
        let b = builder_json(&r);
        assert_eq!(b["type"], "virtualbox-iso");
        assert_eq!(b["disk_size"], 20480);
        assert_eq!(b["hard_drive_interface"], "sata");
        assert_eq!(b["vboxmanage"][0][1], "{{ .Name }}");
        let boot = b["boot_command"][0].as_str().unwrap();
        assert!(boot.contains("hostname=hub domain=example.org "), "{boot}");
        assert!(
            r.preseed
                .contains("d-i partman-auto/disk string /dev/sda\n")
        );
        assert!(
            r.preseed
                .contains("d-i grub-installer/bootdev string /dev/sda\n")
        );
        assert!(
            !r.preseed.contains("ttyS1"),
            "no second serial port on VirtualBox"
        );
    }

    #[test]
    fn qemu_option_commas_are_doubled() {
        assert_eq!(qemu_serial_file(Path::new("/a,b/c")), "file:/a,,b/c");
    }

    #[test]
    fn json_special_characters_in_paths_stay_valid_json() {
        let cfg = config("");
        let p = InstallerPaths {
            iso: "/w/\"quoted\" \\ dir/x.iso".into(),
            job_dir: "/w/job".into(),
        };
        let r = render_installer(
            &Templates::default(),
            &cfg,
            (Provider::Libvirt, Accel::Tcg),
            &p,
            "00",
        )
        .unwrap();
        assert_eq!(builder_json(&r)["iso_url"], "/w/\"quoted\" \\ dir/x.iso");
    }

    /// The default config's preseed, byte for byte (`UPDATE_GOLDEN=1` rewrites it).
    #[test]
    fn preseed_matches_the_golden_file() {
        let r = render(&config(""), Provider::Qemu, Accel::Tcg);
        let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/rendered/preseed-qemu-default.cfg");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &r.preseed).unwrap();
        }
        let want = std::fs::read_to_string(&golden).unwrap();
        pretty_assertions::assert_eq!(r.preseed, want);
    }
}
