//! `systemd.unit`: a unit file in /etc/systemd/system; systemd reloads it
//! when it runs (`daemon-reload`).
use super::super::RecipeError;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Change, CheckOptions, Plan, Resource};
use super::file::{File, content_from_fields};
use crate::remote::RemoteCommand;

/// A managed unit file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemdUnit {
    /// Unit name (`jupyterhub.service`).
    pub unit: String,
    /// The file.
    pub file: File,
}

impl SystemdUnit {
    /// From a `systemd.unit` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let unit = f.str("unit")?;
        if unit.contains('/') || !unit.contains('.') {
            return Err(f.error("`unit` must be a unit file name like `jupyterhub.service`"));
        }
        let content = content_from_fields(f)?
            .ok_or_else(|| f.error("a `systemd.unit` needs `content`, `template` or `source`"))?;
        Ok(SystemdUnit {
            file: File::root_owned(format!("/etc/systemd/system/{unit}"), content),
            unit,
        })
    }
}

impl Resource for SystemdUnit {
    fn facts(&self, opts: CheckOptions) -> Vec<FactQuery> {
        let mut q = self.file.facts(opts);
        q.push(FactQuery::Systemd(self.unit.clone()));
        q
    }

    fn check(&self, facts: &Facts, opts: CheckOptions) -> Result<Plan, FactError> {
        let mut plan = self.file.check(facts, opts)?;
        if !plan.is_ok() && facts.unit(&self.unit)?.running {
            plan.changes.push(Change::exec(
                "reload systemd",
                RemoteCommand::new("systemctl").arg("daemon-reload"),
            ));
        }
        Ok(plan)
    }
}
