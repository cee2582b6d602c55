//! `npm.global`: packages installed with `npm install -g`.
use super::super::RecipeError;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Change, CheckOptions, Plan, Resource};
use super::apt_packages::list_short;
use super::state_present;
use crate::remote::RemoteCommand;

/// Managed global npm packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpmGlobal {
    /// `name` or `name@version` (scoped names: `@scope/name@1`).
    pub packages: Vec<String>,
    /// Present or absent.
    pub present: bool,
}

/// Split `name@version`, keeping a leading `@scope`.
pub fn split_version(p: &str) -> (&str, Option<&str>) {
    match p[1..].rfind('@') {
        Some(i) => (&p[..=i], Some(&p[i + 2..])),
        None => (p, None),
    }
}

/// Why `spec` cannot be managed, if it cannot: a version must be exact,
/// because the check compares it with the installed `package.json` version
/// (a range or a tag such as `^7` or `latest` would reinstall on every run).
pub fn spec_problem(spec: &str) -> Option<String> {
    let (name, version) = split_version(spec);
    if name.is_empty() || name == "@" {
        return Some(format!("`{spec}` has no package name"));
    }
    let version = version?;
    // MAJOR.MINOR.PATCH, then an optional -prerelease / +build of plain characters
    let core = version.split(['-', '+']).next().unwrap_or("");
    let exact = core.split('.').count() == 3
        && core
            .split('.')
            .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    (!exact).then(|| {
        format!(
            "`{spec}`: give an exact version (`{name}@1.2.3`) or none; \
             a range or tag cannot be compared with the installed version"
        )
    })
}

/// `npm install -g` of `packages`, through the build's package cache when
/// provisioning set one up (its registry URL is in `/run/vmbuild/cache.env`,
/// see `crate::cache::guest`; npm checks each tarball's integrity itself).
pub fn install_cmd(packages: &[String]) -> RemoteCommand {
    RemoteCommand::new("sh")
        .args([
            "-c",
            "if [ -r /run/vmbuild/cache.env ]; then . /run/vmbuild/cache.env; fi; \
             exec npm install -g --no-fund --no-audit \"$@\"",
            "vmbuild-npm",
        ])
        .args(packages.iter().cloned())
}

impl NpmGlobal {
    /// From an `npm.global` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let packages = f.str_list("packages")?;
        if packages.is_empty() || packages.iter().any(String::is_empty) {
            return Err(f.error("`packages` must list at least one package"));
        }
        if let Some(why) = packages.iter().find_map(|p| spec_problem(p)) {
            return Err(f.error(why));
        }
        Ok(NpmGlobal {
            packages,
            present: state_present(f)?,
        })
    }
}

impl Resource for NpmGlobal {
    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        vec![FactQuery::Npm]
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        let have = facts.npm()?.unwrap_or_default();
        let mut miss = Vec::new();
        let mut ok = Vec::new();
        for p in &self.packages {
            let (name, ver) = split_version(p);
            match (have.get(name), ver) {
                (Some(v), Some(w)) if v == w => ok.push(format!("{name} {v}")),
                (Some(v), None) => ok.push(format!("{name} {v}")),
                _ => miss.push(p.clone()),
            }
        }
        if !self.present {
            let there: Vec<String> = self
                .packages
                .iter()
                .map(|p| split_version(p).0.to_owned())
                .filter(|n| have.contains_key(n))
                .collect();
            if there.is_empty() {
                return Ok(Plan::ok("not installed globally".to_string()));
            }
            let cmd = RemoteCommand::new("npm")
                .args(["uninstall", "-g"])
                .args(there.clone());
            return Ok(Plan::from_changes(
                vec![Change::exec(format!("uninstall {}", there.join(" ")), cmd)],
                "",
            ));
        }
        if miss.is_empty() {
            return Ok(Plan::ok(format!("installed globally: {}", list_short(&ok))));
        }
        let cmd = install_cmd(&miss);
        Ok(Plan::from_changes(
            vec![Change::exec(
                format!("npm install -g {}", miss.join(" ")),
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
    fn install_reads_the_cache_settings() {
        assert_eq!(
            install_cmd(&["configurable-http-proxy@5.1.0".into()]).to_shell(),
            "sh -c 'if [ -r /run/vmbuild/cache.env ]; then . /run/vmbuild/cache.env; fi; \
             exec npm install -g --no-fund --no-audit \"$@\"' vmbuild-npm configurable-http-proxy@5.1.0"
        );
    }

    #[test]
    fn versions() {
        assert_eq!(
            split_version("configurable-http-proxy@5.3.0"),
            ("configurable-http-proxy", Some("5.3.0"))
        );
        assert_eq!(split_version("@scope/x@1"), ("@scope/x", Some("1")));
        assert_eq!(split_version("@scope/x"), ("@scope/x", None));
        assert_eq!(split_version("x"), ("x", None));
    }

    #[test]
    fn only_exact_versions_can_be_checked() {
        for ok in [
            "x",
            "x@1.2.3",
            "@scope/x@1.0.0-rc.1",
            "@scope/x",
            "x@5.1.0+build",
        ] {
            assert_eq!(spec_problem(ok), None, "{ok}");
        }
        for bad in [
            "x@^7", "x@latest", "x@>=1 <2", "x@", "x@1.x", "x@1.2", "x@~1.2.3",
        ] {
            let why = spec_problem(bad).unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(why.contains("give an exact version"), "{why}");
        }
        assert!(spec_problem("@").is_some());
    }
}
