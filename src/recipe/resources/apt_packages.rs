//! `apt.packages`: Debian packages installed (or removed). Installs of all
//! apt resources are merged by the engine into one `apt-get` transaction.
use super::super::RecipeError;
use super::super::facts::packages::Installed;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Action, Change, CheckOptions, Plan, Resource};
use super::state_present;

/// Managed Debian packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptPackages {
    /// `name` or `name=version`.
    pub packages: Vec<String>,
    /// Present or absent.
    pub present: bool,
    /// Install recommended packages.
    pub recommends: bool,
    /// Package lists older than this (seconds) are refreshed before installing.
    pub cache_valid_secs: i64,
}

impl AptPackages {
    /// From an `apt.packages` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let packages = f.str_list("packages")?;
        if packages.is_empty() {
            return Err(f.error("`packages` must list at least one package"));
        }
        Ok(AptPackages {
            packages,
            present: state_present(f)?,
            recommends: f.bool_or("recommends", false)?,
            cache_valid_secs: i64::from(f.opt_u32("cache_valid_secs")?.unwrap_or(3600)),
        })
    }
}

/// Split `name=version`.
pub fn split_pin(p: &str) -> (&str, Option<&str>) {
    match p.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (p, None),
    }
}

/// Which of `wanted` are not installed (at the pinned version, if pinned),
/// and a description of those that are.
pub fn missing(wanted: &[String], have: &Installed) -> (Vec<String>, Vec<String>) {
    let mut miss = Vec::new();
    let mut ok = Vec::new();
    for p in wanted {
        let (name, pin) = split_pin(p);
        match (have.get(name), pin) {
            (Some(v), Some(pin)) if v == pin => ok.push(format!("{name} {v}")),
            (Some(v), None) => ok.push(format!("{name} {v}")),
            _ => miss.push(p.clone()),
        }
    }
    (miss, ok)
}

/// "a 1, b 2 and 3 more".
pub fn list_short(items: &[String]) -> String {
    if items.len() <= 4 {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..3].join(", "), items.len() - 3)
    }
}

impl Resource for AptPackages {
    fn transaction(&self) -> Option<String> {
        self.present.then(|| "apt".to_owned())
    }

    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        vec![FactQuery::Dpkg, FactQuery::AptLists]
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        let have = facts.dpkg()?;
        let (miss, ok) = missing(&self.packages, &have);
        if !self.present {
            let present: Vec<String> = self
                .packages
                .iter()
                .filter(|p| have.contains_key(split_pin(p).0))
                .cloned()
                .collect();
            if present.is_empty() {
                return Ok(Plan::ok(format!(
                    "not installed: {}",
                    list_short(&self.packages)
                )));
            }
            return Ok(Plan::from_changes(
                vec![Change::new(
                    format!("remove {}", present.join(" ")),
                    vec![Action::AptRemove(present)],
                )],
                "",
            ));
        }
        if miss.is_empty() {
            return Ok(Plan::ok(format!("installed: {}", list_short(&ok))));
        }
        let age = facts.apt_lists_age()?;
        let update = age.is_none_or(|a| a > self.cache_valid_secs);
        Ok(Plan::from_changes(
            vec![Change::new(
                format!("install {}", miss.join(" ")),
                vec![Action::AptInstall {
                    packages: miss,
                    update,
                    recommends: self.recommends,
                }],
            )],
            "",
        ))
    }
}
