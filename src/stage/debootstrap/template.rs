//! The Packer template of the debootstrap builder: its variables and rendering.
use std::path::Path;

use serde::Serialize;

use crate::config::Config;
use crate::platform::Provider;
use crate::template::{TemplateError, Templates};

/// The Packer template that builds a base box for `provider`: Packer's qemu
/// builder for the qemu-based providers (a libvirt box), virtualbox-ovf for
/// VirtualBox.
pub fn template_name(provider: Provider) -> &'static str {
    if provider.is_virtualbox() {
        "box-configs/debootstrap-virtualbox.json.hbs"
    } else {
        "box-configs/debootstrap-qemu.json.hbs"
    }
}

/// Everything the debootstrap templates may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DebootstrapVars {
    /// `kvm` or `tcg`.
    pub accelerator: String,
    /// qemu `-cpu` model: `max` under TCG (x86-64-v3, so today's wheels
    /// run), `host` under KVM.
    pub cpu_model: String,
    /// Virtual CPUs.
    pub cpus: u32,
    /// Memory in MiB.
    pub memory_mb: u32,
    /// Disk size in GiB.
    pub disk_gb: u32,
    /// The base qcow2 (qemu builder).
    pub base_image: String,
    /// The OVF wrapping the base disk (virtualbox-ovf builder).
    pub ovf_source: String,
    /// Packer's output directory (must not exist).
    pub output_directory: String,
    /// Disk / VM name inside it.
    pub vm_name: String,
    /// Where the vagrant post-processor writes the box.
    pub box_output: String,
    /// Private key for Packer's SSH communicator.
    pub ssh_private_key_file: String,
    /// Vagrant's insecure public key, installed at the end.
    pub vagrant_public_key_file: String,
    /// Serial console log of the build VM.
    pub serial_log: String,
    /// `KEY=value` environment of the provisioning shell (proxies).
    pub environment_vars: Vec<String>,
}

impl DebootstrapVars {
    /// The settings part of the variables (no paths, no accelerator): what
    /// the build cache keys on besides the template text and the base disk.
    pub fn settings_json(c: &Config) -> String {
        serde_json::json!({
            "cpus": c.vm.cpus,
            "memory_mb": c.vm.memory_mb,
            "disk_gb": c.vm.disk_gb,
            "environment_vars": environment_vars(c),
        })
        .to_string()
    }
}

/// Proxy settings for the provisioning shell.
pub fn environment_vars(c: &Config) -> Vec<String> {
    let p = &c.proxy;
    let mut v = Vec::new();
    for (k, val) in [
        ("http_proxy", &p.http_proxy),
        ("https_proxy", &p.https_proxy),
        ("no_proxy", &p.no_proxy),
    ] {
        if let Some(val) = val {
            v.push(format!("{k}={val}"));
            v.push(format!("{}={val}", k.to_uppercase()));
        }
    }
    v
}

/// Render the template for `provider` with `vars`.
pub fn render(
    templates: &Templates,
    provider: Provider,
    vars: &DebootstrapVars,
) -> Result<String, TemplateError> {
    templates.render(template_name(provider), vars)
}

/// A path as the template wants it (absolute, lossless for UTF-8 paths).
pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn vars() -> DebootstrapVars {
        DebootstrapVars {
            accelerator: "tcg".into(),
            cpu_model: "max".into(),
            cpus: 2,
            memory_mb: 1024,
            disk_gb: 4,
            base_image: "/w/base/abc.qcow2".into(),
            ovf_source: "/w/packer/vbox/base.ovf".into(),
            output_directory: "/w/packer/output-libvirt".into(),
            vm_name: "a.qcow2".into(),
            box_output: "/w/packer/a-libvirt.box".into(),
            ssh_private_key_file: "/w/base/abc.id_ed25519".into(),
            vagrant_public_key_file: "/w/packer/vagrant.pub".into(),
            serial_log: "file:/w/packer/serial.log".into(),
            environment_vars: vec!["http_proxy=http://p:3128".into()],
        }
    }

    #[test]
    fn both_templates_render_to_json_with_packer_syntax_kept() {
        for p in [Provider::Libvirt, Provider::Virtualbox] {
            let text = render(&Templates::new(None), p, &vars()).unwrap();
            let v: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{p:?}: {e}\n{text}"));
            let b = &v["builders"][0];
            assert_eq!(b["ssh_private_key_file"], "/w/base/abc.id_ed25519");
            assert!(b.get("ssh_password").is_none(), "no password baked in");
            let exec = v["provisioners"][1]["execute_command"].as_str().unwrap();
            assert_eq!(exec, "{{ .Vars }} sudo -n -E sh -eux '{{ .Path }}'");
            assert_eq!(v["post-processors"][0]["output"], "/w/packer/a-libvirt.box");
        }
        let q: serde_json::Value = serde_json::from_str(
            &render(&Templates::new(None), Provider::Libvirt, &vars()).unwrap(),
        )
        .unwrap();
        assert_eq!(q["builders"][0]["disk_image"], true);
        assert_eq!(q["builders"][0]["accelerator"], "tcg");
        assert_eq!(
            q["builders"][0]["qemuargs"][1],
            serde_json::json!(["-cpu", "max"])
        );
        assert_eq!(q["builders"][0]["disk_size"], "4G");
    }

    #[test]
    fn proxies_become_environment() {
        let mut c = crate::config::parse_str(Path::new("t"), "").unwrap();
        assert!(environment_vars(&c).is_empty());
        c.proxy.http_proxy = Some("http://p:3128".into());
        assert_eq!(
            environment_vars(&c),
            ["http_proxy=http://p:3128", "HTTP_PROXY=http://p:3128"]
        );
    }
}
