//! `hostname`: /etc/hostname, the running name and the 127.0.1.1 line of
//! /etc/hosts (no hostnamectl: it needs dbus and systemd).
use regex::Regex;

use super::super::RecipeError;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Change, CheckOptions, Plan, Resource};
use super::edit::{edit_facts, edit_file, ensure_line};
use crate::remote::RemoteCommand;

/// The managed host name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostname {
    /// The name.
    pub name: String,
}

impl Hostname {
    /// From a `hostname` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let name = f.str("hostname")?;
        let ok = !name.is_empty()
            && name.len() <= 63
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !name.starts_with('-');
        if !ok {
            return Err(f.error(format!(
                "`{name}` is not a valid host name (letters, digits, `-`; at most 63)"
            )));
        }
        Ok(Hostname { name })
    }
}

impl Resource for Hostname {
    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        let mut q = edit_facts("/etc/hostname");
        q.extend(edit_facts("/etc/hosts"));
        q.push(FactQuery::Hostname);
        q
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        let want = format!("{}\n", self.name);
        let mut changes = edit_file(
            facts,
            "/etc/hostname",
            true,
            "set name",
            String::new(),
            |t| (t != want).then(|| want.clone()),
        )?
        .changes;
        let re = Regex::new(r"^127\.0\.1\.1\s").map_err(|e| FactError::Conflict(e.to_string()))?;
        let line = format!("127.0.1.1\t{}", self.name);
        changes.extend(
            edit_file(
                facts,
                "/etc/hosts",
                true,
                "set 127.0.1.1",
                String::new(),
                |t| ensure_line(t, &line, Some(&re)),
            )?
            .changes,
        );
        let running = facts.hostname()?;
        if running != self.name {
            changes.push(Change::exec(
                format!("running name `{running}` → `{}`", self.name),
                RemoteCommand::new("hostname").arg(&self.name),
            ));
        }
        Ok(Plan::from_changes(
            changes,
            format!(
                "host name is `{}` (running, /etc/hostname, /etc/hosts)",
                self.name
            ),
        ))
    }
}
