//! `/etc/vmbuild/owner.json`: what the owner put in the image on purpose
//! (their SSH keys, a shared admin password), written by the appliance
//! recipes from vmbuild.toml.
use serde::Deserialize;

use super::ssh_key::{self, PublicKey};
use crate::audit::error::AuditError;
use crate::audit::finding::{Finding, FindingKind, Findings};
use crate::audit::root::ImageRoot;

/// Where the appliance declares its owner's choices.
pub const OWNER_JSON: &str = "/etc/vmbuild/owner.json";

/// How the hub admin password was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdminPassword {
    /// The owner set `hub.admin_password`: every instance shares it, on purpose.
    Owner,
    /// Each instance makes its own at first boot: none may ship.
    PerInstance,
}

/// The owner's declared exceptions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Owner {
    /// The owner's account (`access.ssh_user`), when keys were given for it.
    #[serde(default)]
    pub ssh_user: Option<String>,
    /// `authorized_keys` lines the owner listed in vmbuild.toml.
    #[serde(default)]
    pub ssh_keys: Vec<String>,
    /// How the admin password was chosen (absent: nothing declared).
    #[serde(default)]
    pub admin_password: Option<AdminPassword>,
    /// Buckets whose S3 credentials the owner ships on purpose
    /// (`keep_credentials = true` in vmbuild.toml).
    #[serde(default)]
    pub s3_credentials: Vec<String>,
}

impl Owner {
    /// Parse owner.json text.
    pub fn parse(text: &str) -> Result<Owner, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The owner's keys that parse as public keys.
    pub fn keys(&self) -> Vec<PublicKey> {
        self.ssh_keys
            .iter()
            .filter_map(|l| ssh_key::parse_line(l))
            .collect()
    }

    /// Whether the sudo rule for `who` is the owner's own: the account the
    /// owner declared, reached by the owner's keys only.
    pub fn is_owner_account(&self, who: &[String]) -> bool {
        match &self.ssh_user {
            Some(user) => !self.keys().is_empty() && who == [user.clone()],
            None => false,
        }
    }

    /// Whether `key` is one the owner declared (same key, whatever the comment).
    pub fn declares(&self, key: &PublicKey) -> bool {
        self.keys().iter().any(|k| k.blob == key.blob)
    }
}

/// Read the image's owner.json. Absent: no exceptions. Unreadable: a
/// finding, and no exceptions (a broken file must not excuse anything).
pub fn read(root: &ImageRoot, out: &mut Findings) -> Result<Owner, AuditError> {
    let Some(text) = root.read_text(OWNER_JSON)? else {
        return Ok(Owner::default());
    };
    match Owner::parse(&text) {
        Ok(o) => Ok(o),
        Err(e) => {
            out.add(Finding::new(
                FindingKind::OwnerFile,
                OWNER_JSON,
                format!(
                    "{OWNER_JSON}:{}:{}: expected {{\"ssh_keys\": [..], \"admin_password\": \"owner\" | \"per-instance\"}}",
                    e.line(),
                    e.column()
                ),
                "the owner's exceptions cannot be read, so none apply",
            ));
            Ok(Owner::default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_declared_shape() {
        let o = Owner::parse(
            r#"{"ssh_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOaLKOjsBqvESpZL+bR4wH7AN5JCQr8hwpmHZ/crt4kp alice"], "admin_password": "per-instance"}"#,
        )
        .unwrap();
        assert_eq!(o.admin_password, Some(AdminPassword::PerInstance));
        let k = ssh_key::parse_line(
            "no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOaLKOjsBqvESpZL+bR4wH7AN5JCQr8hwpmHZ/crt4kp other comment",
        )
        .unwrap();
        assert!(o.declares(&k));
        assert_eq!(Owner::parse("{}").unwrap(), Owner::default());
        assert!(Owner::parse(r#"{"admin_password": "sometimes"}"#).is_err());
    }

    #[test]
    fn the_owners_sudo_rule_is_the_declared_account_with_keys() {
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOaLKOjsBqvESpZL+bR4wH7AN5JCQr8hwpmHZ/crt4kp alice";
        let o = Owner::parse(&format!(
            r#"{{"ssh_user": "sysadmin", "ssh_keys": ["{key}"]}}"#
        ))
        .unwrap();
        assert!(o.is_owner_account(&["sysadmin".into()]));
        assert!(!o.is_owner_account(&["vagrant".into()]));
        assert!(!o.is_owner_account(&["sysadmin".into(), "vagrant".into()]));
        // an account named but no keys: nothing the owner reaches it with
        let no_keys = Owner::parse(r#"{"ssh_user": "sysadmin", "ssh_keys": []}"#).unwrap();
        assert!(!no_keys.is_owner_account(&["sysadmin".into()]));
    }

    #[test]
    fn a_broken_file_is_a_finding_with_line_and_column() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("etc/vmbuild")).unwrap();
        std::fs::write(
            d.path().join("etc/vmbuild/owner.json"),
            "{\n  \"ssh_keys\": 3\n}",
        )
        .unwrap();
        let mut out = Findings::default();
        let o = read(&ImageRoot::open(d.path()).unwrap(), &mut out).unwrap();
        assert_eq!(o, Owner::default());
        assert_eq!(out.findings.len(), 1);
        assert!(
            out.findings[0]
                .detail
                .starts_with("/etc/vmbuild/owner.json:2:"),
            "{:?}",
            out.findings
        );
    }
}
