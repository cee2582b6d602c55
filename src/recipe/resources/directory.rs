//! `directory`: a directory with mode and owner, or absent.
use super::super::RecipeError;
use super::super::facts::files::PathKind;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Change, CheckOptions, Plan, Resource};
use super::attrs::Attrs;
use super::state_present;
use crate::remote::RemoteCommand;

/// A managed directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    /// Path on the host.
    pub path: String,
    /// Present or absent.
    pub present: bool,
    /// Mode/owner/group.
    pub attrs: Attrs,
}

impl Directory {
    /// From a `directory` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        Ok(Directory {
            path: f.str("path")?,
            present: state_present(f)?,
            attrs: Attrs::from_fields(f)?,
        })
    }

    /// The `install -d` command creating it with its attributes.
    pub fn create_cmd(&self) -> RemoteCommand {
        let mut c = RemoteCommand::new("install").arg("-d");
        if let Some(m) = self.attrs.mode {
            c = c.arg("-m").arg(format!("{m:04o}"));
        }
        if let Some(o) = &self.attrs.owner {
            c = c.arg("-o").arg(o);
        }
        if let Some(g) = &self.attrs.group {
            c = c.arg("-g").arg(g);
        }
        c.arg("--").arg(&self.path)
    }
}

impl Resource for Directory {
    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        vec![FactQuery::Path(self.path.clone())]
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        let have = facts.path(&self.path)?;
        match (self.present, &have.kind) {
            (true, PathKind::Dir) => Ok(Plan::from_changes(
                self.attrs.changes(&self.path, &have),
                format!(
                    "directory `{}` exists, {}",
                    self.path,
                    Attrs::describe(&have)
                ),
            )),
            (true, PathKind::Absent) => Ok(Plan::from_changes(
                vec![Change::exec(
                    format!("create directory `{}`", self.path),
                    self.create_cmd(),
                )],
                "",
            )),
            (true, other) => Err(FactError::Conflict(format!(
                "`{}` is {other}, not a directory; refusing to replace it",
                self.path
            ))),
            (false, PathKind::Absent) => Ok(Plan::ok(format!("`{}` is absent", self.path))),
            (false, PathKind::Dir) => Ok(Plan::from_changes(
                vec![Change::exec(
                    format!("remove directory `{}` and its contents", self.path),
                    RemoteCommand::new("rm")
                        .arg("-rf")
                        .arg("--")
                        .arg(&self.path),
                )],
                "",
            )),
            (false, other) => Err(FactError::Conflict(format!(
                "`{}` is {other}, not a directory; refusing to remove it",
                self.path
            ))),
        }
    }
}
