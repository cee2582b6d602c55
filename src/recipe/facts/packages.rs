//! Package facts: dpkg, apt list age, pip (JSON), npm (JSON), R.
use std::collections::BTreeMap;

use super::{FactError, FactQuery, Facts, failed};

/// Installed packages: name → version.
pub type Installed = BTreeMap<String, String>;

/// Parse `dpkg-query -W -f='${Package}\t${db:Status-Abbrev}\t${Version}\n'`;
/// only fully installed (`ii`/`hi`) packages count.
pub fn parse_dpkg(text: &str) -> Result<Installed, String> {
    let mut out = Installed::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 3 {
            return Err(format!("unexpected dpkg-query line `{line}`"));
        }
        let status = f[1].trim();
        if status.len() >= 2 && &status[1..2] == "i" {
            // multi-arch packages are listed as name:arch only when ambiguous
            let name = f[0].split(':').next().unwrap_or(f[0]);
            out.insert(name.to_owned(), f[2].to_owned());
        }
    }
    Ok(out)
}

/// How fresh the apt package lists are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AptLists {
    /// The host's clock (seconds since the epoch).
    pub now: i64,
    /// When the lists were last fetched (`None`: there are no lists);
    /// fractional seconds, so a change in the same second still counts.
    pub fetched: Option<f64>,
    /// When a sources file last changed.
    pub sources: Option<f64>,
}

impl AptLists {
    /// Seconds since the lists were fetched; `None` when they must be
    /// fetched whatever the age: there are none, or a sources file changed
    /// after they were fetched (a repository added with `file`).
    pub fn age(&self) -> Option<i64> {
        let f = self.fetched?;
        if self.sources.is_some_and(|s| s > f) {
            return None;
        }
        Some(self.now - f.floor() as i64)
    }

    /// Why the lists must be refreshed when they may be `max_age` seconds
    /// old, or `None` when they are fresh enough.
    pub fn stale(&self, max_age: i64) -> Option<String> {
        match (self.fetched, self.age()) {
            (None, _) => Some("there are no package lists".into()),
            (Some(_), None) => Some("a sources file changed after the lists were fetched".into()),
            (Some(_), Some(a)) if a > max_age => Some(format!(
                "the package lists are {a} s old (at most {max_age} s wanted)"
            )),
            _ => None,
        }
    }
}

/// Parse the apt lists fact: `now`, then the fetch time if there are lists,
/// then `sources <mtime>` if there are sources files.
pub fn parse_apt_lists(text: &str) -> Result<AptLists, String> {
    let num = |s: &str| s.trim().parse::<f64>().map_err(|e| format!("`{s}`: {e}"));
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let now = num(lines.next().ok_or("no output")?)? as i64;
    let mut out = AptLists {
        now,
        fetched: None,
        sources: None,
    };
    for l in lines {
        match l.strip_prefix("sources ") {
            Some(t) => out.sources = Some(num(t)?),
            None => out.fetched = Some(num(l)?),
        }
    }
    Ok(out)
}

/// Parse the venv's metadata directory names (`six-1.16.0.dist-info`,
/// `foo-1.0-py3.11.egg-info`); `None` when the venv does not exist.
pub fn parse_pip(text: &str) -> Result<Option<Installed>, String> {
    let mut lines = text.lines();
    match lines.next().map(str::trim) {
        Some("absent") => return Ok(None),
        Some("venv") => {}
        other => return Err(format!("unexpected output `{}`", other.unwrap_or(""))),
    }
    let mut out = Installed::new();
    for l in lines.map(str::trim).filter(|l| !l.is_empty()) {
        let stem = l
            .strip_suffix(".dist-info")
            .or_else(|| l.strip_suffix(".egg-info"))
            .ok_or_else(|| format!("unexpected entry `{l}`"))?;
        // wheel metadata escapes `-` in names as `_`, so the first `-` ends the name
        let (name, rest) = stem
            .split_once('-')
            .ok_or_else(|| format!("no version in `{l}`"))?;
        let version = rest.split('-').next().unwrap_or(rest);
        out.insert(normalize_pip(name), version.to_owned());
    }
    Ok(Some(out))
}

/// PEP 503 name normalisation (`Foo_Bar.baz` → `foo-bar-baz`).
pub fn normalize_pip(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let mut out = String::with_capacity(lower.len());
    for c in lower.chars() {
        let c = if c == '_' || c == '.' { '-' } else { c };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out
}

/// Parse `marker` then `name\tversion` lines (the npm and R snippets);
/// `None` when the first line says `absent` (the tool is not installed).
pub fn parse_name_version(text: &str, marker: &str) -> Result<Option<Installed>, String> {
    let mut lines = text.lines();
    match lines.next().map(str::trim) {
        Some("absent") => return Ok(None),
        Some(m) if m == marker => {}
        other => return Err(format!("unexpected output `{}`", other.unwrap_or(""))),
    }
    let mut out = Installed::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let (n, v) = line
            .split_once('\t')
            .ok_or_else(|| format!("unexpected line `{line}`"))?;
        out.insert(n.to_owned(), v.trim().to_owned());
    }
    Ok(Some(out))
}

