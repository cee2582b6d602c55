//! One walk over the trees where secrets end up (`/etc`, `/root`, `/home`,
//! `/opt`, `/srv`, `/var/lib`), reading each small text file once for
//! private keys and literal tokens, and handing S3 credential files to
//! [`super::s3`].
//!
//! Left out: package trees (`site-packages`, `dist-packages`, `node_modules`:
//! upstream code, whose published test keys are no secret), dpkg and apt
//! state, the package caches (reported by size in [`super::caches`]),
//! binary files, and files over [`SCAN_LIMIT`].
use std::time::{Duration, Instant};

use super::Context;
use super::s3;
use super::secrets::{self, Hit};
use super::ssh_key;
use crate::audit::error::AuditError;
use crate::audit::finding::{Expected, Finding, FindingKind, Findings};
use crate::audit::root::{Kind, Walk};

/// Where the walk looks.
pub const SCAN_ROOTS: [&str; 6] = ["/etc", "/root", "/home", "/opt", "/srv", "/var/lib"];

/// Bigger files are not read (keys and configuration are small).
pub const SCAN_LIMIT: u64 = 1 << 20;

const SKIP_NAMES: [&str; 5] = [
    "site-packages",
    "dist-packages",
    "node_modules",
    "__pycache__",
    ".npm",
];
const SKIP_PATHS: [&str; 4] = [
    "/var/lib/dpkg",
    "/var/lib/apt",
    "/var/lib/ucf",
    "/etc/ssl/certs",
];
const SKIP_SUFFIXES: [&str; 2] = ["/.cache/pip", "/.cache/uv"];

/// Hub settings written from vmbuild.toml: literal secrets there were put
/// there by the owner (OAuth client secrets, LDAP bind passwords).
const OWNER_SETTINGS: [&str; 2] = [
    "/opt/tljh/config/settings.json",
    "/opt/tljh/config/local.json",
];

fn skip_dir(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    SKIP_NAMES.contains(&name)
        || SKIP_PATHS.contains(&path)
        || SKIP_SUFFIXES.iter().any(|s| path.ends_with(s))
}

/// How the walk went, for the report's notes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScanStats {
    /// Files read.
    pub read: u64,
    /// Files too big to read.
    pub too_big: u64,
}

/// The walk.
pub fn check(ctx: &Context<'_>, out: &mut Findings) -> Result<ScanStats, AuditError> {
    let mut stats = ScanStats::default();
    let progress = ctx.ui.progress("scanning files", None);
    let started = Instant::now();
    let mut last_line = Instant::now();
    for top in SCAN_ROOTS {
        ctx.root.walk(top, &mut |path, meta| {
            match meta.kind {
                Kind::Dir if skip_dir(path) => return Ok(Walk::Skip),
                Kind::File if meta.size > SCAN_LIMIT => stats.too_big += 1,
                Kind::File => {
                    stats.read += 1;
                    if stats.read % 500 == 0 {
                        progress.set_message(format!("{} files, {path}", stats.read));
                        if !ctx.ui.is_terminal() && last_line.elapsed() > Duration::from_secs(10) {
                            last_line = Instant::now();
                            ctx.ui
                                .info(&format!("scanned {} files ({path})", stats.read));
                        }
                    }
                    check_file(ctx, path, meta.size, out)?;
                }
                _ => {}
            }
            Ok(Walk::Descend)
        })?;
    }
    progress.finish_and_clear();
    ctx.ui.debug(&format!(
        "scanned {} files in {:.1} s ({} over {} KiB not read)",
        stats.read,
        started.elapsed().as_secs_f64(),
        stats.too_big,
        SCAN_LIMIT >> 10
    ));
    Ok(stats)
}

