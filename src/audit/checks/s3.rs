//! S3 credentials (issue 14): s3fs password files, rclone configs, AWS
//! credential files — found by name during the scan, and wherever
//! `/etc/fstab` or a systemd unit points (`passwd_file=`, `--config`).
//! vmbuild's own (`/etc/vmbuild/s3/<name>.passwd`, recipes/50-groups.toml)
//! are expected when owner.json lists the bucket under `s3_credentials`
//! (`keep_credentials = true` in vmbuild.toml), findings otherwise.
use std::sync::LazyLock;

use regex::Regex;

use super::Context;
use crate::audit::error::AuditError;
use crate::audit::finding::{Expected, Finding, FindingKind, Findings};

/// Where the appliance keeps a bucket's s3fs password file.
pub const VMBUILD_S3_DIR: &str = "/etc/vmbuild/s3";

const WHY: &str = "whoever has the image can use these buckets with the build's credentials";

/// rclone and AWS keys whose values are secrets.
const SECRET_KEYS: [&str; 12] = [
    "secret_access_key",
    "aws_secret_access_key",
    "session_token",
    "aws_session_token",
    "pass",
    "password",
    "token",
    "client_secret",
    "key",
    "account_key",
    "sas_url",
    "service_account_credentials",
];

/// How a credentials file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// s3fs: `ACCESS:SECRET` or `bucket:ACCESS:SECRET` lines.
    S3fs,
    /// ini sections (rclone, AWS, s3cmd).
    Ini,
}

/// The format of `path` if it is named like an S3 credentials file.
pub fn credentials_file(path: &str) -> Option<Format> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name.ends_with("passwd-s3fs") || vmbuild_bucket(path).is_some() {
        Some(Format::S3fs)
    } else if name == "rclone.conf" || name == ".s3cfg" || path.ends_with("/.aws/credentials") {
        Some(Format::Ini)
    } else {
        None
    }
}

/// The bucket whose vmbuild password file `path` is, if it is one.
pub fn vmbuild_bucket(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(VMBUILD_S3_DIR)?.strip_prefix('/')?;
    rest.strip_suffix(".passwd").filter(|n| !n.contains('/'))
}

/// Sections of an ini-style file with the secret keys they set (non-empty).
pub fn secret_sections(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_owned();
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let k = k.trim().to_ascii_lowercase();
        if !v.trim().is_empty() && SECRET_KEYS.contains(&k.as_str()) {
            match out.iter_mut().find(|(s, _)| *s == section) {
                Some((_, keys)) => keys.push(k),
                None => out.push((section.clone(), vec![k])),
            }
        }
    }
    out
}

/// Findings for one credentials file; `kept` are the buckets whose
/// credentials the owner ships on purpose (owner.json `s3_credentials`).
pub fn check_file(path: &str, text: &str, format: Format, kept: &[String], out: &mut Findings) {
    let seen = |p: &str, k: FindingKind| p == path && k == FindingKind::S3Credentials;
    if out.findings.iter().any(|f| seen(&f.path, f.kind))
        || out.expected.iter().any(|e| seen(&e.path, e.kind))
    {
        return;
    }
    if format == Format::S3fs {
        let n = text
            .lines()
            .filter(|l| looks_like_s3fs(l) && !l.trim().is_empty() && !l.trim().starts_with('#'))
            .count();
        let declared = vmbuild_bucket(path).is_some_and(|b| kept.iter().any(|k| k == b));
        if n > 0 && declared {
            out.expect(Expected::new(
                FindingKind::S3Credentials,
                path,
                format!("s3fs password file with {n} credential line(s)"),
                "the owner ships this bucket's credentials (keep_credentials in vmbuild.toml)",
            ));
        } else if n > 0 {
            out.add(Finding::new(
                FindingKind::S3Credentials,
                path,
                format!("s3fs password file with {n} credential line(s)"),
                WHY,
            ));
        }
        return;
    }
    for (section, keys) in secret_sections(text) {
        out.add(Finding::new(
            FindingKind::S3Credentials,
            path,
            format!("[{section}] sets {}", keys.join(", ")),
            WHY,
        ));
    }
}

/// `ACCESS:SECRET` or `bucket:ACCESS:SECRET` (or a blank or comment line).
fn looks_like_s3fs(line: &str) -> bool {
    let l = line.trim();
    l.is_empty()
        || l.starts_with('#')
        || (2..=3).contains(&l.split(':').count()) && !l.contains(' ')
}

static REFERENCED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(passwd_file=|config=|--config[= ]+)["']?(/[^\s,"']+)"#).expect("valid regex")
});

/// Credential files named by mounts and units.
pub fn referenced_files(text: &str) -> Vec<(String, Format)> {
    REFERENCED
        .captures_iter(text)
        .map(|c| {
            let format = if &c[1] == "passwd_file=" {
                Format::S3fs
            } else {
                Format::Ini
            };
            (c[2].to_owned(), format)
        })
        .collect()
}

