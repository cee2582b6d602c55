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

    /// Where the packages come from: a name for messages, the repository
    /// URL named in errors, and the URL probed before installing (`None`
    /// for Debian packages, which go through apt).
    pub fn repository(&self) -> Option<(&'static str, String, String)> {
        match &self.source {
            RSource::Cran(repos) => {
                let base = repos.trim_end_matches('/').to_owned();
                let index = format!("{base}/src/contrib/PACKAGES");
                Some(("CRAN", base, index))
            }
            // BiocManager reads its version map from here first
            RSource::Bioc => Some((
                "Bioconductor",
                BIOC_URL.to_owned(),
                format!("{BIOC_URL}/config.yaml"),
            )),
            // remotes resolves refs and downloads tarballs through the API
            RSource::Github => Some(("GitHub", GITHUB_API.to_owned(), GITHUB_API.to_owned())),
            RSource::Apt(_) => None,
        }
    }

    /// The Rscript expression installing `missing`: probe the repository
    /// (one HEAD with a timeout, so an unreachable or firewalled repository
    /// fails in seconds with the package and URL named, not after R's
    /// retries and a "not available for this version of R" warning), check
    /// the helper package, install, then verify every package is there.
    pub fn install_expr(&self, missing: &[String]) -> String {
        let Some((label, repo, probe)) = self.repository() else {
            return String::new();
        };
        let v = r_vector(missing);
        let names: Vec<String> = missing.iter().map(|m| r_name(m).to_owned()).collect();
        let what = packages_label(label, missing);
        let (install, helper) = match &self.source {
            RSource::Cran(repos) => (
                format!("install.packages({v}, repos = {})", r_str(repos)),
                None,
            ),
            RSource::Bioc => (
                format!("BiocManager::install({v}, update = FALSE, ask = FALSE)"),
                Some(("BiocManager", "r-cran-biocmanager")),
            ),
            RSource::Github => (
                format!("remotes::install_github({v}, upgrade = \"never\")"),
                Some(("remotes", "r-cran-remotes")),
            ),
            RSource::Apt(_) => return String::new(),
        };
        let mut expr = format!(
            "options(warn = 1); e <- tryCatch({{ curlGetHeaders({}, timeout = {PROBE_TIMEOUT_SECS}L); \"\" }}, \
             error = function(e) gsub(\"[[:space:]]+\", \" \", trimws(conditionMessage(e)))); \
             if (nzchar(e)) {{ message({}, e, \")\"); quit(status = 2) }}; ",
            r_str(&probe),
            r_str(&format!("{what}: repository {repo} not reachable ("))
        );
        if let Some((pkg, deb)) = helper {
            expr += &format!(
                "if (!requireNamespace({}, quietly = TRUE)) {{ message({}); quit(status = 2) }}; ",
                r_str(pkg),
                r_str(&format!(
                    "{what}: the R package {pkg} is needed to install from {label} \
                     (Debian: {deb}, or r.packages source = \"cran\")"
                ))
            );
        }
        let want = r_vector(&names);
        expr + &install
            + &format!(
                "; ok <- {want} %in% rownames(installed.packages()); if (!all(ok)) {{ message({}, \
                 paste0(\"`\", {want}[!ok], \"`\", collapse = \", \"), \" (see the messages above)\"); \
                 quit(status = 1) }}",
                r_str(&format!("{label} packages not installed from {repo}: ")),
            )
    }
}

/// Seconds the repository probe may take.
pub const PROBE_TIMEOUT_SECS: u32 = 20;
/// Bioconductor's site (BiocManager's default).
pub const BIOC_URL: &str = "https://bioconductor.org";
/// The GitHub API host `remotes` talks to.
pub const GITHUB_API: &str = "https://api.github.com";

/// An R string literal (JSON string syntax is valid R).
fn r_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// "CRAN package `praise`" / "GitHub packages `a/b`, `c/d`".
pub fn packages_label(label: &str, packages: &[String]) -> String {
    let names: Vec<String> = packages.iter().map(|p| format!("`{p}`")).collect();
    let s = if packages.len() == 1 { "" } else { "s" };
    format!("{label} package{s} {}", names.join(", "))
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
            "options(warn = 1); e <- tryCatch({ curlGetHeaders(\"https://cran.example/src/contrib/PACKAGES\", timeout = 20L); \"\" }, \
             error = function(e) gsub(\"[[:space:]]+\", \" \", trimws(conditionMessage(e)))); \
             if (nzchar(e)) { message(\"CRAN package `praise`: repository https://cran.example not reachable (\", e, \")\"); quit(status = 2) }; \
             install.packages(c(\"praise\"), repos = \"https://cran.example\"); \
             ok <- c(\"praise\") %in% rownames(installed.packages()); if (!all(ok)) { \
             message(\"CRAN packages not installed from https://cran.example: \", \
             paste0(\"`\", c(\"praise\")[!ok], \"`\", collapse = \", \"), \" (see the messages above)\"); quit(status = 1) }"
        );
    }

    #[test]
    fn bioconductor_and_github_probe_their_hosts_and_need_their_helpers() {
        let pkgs = vec!["r-lib/praise@v1".to_owned(), "owner/other".to_owned()];
        let gh = RPackages {
            packages: pkgs.clone(),
            source: RSource::Github,
        };
        let e = gh.install_expr(&pkgs);
        assert!(
            e.contains("curlGetHeaders(\"https://api.github.com\", timeout = 20L)"),
            "{e}"
        );
        assert!(
            e.contains("GitHub packages `r-lib/praise@v1`, `owner/other`: repository https://api.github.com not reachable ("),
            "{e}"
        );
        assert!(
            e.contains("requireNamespace(\"remotes\", quietly = TRUE)"),
            "{e}"
        );
        assert!(e.contains(
            "remotes::install_github(c(\"r-lib/praise@v1\", \"owner/other\"), upgrade = \"never\")"
        ));
        assert!(e.contains("ok <- c(\"praise\", \"other\") %in%"), "{e}");
        let bioc = RPackages {
            packages: vec!["limma".into()],
            source: RSource::Bioc,
        };
        let e = bioc.install_expr(&["limma".into()]);
        assert!(
            e.contains("curlGetHeaders(\"https://bioconductor.org/config.yaml\""),
            "{e}"
        );
        assert!(
            e.contains(
                "Bioconductor package `limma`: repository https://bioconductor.org not reachable ("
            ),
            "{e}"
        );
        assert!(e.contains("Bioconductor package `limma`: the R package BiocManager is needed"));
    }

    #[test]
    fn repository_urls() {
        let cran = RPackages {
            packages: vec!["x".into()],
            source: RSource::Cran("https://cran.example/".into()),
        };
        assert_eq!(
            cran.repository(),
            Some((
                "CRAN",
                "https://cran.example".into(),
                "https://cran.example/src/contrib/PACKAGES".into()
            ))
        );
        assert_eq!(packages_label("CRAN", &["a".into()]), "CRAN package `a`");
    }
}
