//! Small system facts: sysctl values, host name, locales, guard results.
use super::{FactError, FactQuery, Facts, failed};

impl Facts {
    /// The live value of sysctl `key` (whitespace-normalised), `None` if unknown.
    pub fn sysctl(&self, key: &str) -> Result<Option<String>, FactError> {
        let out = self.raw(&FactQuery::Sysctl(key.to_owned()))?;
        if out.rc != 0 {
            return Ok(None);
        }
        Ok(Some(normalize_sysctl(&out.stdout)))
    }

    /// The running host name.
    pub fn hostname(&self) -> Result<String, FactError> {
        let out = self.raw(&FactQuery::Hostname)?;
        if out.rc != 0 {
            return Err(failed("host name", out));
        }
        Ok(out.stdout.trim().to_owned())
    }

    /// Locales `locale -a` lists, normalised (`en_US.utf8`).
    pub fn locales(&self) -> Result<Vec<String>, FactError> {
        let out = self.raw(&FactQuery::Locales)?;
        Ok(out.stdout.lines().map(normalize_locale).collect())
    }

    /// Whether guard `command` (run as `user`) exited 0.
    pub fn guard(&self, command: &str, user: Option<&str>) -> Result<bool, FactError> {
        let q = FactQuery::Guard {
            command: command.to_owned(),
            user: user.map(str::to_owned),
        };
        let out = self.raw(&q)?;
        let what = format!("guard `{command}`");
        let rc: i32 = out.stdout.trim().parse().map_err(|_| failed(&what, out))?;
        Ok(rc == 0)
    }
}

/// Tabs and runs of spaces collapse to one space (the kernel prints tabs).
pub fn normalize_sysctl(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `en_US.UTF-8` and `en_US.utf8` are the same locale.
pub fn normalize_locale(l: &str) -> String {
    let l = l.trim();
    match l.split_once('.') {
        Some((base, cs)) => format!("{base}.{}", cs.to_ascii_lowercase().replace('-', "")),
        None => l.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        assert_eq!(
            normalize_sysctl("4096\t16384 4194304\n"),
            "4096 16384 4194304"
        );
        assert_eq!(normalize_locale("en_US.UTF-8"), "en_US.utf8");
        assert_eq!(normalize_locale("C"), "C");
    }
}
