//! `timezone`: /etc/localtime → /usr/share/zoneinfo/NAME, and /etc/timezone.
use super::super::RecipeError;
use super::super::facts::files::PathKind;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Change, CheckOptions, Plan, Resource};
use super::edit::{edit_facts, edit_file};
use crate::remote::RemoteCommand;

/// The managed time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timezone {
    /// `Europe/Berlin`, `UTC`...
    pub name: String,
}

impl Timezone {
    /// From a `timezone` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let name = f.str("timezone")?;
        if name.is_empty() || name.contains("..") || name.starts_with('/') {
            return Err(f.error(format!(
                "`{name}` is not a time zone name like `Europe/Berlin`"
            )));
        }
        Ok(Timezone { name })
    }

    fn zonefile(&self) -> String {
        format!("/usr/share/zoneinfo/{}", self.name)
    }
}

impl Resource for Timezone {
    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        let mut q = edit_facts("/etc/timezone");
        q.push(FactQuery::Path("/etc/localtime".into()));
        q.push(FactQuery::Path(self.zonefile()));
        q
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        if facts.path(&self.zonefile())?.kind == PathKind::Absent {
            return Err(FactError::Conflict(format!(
                "`{}` does not exist: unknown time zone, or the `tzdata` package is not installed",
                self.zonefile()
            )));
        }
        let want = format!("{}\n", self.name);
        let mut changes = edit_file(
            facts,
            "/etc/timezone",
            true,
            "set zone",
            String::new(),
            |t| (t != want).then(|| want.clone()),
        )?
        .changes;
        let lt = facts.path("/etc/localtime")?;
        if lt.link.as_deref() != Some(self.zonefile().as_str()) {
            changes.push(Change::exec(
                format!(
                    "/etc/localtime → `{}` (is {})",
                    self.zonefile(),
                    lt.link.as_deref().unwrap_or("not a link")
                ),
                RemoteCommand::new("ln").args(["-sfn", "--", &self.zonefile(), "/etc/localtime"]),
            ));
        }
        Ok(Plan::from_changes(
            changes,
            format!("time zone is {}", self.name),
        ))
    }
}
