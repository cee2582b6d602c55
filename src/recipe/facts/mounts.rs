//! Mount facts: `findmnt -J`.
use super::{FactError, FactQuery, Facts, failed};

/// One mounted file system.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Mounted {
    /// Mount point.
    pub target: String,
    /// Device or remote.
    pub source: String,
    /// File system type.
    pub fstype: String,
    /// Mount options.
    pub options: String,
}

/// Parse `findmnt -J` output (empty output: nothing mounted there).
pub fn parse_findmnt(text: &str) -> Result<Option<Mounted>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    #[derive(serde::Deserialize)]
    struct Doc {
        filesystems: Vec<Mounted>,
    }
    let d: Doc = serde_json::from_str(text).map_err(|e| e.to_string())?;
    // the last entry is the one on top when mounts are stacked
    Ok(d.filesystems.into_iter().last())
}

impl Facts {
    /// What is mounted at `path`.
    pub fn mounted(&self, path: &str) -> Result<Option<Mounted>, FactError> {
        let out = self.raw(&FactQuery::Mount(path.to_owned()))?;
        let what = format!("mounts at `{path}`");
        if out.rc != 0 {
            return Err(failed(&what, out));
        }
        parse_findmnt(&out.stdout).map_err(|m| FactError::parse(what, m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample() {
        let t = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/resources/facts/findmnt.json"
        ))
        .unwrap();
        let m = parse_findmnt(&t).unwrap().unwrap();
        assert_eq!((m.fstype.as_str(), m.target.as_str()), ("proc", "/proc"));
        assert_eq!(parse_findmnt("").unwrap(), None);
    }
}
