//! `python.venv`: a Python virtual environment with nothing installed in it
//! (yet), or absent. `pip.packages` creates its venv too; this is for a
//! venv that other tools or users fill.
use super::super::RecipeError;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Change, CheckOptions, Plan, Resource};
use super::state_present;
use crate::remote::RemoteCommand;

/// A managed venv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonVenv {
    /// The venv directory.
    pub path: String,
    /// Interpreter that creates it.
    pub python: String,
    /// Let the venv see the system's site-packages.
    pub system_site_packages: bool,
    /// Present or absent.
    pub present: bool,
}

impl PythonVenv {
    /// From a `python.venv` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let path = f.str("path")?;
        if !path.starts_with('/') || path.trim_end_matches('/').is_empty() {
            return Err(f.error(format!(
                "`path` must be an absolute path below `/`, found `{path}`"
            )));
        }
        Ok(PythonVenv {
            path,
            python: f.opt_str("python")?.unwrap_or_else(|| "python3".into()),
            system_site_packages: f.bool_or("system_site_packages", false)?,
            present: state_present(f)?,
        })
    }
}

impl Resource for PythonVenv {
    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        vec![FactQuery::Pip(self.path.clone())]
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        let have = facts.pip(&self.path)?;
        match (self.present, have) {
            (true, Some(p)) => Ok(Plan::ok(format!(
                "venv `{}` exists ({} packages)",
                self.path,
                p.len()
            ))),
            (true, None) => {
                let mut c = RemoteCommand::new(&self.python).args(["-m", "venv"]);
                if self.system_site_packages {
                    c = c.arg("--system-site-packages");
                }
                Ok(Plan::from_changes(
                    vec![Change::exec(
                        format!("create venv `{}` with {}", self.path, self.python),
                        c.arg("--").arg(&self.path),
                    )],
                    "",
                ))
            }
            (false, None) => Ok(Plan::ok(format!("venv `{}` is absent", self.path))),
            (false, Some(_)) => Ok(Plan::from_changes(
                vec![Change::exec(
                    format!("remove venv `{}`", self.path),
                    RemoteCommand::new("rm").args(["-rf", "--"]).arg(&self.path),
                )],
                "",
            )),
        }
    }
}
