//! What the audit reports: findings (must not ship) and expected items (the
//! owner chose them, or they are harmless by construction).
use serde::Serialize;

/// The kind of a finding; its JSON name is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// An `authorized_keys` entry.
    AuthorizedKey,
    /// A usable password (hash or empty) of an account, or root not locked.
    Password,
    /// A sudo rule (or `Defaults`) that needs no password.
    Nopasswd,
    /// A private key file (SSH host key, TLS key, ...).
    PrivateKey,
    /// An extra CA certificate trusted by the system.
    BuildCa,
    /// A build-time proxy setting.
    BuildProxy,
    /// A hub secret: cookie secret, proxy token, admin password hashes, hub database.
    HubSecret,
    /// A token or credential in a configuration file.
    Token,
    /// S3 credentials (s3fs passwd file, rclone config, AWS credentials).
    S3Credentials,
    /// A shell or tool history.
    History,
    /// A package cache (apt, pip, npm, uv).
    PackageCache,
    /// `/etc/vmbuild/owner.json` is present but unreadable.
    OwnerFile,
}

impl FindingKind {
    /// A short human label.
    pub fn label(self) -> &'static str {
        match self {
            FindingKind::AuthorizedKey => "authorized SSH key",
            FindingKind::Password => "usable password",
            FindingKind::Nopasswd => "NOPASSWD sudo",
            FindingKind::PrivateKey => "private key",
            FindingKind::BuildCa => "extra CA",
            FindingKind::BuildProxy => "build proxy",
            FindingKind::HubSecret => "hub secret",
            FindingKind::Token => "token",
            FindingKind::S3Credentials => "S3 credentials",
            FindingKind::History => "history",
            FindingKind::PackageCache => "package cache",
            FindingKind::OwnerFile => "owner.json",
        }
    }
}

/// Something in the image that must not ship.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What it is.
    pub kind: FindingKind,
    /// Where, as a path inside the image.
    pub path: String,
    /// Specifics (never a secret's content: a key's fingerprint or a hash's
    /// algorithm at most).
    pub detail: String,
    /// Size in bytes, where it matters (caches, histories).
    pub size: Option<u64>,
    /// Why it matters.
    pub why: String,
}

impl Finding {
    /// A finding without a size.
    pub fn new(
        kind: FindingKind,
        path: impl Into<String>,
        detail: impl Into<String>,
        why: impl Into<String>,
    ) -> Finding {
        Finding {
            kind,
            path: path.into(),
            detail: detail.into(),
            size: None,
            why: why.into(),
        }
    }

    /// The same finding with a size.
    pub fn with_size(mut self, size: u64) -> Finding {
        self.size = Some(size);
        self
    }
}

/// Something that would be a finding but is there on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expected {
    /// What it is.
    pub kind: FindingKind,
    /// Where, as a path inside the image.
    pub path: String,
    /// Specifics, as for a finding.
    pub detail: String,
    /// Why it is fine.
    pub reason: String,
}

impl Expected {
    /// An expected item.
    pub fn new(
        kind: FindingKind,
        path: impl Into<String>,
        detail: impl Into<String>,
        reason: impl Into<String>,
    ) -> Expected {
        Expected {
            kind,
            path: path.into(),
            detail: detail.into(),
            reason: reason.into(),
        }
    }
}

/// What the detectors collect.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Findings {
    /// Must not ship.
    pub findings: Vec<Finding>,
    /// There on purpose.
    pub expected: Vec<Expected>,
    /// What the audit could not look at, and similar remarks.
    pub notes: Vec<String>,
}

impl Findings {
    /// Add a finding.
    pub fn add(&mut self, f: Finding) {
        self.findings.push(f);
    }

    /// Add an expected item.
    pub fn expect(&mut self, e: Expected) {
        self.expected.push(e);
    }

    /// Add a note.
    pub fn note(&mut self, n: impl Into<String>) {
        self.notes.push(n.into());
    }

    /// Whether a finding of another kind than `kind` already names `path`.
    pub fn has_other_than(&self, kind: FindingKind, path: &str) -> bool {
        self.findings
            .iter()
            .any(|f| f.kind != kind && f.path == path)
    }
}

/// `n` bytes in a human unit (`1.5 MiB`).
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(12), "12 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 << 30), "3.0 GiB");
    }

    #[test]
    fn json_field_names_are_stable() {
        let f = Finding::new(
            FindingKind::PackageCache,
            "/var/cache/apt/archives",
            "3 .deb",
            "w",
        )
        .with_size(5);
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["kind"], "package_cache");
        assert_eq!(v["path"], "/var/cache/apt/archives");
        assert_eq!(v["detail"], "3 .deb");
        assert_eq!(v["size"], 5);
    }
}
