//! The detectors, each in a file named after what it looks for, run in turn
//! on an [`ImageRoot`]. Parsers are pure functions tested on text fixtures;
//! the detectors read the image only through [`ImageRoot`].
pub mod accounts;
pub mod authorized_keys;
pub mod build_proxy;
pub mod caches;
pub mod histories;
pub mod hub;
pub mod owner;
pub mod s3;
pub mod scan;
pub mod secrets;
pub mod ssh_key;
pub mod sudoers;

use super::AuditOptions;
use super::error::AuditError;
use super::finding::{FindingKind, Findings};
use super::root::{ImageRoot, Kind, join};
use crate::ui::Ui;
use accounts::Accounts;
use owner::Owner;

/// What every detector gets: the image, its accounts and the owner's
/// declared exceptions.
pub struct Context<'a> {
    /// The image's root.
    pub root: &'a ImageRoot,
    /// Progress and notes.
    pub ui: &'a Ui,
    /// `/etc/passwd` and `/etc/group`.
    pub accounts: Accounts,
    /// `/etc/vmbuild/owner.json`.
    pub owner: Owner,
    /// How to judge (Vagrant box conventions).
    pub opts: AuditOptions,
}

impl Context<'_> {
    /// Every home directory: of each account, `/root`, and each directory in
    /// `/home` (accounts or not), without duplicates.
    pub fn homes(&self) -> Vec<String> {
        let mut out: Vec<String> = vec!["/root".into()];
        let mut add = |h: String| {
            if !h.is_empty() && h != "/nonexistent" && !out.contains(&h) {
                out.push(h);
            }
        };
        for u in &self.accounts.users {
            add(u.home.clone());
        }
        if let Ok(list) = self.root.list("/home") {
            for (name, m) in list {
                if m.kind == Kind::Dir {
                    add(join("/home", &name));
                }
            }
        }
        out
    }
}

/// Files matching `pattern` (wildcards `*` and `?` in the last component
/// only, as sshd's and sudo's includes use them), sorted.
pub fn glob(root: &ImageRoot, pattern: &str) -> Result<Vec<String>, AuditError> {
    let (dir, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    let dir = if dir.is_empty() { "/" } else { dir };
    if !name.contains(['*', '?']) {
        return Ok(vec![pattern.to_owned()]);
    }
    Ok(root
        .list(dir)?
        .into_iter()
        .filter(|(n, m)| m.kind != Kind::Dir && wildcard(name, n))
        .map(|(n, _)| join(dir, &n))
        .collect())
}

/// Shell-style match of `*` and `?`.
pub fn wildcard(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('?', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

/// Mount points in fstab text of local filesystems other than `/` (and
/// `/boot`, which holds no secrets).
pub fn other_filesystems(fstab: &str) -> Vec<String> {
    const LOCAL: [&str; 6] = ["ext2", "ext3", "ext4", "xfs", "btrfs", "auto"];
    fstab
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && LOCAL.contains(&f[2]) && f[1] != "/" && !f[1].starts_with("/boot"))
                .then(|| f[1].to_owned())
        })
        .collect()
}

/// Run every detector on `root`.
pub fn run_all(root: &ImageRoot, ui: &Ui, opts: &AuditOptions) -> Result<Findings, AuditError> {
    let mut out = Findings::default();
    if !root.is_file("/etc/passwd")? {
        out.note("no /etc/passwd: accounts were not checked");
    }
    for m in other_filesystems(&root.read_text("/etc/fstab")?.unwrap_or_default()) {
        out.note(format!(
            "{m} is on another filesystem, which was not audited"
        ));
    }
    let owner = owner::read(root, &mut out)?;
    let ctx = Context {
        root,
        ui,
        accounts: Accounts::read(root)?,
        owner,
        opts: *opts,
    };
    accounts::check(root, &mut out)?;
    authorized_keys::check(&ctx, &mut out)?;
    sudoers::check(&ctx, &mut out)?;
    build_proxy::check(&ctx, &mut out)?;
    hub::check(&ctx, &mut out)?;
    s3::check(&ctx, &mut out)?;
    histories::check(&ctx, &mut out)?;
    caches::check(&ctx, &mut out)?;
    let stats = scan::check(&ctx, &mut out)?;
    if stats.too_big > 0 {
        out.note(format!(
            "{} file(s) over {} KiB were not read for keys and tokens",
            stats.too_big,
            scan::SCAN_LIMIT >> 10
        ));
    }
    // a token inside a file already reported for what it is says nothing new
    let kept: Vec<_> = out
        .findings
        .iter()
        .filter(|f| {
            f.kind != FindingKind::Token || !out.has_other_than(FindingKind::Token, &f.path)
        })
        .cloned()
        .collect();
    out.findings = kept;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separate_filesystems_are_named() {
        let fstab = "# <file system> <mount point> <type>\nUUID=1 / ext4 errors=remount-ro 0 1\nUUID=2 /boot ext4 defaults 0 2\nUUID=3 /home xfs defaults 0 2\nUUID=4 none swap sw 0 0\ns3fs#b /srv/data/b fuse _netdev 0 0\n";
        assert_eq!(other_filesystems(fstab), ["/home"]);
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*.conf", "50-x.conf"));
        assert!(!wildcard("*.conf", "50-x.conf.bak"));
        assert!(wildcard("a?c", "abc"));
        assert!(wildcard("*", ""));
    }
}

#[cfg(test)]
mod staged_tests;