/// Check the files `/etc/fstab` and systemd units point to (the scan finds
/// the ones named as usual).
pub fn check(ctx: &Context<'_>, out: &mut Findings) -> Result<(), AuditError> {
    let mut sources = vec!["/etc/fstab".to_owned()];
    for dir in [
        "/etc/systemd/system",
        "/lib/systemd/system",
        "/usr/lib/systemd/system",
    ] {
        for (name, _) in ctx.root.list(dir)? {
            if name.ends_with(".mount") || name.ends_with(".service") {
                sources.push(format!("{dir}/{name}"));
            }
        }
    }
    for src in sources {
        let Some(text) = ctx.root.read_text(&src)? else {
            continue;
        };
        if !text.contains("s3fs") && !text.contains("rclone") {
            continue;
        }
        for (path, format) in referenced_files(&text) {
            if let Some(t) = ctx.root.read_text(&path)? {
                check_file(&path, &t, format, &ctx.owner.s3_credentials, out);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rclone_and_aws_files_name_sections_and_keys() {
        let rclone = "[public]\ntype = s3\nprovider = Other\nenv_auth = false\naccess_key_id = AKIA1\nsecret_access_key = abc\n\n[anon]\ntype = s3\nsecret_access_key =\n";
        assert_eq!(
            secret_sections(rclone),
            [("public".to_owned(), vec!["secret_access_key".to_owned()])]
        );
        let mut out = Findings::default();
        check_file(
            "/root/.config/rclone/rclone.conf",
            rclone,
            Format::Ini,
            &[],
            &mut out,
        );
        assert_eq!(out.findings[0].detail, "[public] sets secret_access_key");
        let mut out = Findings::default();
        check_file(
            "/root/.aws/credentials",
            "[default]\naws_access_key_id = A\naws_secret_access_key = B\n",
            Format::Ini,
            &[],
            &mut out,
        );
        assert_eq!(
            out.findings[0].detail,
            "[default] sets aws_secret_access_key"
        );
    }

    #[test]
    fn s3fs_password_files_count_lines() {
        let mut out = Findings::default();
        check_file(
            "/etc/passwd-s3fs",
            "# c\nbucket:AKIA:SECRET\nAKIB:SECRET2\n",
            Format::S3fs,
            &[],
            &mut out,
        );
        assert_eq!(
            out.findings[0].detail,
            "s3fs password file with 2 credential line(s)"
        );
        assert!(!out.findings[0].detail.contains("SECRET"));
        assert_eq!(credentials_file("/home/a/.passwd-s3fs"), Some(Format::S3fs));
        assert_eq!(
            credentials_file("/etc/rclone/rclone.conf"),
            Some(Format::Ini)
        );
        assert_eq!(credentials_file("/etc/passwd"), None);
    }

    #[test]
    fn mounts_and_units_point_at_credential_files() {
        assert_eq!(
            referenced_files(
                "s3fs#bucket /srv/data/x fuse _netdev,passwd_file=/etc/vmbuild/s3/x.passwd,url=http://h 0 0\nExecStart=/usr/bin/rclone mount --config /etc/rclone/r.conf x: /m\n"
            ),
            [
                ("/etc/vmbuild/s3/x.passwd".to_owned(), Format::S3fs),
                ("/etc/rclone/r.conf".to_owned(), Format::Ini)
            ]
        );
    }

    #[test]
    fn vmbuild_password_files_are_expected_only_when_the_owner_keeps_them() {
        let path = "/etc/vmbuild/s3/physics.passwd";
        assert_eq!(credentials_file(path), Some(Format::S3fs));
        assert_eq!(vmbuild_bucket(path), Some("physics"));
        assert_eq!(vmbuild_bucket("/etc/vmbuild/s3/physics.json"), None);
        assert_eq!(vmbuild_bucket("/etc/vmbuild/s3/a/b.passwd"), None);
        let mut out = Findings::default();
        check_file(path, "AKID:SECRET\n", Format::S3fs, &[], &mut out);
        assert_eq!(out.findings.len(), 1);
        assert!(!out.findings[0].detail.contains("SECRET"));
        let mut out = Findings::default();
        let kept = ["physics".to_owned()];
        check_file(path, "AKID:SECRET\n", Format::S3fs, &kept, &mut out);
        check_file(path, "AKID:SECRET\n", Format::S3fs, &kept, &mut out);
        assert!(out.findings.is_empty());
        assert_eq!(out.expected.len(), 1);
        let mut out = Findings::default();
        let other = "/etc/vmbuild/s3/chem.passwd";
        check_file(other, "AKID:SECRET\n", Format::S3fs, &kept, &mut out);
        assert_eq!(out.findings.len(), 1);
    }
}
