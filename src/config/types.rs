//! Configuration types. Every field is documented: the docs become the JSON schema.
use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Appliance name: used for the box, VM and artifact file names.
    pub name: String,
    /// Hypervisor provider: `auto`, `libvirt`, `qemu` or `virtualbox`.
    pub provider: ProviderChoice,
    /// Build paths.
    pub build: BuildConfig,
    /// Virtual hardware.
    pub vm: VmConfig,
    /// How the base box is built (`-p`).
    pub base: BaseConfig,
    /// Network of the running VM (`-u`).
    pub network: NetworkConfig,
    /// Shared data folder mounted at `/srv/data`.
    pub shared_data: SharedDataConfig,
    /// Build-time HTTP proxy and extra CA certificates.
    pub proxy: ProxyConfig,
    /// The JupyterHub appliance.
    pub hub: HubConfig,
    /// Who may log in to the shipped appliance over SSH.
    pub access: AccessConfig,
    /// Python packages for users.
    pub python: PythonConfig,
    /// R packages for users.
    pub r: RConfig,
    /// Export formats (`-e`).
    pub export: ExportConfig,
    /// OpenStack upload.
    pub openstack: OpenStackConfig,
    /// The package cache on this machine that provisioning serves the guest from.
    pub cache: CacheConfig,
    /// Groups of hub users (`[[groups]]`): a unix group, a JupyterHub group
    /// and a shared folder each.
    pub groups: Vec<super::GroupConfig>,
    /// Data mounted for users: S3 buckets (`[[data.s3]]`).
    pub data: super::DataConfig,
}

/// Which hypervisor provider to build for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderChoice {
    /// Decided at run time from what answers: VirtualBox (VBoxManage runs), else
    /// libvirt (its daemon answers), else plain qemu.
    Auto,
    /// Vagrant's libvirt provider (qemu/KVM underneath).
    Libvirt,
    /// Plain qemu run by vmbuild itself (no Vagrant, no daemon); libvirt-format boxes.
    Qemu,
    /// Oracle VirtualBox.
    Virtualbox,
}

impl ProviderChoice {
    /// The names `--provider` and `provider` accept.
    pub const NAMES: [&'static str; 4] = ["auto", "virtualbox", "libvirt", "qemu"];

    /// The choice named `name` (as in [`Self::NAMES`]).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "auto" => Some(ProviderChoice::Auto),
            "virtualbox" => Some(ProviderChoice::Virtualbox),
            "libvirt" => Some(ProviderChoice::Libvirt),
            "qemu" => Some(ProviderChoice::Qemu),
            _ => None,
        }
    }
}

/// Where things are written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    /// Finished artifacts (boxes, images, manifests).
    pub output_dir: String,
    /// Scratch space: rendered templates, disks in progress, caches.
    pub work_dir: String,
    /// Directory with user overrides of `box-configs/` and `preseed/` templates.
    pub templates_dir: Option<String>,
}

/// Virtual hardware of the build VM and of the appliance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VmConfig {
    /// Virtual CPUs.
    #[schemars(range(min = 1, max = 256))]
    pub cpus: u32,
    /// Memory in MiB.
    #[schemars(range(min = 512, max = 1048576))]
    pub memory_mb: u32,
    /// Disk size in GiB.
    #[schemars(range(min = 4, max = 4096))]
    pub disk_gb: u32,
    /// Guest hostname.
    pub hostname: String,
    /// Accelerator: `auto` (probe KVM, fall back to TCG), `kvm` or `tcg`.
    pub accelerator: Accelerator,
}

/// qemu accelerator choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Accelerator {
    /// Probe KVM by booting something tiny; fall back to TCG.
    Auto,
    /// Hardware virtualisation.
    Kvm,
    /// Software emulation.
    Tcg,
}

/// How the base box is built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaseConfig {
    /// `auto` (debootstrap as root on Linux, else installer), `debootstrap` or `installer`.
    pub builder: BuilderChoice,
    /// Debian suite.
    pub suite: String,
    /// Debian mirror (plain http is fine: apt verifies signatures).
    pub mirror: String,
    /// Debian security mirror.
    pub security_mirror: String,
    /// Timezone of the base system.
    pub timezone: String,
    /// Locale of the base system.
    pub locale: String,
    /// Extra packages in the base image.
    pub extra_packages: Vec<String>,
    /// Debian installer media (installer builder).
    pub installer: InstallerConfig,
}

/// Which base-box builder to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BuilderChoice {
    /// debootstrap when root on Linux, installer otherwise.
    Auto,
    /// Build the disk natively with debootstrap, then Packer boots it.
    Debootstrap,
    /// The Debian installer with a preseed, driven by Packer.
    Installer,
}

/// Installer media.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallerConfig {
    /// URL (http, https or file) of the installer ISO.
    pub iso_url: String,
    /// Its SHA-256, hex. A mismatch is refused.
    pub iso_sha256: String,
    /// Seconds to wait before typing the boot command.
    #[schemars(range(max = 600))]
    pub boot_wait_secs: u32,
}

/// Network of the running VM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// `dhcp` or a static IPv4 address for the private network (`-i`).
    pub ip: String,
    /// Vagrant providers: forward the hub's HTTPS port 443 to this host port
    /// (0 = none); plain http to it is redirected to https on it. The qemu
    /// provider picks free ports itself and reports them.
    pub forward_http_port: u16,
}

/// The shared data folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SharedDataConfig {
    /// Host directory to share, or `none` to copy `bundled_dir` in (`-d`).
    pub host_dir: String,
    /// Content copied in when `host_dir` is `none`.
    pub bundled_dir: Option<String>,
    /// Mount point in the guest.
    pub mount_point: String,
    /// Mount read-only.
    pub read_only: bool,
    /// `auto`, `virtualbox`, `9p`, `virtiofs` or `nfs`.
    #[schemars(extend("enum" = ["auto", "virtualbox", "9p", "virtiofs", "nfs"]))]
    pub kind: String,
}

