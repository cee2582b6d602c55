//! sudoers: the parts of its grammar that decide whether sudo asks for a
//! password — user specs with `NOPASSWD:`, `Defaults !authenticate`,
//! `User_Alias`es, includes (`@include`, `@includedir` and their `#` forms),
//! comments and line continuations.
use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::Context;
use crate::audit::error::AuditError;
use crate::audit::finding::{Expected, Finding, FindingKind, Findings};
use crate::audit::root::{Kind, join, normalize};

/// The hub admins' group: its rule is expected while it has no members in
/// the image (admins join it at run time, and leave it when demoted).
pub const HUB_ADMINS: &str = "jupyterhub-admins";

/// One logical sudoers line that matters here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `@include FILE` / `@includedir DIR` (or the `#` forms).
    Include {
        /// The path as written.
        path: String,
        /// `includedir`.
        dir: bool,
    },
    /// `Defaults[:@>!]binding params`.
    Defaults {
        /// The binding after `Defaults` (`:vagrant`), or empty.
        binding: String,
        /// The parameters.
        params: String,
    },
    /// `User_Alias NAME = a, b : OTHER = c` (users only; other aliases do not
    /// decide who is asked for a password).
    UserAlias(Vec<(String, Vec<String>)>),
    /// A user specification.
    Rule {
        /// The user list (comma-separated items as written).
        users: Vec<String>,
        /// The whole spec, blanks collapsed.
        text: String,
        /// Whether a `NOPASSWD:` tag appears in it.
        nopasswd: bool,
    },
}

/// Join continuation lines and drop comments; yields (first line number, text).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if cur.is_empty() {
            start = i + 1;
        }
        let line = strip_comment(raw);
        if let Some(head) = line.strip_suffix('\\') {
            cur.push_str(head);
            cur.push(' ');
            continue;
        }
        cur.push_str(&line);
        let done = std::mem::take(&mut cur);
        if !done.trim().is_empty() {
            out.push((start, done.trim().to_owned()));
        }
    }
    if !cur.trim().is_empty() {
        out.push((start, cur.trim().to_owned()));
    }
    out
}

/// A line without its comment. `#` starts a comment except in
/// `#include`/`#includedir`, inside double quotes, and before digits (`#1000`
/// is a uid).
fn strip_comment(line: &str) -> String {
    let t = line.trim_start();
    if t.starts_with("#include ") || t.starts_with("#includedir ") {
        return t.to_owned();
    }
    let mut quoted = false;
    let mut prev = '\\';
    for (i, c) in line.char_indices() {
        match c {
            '"' if prev != '\\' => quoted = !quoted,
            '#' if !quoted => {
                let next = line[i + 1..].chars().next();
                if !next.is_some_and(|n| n.is_ascii_digit()) {
                    return line[..i].trim_end().to_owned();
                }
            }
            _ => {}
        }
        prev = c;
    }
    line.trim_end().to_owned()
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_owned())
        .filter(|x| !x.is_empty())
        .collect()
}

fn parse_line(line: &str) -> Option<Entry> {
    let (first, rest) = line
        .split_once(char::is_whitespace)
        .map_or((line, ""), |(a, b)| (a, b.trim()));
    match first {
        "@include" | "#include" | "@includedir" | "#includedir" => Some(Entry::Include {
            path: rest.trim_matches('"').to_owned(),
            dir: first.ends_with("dir"),
        }),
        "User_Alias" => Some(Entry::UserAlias(
            rest.split(':')
                .filter_map(|def| {
                    let (name, items) = def.split_once('=')?;
                    Some((name.trim().to_owned(), split_list(items)))
                })
                .collect(),
        )),
        "Runas_Alias" | "Host_Alias" | "Cmnd_Alias" | "Cmd_Alias" => None,
        f if f.starts_with("Defaults") => Some(Entry::Defaults {
            binding: f["Defaults".len()..].to_owned(),
            params: rest.to_owned(),
        }),
        _ => {
            static COMMA: LazyLock<Regex> =
                LazyLock::new(|| Regex::new(r"\s*,\s*").expect("valid regex"));
            static NOPASSWD: LazyLock<Regex> =
                LazyLock::new(|| Regex::new(r"\bNOPASSWD\s*:").expect("valid regex"));
            let (lhs, _) = line.split_once('=')?;
            // "alice, %admin  ALL" -> user list, then hosts
            let lhs = COMMA.replace_all(lhs.trim(), ",");
            let users = split_list(lhs.split_whitespace().next()?);
            let text = line.split_whitespace().collect::<Vec<_>>().join(" ");
            let nopasswd = NOPASSWD.is_match(line);
            Some(Entry::Rule {
                users,
                text,
                nopasswd,
            })
        }
    }
}