/// Global npm packages (`None`: no npm).
pub fn parse_npm(text: &str) -> Result<Option<Installed>, String> {
    parse_name_version(text, "npm")
}

/// Installed R packages (`None`: no R).
pub fn parse_r(text: &str) -> Result<Option<Installed>, String> {
    parse_name_version(text, "R")
}

impl Facts {
    fn parsed<T>(
        &self,
        q: FactQuery,
        what: &str,
        ok_rc: &[i32],
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, FactError> {
        let out = self.raw(&q)?;
        if !ok_rc.contains(&out.rc) {
            return Err(failed(what, out));
        }
        parse(&out.stdout).map_err(|m| FactError::parse(what, m))
    }

    /// Installed Debian packages.
    pub fn dpkg(&self) -> Result<Installed, FactError> {
        self.parsed(
            FactQuery::Dpkg,
            "installed packages (dpkg-query)",
            &[0],
            parse_dpkg,
        )
    }

    /// Age of the apt lists in seconds (`None` = never updated).
    pub fn apt_lists_age(&self) -> Result<Option<i64>, FactError> {
        Ok(self.apt_lists()?.age())
    }

    /// How fresh the apt package lists are.
    pub fn apt_lists(&self) -> Result<AptLists, FactError> {
        self.parsed(FactQuery::AptLists, "apt list age", &[0], parse_apt_lists)
    }

    /// Packages in venv `venv` (`None` = no venv).
    pub fn pip(&self, venv: &str) -> Result<Option<Installed>, FactError> {
        let what = format!("pip packages in `{venv}`");
        self.parsed(FactQuery::Pip(venv.to_owned()), &what, &[0], parse_pip)
    }

    /// Global npm packages (`None` = no npm).
    pub fn npm(&self) -> Result<Option<Installed>, FactError> {
        self.parsed(FactQuery::Npm, "global npm packages", &[0], parse_npm)
    }

    /// Installed R packages (`None` = no R).
    pub fn r_packages(&self) -> Result<Option<Installed>, FactError> {
        self.parsed(FactQuery::RPackages, "installed R packages", &[0], parse_r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIX: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/resources/facts"
    );

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{FIX}/{name}")).unwrap()
    }

    #[test]
    fn dpkg_sample() {
        let p = parse_dpkg(&fixture("dpkg-query.txt")).unwrap();
        assert!(p.contains_key("coreutils"));
        assert!(
            p.contains_key("libc6"),
            "multi-arch names are stripped of :arch"
        );
        assert!(
            !p.contains_key("removed-pkg"),
            "rc packages are not installed"
        );
    }

    #[test]
    fn pip_sample() {
        let p = parse_pip(&fixture("pip-dist-info.txt")).unwrap().unwrap();
        assert_eq!(p.get("six").map(String::as_str), Some("1.16.0"));
        assert_eq!(
            p.get("jupyter-server-terminals").map(String::as_str),
            Some("0.5.3")
        );
        assert_eq!(p.get("legacy-pkg").map(String::as_str), Some("1.0"));
        assert!(parse_pip("garbage\n").is_err());
        assert_eq!(parse_pip("absent\n").unwrap(), None);
        assert_eq!(
            normalize_pip("Jupyter_Server.Terminals"),
            "jupyter-server-terminals"
        );
    }

    #[test]
    fn npm_and_r_samples() {
        let n = parse_npm(&fixture("npm-global.txt")).unwrap().unwrap();
        assert_eq!(
            n.get("configurable-http-proxy").map(String::as_str),
            Some("5.3.0")
        );
        assert_eq!(n.get("@scope/pkg").map(String::as_str), Some("1.0.0"));
        assert_eq!(parse_npm("absent\n").unwrap(), None);
        let r = parse_r("R\nbase\t4.2.2\nIRkernel\t1.3.2\n")
            .unwrap()
            .unwrap();
        assert_eq!(r.get("IRkernel").map(String::as_str), Some("1.3.2"));
        assert_eq!(parse_apt_lists("100\n40\n").unwrap().age(), Some(60));
        assert_eq!(parse_apt_lists("100\n").unwrap().age(), None);
        let changed = parse_apt_lists("100\n40.200\nsources 40.300\n").unwrap();
        assert_eq!(
            changed.age(),
            None,
            "a sources file is newer than the lists"
        );
        assert!(
            changed
                .stale(3600)
                .unwrap()
                .contains("sources file changed")
        );
        let fresh = parse_apt_lists("100\n60\nsources 50\n").unwrap();
        assert_eq!((fresh.age(), fresh.stale(3600)), (Some(40), None));
    }
}
