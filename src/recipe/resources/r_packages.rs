//! `r.packages`: R packages from Debian (`r-cran-*`, merged into the apt
//! transaction), CRAN, Bioconductor or GitHub (through `Rscript`).
use super::super::RecipeError;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Change, CheckOptions, Plan, Resource};
use super::apt_packages::{AptPackages, list_short};
use crate::remote::RemoteCommand;

/// Where R packages come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RSource {
    /// Debian's `r-cran-<name>` packages.
    Apt(AptPackages),
    /// CRAN, from this repository URL.
    Cran(String),
    /// Bioconductor (needs BiocManager).
    Bioc,
    /// GitHub `owner/repo[@ref]` (needs remotes).
    Github,
}

/// Managed R packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RPackages {
    /// Package names (GitHub: `owner/repo[@ref]`).
    pub packages: Vec<String>,
    /// Source.
    pub source: RSource,
}

/// The R package name a spec installs (`owner/repo@ref` → `repo`).
pub fn r_name(spec: &str) -> &str {
    let s = spec.rsplit('/').next().unwrap_or(spec);
    s.split('@').next().unwrap_or(s)
}

/// A vector of R string literals: `c("a", "b")`.
pub fn r_vector(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|i| serde_json::Value::String(i.clone()).to_string())
        .collect();
    format!("c({})", quoted.join(", "))
}

impl RPackages {
    /// From an `r.packages` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let packages = f.str_list("packages")?;
        if packages.is_empty() {
            return Err(f.error("`packages` must list at least one package"));
        }
        let source = match f
            .opt_choice("source", &["apt", "cran", "bioc", "github"])?
            .unwrap_or("apt")
        {
            "apt" => RSource::Apt(AptPackages {
                packages: packages
                    .iter()
                    .map(|p| format!("r-cran-{}", p.to_ascii_lowercase()))
                    .collect(),
                present: true,
                recommends: false,
                cache_valid_secs: 3600,
            }),
            "cran" => RSource::Cran(
                f.opt_str("repos")?
                    .unwrap_or_else(|| "https://cloud.r-project.org".into()),
            ),
            "bioc" => RSource::Bioc,
            _ => RSource::Github,
        };
        Ok(RPackages { packages, source })
    }

    /// The Rscript expression installing `missing`.
    pub fn install_expr(&self, missing: &[String]) -> String {
        let v = r_vector(missing);
        let check = format!(
            "; ok <- {} %in% rownames(installed.packages()); if (!all(ok)) quit(status = 1)",
            r_vector(
                &missing
                    .iter()
                    .map(|m| r_name(m).to_owned())
                    .collect::<Vec<_>>()
            )
        );
        match &self.source {
            RSource::Cran(repos) => {
                format!(
                    "install.packages({v}, repos = {})",
                    serde_json::Value::String(repos.clone())
                ) + &check
            }
            RSource::Bioc => {
                format!("BiocManager::install({v}, update = FALSE, ask = FALSE)") + &check
            }
            RSource::Github => {
                format!("remotes::install_github({v}, upgrade = \"never\")") + &check
            }
            RSource::Apt(_) => String::new(),
        }
    }
}

impl Resource for RPackages {
    fn facts(&self, opts: CheckOptions) -> Vec<FactQuery> {
        match &self.source {
            RSource::Apt(a) => a.facts(opts),
            _ => vec![FactQuery::RPackages],
        }
    }

    fn check(&self, facts: &Facts, opts: CheckOptions) -> Result<Plan, FactError> {
        if let RSource::Apt(a) = &self.source {
            return a.check(facts, opts);
        }
        let have = facts.r_packages()?;
        let installed = have.clone().unwrap_or_default();
        let miss: Vec<String> = self
            .packages
            .iter()
            .filter(|p| !installed.contains_key(r_name(p)))
            .cloned()
            .collect();
        if miss.is_empty() {
            let ok: Vec<String> = self
                .packages
                .iter()
                .map(|p| {
                    format!(
                        "{} {}",
                        r_name(p),
                        installed.get(r_name(p)).map_or("", String::as_str)
                    )
                })
                .collect();
            return Ok(Plan::ok(format!(
                "R packages installed: {}",
                list_short(&ok)
            )));
        }
        if have.is_none() {
            return Err(FactError::Conflict(
                "R is not installed (no `Rscript`); install r-base-core first".into(),
            ));
        }
        let cmd = RemoteCommand::new("Rscript")
            .arg("-e")
            .arg(self.install_expr(&miss));
        Ok(Plan::from_changes(
            vec![Change::exec(
                format!("install R packages {}", miss.join(" ")),
                cmd,
            )],
            "",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_expressions() {
        assert_eq!(r_name("IRkernel/IRkernel@master"), "IRkernel");
        assert_eq!(r_name("data.table"), "data.table");
        let r = RPackages {
            packages: vec!["praise".into()],
            source: RSource::Cran("https://cran.example".into()),
        };
        assert_eq!(
            r.install_expr(&["praise".into()]),
            "install.packages(c(\"praise\"), repos = \"https://cran.example\"); ok <- c(\"praise\") %in% rownames(installed.packages()); if (!all(ok)) quit(status = 1)"
        );
    }
}
