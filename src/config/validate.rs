//! Checks beyond types: values that parse but cannot work (a broadcast IP, a
//! malformed checksum, an appliance name that is no file name). Each error is
//! located where the value came from.
use regex::Regex;

use super::check::{Locations, quote};
use super::error::{ConfigError, Origin};
use super::patterns::*;
use super::types::Config;

/// Collects the first failed check.
pub(super) struct Checks<'a> {
    locations: &'a Locations,
    error: Option<ConfigError>,
}

impl Checks<'_> {
    pub(super) fn origin(&self, key: &str) -> Origin {
        let parent = key.split('[').next().unwrap_or(key);
        self.locations
            .get(key)
            .or_else(|| self.locations.get(parent))
            .cloned()
            .unwrap_or(Origin::Default)
    }

    /// Record `message` for `key` unless `ok` (the first failure wins).
    pub(super) fn check(&mut self, key: &str, ok: bool, message: impl FnOnce() -> String) {
        if !ok && self.error.is_none() {
            self.error = Some(ConfigError::Value {
                origin: self.origin(key),
                key: key.to_owned(),
                message: message(),
            });
        }
    }

    pub(super) fn pattern(&mut self, key: &str, value: &str, re: &Regex, what: &str) {
        self.check(key, re.is_match(value), || {
            format!("expected {what}, found {}", quote(value))
        });
    }

    pub(super) fn each(&mut self, key: &str, items: &[String], re: &Regex, what: &str) {
        for (i, item) in items.iter().enumerate() {
            self.pattern(&format!("{key}[{i}]"), item, re, what);
        }
    }

    pub(super) fn url(&mut self, key: &str, value: &str, schemes: &[&str]) {
        let ok = reqwest::Url::parse(value)
            .is_ok_and(|u| schemes.contains(&u.scheme()) && (u.scheme() == "file" || u.has_host()));
        self.check(key, ok, || {
            let schemes = schemes.join(", ");
            format!("expected a URL ({schemes}), found {}", quote(value))
        });
    }

    pub(super) fn non_empty(&mut self, key: &str, value: &str) {
        self.check(key, !value.trim().is_empty(), || {
            "expected a non-empty string".into()
        });
    }
}

/// Check the values of `cfg`; `locations` says where each came from.
pub(crate) fn validate(cfg: &Config, locations: &Locations) -> Result<(), ConfigError> {
    let mut c = Checks {
        locations,
        error: None,
    };
    let file_name = "a name usable as a file name (letters, digits, `.`, `_`, `-`; at most 64)";
    c.pattern("name", &cfg.name, &FILE_NAME, file_name);
    c.non_empty("build.output_dir", &cfg.build.output_dir);
    c.non_empty("build.work_dir", &cfg.build.work_dir);
    if let Some(d) = &cfg.build.templates_dir {
        c.non_empty("build.templates_dir", d);
    }
    let label = "a host name (letters, digits and `-`, at most 63 characters)";
    c.pattern("vm.hostname", &cfg.vm.hostname, &HOST_LABEL, label);
    base(&mut c, cfg);
    c.check("network.ip", ip_ok(&cfg.network.ip), || {
        format!("{IP_EXPECTED}, found {}", quote(&cfg.network.ip))
    });
    shared_data(&mut c, cfg);
    proxy(&mut c, cfg);
    hub(&mut c, cfg);
    access(&mut c, cfg);
    packages(&mut c, cfg);
    super::validate_data::validate(&mut c, cfg);
    export(&mut c, cfg);
    if let Some(n) = &cfg.openstack.image_name {
        c.non_empty("openstack.image_name", n);
    }
    if let Some(n) = &cfg.openstack.cloud {
        c.non_empty("openstack.cloud", n);
    }
    c.error.map_or(Ok(()), Err)
}

fn base(c: &mut Checks<'_>, cfg: &Config) {
    let b = &cfg.base;
    c.pattern(
        "base.suite",
        &b.suite,
        &SUITE,
        "a Debian suite name such as `bookworm`",
    );
    c.url("base.mirror", &b.mirror, &["http", "https", "file"]);
    c.url(
        "base.security_mirror",
        &b.security_mirror,
        &["http", "https", "file"],
    );
    c.pattern(
        "base.timezone",
        &b.timezone,
        &TIMEZONE,
        "a time zone such as `UTC` or `Europe/Berlin`",
    );
    c.pattern(
        "base.locale",
        &b.locale,
        &LOCALE,
        "a locale such as `en_US.UTF-8`",
    );
    c.each(
        "base.extra_packages",
        &b.extra_packages,
        &DEB_PACKAGE,
        "a Debian package name",
    );
    c.url(
        "base.installer.iso_url",
        &b.installer.iso_url,
        &["http", "https", "file"],
    );
    let sha = "a SHA-256 checksum (64 hexadecimal digits)";
    c.pattern(
        "base.installer.iso_sha256",
        &b.installer.iso_sha256,
        &SHA256,
        sha,
    );
}

fn shared_data(c: &mut Checks<'_>, cfg: &Config) {
    let s = &cfg.shared_data;
    c.non_empty("shared_data.host_dir", &s.host_dir);
    if let Some(d) = &s.bundled_dir {
        c.non_empty("shared_data.bundled_dir", d);
    }
    if let Some(problem) = mount_point_problem(&s.mount_point) {
        c.check("shared_data.mount_point", false, || problem);
    }
}

/// Directories of the system itself: mounting the shared folder over one
/// (or making it one of them) breaks the appliance.
const SYSTEM_DIRS: &[&str] = &[
    "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/opt", "/proc", "/root",
    "/run", "/sbin", "/sys", "/tmp", "/usr", "/var",
];

