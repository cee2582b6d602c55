//! The per-project `known_hosts` file (OpenSSH format) and host key checks.
//!
//! Lines are `PATTERNS KEYTYPE BASE64 [COMMENT]`, with `[host]:port` for ports
//! other than 22. We match plain comma-separated host names (case-insensitive);
//! hashed entries (`|1|…`), wildcard/negated patterns and `@marker` lines are
//! kept in the file but ignored, as this file is written by vmbuild itself.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::keys::{HashAlg, PublicKey};

/// A host key trusted on first use, for the user to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstUse {
    /// The known_hosts name of the host (`host` or `[host]:port`).
    pub host: String,
    /// The key's algorithm, e.g. `ssh-ed25519`.
    pub algorithm: String,
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// Where it was recorded.
    pub known_hosts: PathBuf,
}

impl FirstUse {
    /// What was trusted for `host:port`.
    pub fn new(host: &str, port: u16, key: &PublicKey, known_hosts: &Path) -> FirstUse {
        FirstUse {
            host: host_pattern(host, port),
            algorithm: key.algorithm().as_str().to_owned(),
            fingerprint: fingerprint(key),
            known_hosts: known_hosts.to_owned(),
        }
    }
}

impl std::fmt::Display for FirstUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "trusted the new host key of {} on first use: {} {} (recorded in {}; compare it with `ssh-keygen -lf` of the host's key, or use --strict to refuse unknown keys)",
            self.host,
            self.algorithm,
            self.fingerprint,
            self.known_hosts.display()
        )
    }
}

/// Called when a host key is trusted on first use (to show its fingerprint).
#[derive(Clone)]
pub struct OnFirstUse(pub Arc<dyn Fn(&FirstUse) + Send + Sync>);

impl OnFirstUse {
    /// Wrap `f`.
    pub fn new(f: impl Fn(&FirstUse) + Send + Sync + 'static) -> OnFirstUse {
        OnFirstUse(Arc::new(f))
    }
}

impl std::fmt::Debug for OnFirstUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnFirstUse(..)")
    }
}

/// How to record the key of `host:port` in `known_hosts` by hand, for the
/// error that refuses an unknown key under `--strict`.
pub fn how_to_add(host: &str, port: u16, known_hosts: &Path) -> String {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = if port == 22 {
        String::new()
    } else {
        format!("-p {port} ")
    };
    format!(
        "if that is the host's key (on the host: `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`), add it with `ssh-keyscan {port}{host} >> {}`, or connect once without --strict",
        known_hosts.display()
    )
}

/// One usable line of a known_hosts file.
#[derive(Debug, Clone)]
pub struct KnownHost {
    /// 1-based line number.
    pub line: usize,
    /// Host patterns, lower-cased (`host` or `[host]:port`).
    pub patterns: Vec<String>,
    /// The recorded key.
    pub key: PublicKey,
}

/// The result of comparing a presented host key with the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The key is recorded for this host.
    Known,
    /// Nothing is recorded for this host.
    Unknown,
    /// Other keys are recorded for this host: refuse.
    Changed {
        /// Line of the (first) recorded key.
        line: usize,
        /// Its fingerprint.
        expected: String,
    },
}

/// The known_hosts name of `host:port`: `host` for 22, else `[host]:port`.
pub fn host_pattern(host: &str, port: u16) -> String {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if port == 22 {
        host.to_ascii_lowercase()
    } else {
        format!("[{}]:{port}", host.to_ascii_lowercase())
    }
}

/// `SHA256:…` fingerprint, as `ssh-keygen -l` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Parse a known_hosts file; lines that are not plain entries are skipped.
pub fn parse(text: &str) -> Vec<KnownHost> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('@') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(hosts), Some(kind), Some(b64)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if hosts.starts_with('|') {
            continue;
        }
        let Ok(key) = PublicKey::from_openssh(&format!("{kind} {b64}")) else {
            continue;
        };
        let patterns = hosts
            .split(',')
            .filter(|p| !p.contains(['*', '?', '!']))
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>();
        if !patterns.is_empty() {
            out.push(KnownHost {
                line: i + 1,
                patterns,
                key,
            });
        }
    }
    out
}

