//! The view model of `box-configs/Vagrantfile.hbs` (pure: no I/O).
//!
//! Every string reaching the template is already a quoted Ruby literal
//! ([`ruby_str`]), so a path or name with quotes, backslashes or `#{` can
//! neither break the Vagrantfile nor run Ruby code.
use std::path::Path;

use serde::Serialize;

use crate::platform::{Accel, Provider};

/// The template's name in [`super::EMBEDDED`] and in override directories.
pub const TEMPLATE: &str = "box-configs/Vagrantfile.hbs";

/// How the shared data folder reaches the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncedFolderKind {
    /// VirtualBox shared folder (vboxsf); VirtualBox only.
    Virtualbox,
    /// virtio 9p; libvirt only.
    NineP,
    /// virtiofs; libvirt only, needs virtiofsd on the host.
    Virtiofs,
    /// NFS export from the host; needs an NFS server on the host.
    Nfs,
}

impl SyncedFolderKind {
    /// Vagrant's `type:` value.
    pub fn vagrant_type(self) -> &'static str {
        match self {
            SyncedFolderKind::Virtualbox => "virtualbox",
            SyncedFolderKind::NineP => "9p",
            SyncedFolderKind::Virtiofs => "virtiofs",
            SyncedFolderKind::Nfs => "nfs",
        }
    }

    /// The kind for config `shared_data.kind` (`auto` picks the provider's native one).
    pub fn choose(kind: &str, provider: Provider) -> Result<Self, String> {
        use SyncedFolderKind as K;
        let vbox = provider.is_virtualbox();
        let k = match (kind, vbox) {
            ("auto" | "virtualbox", true) => K::Virtualbox,
            ("auto" | "9p", false) => K::NineP,
            ("virtiofs", false) => K::Virtiofs,
            ("nfs", _) => K::Nfs,
            ("virtualbox" | "9p" | "virtiofs", _) => {
                return Err(format!(
                    "shared_data.kind `{kind}` does not work with the {} provider",
                    provider.as_str()
                ));
            }
            _ => {
                return Err(format!(
                    "shared_data.kind `{kind}`: expected one of auto, virtualbox, 9p, virtiofs, nfs"
                ));
            }
        };
        Ok(k)
    }
}

/// The shared data folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedFolder {
    /// Absolute host directory.
    pub host_dir: String,
    /// Mount point in the guest.
    pub mount_point: String,
    /// Mount read-only.
    pub read_only: bool,
    /// Transport.
    pub kind: SyncedFolderKind,
}

/// Everything the Vagrantfile depends on, in plain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VagrantfileInput {
    /// Provider to render for (VirtualBox or libvirt).
    pub provider: Provider,
    /// `config.vm.define` name (the appliance name).
    pub machine: String,
    /// Box name as registered with `vagrant box add`.
    pub box_name: String,
    /// Prefix of the VM's name in the hypervisor ([`vm_prefix`]); the name
    /// is this prefix followed by `machine`.
    pub vm_prefix: String,
    /// Guest hostname.
    pub hostname: String,
    /// vCPUs.
    pub cpus: u32,
    /// Memory, MiB.
    pub memory_mb: u32,
    /// Static private-network IP, or `None` for DHCP.
    pub ip: Option<String>,
    /// Host port forwarded to guest port 443 (0 = none).
    pub forward_http_port: u16,
    /// Shared folder, if any.
    pub shared: Option<SharedFolder>,
    /// The accelerator: libvirt's domain type and CPU mode.
    pub accel: Accel,
    /// Seconds Vagrant waits for SSH after boot.
    pub boot_timeout_secs: u32,
}

