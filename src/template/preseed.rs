//! The preseed view-model: what `preseed/preseed.cfg.hbs` may use.
//!
//! Every value lands on one line of a debconf file, so values with
//! whitespace or line breaks are refused here rather than producing a
//! preseed that means something else.
use serde::Serialize;

use super::installer::for_provider;
use crate::config::Config;
use crate::platform::Provider;

/// The name of the template.
pub const PRESEED_TEMPLATE: &str = "preseed/preseed.cfg.hbs";

/// Vagrant's well-known insecure public keys (RSA and ed25519). Vagrant
/// replaces them with a fresh key pair on the first `vagrant up`.
pub const VAGRANT_INSECURE_KEYS: [&str; 2] = [
    "ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN1YdxBpNlzxDqfJyw/QKow1F+wvG9hXGoqiysfJOn5Y vagrant insecure public key",
];

/// The base box's user, by Vagrant convention.
pub const VAGRANT_USER: &str = "vagrant";

/// Vagrant's conventional password `vagrant`, as a SHA-512 crypt hash
/// (`openssl passwd -6 -salt vmbuild.vagrant vagrant`), so the preseed holds
/// no clear-text password. Fixed salt: the rendering stays reproducible.
pub const VAGRANT_PASSWORD_CRYPTED: &str = "$6$vmbuild.vagrant$nAZdIi51ml62cnLhnYn6TrjBa8JvaAt8sQiLyJulXdyfHvbs3M0JpDKwxSRmoFzfM87NESUX6qnVHj96JkmR0.";

/// A mirror URL split the way debian-installer asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MirrorParts {
    /// `http` or `https`.
    pub protocol: String,
    /// Host, with `:port` if the URL had one.
    pub host: String,
    /// Path on the host, e.g. `/debian`.
    pub directory: String,
}