fn check_file(
    ctx: &Context<'_>,
    path: &str,
    size: u64,
    out: &mut Findings,
) -> Result<(), AuditError> {
    let Some(bytes) = ctx.root.read_limited(path, SCAN_LIMIT)? else {
        return Ok(());
    };
    if !secrets::is_text(&bytes) {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&bytes);
    if let Some(format) = s3::credentials_file(path) {
        s3::check_file(path, &text, format, &ctx.owner.s3_credentials, out);
        return Ok(());
    }
    for hit in secrets::private_keys(&text) {
        if let Hit::PrivateKey { label, fingerprint } = hit {
            let fingerprint = match fingerprint {
                Some(f) => Some(f),
                None => public_half(ctx, path)?,
            };
            out.add(private_key_finding(path, &label, fingerprint.as_deref()).with_size(size));
        }
    }
    for hit in secrets::tokens(&text) {
        if let Hit::Token { line, key, len } = hit {
            let detail = format!("line {line}: `{key}` holds a literal {len}-character value");
            if OWNER_SETTINGS.contains(&path) {
                out.expect(Expected::new(
                    FindingKind::Token,
                    path,
                    detail,
                    "hub setting from vmbuild.toml; every instance shares it",
                ));
            } else {
                out.add(Finding::new(
                    FindingKind::Token,
                    path,
                    detail,
                    "a credential in the image is readable by whoever has the image, and shared by every instance",
                ));
            }
        }
    }
    Ok(())
}

/// The fingerprint from `<path>.pub`, when there is one.
fn public_half(ctx: &Context<'_>, path: &str) -> Result<Option<String>, AuditError> {
    Ok(ctx
        .root
        .read_text(&format!("{path}.pub"))?
        .and_then(|t| ssh_key::parse_line(&t))
        .map(|k| k.fingerprint()))
}

/// The finding for a private key at `path`.
pub fn private_key_finding(path: &str, label: &str, fingerprint: Option<&str>) -> Finding {
    let name = path.rsplit('/').next().unwrap_or(path);
    let host_key =
        path.starts_with("/etc/ssh/") && name.starts_with("ssh_host_") && name.ends_with("_key");
    let tls = [
        "/etc/ssl/",
        "/etc/tljh/tls/",
        "/etc/letsencrypt/",
        "/etc/nginx/",
    ]
    .iter()
    .any(|p| path.starts_with(p));
    let what = if host_key {
        "SSH host key"
    } else if tls {
        "TLS key"
    } else {
        "private key"
    };
    let mut detail = format!("{what} ({label})");
    if let Some(f) = fingerprint {
        detail.push_str(&format!(", {f}"));
    }
    let why = if host_key {
        "every instance would share this host key: whoever has the image can impersonate any instance to SSH clients"
    } else if tls {
        "every instance would share this TLS key: whoever has the image can impersonate the hub and read its traffic"
    } else {
        "whoever has the image has this key"
    };
    Finding::new(FindingKind::PrivateKey, path, detail, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_tls_keys_are_named_as_such() {
        let f = private_key_finding(
            "/etc/ssh/ssh_host_ed25519_key",
            "OPENSSH PRIVATE KEY",
            Some("SHA256:x"),
        );
        assert_eq!(f.detail, "SSH host key (OPENSSH PRIVATE KEY), SHA256:x");
        let f = private_key_finding("/etc/tljh/tls/key.pem", "PRIVATE KEY", None);
        assert_eq!(f.detail, "TLS key (PRIVATE KEY)");
        let f = private_key_finding("/root/.ssh/id_rsa", "RSA PRIVATE KEY", None);
        assert_eq!(f.detail, "private key (RSA PRIVATE KEY)");
    }

    #[test]
    fn package_trees_and_caches_are_skipped() {
        assert!(skip_dir("/opt/tljh/hub/lib/python3.11/site-packages"));
        assert!(skip_dir("/usr/local/lib/node_modules"));
        assert!(skip_dir("/root/.cache/pip"));
        assert!(skip_dir("/var/lib/dpkg"));
        assert!(!skip_dir("/etc/ssh"));
        assert!(!skip_dir("/root/.cache"));
    }
}
