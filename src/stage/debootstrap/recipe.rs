//! What goes into the debootstrapped base disk: packages and the files we
//! write into it. Pure: config in, text out. Its hash keys the base-disk cache.
use serde::Serialize;

use crate::config::Config;

/// Bump when the disk-building code changes in a way the recipe fields do not
/// show (commands, file contents): it invalidates cached base disks.
pub const RECIPE_VERSION: &str = "debootstrap-base-5";

/// The well-known Vagrant insecure public key: `vagrant up` logs in with its
/// private half and then replaces it (Vagrant ≥ 1.2 generates a new key pair).
pub const VAGRANT_INSECURE_PUBLIC_KEY: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key";

/// Packages every base disk gets: a bootable, SSH-reachable Debian.
/// dbus: without it hostnamectl, timedatectl and non-root systemctl fail.
pub const BASE_PACKAGES: &[&str] = &[
    "ca-certificates",
    "dbus",
    "grub-pc",
    "ifupdown",
    "isc-dhcp-client",
    "linux-image-amd64",
    "locales",
    "openssh-server",
    "rsync",
    "sudo",
];

/// The inputs of a base disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseDiskRecipe {
    /// [`RECIPE_VERSION`].
    pub version: &'static str,
    /// Debian suite.
    pub suite: String,
    /// Debian mirror.
    pub mirror: String,
    /// Security mirror.
    pub security_mirror: String,
    /// Disk size in GiB.
    pub disk_gb: u32,
    /// Guest hostname.
    pub hostname: String,
    /// Timezone (`Area/City` or `UTC`).
    pub timezone: String,
    /// Locale (`en_US.UTF-8`).
    pub locale: String,
    /// Packages to include (sorted, deduplicated).
    pub packages: Vec<String>,
}

impl BaseDiskRecipe {
    /// The recipe the config asks for.
    pub fn from_config(c: &Config) -> Self {
        let mut packages: Vec<String> = BASE_PACKAGES.iter().map(|s| (*s).to_owned()).collect();
        packages.extend(c.base.extra_packages.iter().cloned());
        packages.sort();
        packages.dedup();
        BaseDiskRecipe {
            version: RECIPE_VERSION,
            suite: c.base.suite.clone(),
            mirror: c.base.mirror.trim_end_matches('/').to_owned(),
            security_mirror: c.base.security_mirror.trim_end_matches('/').to_owned(),
            disk_gb: c.vm.disk_gb,
            hostname: c.vm.hostname.clone(),
            timezone: c.base.timezone.clone(),
            locale: c.base.locale.clone(),
            packages,
        }
    }

    /// The cache key: SHA-256 of the recipe (first 16 hex digits name files).
    pub fn key(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        crate::manifest::sha256_hex(&json)
    }

    /// The charset part of the locale (`en_US.UTF-8` → `UTF-8`).
    fn charset(&self) -> &str {
        self.locale.split_once('.').map_or("UTF-8", |(_, c)| c)
    }

    /// Files written into the new root, as (path relative to the root, contents, mode).
    /// `root_uuid` is the file system's UUID (no udev here: nothing else names it).
    pub fn files(&self, root_uuid: &str, packer_public_key: &str) -> Vec<(String, String, u32)> {
        let f = |p: &str, c: String, m: u32| (p.to_owned(), c, m);
        vec![
            f("etc/fstab", format!("UUID={root_uuid} / ext4 errors=remount-ro 0 1\n"), 0o644),
            f("etc/hostname", format!("{}\n", self.hostname), 0o644),
            f(
                "etc/hosts",
                format!(
                    "127.0.0.1\tlocalhost\n127.0.1.1\t{h}\n::1\tlocalhost ip6-localhost ip6-loopback\n",
                    h = self.hostname
                ),
                0o644,
            ),
            f(
                "etc/network/interfaces",
                "auto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n".into(),
                0o644,
            ),
            f(
                "etc/apt/sources.list",
                format!(
                    "deb {m} {s} main\ndeb {m} {s}-updates main\ndeb {sec} {s}-security main\n",
                    m = self.mirror,
                    s = self.suite,
                    sec = self.security_mirror
                ),
                0o644,
            ),
            // grub.d drop-in: sourced after /etc/default/grub, survives package upgrades
            f(
                "etc/default/grub.d/vmbuild.cfg",
                "GRUB_TIMEOUT=1\nGRUB_CMDLINE_LINUX=\"net.ifnames=0 biosdevname=0 console=tty0 console=ttyS0,115200n8\"\nGRUB_TERMINAL=\"console serial\"\nGRUB_SERIAL_COMMAND=\"serial --speed=115200\"\n".into(),
                0o644,
            ),
            f("etc/sudoers.d/vagrant", "vagrant ALL=(ALL) NOPASSWD: ALL\n".into(), 0o440),
            f("etc/timezone", format!("{}\n", self.timezone), 0o644),
            f("etc/locale.gen", format!("{} {}\n", self.locale, self.charset()), 0o644),
            f("etc/default/locale", format!("LANG={}\n", self.locale), 0o644),
            f("etc/systemd/system/ssh-keygen-once.service", SSH_KEYGEN_UNIT.into(), 0o644),
            f("home/vagrant/.ssh/authorized_keys", format!("{}\n", packer_public_key.trim()), 0o600),
        ]
    }
}

/// Host keys are removed from the image; this regenerates them on first boot.
pub const SSH_KEYGEN_UNIT: &str = "[Unit]
Description=Generate missing SSH host keys
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
";

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe() -> BaseDiskRecipe {
        let c = crate::config::parse_str(
            std::path::Path::new("t.toml"),
            "[base]\nextra_packages = [\"vim\", \"sudo\"]\n",
        )
        .unwrap();
        BaseDiskRecipe::from_config(&c)
    }

    #[test]
    fn packages_are_base_plus_extra_sorted_once() {
        let r = recipe();
        assert!(r.packages.contains(&"vim".to_owned()));
        assert_eq!(r.packages.iter().filter(|p| *p == "sudo").count(), 1);
        assert!(r.packages.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn key_changes_with_any_field() {
        let a = recipe();
        let mut b = a.clone();
        assert_eq!(a.key(), b.key());
        b.disk_gb += 1;
        assert_ne!(a.key(), b.key());
    }

    #[test]
    fn files_name_root_by_uuid_and_set_up_vagrant() {
        let files = recipe().files("1234-abcd", "ssh-ed25519 AAAA packer");
        let get = |p: &str| files.iter().find(|f| f.0 == p).unwrap().clone();
        assert_eq!(
            get("etc/fstab").1,
            "UUID=1234-abcd / ext4 errors=remount-ro 0 1\n"
        );
        assert_eq!(get("etc/sudoers.d/vagrant").2, 0o440);
        assert_eq!(
            get("home/vagrant/.ssh/authorized_keys").1,
            "ssh-ed25519 AAAA packer\n"
        );
        assert_eq!(get("etc/locale.gen").1, "en_US.UTF-8 UTF-8\n");
        assert!(
            get("etc/apt/sources.list")
                .1
                .contains("bookworm-security main")
        );
        assert!(files.iter().all(|f| !f.0.starts_with('/')));
    }
}
