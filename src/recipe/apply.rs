//! Turning [`Action`]s into remote commands (pure), including the merged apt
//! and pip transactions.
use super::resource::Action;
use crate::remote::{RemoteCommand, safe_write};

/// The command writing `content` to `path` atomically with mode and owner,
/// safe in directories other users can write to
/// ([`crate::remote::safe_write`]).
pub fn put_cmd(
    path: &str,
    content: &[u8],
    mode: u32,
    owner: Option<&str>,
    group: Option<&str>,
    tag: &str,
) -> RemoteCommand {
    safe_write::write_cmd(path, content, mode, owner, group, tag)
}

/// The stamp APT::Periodic (and Ansible's `cache_valid_time`) read as the
/// time of the last successful `apt-get update`.
pub const APT_UPDATE_STAMP: &str = "/var/lib/apt/periodic/update-success-stamp";

/// `apt-get update`, then the success stamp: apt keeps a list file's
/// server date as its mtime, so the lists' own times say little about when
/// they were fetched.
pub fn apt_update_cmd() -> RemoteCommand {
    RemoteCommand::new("sh")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args([
            "-c",
            "apt-get -q -o DPkg::Lock::Timeout=300 update && mkdir -p \"${1%/*}\" && touch \"$1\"",
            "vmbuild-apt-update",
            APT_UPDATE_STAMP,
        ])
        .idempotent()
}

/// One `apt-get install` for all `packages`.
pub fn apt_install_cmd(packages: &[String], recommends: bool) -> RemoteCommand {
    let mut c = RemoteCommand::new("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["-q", "-y", "-o", "DPkg::Lock::Timeout=300", "install"]);
    if !recommends {
        c = c.arg("--no-install-recommends");
    }
    c.args(packages.iter().cloned()).idempotent()
}

/// `apt-get remove`.
pub fn apt_remove_cmd(packages: &[String]) -> RemoteCommand {
    RemoteCommand::new("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["-q", "-y", "-o", "DPkg::Lock::Timeout=300", "remove"])
        .args(packages.iter().cloned())
        .idempotent()
}

/// Create the venv if needed, then one install of all `packages` (how it
/// runs: `resources/pip_install.rs`).
pub fn pip_install_cmd(venv: &str, python: &str, packages: &[String]) -> RemoteCommand {
    super::resources::pip_install::install_cmd(venv, python, packages)
}

/// The transaction `a` can be merged into: all apt installs share one, pip
/// installs one per venv; `None` for everything else.
pub fn transaction(a: &Action) -> Option<String> {
    match a {
        Action::AptInstall { .. } => Some("apt".into()),
        Action::PipInstall { venv, .. } => Some(format!("pip {venv}")),
        _ => None,
    }
}

/// The one transaction all of `actions` belong to, if they share one.
pub fn common_transaction(actions: &[Action]) -> Option<String> {
    let first = transaction(actions.first()?)?;
    actions
        .iter()
        .all(|a| transaction(a).as_ref() == Some(&first))
        .then_some(first)
}

/// Merge the install actions of several plans into one action per
/// transaction: all apt installs into one, pip installs per venv.
pub fn merge(actions: &[Action]) -> Vec<Action> {
    let mut out: Vec<Action> = Vec::new();
    for a in actions {
        match a {
            Action::AptInstall {
                packages,
                update,
                recommends,
            } => match out
                .iter_mut()
                .find(|o| matches!(o, Action::AptInstall { recommends: r, .. } if r == recommends))
            {
                Some(Action::AptInstall {
                    packages: p,
                    update: u,
                    ..
                }) => {
                    for pkg in packages {
                        if !p.contains(pkg) {
                            p.push(pkg.clone());
                        }
                    }
                    *u |= *update;
                }
                _ => out.push(a.clone()),
            },
            Action::PipInstall { venv, packages, .. } => match out
                .iter_mut()
                .find(|o| matches!(o, Action::PipInstall { venv: v, .. } if v == venv))
            {
                Some(Action::PipInstall { packages: p, .. }) => {
                    for pkg in packages {
                        if !p.contains(pkg) {
                            p.push(pkg.clone());
                        }
                    }
                }
                _ => out.push(a.clone()),
            },
            other => out.push(other.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines() {
        assert_eq!(
            apt_install_cmd(&["tree".into(), "jq".into()], false).to_shell(),
            "env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300 install --no-install-recommends tree jq"
        );
        let pip = pip_install_cmd("/opt/v", "python3", &["six==1.16.0".into()]).to_shell();
        assert!(
            pip.contains(" vmbuild-pip /opt/v python3 ") && pip.ends_with(" six==1.16.0"),
            "{pip}"
        );
        let p = put_cmd("/etc/x y", b"hi", 0o640, Some("root"), Some("adm"), "T");
        assert_eq!(p.get_stdin(), Some(&b"hi"[..]));
    }

    #[test]
    fn merges_apt_and_pip_per_venv() {
        let apt = |p: &[&str], u| Action::AptInstall {
            packages: p.iter().map(|s| s.to_string()).collect(),
            update: u,
            recommends: false,
        };
        let pip = |v: &str, p: &str| Action::PipInstall {
            venv: v.into(),
            python: "python3".into(),
            packages: vec![p.into()],
        };
        let m = merge(&[
            apt(&["a"], false),
            pip("/v1", "x"),
            apt(&["b", "a"], true),
            pip("/v2", "y"),
            pip("/v1", "z"),
        ]);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0], apt(&["a", "b"], true));
        assert!(matches!(&m[1], Action::PipInstall { packages, .. } if packages == &["x", "z"]));
    }
}
