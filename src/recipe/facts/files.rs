//! Path facts: `stat` + sha256/readlink, and file contents.
use base64::Engine as _;

use super::{FactError, FactQuery, Facts, failed};

/// What is at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathKind {
    /// Nothing.
    Absent,
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Link,
    /// Something else (socket, device...), described by stat.
    Other(String),
}

impl std::fmt::Display for PathKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathKind::Absent => f.write_str("nothing"),
            PathKind::File => f.write_str("a regular file"),
            PathKind::Dir => f.write_str("a directory"),
            PathKind::Link => f.write_str("a symbolic link"),
            PathKind::Other(o) => write!(f, "a {o}"),
        }
    }
}

/// `stat` of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathInfo {
    /// What it is.
    pub kind: PathKind,
    /// Permission bits.
    pub mode: u32,
    /// Owner name.
    pub owner: String,
    /// Group name.
    pub group: String,
    /// sha256 of a regular file's content.
    pub sha256: Option<String>,
    /// A symlink's target.
    pub link: Option<String>,
}

impl PathInfo {
    fn absent() -> Self {
        PathInfo {
            kind: PathKind::Absent,
            mode: 0,
            owner: String::new(),
            group: String::new(),
            sha256: None,
            link: None,
        }
    }
}

/// Parse the [`FactQuery::Path`] snippet's output.
pub fn parse_path(text: &str) -> Result<PathInfo, String> {
    let mut lines = text.lines();
    let first = lines.next().ok_or("no output")?;
    if first == "absent" {
        return Ok(PathInfo::absent());
    }
    let f: Vec<&str> = first.split('|').collect();
    if f.len() != 5 {
        return Err(format!("unexpected stat line `{first}`"));
    }
    let kind = match f[0] {
        "regular file" | "regular empty file" => PathKind::File,
        "directory" => PathKind::Dir,
        "symbolic link" => PathKind::Link,
        other => PathKind::Other(other.to_owned()),
    };
    let mode = u32::from_str_radix(f[1], 8).map_err(|_| format!("bad mode `{}`", f[1]))?;
    let mut info = PathInfo {
        kind,
        mode,
        owner: f[2].to_owned(),
        group: f[3].to_owned(),
        sha256: None,
        link: None,
    };
    for l in lines {
        if let Some(h) = l.strip_prefix("sha256|") {
            // `sha256sum < file` prints "HASH  -"
            info.sha256 = h.split_whitespace().next().map(str::to_owned);
        } else if let Some(t) = l.strip_prefix("link|") {
            info.link = Some(t.to_owned());
        }
    }
    Ok(info)
}

/// Parse the [`FactQuery::Content`] snippet's output: `None` if no file.
pub fn parse_content(text: &str) -> Result<Option<Vec<u8>>, String> {
    if text.trim_end() == "absent" {
        return Ok(None);
    }
    let b64 = text
        .strip_prefix("b64|")
        .ok_or_else(|| format!("unexpected output `{}`", super::tail(text, 1)))?;
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map(Some)
        .map_err(|e| format!("bad base64: {e}"))
}

impl Facts {
    /// The stat of `path`.
    pub fn path(&self, path: &str) -> Result<PathInfo, FactError> {
        let out = self.raw(&FactQuery::Path(path.to_owned()))?;
        let what = format!("`{path}`");
        if out.rc != 0 {
            return Err(failed(&what, out));
        }
        parse_path(&out.stdout).map_err(|m| FactError::parse(what, m))
    }

    /// The content of file `path` (`None` if there is no regular file).
    pub fn content(&self, path: &str) -> Result<Option<Vec<u8>>, FactError> {
        let out = self.raw(&FactQuery::Content(path.to_owned()))?;
        let what = format!("content of `{path}`");
        if out.rc != 0 {
            return Err(failed(&what, out));
        }
        parse_content(&out.stdout).map_err(|m| FactError::parse(what, m))
    }

    /// The content of `path` as text (lossy); empty if absent.
    pub fn text(&self, path: &str) -> Result<Option<String>, FactError> {
        Ok(self
            .content(path)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_samples() {
        let f = parse_path("regular file|644|root|root|5\nsha256|abc\n").unwrap();
        assert_eq!(
            (f.kind, f.mode, f.sha256.as_deref()),
            (PathKind::File, 0o644, Some("abc"))
        );
        let l = parse_path("symbolic link|777|root|root|7\nlink|/etc/x\n").unwrap();
        assert_eq!(l.link.as_deref(), Some("/etc/x"));
        assert_eq!(parse_path("absent\n").unwrap().kind, PathKind::Absent);
        assert!(parse_path("garbage\n").is_err());
    }

    #[test]
    fn parses_content() {
        assert_eq!(parse_content("b64|aGk=").unwrap(), Some(b"hi".to_vec()));
        assert_eq!(parse_content("b64|").unwrap(), Some(vec![]));
        assert_eq!(parse_content("absent\n").unwrap(), None);
    }
}
