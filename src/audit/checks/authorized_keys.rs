//! Who can log in by key: every `authorized_keys` file sshd would read, for
//! every account (and every home under `/home`, account or not).
use super::Context;
use super::accounts::Account;
use super::ssh_key;
use crate::audit::error::AuditError;
use crate::audit::finding::{Expected, Finding, FindingKind, Findings};
use crate::audit::root::{ImageRoot, Kind, join};

const DEFAULT_FILES: [&str; 2] = [".ssh/authorized_keys", ".ssh/authorized_keys2"];

/// `AuthorizedKeysFile` of an sshd configuration (its first value wins, as
/// in sshd; `Match` blocks are conditional and left out). `None`: not set.
pub fn authorized_keys_files(config: &str) -> Option<Vec<String>> {
    for line in config.lines() {
        let line = line.trim();
        let mut words = line.split_whitespace();
        let Some(key) = words.next() else { continue };
        if key.eq_ignore_ascii_case("match") {
            return None;
        }
        if key.eq_ignore_ascii_case("authorizedkeysfile") {
            return Some(words.map(|w| w.trim_matches('"').to_owned()).collect());
        }
    }
    None
}

/// The `Include` patterns of an sshd configuration, in order.
pub fn includes(config: &str) -> Vec<String> {
    config
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            w.next()
                .filter(|k| k.eq_ignore_ascii_case("include"))
                .map(|_| w.map(str::to_owned).collect::<Vec<_>>())
        })
        .flatten()
        .collect()
}

/// sshd's configuration with its includes expanded in place (depth-limited).
fn sshd_config(root: &ImageRoot, path: &str, depth: u32) -> Result<String, AuditError> {
    let Some(text) = root.read_text(path)? else {
        return Ok(String::new());
    };
    if depth > 8 {
        return Ok(text);
    }
    let mut out = String::new();
    for line in text.lines() {
        let inc = includes(line);
        if inc.is_empty() {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        for pattern in inc {
            let pattern = if pattern.starts_with('/') {
                pattern
            } else {
                format!("/etc/ssh/{pattern}")
            };
            for p in super::glob(root, &pattern)? {
                out.push_str(&sshd_config(root, &p, depth + 1)?);
            }
        }
    }
    Ok(out)
}

/// Expand `%h`, `%u`, `%U`, `%%`; relative paths are below the home.
pub fn expand(pattern: &str, user: &Account) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('h') => out.push_str(&user.home),
            Some('u') => out.push_str(&user.name),
            Some('U') => out.push_str(&user.uid.to_string()),
            Some('%') => out.push('%'),
            Some(o) => {
                out.push('%');
                out.push(o);
            }
            None => out.push('%'),
        }
    }
    if out.starts_with('/') {
        out
    } else {
        join(&user.home, &out)
    }
}

/// The key detector.
pub fn check(ctx: &Context<'_>, out: &mut Findings) -> Result<(), AuditError> {
    let root = ctx.root;
    let config = sshd_config(root, "/etc/ssh/sshd_config", 0)?;
    let patterns = authorized_keys_files(&config)
        .unwrap_or_else(|| DEFAULT_FILES.iter().map(|s| (*s).to_owned()).collect());
    let mut users: Vec<Account> = ctx.accounts.users.clone();
    // homes left behind by accounts that no longer exist still matter if an
    // account is ever created with that name
    for (name, m) in root.list("/home")? {
        let home = join("/home", &name);
        if m.kind == Kind::Dir && !users.iter().any(|u| u.home == home) {
            users.push(Account {
                name: name.clone(),
                passwd: String::new(),
                uid: u32::MAX,
                gid: u32::MAX,
                home,
            });
        }
    }
    let mut seen = Vec::new();
    for u in &users {
        if u.home.is_empty() || u.home == "/nonexistent" {
            continue;
        }
        for p in &patterns {
            if p == "none" {
                continue;
            }
            let path = expand(p, u);
            if seen.contains(&path) {
                continue;
            }
            seen.push(path.clone());
            if let Some(text) = root.read_text(&path)? {
                check_file(&path, &u.name, &text, ctx, out);
            }
        }
    }
    Ok(())
}

/// Findings for one `authorized_keys` file of account `user`.
pub fn check_file(path: &str, user: &str, text: &str, ctx: &Context<'_>, out: &mut Findings) {
    for (i, line) in text.lines().enumerate() {
        let Some(key) = ssh_key::parse_line(line) else {
            continue;
        };
        let detail = format!("line {}: {}", i + 1, key.describe());
        if key.is_vagrant_insecure() && ctx.opts.vagrant_box && user == "vagrant" {
            out.expect(Expected::new(
                FindingKind::AuthorizedKey,
                path,
                format!("{detail}: Vagrant's insecure key"),
                "Vagrant box convention: `vagrant up` replaces it at first boot",
            ));
        } else if key.is_vagrant_insecure() {
            let listed = if ctx.owner.declares(&key) {
                " (listed in owner.json, but never acceptable)"
            } else {
                ""
            };
            out.add(Finding::new(
                FindingKind::AuthorizedKey,
                path,
                format!("{detail}: Vagrant's insecure key{listed}"),
                format!(
                    "its private half is published: anyone who reaches SSH logs in as `{user}`"
                ),
            ));
        } else if ctx.owner.declares(&key) {
            out.expect(Expected::new(
                FindingKind::AuthorizedKey,
                path,
                detail,
                "owner's key from vmbuild.toml",
            ));
        } else {
            out.add(Finding::new(
                FindingKind::AuthorizedKey,
                path,
                detail,
                format!(
                    "not declared by the owner: whoever holds its private half logs in as `{user}` on every instance"
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(name: &str, home: &str) -> Account {
        Account {
            name: name.into(),
            passwd: "x".into(),
            uid: 1000,
            gid: 1000,
            home: home.into(),
        }
    }

    #[test]
    fn authorized_keys_file_first_value_wins_and_match_blocks_are_ignored() {
        let cfg = "# AuthorizedKeysFile /nope\nPort 22\nAuthorizedKeysFile .ssh/authorized_keys /etc/ssh/keys/%u\nAuthorizedKeysFile /later\n";
        assert_eq!(
            authorized_keys_files(cfg),
            Some(vec![
                ".ssh/authorized_keys".into(),
                "/etc/ssh/keys/%u".into()
            ])
        );
        assert_eq!(
            authorized_keys_files("Match User x\n  AuthorizedKeysFile /x\n"),
            None
        );
        assert_eq!(
            includes("Include /etc/ssh/sshd_config.d/*.conf\n#Include nope\n"),
            ["/etc/ssh/sshd_config.d/*.conf"]
        );
    }

    #[test]
    fn tokens_expand_and_relative_paths_are_below_home() {
        let u = acct("alice", "/home/alice");
        assert_eq!(expand("/etc/ssh/keys/%u", &u), "/etc/ssh/keys/alice");
        assert_eq!(expand("%h/.ssh/ak", &u), "/home/alice/.ssh/ak");
        assert_eq!(
            expand(".ssh/authorized_keys", &u),
            "/home/alice/.ssh/authorized_keys"
        );
        assert_eq!(expand("/k/%U%%", &u), "/k/1000%");
    }
}
