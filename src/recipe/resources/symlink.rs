//! `symlink`: a symbolic link pointing at a target, or absent.
use super::super::RecipeError;
use super::super::facts::files::PathKind;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Change, CheckOptions, Plan, Resource};
use super::state_present;
use crate::remote::RemoteCommand;

/// A managed symlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symlink {
    /// The link's path.
    pub path: String,
    /// Where it points (`None`: absent).
    pub target: Option<String>,
    /// Replace a regular file standing in the way.
    pub force: bool,
}

impl Symlink {
    /// From a `symlink` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let path = f.str("path")?;
        let present = state_present(f)?;
        let target = f.opt_str("target")?;
        let force = f.bool_or("force", false)?;
        if present && target.is_none() {
            return Err(f.error("a `symlink` needs `target`"));
        }
        Ok(Symlink {
            path,
            target: target.filter(|_| present),
            force,
        })
    }
}

impl Resource for Symlink {
    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        vec![FactQuery::Path(self.path.clone())]
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        let have = facts.path(&self.path)?;
        let rm = || {
            Change::exec(
                format!("remove `{}`", self.path),
                RemoteCommand::new("rm").arg("-f").arg("--").arg(&self.path),
            )
        };
        let Some(target) = &self.target else {
            return match have.kind {
                PathKind::Absent => Ok(Plan::ok(format!("`{}` is absent", self.path))),
                PathKind::Link => Ok(Plan::from_changes(vec![rm()], "")),
                other => Err(FactError::Conflict(format!(
                    "`{}` is {other}, not a symlink; refusing to remove it",
                    self.path
                ))),
            };
        };
        let ln = |what: String| {
            Change::exec(
                what,
                RemoteCommand::new("ln")
                    .arg("-sfn")
                    .arg("--")
                    .arg(target)
                    .arg(&self.path),
            )
        };
        match have.kind {
            PathKind::Link if have.link.as_deref() == Some(target.as_str()) => {
                Ok(Plan::ok(format!("`{}` points to `{target}`", self.path)))
            }
            PathKind::Link => Ok(Plan::from_changes(
                vec![ln(format!(
                    "`{}` points to `{}`, not `{target}`",
                    self.path,
                    have.link.unwrap_or_default()
                ))],
                "",
            )),
            PathKind::Absent => Ok(Plan::from_changes(
                vec![ln(format!("link `{}` → `{target}`", self.path))],
                "",
            )),
            PathKind::File if self.force => Ok(Plan::from_changes(
                vec![rm(), ln(format!("link `{}` → `{target}`", self.path))],
                "",
            )),
            other => Err(FactError::Conflict(format!(
                "`{}` is {other}, not a symlink (set force = true to replace a file)",
                self.path
            ))),
        }
    }
}