/// Parse sudoers text into the entries that matter, with line numbers.
pub fn parse(text: &str) -> Vec<(usize, Entry)> {
    logical_lines(text)
        .into_iter()
        .filter_map(|(n, l)| parse_line(&l).map(|e| (n, e)))
        .collect()
}

/// Whether a `Defaults` parameter list turns authentication off.
pub fn disables_authentication(params: &str) -> bool {
    params.split(',').any(|p| p.trim() == "!authenticate")
}

/// Expand user aliases in `users` (negated items are dropped: they exclude).
pub fn expand_users(users: &[String], aliases: &HashMap<String, Vec<String>>) -> Vec<String> {
    fn go(
        items: &[String],
        aliases: &HashMap<String, Vec<String>>,
        depth: u32,
        out: &mut Vec<String>,
    ) {
        for i in items {
            if i.starts_with('!') {
                continue;
            }
            match aliases.get(i) {
                Some(inner) if depth < 32 => go(inner, aliases, depth + 1, out),
                _ => out.push(i.clone()),
            }
        }
    }
    let mut out = Vec::new();
    go(users, aliases, 0, &mut out);
    out
}

/// Every sudoers file sudo reads, in order, with its entries.
fn collect(
    ctx: &Context<'_>,
    path: &str,
    depth: u32,
    files: &mut Vec<(String, Vec<(usize, Entry)>)>,
) -> Result<(), AuditError> {
    if depth > 128 || files.iter().any(|(p, _)| p == path) {
        return Ok(());
    }
    let Some(text) = ctx.root.read_text(path)? else {
        return Ok(());
    };
    let entries = parse(&text);
    let includes: Vec<(String, bool)> = entries
        .iter()
        .filter_map(|(_, e)| match e {
            Entry::Include { path: p, dir } => Some((p.clone(), *dir)),
            _ => None,
        })
        .collect();
    files.push((path.to_owned(), entries));
    let base = path.rsplit_once('/').map_or("/", |(d, _)| d);
    for (inc, dir) in includes {
        // relative includes are relative to the including file (sudo >= 1.9.1)
        let inc = normalize(&if inc.starts_with('/') {
            inc
        } else {
            join(base, &inc)
        });
        if !dir {
            collect(ctx, &inc, depth + 1, files)?;
            continue;
        }
        for (name, m) in ctx.root.list(&inc)? {
            // sudo skips these in an includedir (editor backups, package leftovers)
            if name.ends_with('~') || name.contains('.') || m.kind == Kind::Dir {
                continue;
            }
            collect(ctx, &join(&inc, &name), depth + 1, files)?;
        }
    }
    Ok(())
}

