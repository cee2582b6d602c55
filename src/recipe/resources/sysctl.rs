//! `sysctl`: a kernel parameter persisted in /etc/sysctl.d and (unless
//! `runtime = false`) set live through /proc/sys.
use regex::Regex;

use super::super::RecipeError;
use super::super::facts::system::normalize_sysctl;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Change, CheckOptions, Plan, Resource};
use super::edit::{edit_facts, edit_file, ensure_line};
use crate::remote::RemoteCommand;

/// A managed kernel parameter.
#[derive(Debug, Clone)]
pub struct Sysctl {
    /// Key (`net.ipv4.ip_forward`).
    pub key: String,
    /// Value.
    pub value: String,
    /// The persistent file.
    pub file: String,
    /// Also set the live value.
    pub runtime: bool,
}

impl Sysctl {
    /// From a `sysctl` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let key = f.str("key")?;
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(f.error("`key` must look like `net.ipv4.ip_forward`"));
        }
        Ok(Sysctl {
            key,
            value: normalize_sysctl(&f.str("value")?),
            file: f
                .opt_str("file")?
                .unwrap_or_else(|| "/etc/sysctl.d/99-vmbuild.conf".into()),
            runtime: f.bool_or("runtime", true)?,
        })
    }

    /// The `/proc/sys` write that sets the live value.
    pub fn set_cmd(&self) -> RemoteCommand {
        let path = format!("/proc/sys/{}", self.key.replace('.', "/"));
        RemoteCommand::new("sh").args([
            "-c",
            "printf '%s\\n' \"$1\" > \"$2\"",
            "sysctl",
            &self.value,
            &path,
        ])
    }
}

impl Resource for Sysctl {
    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        let mut q = edit_facts(&self.file);
        q.push(FactQuery::Sysctl(self.key.clone()));
        q
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        let re = Regex::new(&format!(r"^\s*{}\s*=", regex::escape(&self.key)))
            .map_err(|e| FactError::Conflict(e.to_string()))?;
        let line = format!("{} = {}", self.key, self.value);
        let mut plan = edit_file(
            facts,
            &self.file,
            true,
            &format!("persist {line}"),
            format!("{line} in `{}`", self.file),
            |t| ensure_line(t, &line, Some(&re)),
        )?;
        if self.runtime {
            match facts.sysctl(&self.key)? {
                None => {
                    return Err(FactError::Conflict(format!(
                        "the kernel has no parameter `{}`",
                        self.key
                    )));
                }
                Some(v) if v == self.value => {
                    plan.ok_reason.push_str(&format!(", live value is {v}"))
                }
                Some(v) => plan.changes.push(Change::exec(
                    format!("live value {v} → {}", self.value),
                    self.set_cmd(),
                )),
            }
        }
        Ok(plan)
    }
}
