//! `mount`: an /etc/fstab entry, and the file system mounted (or not).
use super::super::RecipeError;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Action, Change, CheckOptions, Plan, Resource};
use crate::remote::RemoteCommand;

const FSTAB: &str = "/etc/fstab";

/// A managed mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Mount point.
    pub path: String,
    /// Device, `UUID=…`, or remote.
    pub src: String,
    /// File system type.
    pub fstype: String,
    /// Mount options.
    pub opts: String,
    /// `mounted`, `present` (fstab only), `unmounted`, `absent`.
    pub state: &'static str,
}

impl Mount {
    /// From a `mount` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let m = Mount {
            path: f.str("path")?,
            src: f.str("src")?,
            fstype: f.str("fstype")?,
            opts: f.opt_str("opts")?.unwrap_or_else(|| "defaults".into()),
            state: f
                .opt_choice("state", &["mounted", "present", "unmounted", "absent"])?
                .unwrap_or("mounted"),
        };
        if [&m.path, &m.src, &m.fstype, &m.opts]
            .iter()
            .any(|s| s.is_empty() || s.contains(char::is_whitespace))
        {
            return Err(f.error(
                "`path`, `src`, `fstype` and `opts` must be non-empty and contain no spaces",
            ));
        }
        Ok(m)
    }

    /// The fstab line.
    pub fn fstab_line(&self) -> String {
        format!(
            "{} {} {} {} 0 0",
            self.src, self.path, self.fstype, self.opts
        )
    }

    /// `fstab` with our entry set (or removed); `None` if unchanged.
    pub fn edit_fstab(&self, fstab: &str) -> Option<String> {
        let ours = |l: &str| {
            let f: Vec<&str> = l.split_whitespace().collect();
            !l.trim_start().starts_with('#') && f.get(1) == Some(&self.path.as_str())
        };
        let mut lines: Vec<String> = fstab.lines().map(str::to_owned).collect();
        let want = self.fstab_line();
        let pos = lines.iter().position(|l| ours(l));
        match (self.state == "absent", pos) {
            (true, None) => return None,
            (true, Some(_)) => lines.retain(|l| !ours(l)),
            (false, Some(i)) if lines[i].split_whitespace().eq(want.split_whitespace()) => {
                return None;
            }
            (false, Some(i)) => lines[i] = want,
            (false, None) => lines.push(want),
        }
        Some(lines.iter().map(|l| format!("{l}\n")).collect())
    }
}

impl Resource for Mount {
    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        vec![
            FactQuery::Mount(self.path.clone()),
            FactQuery::Content(FSTAB.into()),
            FactQuery::Path(FSTAB.into()),
        ]
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        let fstab = facts.text(FSTAB)?.unwrap_or_default();
        let mut changes = Vec::new();
        if let Some(new) = self.edit_fstab(&fstab) {
            let mut c = Change::new(
                format!(
                    "{} entry for `{}` in {FSTAB}",
                    if self.state == "absent" {
                        "remove"
                    } else {
                        "set"
                    },
                    self.path
                ),
                vec![Action::Put {
                    path: FSTAB.into(),
                    content: new.clone().into_bytes(),
                    mode: 0o644,
                    owner: None,
                    group: None,
                }],
            );
            c.diff = Some(super::unified_diff(FSTAB, &fstab, &new));
            changes.push(c);
        }
        let mounted = facts.mounted(&self.path)?;
        let umount = || {
            Change::exec(
                format!("unmount `{}`", self.path),
                RemoteCommand::new("umount").arg("--").arg(&self.path),
            )
        };
        let mount = || {
            Change::new(
                format!("mount `{}` on `{}`", self.src, self.path),
                vec![
                    Action::Exec(
                        RemoteCommand::new("mkdir")
                            .arg("-p")
                            .arg("--")
                            .arg(&self.path),
                    ),
                    Action::Exec(RemoteCommand::new("mount").args([
                        "-t",
                        &self.fstype,
                        "-o",
                        &self.opts,
                        "--",
                        &self.src,
                        &self.path,
                    ])),
                ],
            )
        };
        match (self.state, &mounted) {
            ("mounted", None) => changes.push(mount()),
            ("mounted", Some(m)) if m.source != self.src || m.fstype != self.fstype => {
                changes.push(umount());
                changes.push(mount());
            }
            ("unmounted" | "absent", Some(_)) => changes.push(umount()),
            _ => {}
        }
        let now = match mounted {
            Some(m) => format!(
                "`{}` ({}) is mounted on `{}`",
                m.source, m.fstype, self.path
            ),
            None => format!("nothing is mounted on `{}`", self.path),
        };
        Ok(Plan::from_changes(
            changes,
            format!("{now}; {FSTAB} is as wanted"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(state: &'static str) -> Mount {
        Mount {
            path: "/srv/data".into(),
            src: "tmpfs".into(),
            fstype: "tmpfs".into(),
            opts: "size=1m".into(),
            state,
        }
    }

    #[test]
    fn fstab_edits() {
        let base = "# comment /srv/data\nUUID=x / ext4 defaults 0 1\n";
        let added = m("mounted").edit_fstab(base).unwrap();
        assert!(
            added.ends_with("tmpfs /srv/data tmpfs size=1m 0 0\n"),
            "{added}"
        );
        assert_eq!(m("mounted").edit_fstab(&added), None);
        assert_eq!(m("absent").edit_fstab(&added).as_deref(), Some(base));
        let spaced = added.replace("tmpfs /srv/data", "tmpfs   /srv/data");
        assert_eq!(
            m("present").edit_fstab(&spaced),
            None,
            "whitespace differences do not count"
        );
    }
}