/// Split a mirror URL (`http://deb.debian.org/debian`) into its parts.
pub fn parse_mirror(url: &str) -> Result<MirrorParts, String> {
    let (protocol, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{url}` is not a URL (expected http://HOST/PATH)"))?;
    let protocol = protocol.to_ascii_lowercase();
    if protocol != "http" && protocol != "https" {
        return Err(format!(
            "`{url}`: the installer supports only http:// and https:// mirrors"
        ));
    }
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if host.is_empty() || host.contains('@') || !is_token(host) {
        return Err(format!(
            "`{url}`: expected a host name (without credentials) after {protocol}://"
        ));
    }
    if !is_token(path) || path.contains(['?', '#']) {
        return Err(format!(
            "`{url}`: the path must be plain (no spaces, query or fragment)"
        ));
    }
    let directory = match path.trim_end_matches('/') {
        "" => "/".to_owned(),
        d => d.to_owned(),
    };
    Ok(MirrorParts {
        protocol,
        host: host.to_owned(),
        directory,
    })
}

/// Non-empty and free of whitespace and control characters.
fn is_token(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Split `vm.hostname` into a host name and domain, checking RFC 1123 labels.
pub fn split_hostname(name: &str) -> Result<(String, String), String> {
    let valid_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if name.len() > 253 || !name.split('.').all(valid_label) {
        return Err(format!(
            "`{name}` is not a valid host name (letters, digits and `-`, dot-separated labels of 1-63 characters)"
        ));
    }
    Ok(match name.split_once('.') {
        Some((h, d)) => (h.to_owned(), d.to_owned()),
        None => (name.to_owned(), String::new()),
    })
}

/// Everything the preseed template can use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreseedVars {
    /// Installer and system locale, e.g. `en_US.UTF-8`.
    pub locale: String,
    /// XKB keymap.
    pub keymap: String,
    /// Host name (first label of `vm.hostname`).
    pub hostname: String,
    /// Domain (rest of `vm.hostname`; may be empty).
    pub domain: String,
    /// Time zone, e.g. `UTC`.
    pub timezone: String,
    /// The Debian mirror.
    pub mirror: MirrorParts,
    /// The security mirror.
    pub security: MirrorParts,
    /// Debian suite, e.g. `bookworm`.
    pub suite: String,
    /// HTTP proxy URL for the installer, or empty.
    pub proxy: String,
    /// The login user.
    pub username: String,
    /// Its password as a crypt(3) hash.
    pub password_crypted: String,
    /// The disk to install to (`/dev/vda` on virtio, `/dev/sda` on SATA).
    pub disk: String,
    /// Space-separated packages to install besides the standard system.
    pub packages: String,
    /// Lines for the user's `~/.ssh/authorized_keys`.
    pub authorized_keys: Vec<String>,
    /// Stream the installer syslog to the second serial port.
    pub syslog_to_serial: bool,
}

/// A configuration value the installer cannot use (the config loader
/// accepted it; e.g. a `file://` mirror is fine for debootstrap only).
#[derive(Debug, thiserror::Error)]
#[error("configuration key `{key}`: {message}")]
pub struct VarsError {
    /// The dotted key.
    pub key: String,
    /// What is wrong and what was expected.
    pub message: String,
}

fn bad(key: &str, message: String) -> VarsError {
    VarsError {
        key: key.to_owned(),
        message,
    }
}

fn token(key: &str, value: &str) -> Result<String, VarsError> {
    if is_token(value) && !value.contains('\'') {
        Ok(value.to_owned())
    } else {
        Err(bad(
            key,
            format!("`{value}`: expected a single word without spaces or quotes"),
        ))
    }
}

impl PreseedVars {
    /// The preseed for `provider` from the configuration.
    pub fn from_config(cfg: &Config, provider: Provider) -> Result<Self, VarsError> {
        let mirror = parse_mirror(&cfg.base.mirror).map_err(|m| bad("base.mirror", m))?;
        let security =
            parse_mirror(&cfg.base.security_mirror).map_err(|m| bad("base.security_mirror", m))?;
        let (hostname, domain) =
            split_hostname(&cfg.vm.hostname).map_err(|m| bad("vm.hostname", m))?;
        let proxy = match cfg.proxy.http_proxy.as_deref().map(str::trim) {
            None | Some("") => String::new(),
            Some(p) => token("proxy.http_proxy", p)?,
        };
        let mut packages = vec!["openssh-server".to_owned(), "sudo".to_owned()];
        for p in &cfg.base.extra_packages {
            let p = token("base.extra_packages", p)?;
            if !packages.contains(&p) {
                packages.push(p);
            }
        }
        Ok(PreseedVars {
            locale: token("base.locale", &cfg.base.locale)?,
            keymap: "us".to_owned(),
            hostname,
            domain,
            timezone: token("base.timezone", &cfg.base.timezone)?,
            mirror,
            security,
            suite: token("base.suite", &cfg.base.suite)?,
            proxy,
            username: VAGRANT_USER.to_owned(),
            password_crypted: VAGRANT_PASSWORD_CRYPTED.to_owned(),
            disk: for_provider::disk_device(provider).to_owned(),
            packages: packages.join(" "),
            authorized_keys: VAGRANT_INSECURE_KEYS
                .iter()
                .map(|k| (*k).to_owned())
                .collect(),
            syslog_to_serial: for_provider::has_second_serial_port(provider),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_split_into_host_and_directory() {
        let m = parse_mirror("http://deb.debian.org/debian/").unwrap();
        assert_eq!(
            (m.protocol.as_str(), m.host.as_str(), m.directory.as_str()),
            ("http", "deb.debian.org", "/debian")
        );
        let m = parse_mirror("HTTPS://mirror.example:8443").unwrap();
        assert_eq!(
            (m.protocol.as_str(), m.host.as_str(), m.directory.as_str()),
            ("https", "mirror.example:8443", "/")
        );
        for bad in [
            "deb.debian.org/debian",
            "ftp://h/debian",
            "http:///debian",
            "http://u:p@h/debian",
            "http://h/deb ian",
            "http://h/debian?x=1",
        ] {
            assert!(parse_mirror(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hostnames_are_checked_and_split() {
        assert_eq!(
            split_hostname("jupyterhub").unwrap(),
            ("jupyterhub".into(), String::new())
        );
        assert_eq!(
            split_hostname("hub.example.org").unwrap(),
            ("hub".into(), "example.org".into())
        );
        for bad in ["", "a b", "-x", "x_y", "a..b", &"a".repeat(64)] {
            assert!(split_hostname(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod render_tests {
    use std::path::Path;

    use super::*;
    use crate::template::Templates;

    fn render(toml: &str, provider: Provider) -> String {
        let cfg = crate::config::parse_str(Path::new("t.toml"), toml).unwrap();
        let vars = PreseedVars::from_config(&cfg, provider).unwrap();
        Templates::default()
            .render(PRESEED_TEMPLATE, &vars)
            .unwrap()
    }

    #[test]
    fn preseed_follows_the_config() {
        let p = render(
            "[base]\nmirror = \"https://mirror.example:8443/debian/\"\ntimezone = \"Europe/Berlin\"\n\
             locale = \"de_DE.UTF-8\"\nextra_packages = [\"curl\", \"sudo\"]\n\
             [proxy]\nhttp_proxy = \"http://proxy.example:3128\"\n[vm]\nhostname = \"box\"\n",
            Provider::Qemu,
        );
        for line in [
            "d-i mirror/protocol string https",
            "d-i mirror/https/hostname string mirror.example:8443",
            "d-i mirror/https/directory string /debian",
            "d-i mirror/http/proxy string http://proxy.example:3128",
            "d-i time/zone string Europe/Berlin",
            "d-i debian-installer/locale string de_DE.UTF-8",
            "d-i netcfg/get_hostname string box",
            "d-i pkgsel/include string openssh-server sudo curl",
            "d-i base-installer/install-recommends boolean false",
            "d-i partman-basicfilesystems/no_swap boolean false",
            "d-i partman-auto/disk string /dev/vda",
        ] {
            assert!(p.lines().any(|l| l == line), "missing `{line}` in:\n{p}");
        }
    }

    #[test]
    fn no_clear_text_password_and_the_vagrant_key_is_installed() {
        let p = render("", Provider::Qemu);
        assert!(!p.contains("passwd/user-password password"));
        assert!(p.contains(&format!(
            "d-i passwd/user-password-crypted password {VAGRANT_PASSWORD_CRYPTED}"
        )));
        for key in VAGRANT_INSECURE_KEYS {
            assert!(
                p.contains(&format!(
                    "echo '{key}' >> /target/home/vagrant/.ssh/authorized_keys"
                )),
                "{p}"
            );
        }
        assert!(p.contains("NOPASSWD: ALL"));
        assert!(p.contains("tail -n +1 -f /var/log/syslog"));
    }

    #[test]
    fn installed_system_makes_host_keys_at_boot_and_keeps_no_proxy() {
        let p = render(
            "[proxy]\nhttp_proxy = \"http://proxy.example:3128\"\n",
            Provider::Qemu,
        );
        assert!(p.contains("'ExecStart=/usr/bin/ssh-keygen -A'"), "{p}");
        assert!(p.contains("in-target systemctl enable ssh-keygen-once.service"));
        assert!(p.contains("sed -i '/::Proxy/d' /target/etc/apt/apt.conf"));
    }

    #[test]
    fn values_that_would_break_the_file_are_refused() {
        let cfg = crate::config::parse_str(Path::new("t.toml"), "").unwrap();
        let mut bad = cfg.clone();
        bad.base.mirror = "file:///srv/mirror".into();
        let e = PreseedVars::from_config(&bad, Provider::Qemu).unwrap_err();
        assert_eq!(e.key, "base.mirror");
        let mut bad = cfg.clone();
        bad.proxy.http_proxy = Some("http://p:3128\nd-i x string y".into());
        let e = PreseedVars::from_config(&bad, Provider::Qemu).unwrap_err();
        assert_eq!(e.key, "proxy.http_proxy");
    }
}
