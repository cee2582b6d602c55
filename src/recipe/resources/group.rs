//! `group`: a local group (groupadd/groupmod/groupdel).
use super::super::RecipeError;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Change, CheckOptions, Plan, Resource};
use super::state_present;
use crate::remote::RemoteCommand;

/// A managed group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Name.
    pub name: String,
    /// Present or absent.
    pub present: bool,
    /// Fixed gid.
    pub gid: Option<u32>,
    /// A system group.
    pub system: bool,
}

impl Group {
    /// From a `group` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        Ok(Group {
            name: f.str("group")?,
            present: state_present(f)?,
            gid: f.opt_u32("gid")?,
            system: f.bool_or("system", false)?,
        })
    }
}

impl Resource for Group {
    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        vec![FactQuery::Group(self.name.clone())]
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        let have = facts.group(&self.name)?;
        match (have, self.present) {
            (None, false) => Ok(Plan::ok(format!("group `{}` does not exist", self.name))),
            (Some(_), false) => Ok(Plan::from_changes(
                vec![Change::exec(
                    format!("remove group `{}`", self.name),
                    RemoteCommand::new("groupdel").arg("--").arg(&self.name),
                )],
                "",
            )),
            (None, true) => {
                let mut c = RemoteCommand::new("groupadd");
                if let Some(g) = self.gid {
                    c = c.arg("-g").arg(g.to_string());
                }
                if self.system {
                    c = c.arg("-r");
                }
                Ok(Plan::from_changes(
                    vec![Change::exec(
                        format!("create group `{}`", self.name),
                        c.arg("--").arg(&self.name),
                    )],
                    "",
                ))
            }
            (Some(h), true) => Ok(match self.gid.filter(|g| *g != h.gid) {
                Some(g) => Plan::from_changes(
                    vec![Change::exec(
                        format!("gid {} → {g}", h.gid),
                        RemoteCommand::new("groupmod")
                            .arg("-g")
                            .arg(g.to_string())
                            .arg("--")
                            .arg(&self.name),
                    )],
                    "",
                ),
                None => Plan::ok(format!("group `{}` exists (gid {})", self.name, h.gid)),
            }),
        }
    }
}
