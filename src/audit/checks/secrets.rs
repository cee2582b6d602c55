//! What a file's text gives away: private keys (PEM, OpenSSH, PuTTY) and
//! tokens or passwords written as literal values in configuration.
use std::sync::LazyLock;

use regex::Regex;

use super::ssh_key;

/// A secret found in a file's text (never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hit {
    /// A private key block.
    PrivateKey {
        /// Its PEM label (`OPENSSH PRIVATE KEY`, `RSA PRIVATE KEY`, ...).
        label: String,
        /// Its public key's fingerprint, when the file format carries it.
        fingerprint: Option<String>,
    },
    /// `key = value` with a literal, token-like value.
    Token {
        /// 1-based line.
        line: usize,
        /// The setting's name.
        key: String,
        /// The value's length.
        len: usize,
    },
}

static PEM_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----").expect("valid regex"));

static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)["']?\b([a-z0-9_.\-]*(?:token|secret|secret_access_key|secret_key|password|passwd|_auth|api_key|apikey|access_key_id))["']?\s*[=:]\s*["']?([A-Za-z0-9+/=_\-.:@~]{8,})"#,
    )
    .expect("valid regex")
});

/// Whether `bytes` look like text (no NUL in the first 8 KiB).
pub fn is_text(bytes: &[u8]) -> bool {
    !bytes[..bytes.len().min(8192)].contains(&0)
}

/// A value that is a real secret rather than a reference, a path, a
/// placeholder or a word: tokens mix letters and digits.
fn token_like(v: &str) -> bool {
    let has_digit = v.chars().any(|c| c.is_ascii_digit());
    let has_alpha = v.chars().any(|c| c.is_ascii_alphabetic());
    let lower = v.to_ascii_lowercase();
    has_digit
        && has_alpha
        && !v.starts_with('/')
        && !v.starts_with("http")
        && !lower.starts_with("file:")
        && !lower.contains("example")
        && !lower.contains("changeme")
        && !lower.contains("xxxx")
}

/// Private keys in `text`.
pub fn private_keys(text: &str) -> Vec<Hit> {
    let mut out: Vec<Hit> = PEM_KEY
        .captures_iter(text)
        .map(|c| {
            let label = c[1].to_owned();
            let fingerprint = (label == "OPENSSH PRIVATE KEY")
                .then(|| {
                    ssh_key::openssh_private_key_public_blob(
                        &text[c.get(0).map_or(0, |m| m.start())..],
                    )
                })
                .flatten()
                .map(|b| ssh_key::fingerprint(&b));
            Hit::PrivateKey { label, fingerprint }
        })
        .collect();
    if text.starts_with("PuTTY-User-Key-File-") {
        out.push(Hit::PrivateKey {
            label: "PuTTY private key".into(),
            fingerprint: None,
        });
    }
    out
}

/// Settings with a literal token-like value (comment lines are left out).
pub fn tokens(text: &str) -> Vec<Hit> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with('#') || t.starts_with("//") || t.starts_with(';') || line.len() > 4096 {
            continue;
        }
        for c in TOKEN.captures_iter(line) {
            let value = &c[2];
            // a call or an index is code reading the secret from elsewhere
            let after = &line[c.get(2).map_or(0, |m| m.end())..];
            if after.starts_with('(') || after.starts_with('[') || !token_like(value) {
                continue;
            }
            out.push(Hit::Token {
                line: i + 1,
                key: c[1].to_owned(),
                len: value.len(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_and_putty_keys_are_found_by_label() {
        let text = "cert\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n-----BEGIN ENCRYPTED PRIVATE KEY-----\n";
        assert_eq!(
            private_keys(text),
            [
                Hit::PrivateKey {
                    label: "RSA PRIVATE KEY".into(),
                    fingerprint: None
                },
                Hit::PrivateKey {
                    label: "ENCRYPTED PRIVATE KEY".into(),
                    fingerprint: None
                },
            ]
        );
        assert_eq!(private_keys("-----BEGIN PUBLIC KEY-----\n"), []);
        assert_eq!(
            private_keys("PuTTY-User-Key-File-3: ssh-ed25519\n").len(),
            1
        );
    }

    #[test]
    fn literal_tokens_are_found_but_references_and_placeholders_are_not() {
        let text = r#"
CONFIGPROXY_AUTH_TOKEN=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
# api_token = 1234abcd5678efgh
c.JupyterHub.cookie_secret_file = '/opt/tljh/state/jupyterhub_cookie_secret'
token = os.environ["HUB_TOKEN"]
c.GitHubOAuthenticator.client_secret = os.environ.get('SECRET')
{"client_secret": "a1b2c3d4e5f6g7h8", "client_id": "abc"}
secret_access_key = AKIAEXAMPLEEXAMPLE
password = changeme123
aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCY0123
"#;
        let hits: Vec<(usize, String, usize)> = tokens(text)
            .into_iter()
            .map(|h| match h {
                Hit::Token { line, key, len } => (line, key, len),
                Hit::PrivateKey { .. } => unreachable!(),
            })
            .collect();
        assert_eq!(
            hits,
            [
                (2, "CONFIGPROXY_AUTH_TOKEN".into(), 64),
                (7, "client_secret".into(), 16),
                (10, "aws_secret_access_key".into(), 34),
            ]
        );
    }

    #[test]
    fn the_appliance_s_own_files_hold_no_literal_tokens() {
        for text in [
            include_str!("../../../recipes/files/jupyterhub_config.py"),
            include_str!("../../../recipes/files/tljh-config.py"),
            include_str!("../../../recipes/files/tljh-secrets.service"),
            include_str!("../../../recipes/files/jupyterhub.service"),
            include_str!("../../../recipes/files/configurable-http-proxy.service"),
        ] {
            assert_eq!(tokens(text), [], "{}", &text[..80.min(text.len())]);
        }
    }

    #[test]
    fn binary_files_are_not_text() {
        assert!(is_text(b"hello"));
        assert!(!is_text(b"ELF\0\0"));
    }
}