/// Compare `key` presented by `host:port` with the recorded entries. A host
/// with recorded keys but none equal to `key` (of any type) is `Changed`.
pub fn check(entries: &[KnownHost], host: &str, port: u16, key: &PublicKey) -> Verdict {
    let name = host_pattern(host, port);
    let mut first = None;
    for e in entries.iter().filter(|e| e.patterns.contains(&name)) {
        if e.key.key_data() == key.key_data() {
            return Verdict::Known;
        }
        first.get_or_insert(e);
    }
    match first {
        None => Verdict::Unknown,
        Some(e) => Verdict::Changed {
            line: e.line,
            expected: fingerprint(&e.key),
        },
    }
}

/// The line recording `key` for `host:port` (no trailing newline).
pub fn entry_line(host: &str, port: u16, key: &PublicKey) -> String {
    let mut key = key.clone();
    key.set_comment("");
    let text = key.to_openssh().unwrap_or_default();
    format!("{} {}", host_pattern(host, port), text.trim())
}

/// Add an entry for `host:port` to the file at `path` (created with its
/// directory if missing), replacing the file atomically.
pub fn append(path: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&entry_line(host, port, key));
    text.push('\n');
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Generated with `ssh-keygen -t ed25519`; fingerprint from `ssh-keygen -lf`.
    const ED1: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIImghGjjlhTwRRfpw++HvnUNSz6Kk3xDncTXho6uM5QT";
    const ED2: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMOHUK06bxHLL46tT0kMFiD12nFG40T3uvbfVL2MhFMF";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).unwrap()
    }

    #[test]
    fn host_patterns() {
        assert_eq!(host_pattern("Example.org", 22), "example.org");
        assert_eq!(host_pattern("127.0.0.1", 2222), "[127.0.0.1]:2222");
        assert_eq!(host_pattern("::1", 2222), "[::1]:2222");
        assert_eq!(host_pattern("[::1]", 22), "::1");
    }

    #[test]
    fn parses_and_checks() {
        let text = format!(
            "# comment\n\n|1|abc=|def= {ED2}\n@revoked * {ED2}\nbad line\n\
             [127.0.0.1]:2222,other {ED1} comment here\nhost22 {ED2}\n*.wild {ED1}\n"
        );
        let entries = parse(&text);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].line, 6);
        assert_eq!(entries[0].patterns, ["[127.0.0.1]:2222", "other"]);
        assert_eq!(
            check(&entries, "127.0.0.1", 2222, &key(ED1)),
            Verdict::Known
        );
        assert_eq!(check(&entries, "OTHER", 22, &key(ED1)), Verdict::Known);
        assert_eq!(
            check(&entries, "127.0.0.1", 22, &key(ED1)),
            Verdict::Unknown
        );
        assert_eq!(
            check(&entries, "127.0.0.1", 2222, &key(ED2)),
            Verdict::Changed {
                line: 6,
                expected: fingerprint(&key(ED1))
            }
        );
        assert_eq!(check(&entries, "host22", 22, &key(ED2)), Verdict::Known);
    }

    #[test]
    fn fingerprint_matches_ssh_keygen() {
        assert_eq!(
            fingerprint(&key(ED1)),
            "SHA256:zj9dxNjvJf+Qs4NOaeIeyer8f/66MHnVtwECrYgTGeE"
        );
    }

    #[test]
    fn first_use_names_the_fingerprint() {
        let f = FirstUse::new(
            "127.0.0.1",
            2222,
            &key(ED1),
            Path::new(".vmbuild/known_hosts"),
        );
        assert_eq!(
            f.to_string(),
            "trusted the new host key of [127.0.0.1]:2222 on first use: ssh-ed25519 SHA256:zj9dxNjvJf+Qs4NOaeIeyer8f/66MHnVtwECrYgTGeE (recorded in .vmbuild/known_hosts; compare it with `ssh-keygen -lf` of the host's key, or use --strict to refuse unknown keys)"
        );
    }

    #[test]
    fn the_hint_is_a_keyscan_line_for_this_file() {
        let kh = Path::new("kh");
        assert!(how_to_add("::1", 2222, kh).contains("`ssh-keyscan -p 2222 ::1 >> kh`"));
        assert!(how_to_add("example.org", 22, kh).contains("`ssh-keyscan example.org >> kh`"));
    }

    #[test]
    fn appends_lines_that_parse_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".vmbuild/known_hosts");
        append(&path, "127.0.0.1", 2222, &key(ED1)).unwrap();
        append(&path, "::1", 22, &key(ED2)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("[127.0.0.1]:2222 {ED1}\n::1 {ED2}\n"),);
        let entries = parse(&text);
        assert_eq!(check(&entries, "::1", 22, &key(ED2)), Verdict::Known);
    }
}