/// The sudo detector.
pub fn check(ctx: &Context<'_>, out: &mut Findings) -> Result<(), AuditError> {
    let mut files = Vec::new();
    collect(ctx, "/etc/sudoers", 0, &mut files)?;
    let mut aliases = HashMap::new();
    for (_, entries) in &files {
        for (_, e) in entries {
            if let Entry::UserAlias(defs) = e {
                aliases.extend(defs.iter().cloned());
            }
        }
    }
    let admin_members = ctx.accounts.group_members(HUB_ADMINS).unwrap_or_default();
    for (path, entries) in &files {
        for (line, e) in entries {
            match e {
                Entry::Defaults { binding, params } if disables_authentication(params) => {
                    out.add(Finding::new(
                        FindingKind::Nopasswd,
                        path,
                        format!("line {line}: `Defaults{binding} {params}`"),
                        "sudo asks no password at all: any account allowed to sudo becomes root without one",
                    ));
                }
                Entry::Rule {
                    users,
                    text,
                    nopasswd: true,
                } => {
                    let who = expand_users(users, &aliases);
                    let detail = format!("line {line}: `{text}`");
                    if who == [format!("%{HUB_ADMINS}")] && admin_members.is_empty() {
                        out.expect(Expected::new(
                            FindingKind::Nopasswd,
                            path,
                            detail,
                            format!(
                                "the hub admins' rule; group `{HUB_ADMINS}` has no members in the image (admins join it at run time)"
                            ),
                        ));
                    } else if ctx.opts.vagrant_box && who == ["vagrant"] {
                        out.expect(Expected::new(
                            FindingKind::Nopasswd,
                            path,
                            detail,
                            "Vagrant box convention: the box's `vagrant` user sudoes without a password",
                        ));
                    } else if ctx.owner.is_owner_account(&who) {
                        out.expect(Expected::new(
                            FindingKind::Nopasswd,
                            path,
                            detail,
                            "the owner's account (`access.ssh_user` in vmbuild.toml, owner.json): no password, login by the owner's keys only; its sudo is the owner's way to root",
                        ));
                    } else if who == [format!("%{HUB_ADMINS}")] {
                        out.add(Finding::new(
                            FindingKind::Nopasswd,
                            path,
                            format!(
                                "{detail}; group `{HUB_ADMINS}` already has members: {}",
                                admin_members.join(", ")
                            ),
                            "these accounts are root without a password on every instance, whoever the hub's admins will be",
                        ));
                    } else {
                        out.add(Finding::new(
                            FindingKind::Nopasswd,
                            path,
                            detail,
                            format!(
                                "whoever gets a shell as {} runs commands as root without a password",
                                who.join(", ")
                            ),
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<(usize, Vec<String>, bool)> {
        parse(text)
            .into_iter()
            .filter_map(|(n, e)| match e {
                Entry::Rule {
                    users, nopasswd, ..
                } => Some((n, users, nopasswd)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn debian_default_sudoers_has_no_nopasswd() {
        let text = "\
#
# This file MUST be edited with the 'visudo' command as root.
Defaults\tenv_reset
Defaults\tmail_badpass
Defaults\tsecure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"
Defaults\tuse_pty
# User privilege specification
root\tALL=(ALL:ALL) ALL
# Allow members of group sudo to execute any command
%sudo\tALL=(ALL:ALL) ALL
# See sudoers(5) for more information on \"@include\" directives:
@includedir /etc/sudoers.d
";
        let r = rules(text);
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|(_, _, np)| !np));
        assert!(parse(text).contains(&(
            12,
            Entry::Include {
                path: "/etc/sudoers.d".into(),
                dir: true
            }
        )));
    }

    #[test]
    fn nopasswd_rules_are_found_in_their_forms() {
        let text = "\
vagrant ALL=(ALL) NOPASSWD: ALL
%admins, bob  ALL = (root) NOPASSWD:NOEXEC: /usr/bin/apt
carol ALL=(ALL) ALL # NOPASSWD: only in a comment
dave ALL = (ALL) \\
    NOPASSWD: ALL
#1000 ALL=(ALL) NOPASSWD: ALL
erin ALL=(ALL) PASSWD: /bin/ls
";
        assert_eq!(
            rules(text),
            [
                (1, vec!["vagrant".into()], true),
                (2, vec!["%admins".into(), "bob".into()], true),
                (3, vec!["carol".into()], false),
                (4, vec!["dave".into()], true),
                (6, vec!["#1000".into()], true),
                (7, vec!["erin".into()], false),
            ]
        );
    }

    #[test]
    fn includes_in_all_spellings() {
        let e = parse("#includedir /etc/sudoers.d\n@include extra\n#include \"/etc/sudo x\"\n");
        assert_eq!(
            e.into_iter().map(|(_, e)| e).collect::<Vec<_>>(),
            [
                Entry::Include {
                    path: "/etc/sudoers.d".into(),
                    dir: true
                },
                Entry::Include {
                    path: "extra".into(),
                    dir: false
                },
                Entry::Include {
                    path: "/etc/sudo x".into(),
                    dir: false
                },
            ]
        );
    }

    #[test]
    fn aliases_expand_and_defaults_can_disable_authentication() {
        let e = parse(
            "User_Alias ADMINS = alice, OPS : OPS = bob, !carol\nDefaults:ADMINS !authenticate\nDefaults !lecture, !authenticate\nDefaults env_reset\n",
        );
        let mut aliases = HashMap::new();
        for (_, e) in &e {
            if let Entry::UserAlias(d) = e {
                aliases.extend(d.iter().cloned());
            }
        }
        assert_eq!(
            expand_users(&["ADMINS".into(), "dave".into()], &aliases),
            ["alice", "bob", "dave"]
        );
        let defaults: Vec<bool> = e
            .iter()
            .filter_map(|(_, e)| match e {
                Entry::Defaults { params, .. } => Some(disables_authentication(params)),
                _ => None,
            })
            .collect();
        assert_eq!(defaults, [true, true, false]);
        assert!(matches!(&e[1].1, Entry::Defaults { binding, .. } if binding == ":ADMINS"));
    }
}