/// Build-time proxy and CA trust.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    /// HTTP proxy URL used while building (not kept in the image).
    pub http_proxy: Option<String>,
    /// HTTPS proxy URL used while building.
    pub https_proxy: Option<String>,
    /// Hosts that bypass the proxy.
    pub no_proxy: Option<String>,
    /// PEM files of extra CA certificates to trust in the guest (TLS-intercepting networks).
    pub extra_ca_certs: Vec<String>,
    /// Keep `extra_ca_certs` trusted in the exported image (default: build time only).
    pub keep_extra_ca_certs: bool,
    /// Use this machine's extra CA certificates (/usr/local/share/ca-certificates)
    /// and proxy environment variables while building VMs; never kept in the image.
    pub detect_host: bool,
}

/// The host-side package cache (Debian packages, PyPI files, npm tarballs),
/// reached by the guest over the provisioning SSH connection; nothing of it
/// stays in the image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Serve packages to the guest from the cache while provisioning.
    pub enabled: bool,
    /// Cache directory; empty: `$XDG_CACHE_HOME/vmbuild` (`~/.cache/vmbuild`).
    pub dir: Option<String>,
}

/// The JupyterHub appliance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HubConfig {
    /// Hub admin user names.
    pub admin_users: Vec<String>,
    /// Admin password; secret. Empty: generated at provisioning and printed once.
    pub admin_password: Option<String>,
    /// `native` (sign-up, then an admin approves), `firstuse`, `github`, `gitlab`, `google`, `oidc` or `ldap`.
    #[schemars(extend("enum" = ["firstuse", "native", "github", "gitlab", "google", "oidc", "ldap"]))]
    pub authenticator: String,
    /// Settings passed to the authenticator (traitlets of its class).
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub authenticator_settings: toml::Table,
    /// Per-user memory limit, e.g. `1G`.
    pub mem_limit: String,
    /// Per-user CPU limit (cores).
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub cpu_limit: f64,
    /// Cull idle servers after this many seconds (0 = off).
    pub idle_timeout_secs: u64,
    /// Public domain name for HTTPS (Let's Encrypt, unless `tls_cert` is given).
    pub domain: Option<String>,
    /// PEM certificate (chain) file for HTTPS on :443, with `tls_key`.
    pub tls_cert: Option<String>,
    /// PEM private key file for `tls_cert`; secret, kept root-only on the VM.
    pub tls_key: Option<String>,
    /// Contact address for Let's Encrypt (with `domain` and no `tls_cert`).
    pub letsencrypt_email: Option<String>,
}

/// The owner's way in over SSH. The exported OVA and qcow2 keep no build
/// account: sshd admits only the `vmbuild-ssh` group, which holds
/// `ssh_user` (when `ssh_keys` are given) and, on OpenStack, cloud-init's
/// default user with the cloud's key pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessConfig {
    /// Account the `ssh_keys` open (created when there are keys; may sudo).
    pub ssh_user: String,
    /// OpenSSH public keys (`ssh-ed25519 AAAA… you@host`) that log in as `ssh_user`. Empty: no SSH account (hub admins administer through a JupyterLab terminal with sudo).
    pub ssh_keys: Vec<String>,
}

/// Python packages for users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PythonConfig {
    /// Pinned pip requirements installed into `/opt/tljh/user`.
    pub packages: Vec<String>,
    /// A requirements file to install as well.
    pub requirements_file: Option<String>,
    /// More Python environments, each its own venv and kernel.
    #[serde(default)]
    pub environments: Vec<PythonEnvironment>,
}

/// A named Python environment: `/opt/tljh/envs/<name>`, shown as a kernel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PythonEnvironment {
    /// Directory and kernel name (lower-case letters, digits, `-`, `_`).
    pub name: String,
    /// The kernel's name in JupyterLab (default `Python (<name>)`).
    pub display_name: Option<String>,
    /// Pinned pip requirements.
    pub packages: Vec<String>,
}

/// R packages for users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RConfig {
    /// Install R and the IRkernel.
    pub enabled: bool,
    /// Debian `r-cran-*` packages.
    pub apt_packages: Vec<String>,
    /// CRAN packages (needs CRAN reachable).
    pub cran_packages: Vec<String>,
    /// Bioconductor packages.
    pub bioc_packages: Vec<String>,
    /// GitHub `owner/repo` packages.
    pub github_packages: Vec<String>,
}

/// Export formats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportConfig {
    /// Any of `box`, `ova`, `qcow2`, `vmdk`.
    #[schemars(extend("items" = {"type": "string", "enum": ["box", "ova", "qcow2", "vmdk"]}, "uniqueItems" = true))]
    pub formats: Vec<String>,
}

/// OpenStack upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenStackConfig {
    /// Cloud name in clouds.yaml (empty: no upload unless `--openstack`).
    pub cloud: Option<String>,
    /// Image name in Glance (default: the appliance name and date).
    pub image_name: Option<String>,
    /// Image properties, overriding the computed ones.
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub properties: toml::Table,
    /// How image data is sent: `auto`, `upload` or `import`.
    #[serde(default)]
    pub upload_method: UploadMethod,
}

/// How image data is sent to Glance.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum UploadMethod {
    /// Direct upload; the import API when the cloud refuses direct uploads.
    #[default]
    Auto,
    /// Direct upload (`PUT /v2/images/{id}/file`).
    Upload,
    /// Interoperable image import, `glance-direct` (`PUT .../stage`, `POST .../import`).
    Import,
}
