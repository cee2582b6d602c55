//! `locale`: a locale generated (locale.gen + locale-gen) and optionally
//! the system default (`LANG` in /etc/default/locale).
use regex::Regex;

use super::super::RecipeError;
use super::super::facts::files::PathKind;
use super::super::facts::system::normalize_locale;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Action, Change, CheckOptions, Plan, Resource};
use super::edit::{edit_facts, edit_file, ensure_line};
use crate::remote::RemoteCommand;

/// A managed locale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locale {
    /// `en_US.UTF-8`.
    pub name: String,
    /// Make it the default `LANG`.
    pub default: bool,
}

impl Locale {
    /// From a `locale` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let name = f.str("locale")?;
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-@".contains(c))
            || name.is_empty()
        {
            return Err(f.error(format!("`{name}` is not a locale name like `en_US.UTF-8`")));
        }
        Ok(Locale {
            name,
            default: f.bool_or("default", false)?,
        })
    }

    fn charset(&self) -> &str {
        self.name.split_once('.').map_or("ISO-8859-1", |(_, c)| c)
    }
}

impl Resource for Locale {
    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        let mut q = edit_facts("/etc/locale.gen");
        q.extend(edit_facts("/etc/default/locale"));
        q.push(FactQuery::Locales);
        q.push(FactQuery::Path("/usr/sbin/locale-gen".into()));
        q
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        let mut changes = Vec::new();
        let have = facts.locales()?;
        if !have.contains(&normalize_locale(&self.name)) {
            if facts.path("/usr/sbin/locale-gen")?.kind == PathKind::Absent {
                return Err(FactError::Conflict(
                    "`locale-gen` is missing: install the `locales` package first".into(),
                ));
            }
            let line = format!("{} {}", self.name, self.charset());
            let re = Regex::new(&format!(r"^#?\s*{}\s", regex::escape(&self.name)))
                .map_err(|e| FactError::Conflict(e.to_string()))?;
            let mut edit = edit_file(
                facts,
                "/etc/locale.gen",
                true,
                "enable",
                String::new(),
                |t| ensure_line(t, &line, Some(&re)),
            )?
            .changes;
            let mut actions: Vec<Action> = edit.drain(..).flat_map(|c| c.actions).collect();
            actions.push(Action::Exec(RemoteCommand::new("locale-gen")));
            changes.push(Change::new(
                format!("generate locale {}", self.name),
                actions,
            ));
        }
        if self.default {
            let re = Regex::new(r"^\s*LANG=").map_err(|e| FactError::Conflict(e.to_string()))?;
            let line = format!("LANG={}", self.name);
            changes.extend(
                edit_file(
                    facts,
                    "/etc/default/locale",
                    true,
                    "set LANG",
                    String::new(),
                    |t| ensure_line(t, &line, Some(&re)),
                )?
                .changes,
            );
        }
        let dflt = if self.default {
            " and is the default"
        } else {
            ""
        };
        Ok(Plan::from_changes(
            changes,
            format!("locale {} is generated{dflt}", self.name),
        ))
    }
}
