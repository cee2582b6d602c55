//! Build-time network trust: what the VM being built needs to reach the
//! package registries from this machine, detected on the host.
//!
//! On networks that intercept TLS, the host trusts an extra CA
//! (`/usr/local/share/ca-certificates/*.crt`, where update-ca-certificates
//! takes local CAs from) and may route through a proxy (`http_proxy`, …).
//! A VM built here needs the same to fetch from PyPI or npm, and a new user
//! cannot be expected to know that. So by default the build uses them, says
//! so in one line, and the export's cleanup removes them again: they belong
//! to the build machine's network, not to the appliance.
//!
//! What vmbuild.toml lists itself (`proxy.extra_ca_certs`) is the owner's
//! choice; `proxy.keep_extra_ca_certs = true` keeps those in the image.
use std::path::{Path, PathBuf};

use crate::config::Config;

/// Where update-ca-certificates takes local CA certificates from.
pub const HOST_CA_DIR: &str = "/usr/local/share/ca-certificates";

/// What the host's network needs, as detected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostTrust {
    /// Extra CA certificate files of the host (PEM), not already configured.
    pub ca_files: Vec<PathBuf>,
    /// Their PEM text, concatenated.
    pub ca_bundle: String,
    /// `http_proxy` from the environment, when the config sets none.
    pub http_proxy: Option<String>,
    /// `https_proxy` from the environment, when the config sets none.
    pub https_proxy: Option<String>,
    /// `no_proxy` from the environment, when the config sets none.
    pub no_proxy: Option<String>,
}

/// The PEM certificate files directly in `dir` (`*.crt`), sorted.
pub fn ca_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "crt") && p.is_file())
        .collect();
    v.sort();
    v
}

/// Detect the host's trust from `ca_dir` and the environment `env` (a
/// lookup, so tests need not touch the process environment). Certificates
/// and proxies the config already sets are left to the config.
pub fn detect(
    config: &Config,
    project_dir: &Path,
    ca_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> HostTrust {
    let configured: Vec<String> = config
        .proxy
        .extra_ca_certs
        .iter()
        .filter_map(|p| std::fs::read_to_string(project_dir.join(p)).ok())
        .collect();
    let mut t = HostTrust::default();
    for f in ca_files(ca_dir) {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        // only certificates, and not the ones the config lists anyway
        if !text.contains("-----BEGIN CERTIFICATE-----")
            || text.contains("PRIVATE KEY-----")
            || configured.iter().any(|c| c.trim() == text.trim())
        {
            continue;
        }
        t.ca_bundle.push_str(text.trim_end());
        t.ca_bundle.push('\n');
        t.ca_files.push(f);
    }
    let var = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|n| env(n))
            .filter(|v| !v.trim().is_empty())
    };
    let p = &config.proxy;
    if p.http_proxy.is_none() && p.https_proxy.is_none() {
        t.http_proxy = var(["http_proxy", "HTTP_PROXY"]);
        t.https_proxy = var(["https_proxy", "HTTPS_PROXY"]);
        if t.http_proxy.is_some() || t.https_proxy.is_some() {
            t.no_proxy = var(["no_proxy", "NO_PROXY"]);
        }
    }
    t
}

impl HostTrust {
    /// Whether anything was detected.
    pub fn is_empty(&self) -> bool {
        self.ca_files.is_empty() && self.http_proxy.is_none() && self.https_proxy.is_none()
    }

    /// The one line that tells the user what the build uses and that it
    /// will not ship.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.ca_files.is_empty() {
            parts.push(format!(
                "{} extra CA certificate(s) from {HOST_CA_DIR} ({})",
                self.ca_files.len(),
                self.ca_files
                    .iter()
                    .filter_map(|f| f.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(p) = self.https_proxy.as_ref().or(self.http_proxy.as_ref()) {
            parts.push(format!("the proxy {p} from the environment"));
        }
        format!(
            "build-time network trust: the VM uses this machine's {}; the export removes it (proxy.detect_host = false turns this off)",
            parts.join(" and ")
        )
    }

    /// The effective config for the recipes: detected proxies filled in
    /// where the config has none (the cleanup removes proxy settings before
    /// export in any case).
    pub fn apply(&self, config: &Config) -> Config {
        let mut c = config.clone();
        if c.proxy.http_proxy.is_none() {
            c.proxy.http_proxy.clone_from(&self.http_proxy);
        }
        if c.proxy.https_proxy.is_none() {
            c.proxy.https_proxy.clone_from(&self.https_proxy);
        }
        if c.proxy.no_proxy.is_none() {
            c.proxy.no_proxy.clone_from(&self.no_proxy);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    fn config(toml: &str) -> Config {
        crate::config::parse_str("t.toml".as_ref(), toml).unwrap()
    }

    #[test]
    fn host_cas_and_proxies_are_detected_unless_configured() {
        let d = tempfile::tempdir().unwrap();
        let cas = d.path().join("cas");
        std::fs::create_dir_all(&cas).unwrap();
        std::fs::write(cas.join("corp.crt"), CERT).unwrap();
        std::fs::write(cas.join("notes.txt"), "x").unwrap();
        std::fs::write(cas.join("key.crt"), "-----BEGIN PRIVATE KEY-----\n").unwrap();
        let env = |n: &str| match n {
            "https_proxy" => Some("http://proxy.corp:3128".to_owned()),
            "no_proxy" => Some("localhost".to_owned()),
            _ => None,
        };
        let t = detect(&config(""), d.path(), &cas, &env);
        assert_eq!(t.ca_files, [cas.join("corp.crt")]);
        assert_eq!(t.ca_bundle, CERT);
        assert_eq!(t.https_proxy.as_deref(), Some("http://proxy.corp:3128"));
        assert_eq!(t.no_proxy.as_deref(), Some("localhost"));
        let line = t.describe();
        assert!(
            line.contains("1 extra CA certificate(s)") && line.contains("corp.crt"),
            "{line}"
        );
        assert!(line.contains("the export removes it"), "{line}");
        let c = t.apply(&config(""));
        assert_eq!(
            c.proxy.https_proxy.as_deref(),
            Some("http://proxy.corp:3128")
        );

        // the same certificate listed in the config is the config's, and a
        // configured proxy wins over the environment
        std::fs::write(d.path().join("mine.pem"), CERT).unwrap();
        let c = config(
            "[proxy]\nextra_ca_certs = [\"mine.pem\"]\nhttp_proxy = \"http://other:8080\"\n",
        );
        let t = detect(&c, d.path(), &cas, &env);
        assert!(t.is_empty(), "{t:?}");
    }
}