/// The template's data (see the module docs for the quoting rule).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VagrantfileVars {
    machine: String,
    #[serde(rename = "box")]
    box_name: String,
    hostname: String,
    cpus: u32,
    memory_mb: u32,
    boot_timeout_secs: u32,
    network: NetworkVars,
    forward_http_port: u16,
    shared: Option<SharedVars>,
    libvirt: Option<LibvirtVars>,
    virtualbox: Option<VirtualboxVars>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct NetworkVars {
    dhcp: bool,
    ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct SharedVars {
    host_dir: String,
    mount_point: String,
    kind_name: &'static str,
    options: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct LibvirtVars {
    driver: String,
    cpu_mode: String,
    prefix: String,
    shared_memory: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct VirtualboxVars {
    name: String,
}

/// `s` as a single-quoted Ruby string literal (only `\` and `'` are special there).
pub fn ruby_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The keyword options of the shared folder's `synced_folder` line.
fn synced_folder_options(f: &SharedFolder) -> String {
    let mut o = vec![format!("type: {}", ruby_str(f.kind.vagrant_type()))];
    match f.kind {
        // vagrant-libvirt adds <readonly/> for any non-nil `readonly`, even false.
        SyncedFolderKind::NineP => {
            o.push("accessmode: 'squash'".into());
            if f.read_only {
                o.push("readonly: true".into());
            }
        }
        SyncedFolderKind::Nfs => {
            o.push("nfs_version: 4".into());
            o.push("nfs_udp: false".into());
        }
        SyncedFolderKind::Virtualbox | SyncedFolderKind::Virtiofs => {}
    }
    if f.read_only && f.kind != SyncedFolderKind::NineP {
        o.push("mount_options: ['ro']".into());
    }
    o.join(", ")
}

impl VagrantfileVars {
    /// Build the template data from `input`.
    pub fn new(input: &VagrantfileInput) -> Self {
        let libvirt = !input.provider.is_virtualbox();
        VagrantfileVars {
            machine: ruby_str(&input.machine),
            box_name: ruby_str(&input.box_name),
            hostname: ruby_str(&input.hostname),
            cpus: input.cpus,
            memory_mb: input.memory_mb,
            boot_timeout_secs: input.boot_timeout_secs,
            network: NetworkVars {
                dhcp: input.ip.is_none(),
                ip: input.ip.as_deref().map(ruby_str),
            },
            forward_http_port: input.forward_http_port,
            shared: input.shared.as_ref().map(|f| SharedVars {
                host_dir: ruby_str(&f.host_dir),
                mount_point: ruby_str(&f.mount_point),
                kind_name: f.kind.vagrant_type(),
                options: synced_folder_options(f),
            }),
            libvirt: libvirt.then(|| LibvirtVars {
                driver: ruby_str(input.accel.libvirt_domain_type()),
                // under TCG qemu's `max` model (x86-64-v3: today's wheels run);
                // under KVM the host's CPU
                cpu_mode: ruby_str(match input.accel {
                    Accel::Kvm => "host-passthrough",
                    Accel::Tcg => "maximum",
                }),
                prefix: ruby_str(&input.vm_prefix),
                shared_memory: input
                    .shared
                    .as_ref()
                    .is_some_and(|f| f.kind == SyncedFolderKind::Virtiofs),
            }),
            virtualbox: (!libvirt).then(|| VirtualboxVars {
                name: ruby_str(&format!("{}{}", input.vm_prefix, input.machine)),
            }),
        }
    }
}

/// A VM name prefix unique per project directory: two checkouts building
/// the same appliance must not fight over one libvirt domain.
pub fn vm_prefix(project_dir: &Path) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(project_dir.as_os_str().as_encoded_bytes());
    format!("vmbuild-{}-", &hex::encode(h)[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruby_literals_cannot_break_out() {
        assert_eq!(ruby_str("a'b\\c#{x}"), r"'a\'b\\c#{x}'");
    }

    #[test]
    fn synced_folder_kinds_follow_the_provider() {
        use Provider as P;
        use SyncedFolderKind as K;
        assert_eq!(K::choose("auto", P::Libvirt), Ok(K::NineP));
        assert_eq!(K::choose("auto", P::Virtualbox), Ok(K::Virtualbox));
        assert_eq!(K::choose("nfs", P::Virtualbox), Ok(K::Nfs));
        assert!(
            K::choose("9p", P::Virtualbox)
                .unwrap_err()
                .contains("virtualbox provider")
        );
        assert!(
            K::choose("smb", P::Libvirt)
                .unwrap_err()
                .contains("expected one of")
        );
    }

    #[test]
    fn readonly_is_omitted_for_writable_9p() {
        let mut f = SharedFolder {
            host_dir: "/d".into(),
            mount_point: "/srv/data".into(),
            read_only: false,
            kind: SyncedFolderKind::NineP,
        };
        assert_eq!(
            synced_folder_options(&f),
            "type: '9p', accessmode: 'squash'"
        );
        f.read_only = true;
        assert!(synced_folder_options(&f).ends_with("readonly: true"));
        f.kind = SyncedFolderKind::Virtualbox;
        assert_eq!(
            synced_folder_options(&f),
            "type: 'virtualbox', mount_options: ['ro']"
        );
    }

    #[test]
    fn vm_prefixes_differ_per_project() {
        let a = vm_prefix(Path::new("/a"));
        assert!(
            a.starts_with("vmbuild-") && a.ends_with('-') && a.len() == 17,
            "{a}"
        );
        assert_ne!(a, vm_prefix(Path::new("/b")));
    }
}