/// Why `p` cannot be the shared folder's mount point. It reaches shell
/// lines on the VM (quoted there too), so only plain path characters pass.
fn mount_point_problem(p: &str) -> Option<String> {
    if !p.starts_with('/') {
        return Some(format!(
            "expected an absolute path such as `/srv/data`, found {}",
            quote(p)
        ));
    }
    if !p
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || "/._+@-".contains(ch))
    {
        return Some(format!(
            "expected only letters, digits, `/`, `.`, `_`, `+`, `@` and `-`, found {}",
            quote(p)
        ));
    }
    if p.split('/').any(|part| part == "." || part == "..") {
        return Some(format!(
            "expected a path without `.` or `..` parts, found {}",
            quote(p)
        ));
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() || SYSTEM_DIRS.contains(&trimmed) || trimmed.starts_with("/opt/tljh") {
        return Some(format!(
            "{} is a directory of the system itself; use a folder of its own such as `/srv/data`",
            quote(p)
        ));
    }
    None
}

fn proxy(c: &mut Checks<'_>, cfg: &Config) {
    let p = &cfg.proxy;
    if let Some(u) = &p.http_proxy {
        c.url(
            "proxy.http_proxy",
            u,
            &["http", "https", "socks5", "socks5h"],
        );
    }
    if let Some(u) = &p.https_proxy {
        c.url(
            "proxy.https_proxy",
            u,
            &["http", "https", "socks5", "socks5h"],
        );
    }
    for (i, f) in p.extra_ca_certs.iter().enumerate() {
        c.non_empty(&format!("proxy.extra_ca_certs[{i}]"), f);
    }
}

fn hub(c: &mut Checks<'_>, cfg: &Config) {
    let h = &cfg.hub;
    c.each(
        "hub.admin_users",
        &h.admin_users,
        &UNIX_USER,
        "a user name (lower-case letters, digits, `_`, `-`; at most 32)",
    );
    if let Some(pw) = &h.admin_password {
        c.check(
            "hub.admin_password",
            pw.is_empty() || pw.chars().count() >= 8,
            || "expected at least 8 characters (or leave it out to generate one)".into(),
        );
    }
    c.pattern(
        "hub.mem_limit",
        &h.mem_limit,
        &MEM_LIMIT,
        "a size such as `512M` or `1G`",
    );
    c.check(
        "hub.tls_key",
        h.tls_cert.is_some() == h.tls_key.is_some(),
        || "expected `tls_cert` and `tls_key` together (or neither)".into(),
    );
    c.check(
        "hub.letsencrypt_email",
        h.letsencrypt_email.is_none() || (h.domain.is_some() && h.tls_cert.is_none()),
        || "Let's Encrypt needs `hub.domain` and no `tls_cert`".into(),
    );
    if let Some(d) = &h.domain {
        c.pattern(
            "hub.domain",
            d,
            &DOMAIN,
            "a DNS domain name such as `hub.example.org`",
        );
    }
}

fn access(c: &mut Checks<'_>, cfg: &Config) {
    let a = &cfg.access;
    c.pattern(
        "access.ssh_user",
        &a.ssh_user,
        &UNIX_USER,
        "a user name (lower-case letters, digits, `_`, `-`; at most 32)",
    );
    // root and the build account are locked or gone in the shipped image;
    // `jupyter-*` are the hub's users.
    let reserved = ["root", "vagrant", "debian"].contains(&a.ssh_user.as_str())
        || a.ssh_user.starts_with("jupyter-");
    c.check("access.ssh_user", !reserved, || {
        format!(
            "{} is reserved (root, the build account `vagrant`, cloud-init's `debian` and the hub's `jupyter-*` users); choose another name such as `sysadmin`",
            quote(&a.ssh_user)
        )
    });
    for (i, key) in a.ssh_keys.iter().enumerate() {
        if let Some(problem) = super::ssh_key::problem(key) {
            c.check(&format!("access.ssh_keys[{i}]"), false, || problem);
        }
    }
}

fn packages(c: &mut Checks<'_>, cfg: &Config) {
    let pip = "a pip requirement such as `numpy` or `pandas==2.2.3`";
    c.each(
        "python.packages",
        &cfg.python.packages,
        &PIP_REQUIREMENT,
        pip,
    );
    if let Some(f) = &cfg.python.requirements_file {
        c.non_empty("python.requirements_file", f);
    }
    let envs = &cfg.python.environments;
    for (i, e) in envs.iter().enumerate() {
        c.pattern(
            "python.environments",
            &e.name,
            &UNIX_USER,
            "environment names of lower-case letters, digits, `_` and `-`",
        );
        c.check(
            "python.environments",
            !envs[..i].iter().any(|o| o.name == e.name),
            || format!("environment `{}` is defined twice", e.name),
        );
        c.each("python.environments", &e.packages, &PIP_REQUIREMENT, pip);
    }
    let r = &cfg.r;
    c.each(
        "r.apt_packages",
        &r.apt_packages,
        &DEB_PACKAGE,
        "a Debian package name",
    );
    c.each(
        "r.github_packages",
        &r.github_packages,
        &GITHUB_REPO,
        "`owner/repo`",
    );
}

fn export(c: &mut Checks<'_>, cfg: &Config) {
    let f = &cfg.export.formats;
    c.check("export.formats", !f.is_empty(), || {
        "expected at least one of `box`, `ova`, `qcow2`, `vmdk`".into()
    });
    for (i, item) in f.iter().enumerate() {
        c.check(
            &format!("export.formats[{i}]"),
            !f[..i].contains(item),
            || format!("{} is listed twice", quote(item)),
        );
    }
}
