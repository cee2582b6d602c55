//! `pip.packages`: Python packages in a venv (created if missing). Installs
//! into the same venv are merged by the engine into one `pip install`.
use super::super::RecipeError;
use super::super::facts::packages::normalize_pip;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Action, Change, CheckOptions, Plan, Resource};
use super::apt_packages::list_short;
use super::state_present;
use crate::remote::RemoteCommand;

/// Managed pip packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipPackages {
    /// The venv directory.
    pub venv: String,
    /// Requirement strings (`name`, `name==1.0`, `name>=1`).
    pub packages: Vec<String>,
    /// Interpreter that creates the venv.
    pub python: String,
    /// Present or absent.
    pub present: bool,
}

/// The normalised name and the `==` pin of a requirement, if any. Other
/// specifiers (`>=`, extras, markers) only require the name to be installed.
pub fn requirement(req: &str) -> (String, Option<String>) {
    let end = req
        .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .unwrap_or(req.len());
    let name = normalize_pip(&req[..end]);
    let pin = req[end..]
        .trim()
        .strip_prefix("==")
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.contains(['*', ',', ';']));
    (name, pin)
}

/// The requirement lines of a pip requirements file named at `node`
/// (relative to the recipe file): comments, blank lines and `-` options
/// (hashes, index URLs) are left out, since the engine pins by `==`.
fn requirements_file(
    f: &Fields<'_>,
    node: &super::super::value::Node,
) -> Result<Vec<String>, RecipeError> {
    let super::super::value::Kind::Str(rel) = &node.kind else {
        return Err(node.error("`requirements` must be a path (relative to the recipe)"));
    };
    let rel = f.render(node, rel)?;
    let base = f
        .table()
        .src
        .path
        .parent()
        .unwrap_or(std::path::Path::new("."));
    let p = base.join(&rel);
    let text = std::fs::read_to_string(&p)
        .map_err(|e| node.error(format!("cannot read requirements `{}`: {e}", p.display())))?;
    Ok(requirement_lines(&text))
}

/// The requirements in a requirements file's text.
pub fn requirement_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split(" #").next().unwrap_or("").trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('-'))
        .map(str::to_owned)
        .collect()
}

impl PipPackages {
    /// From a `pip.packages` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let mut packages = f.str_list("packages")?;
        if let Some(node) = f.node("requirements") {
            packages.extend(requirements_file(f, node)?);
        }
        if packages.is_empty() {
            return Err(f.error(
                "`packages` (or the `requirements` file) must list at least one requirement",
            ));
        }
        Ok(PipPackages {
            venv: f.str("venv")?,
            packages,
            python: f.opt_str("python")?.unwrap_or_else(|| "python3".into()),
            present: state_present(f)?,
        })
    }
}

impl Resource for PipPackages {
    fn transaction(&self) -> Option<String> {
        self.present.then(|| format!("pip {}", self.venv))
    }

    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        vec![FactQuery::Pip(self.venv.clone())]
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        let have = facts.pip(&self.venv)?;
        let installed = have.clone().unwrap_or_default();
        let mut miss = Vec::new();
        let mut ok = Vec::new();
        let mut there = Vec::new();
        for r in &self.packages {
            let (name, pin) = requirement(r);
            match (installed.get(&name), pin) {
                (Some(v), Some(p)) if *v == p => ok.push(format!("{name} {v}")),
                (Some(v), None) => ok.push(format!("{name} {v}")),
                _ => miss.push(r.clone()),
            }
            if installed.contains_key(&name) {
                there.push(name);
            }
        }
        if !self.present {
            if there.is_empty() {
                return Ok(Plan::ok(format!("not installed in `{}`", self.venv)));
            }
            let pip = format!("{}/bin/pip", self.venv);
            let cmd = RemoteCommand::new(pip)
                .args(["uninstall", "-y"])
                .args(there.clone());
            return Ok(Plan::from_changes(
                vec![Change::exec(format!("uninstall {}", there.join(" ")), cmd)],
                "",
            ));
        }
        if miss.is_empty() {
            return Ok(Plan::ok(format!(
                "installed in `{}`: {}",
                self.venv,
                list_short(&ok)
            )));
        }
        let what = match have {
            None => format!("create venv `{}` and install {}", self.venv, miss.join(" ")),
            Some(_) => format!("install {} into `{}`", miss.join(" "), self.venv),
        };
        Ok(Plan::from_changes(
            vec![Change::new(
                what,
                vec![Action::PipInstall {
                    venv: self.venv.clone(),
                    python: self.python.clone(),
                    packages: miss,
                }],
            )],
            "",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements() {
        assert_eq!(
            requirement("six==1.16.0"),
            ("six".into(), Some("1.16.0".into()))
        );
        assert_eq!(requirement("Jupyter_Hub>=5"), ("jupyter-hub".into(), None));
        assert_eq!(requirement("x[extra]==1"), ("x".into(), None));
        assert_eq!(requirement("plain"), ("plain".into(), None));
    }
}
