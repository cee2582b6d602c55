//! `user`: a local account (useradd/usermod/userdel from `getent` facts).
use super::super::RecipeError;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Change, CheckOptions, Plan, Resource};
use super::state_present;
use crate::remote::RemoteCommand;

/// A managed user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Present or absent.
    pub present: bool,
    /// Fixed uid.
    pub uid: Option<u32>,
    /// Primary group name.
    pub group: Option<String>,
    /// Supplementary groups the user must be in (others are kept).
    pub groups: Vec<String>,
    /// Login shell.
    pub shell: Option<String>,
    /// Home directory.
    pub home: Option<String>,
    /// A system account.
    pub system: bool,
    /// Create the home directory.
    pub create_home: bool,
    /// Remove the home directory with the user.
    pub remove_home: bool,
}

impl User {
    /// From a `user` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let system = f.bool_or("system", false)?;
        Ok(User {
            name: f.str("user")?,
            present: state_present(f)?,
            uid: f.opt_u32("uid")?,
            group: f.opt_str("group")?,
            groups: f.str_list("groups")?,
            shell: f.opt_str("shell")?,
            home: f.opt_str("home")?,
            system,
            create_home: f.bool_or("create_home", !system)?,
            remove_home: f.bool_or("remove_home", false)?,
        })
    }

    /// The `useradd` command.
    pub fn useradd(&self) -> RemoteCommand {
        let mut c = RemoteCommand::new("useradd");
        if let Some(u) = self.uid {
            c = c.arg("-u").arg(u.to_string());
        }
        if let Some(g) = &self.group {
            c = c.arg("-g").arg(g);
        }
        if !self.groups.is_empty() {
            c = c.arg("-G").arg(self.groups.join(","));
        }
        if let Some(s) = &self.shell {
            c = c.arg("-s").arg(s);
        }
        if let Some(h) = &self.home {
            c = c.arg("-d").arg(h);
        }
        if self.system {
            c = c.arg("-r");
        }
        c.arg(if self.create_home { "-m" } else { "-M" })
            .arg("--")
            .arg(&self.name)
    }
}

impl Resource for User {
    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        let mut q = vec![FactQuery::User(self.name.clone())];
        if let Some(g) = &self.group {
            q.push(FactQuery::Group(g.clone()));
        }
        q
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        let have = facts.user(&self.name)?;
        let Some(have) = have else {
            return Ok(if self.present {
                Plan::from_changes(
                    vec![Change::exec(
                        format!("create user `{}`", self.name),
                        self.useradd(),
                    )],
                    "",
                )
            } else {
                Plan::ok(format!("user `{}` does not exist", self.name))
            });
        };
        if !self.present {
            let mut c = RemoteCommand::new("userdel");
            if self.remove_home {
                c = c.arg("-r");
            }
            return Ok(Plan::from_changes(
                vec![Change::exec(
                    format!("remove user `{}`", self.name),
                    c.arg("--").arg(&self.name),
                )],
                "",
            ));
        }
        let mut changes = Vec::new();
        let usermod = |what: String, flag: &str, v: String| {
            Change::exec(
                what,
                RemoteCommand::new("usermod")
                    .arg(flag)
                    .arg(v)
                    .arg("--")
                    .arg(&self.name),
            )
        };
        if let Some(u) = self.uid.filter(|u| *u != have.uid) {
            changes.push(usermod(
                format!("uid {} → {u}", have.uid),
                "-u",
                u.to_string(),
            ));
        }
        if let Some(g) = &self.group {
            let gid = facts.group(g)?.map(|e| e.gid);
            if gid != Some(have.gid) {
                changes.push(usermod(format!("primary group → `{g}`"), "-g", g.clone()));
            }
        }
        if let Some(s) = self.shell.as_ref().filter(|s| **s != have.shell) {
            changes.push(usermod(
                format!("shell `{}` → `{s}`", have.shell),
                "-s",
                s.clone(),
            ));
        }
        if let Some(h) = self.home.as_ref().filter(|h| **h != have.home) {
            changes.push(usermod(
                format!("home `{}` → `{h}`", have.home),
                "-d",
                h.clone(),
            ));
        }
        let missing: Vec<String> = self
            .groups
            .iter()
            .filter(|g| !have.groups.contains(g))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let c = RemoteCommand::new("usermod")
                .arg("-a")
                .arg("-G")
                .arg(missing.join(","))
                .arg("--")
                .arg(&self.name);
            changes.push(Change::exec(
                format!("add to groups {}", missing.join(", ")),
                c,
            ));
        }
        Ok(Plan::from_changes(
            changes,
            format!(
                "user `{}` exists (uid {}, shell {}, groups {})",
                self.name,
                have.uid,
                have.shell,
                have.groups.join(",")
            ),
        ))
    }
}
