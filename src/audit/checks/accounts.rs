//! Accounts: `/etc/passwd`, `/etc/group`, `/etc/shadow`, and the password
//! detector (usable hashes, empty passwords, root not locked).
use crate::audit::error::AuditError;
use crate::audit::finding::{Finding, FindingKind, Findings};
use crate::audit::root::ImageRoot;

/// One `/etc/passwd` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Login name.
    pub name: String,
    /// The password field (`x` when the hash is in shadow).
    pub passwd: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory.
    pub home: String,
}

/// One `/etc/group` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Group name.
    pub name: String,
    /// Group id.
    pub gid: u32,
    /// Supplementary members.
    pub members: Vec<String>,
}

/// The image's accounts and groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    /// Users, in file order.
    pub users: Vec<Account>,
    /// Groups, in file order.
    pub groups: Vec<Group>,
}

fn records(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i + 1, l.split(':').collect()))
}

/// Parse `/etc/passwd` (lines that are not `name:pw:uid:gid:gecos:home:shell`
/// are ignored, as the C library ignores them).
pub fn parse_passwd(text: &str) -> Vec<Account> {
    records(text)
        .filter_map(|(_, f)| {
            (f.len() >= 7).then_some(())?;
            Some(Account {
                name: f[0].to_owned(),
                passwd: f[1].to_owned(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_owned(),
            })
        })
        .collect()
}

/// Parse `/etc/group`.
pub fn parse_group(text: &str) -> Vec<Group> {
    records(text)
        .filter_map(|(_, f)| {
            (f.len() >= 4).then_some(())?;
            Some(Group {
                name: f[0].to_owned(),
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect()
}

impl Accounts {
    /// Read `/etc/passwd` and `/etc/group` of the image.
    pub fn read(root: &ImageRoot) -> Result<Accounts, AuditError> {
        Ok(Accounts {
            users: parse_passwd(&root.read_text("/etc/passwd")?.unwrap_or_default()),
            groups: parse_group(&root.read_text("/etc/group")?.unwrap_or_default()),
        })
    }

    /// Members of group `name`: listed in `/etc/group`, or having it as
    /// primary group. `None` if there is no such group.
    pub fn group_members(&self, name: &str) -> Option<Vec<String>> {
        let g = self.groups.iter().find(|g| g.name == name)?;
        let mut m = g.members.clone();
        for u in self.users.iter().filter(|u| u.gid == g.gid) {
            if !m.contains(&u.name) {
                m.push(u.name.clone());
            }
        }
        Some(m)
    }
}

/// What a password field allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordState {
    /// Locked or no password login (`!…`, `*`, `x` in passwd).
    Locked,
    /// Empty: logs in without a password.
    Empty,
    /// A usable hash, with its scheme's name.
    Usable(&'static str),
}

/// The scheme of a crypt(3) hash, by its prefix.
pub fn hash_scheme(hash: &str) -> &'static str {
    match hash.split('$').nth(1) {
        Some("y") => "yescrypt",
        Some("gy") => "gost-yescrypt",
        Some("7") => "scrypt",
        Some("6") => "sha512crypt",
        Some("5") => "sha256crypt",
        Some("2a" | "2b" | "2y") => "bcrypt",
        Some("1") => "md5crypt",
        Some("sha1") => "sha1crypt",
        _ if hash.len() == 13 && !hash.contains('$') => "DES crypt",
        _ => "unknown scheme",
    }
}

/// Classify a shadow (or passwd) password field.
pub fn password_state(field: &str) -> PasswordState {
    match field {
        "" => PasswordState::Empty,
        f if f.starts_with('!') || f.starts_with('*') || f == "x" => PasswordState::Locked,
        // crypt(3) never yields fewer than 13 characters: this cannot match any password
        f if f.len() < 13 => PasswordState::Locked,
        f => PasswordState::Usable(hash_scheme(f)),
    }
}

/// Findings for `/etc/shadow` (and hashes left in `/etc/passwd`).
pub fn check_passwords(passwd: &str, shadow: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    for (line, f) in records(shadow) {
        if f.len() < 2 {
            continue;
        }
        if let Some(fd) = finding_for(f[0], f[1], "/etc/shadow", line) {
            out.push(fd);
        }
    }
    for a in parse_passwd(passwd) {
        // `x` sends the lookup to shadow; anything else is the hash itself
        if a.passwd != "x"
            && let Some(fd) = finding_for(&a.name, &a.passwd, "/etc/passwd", 0)
        {
            out.push(fd);
        }
    }
    out
}

fn finding_for(user: &str, field: &str, path: &str, line: usize) -> Option<Finding> {
    let at = if line > 0 {
        format!("line {line}: ")
    } else {
        String::new()
    };
    let (detail, why) = match password_state(field) {
        PasswordState::Locked => return None,
        PasswordState::Empty => (
            format!("{at}account `{user}` has an empty password"),
            "anyone at the console, or any user with `su`, logs in as it without a password",
        ),
        PasswordState::Usable(scheme) if user == "root" => (
            format!("{at}root is not locked: a usable {scheme} hash"),
            "every instance shares root's password, and the hash can be cracked offline",
        ),
        PasswordState::Usable(scheme) => (
            format!("{at}account `{user}` has a usable {scheme} hash"),
            "every instance shares this password (e.g. `su` from a hub terminal), and the hash can be cracked offline",
        ),
    };
    Some(Finding::new(FindingKind::Password, path, detail, why))
}

/// The password detector on the image.
pub fn check(root: &ImageRoot, out: &mut Findings) -> Result<(), AuditError> {
    let passwd = root.read_text("/etc/passwd")?.unwrap_or_default();
    let shadow = root.read_text("/etc/shadow")?.unwrap_or_default();
    for f in check_passwords(&passwd, &shadow) {
        out.add(f);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
vagrant:x:1000:1000:,,,:/home/vagrant:/bin/bash
old:abcdefghijklm:1001:1001::/home/old:/bin/sh
broken line
";

    #[test]
    fn passwd_and_groups_parse_and_members_include_primary_groups() {
        let users = parse_passwd(PASSWD);
        assert_eq!(users.len(), 4);
        assert_eq!(users[2].home, "/home/vagrant");
        let groups = parse_group("sudo:x:27:vagrant, alice\nadmins:x:998:\nvagrant:x:1000:\n");
        assert_eq!(groups[0].members, ["vagrant", "alice"]);
        let a = Accounts { users, groups };
        assert_eq!(a.group_members("admins"), Some(vec![]));
        assert_eq!(a.group_members("vagrant"), Some(vec!["vagrant".to_owned()]));
        assert_eq!(a.group_members("nope"), None);
    }

    #[test]
    fn shadow_states() {
        assert_eq!(password_state("*"), PasswordState::Locked);
        assert_eq!(password_state("!"), PasswordState::Locked);
        assert_eq!(password_state("!$6$salt$hash"), PasswordState::Locked);
        assert_eq!(password_state("!!"), PasswordState::Locked);
        assert_eq!(password_state(""), PasswordState::Empty);
        assert_eq!(
            password_state("$y$j9T$abcdefghijkl$ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"),
            PasswordState::Usable("yescrypt")
        );
        assert_eq!(
            password_state("$6$rounds=4096$salt$hashhashhash"),
            PasswordState::Usable("sha512crypt")
        );
        assert_eq!(
            password_state("abcdefghijklm"),
            PasswordState::Usable("DES crypt")
        );
    }

    #[test]
    fn shadow_findings_name_user_and_scheme_but_never_the_hash() {
        let shadow = "\
root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
vagrant:$y$j9T$saltsaltsalt$hashhashhashhashhashhashhashhashhashhashhas:19000:0:99999:7:::
guest::19000:0:99999:7:::
locked:!$6$x$y:19000::::::
";
        let f = check_passwords(PASSWD, shadow);
        let details: Vec<&str> = f.iter().map(|f| f.detail.as_str()).collect();
        assert_eq!(
            details,
            [
                "line 3: account `vagrant` has a usable yescrypt hash",
                "line 4: account `guest` has an empty password",
                "account `old` has a usable DES crypt hash",
            ]
        );
        assert!(f.iter().all(|f| !f.detail.contains("hashhash")));
        assert_eq!(f[2].path, "/etc/passwd");
    }

    #[test]
    fn root_with_a_hash_is_not_locked() {
        let f = check_passwords("", "root:$6$salt$abcdefghijklmnop:19000:0:99999:7:::\n");
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].detail,
            "line 1: root is not locked: a usable sha512crypt hash"
        );
    }
}
