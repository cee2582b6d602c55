//! Loading: parse TOML layers and merge them over the embedded default.
use std::path::{Path, PathBuf};

use super::{Config, ConfigError, DEFAULT_TOML};
use crate::location::SourceSpan;

/// Where a config layer came from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The embedded default.
    Default,
    /// A file on disk.
    File(PathBuf),
}

/// Parse one TOML document into a table, with errors pointing into `file`.
fn parse_table(file: &Path, text: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>()
        .map_err(|e| invalid(file, text, &e))
}

fn invalid(file: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let offset = e.span().map_or(0, |s| s.start);
    ConfigError::Invalid {
        span: SourceSpan::from_offset(file, text, offset),
        message: e.message().to_owned(),
    }
}

/// Merge `over` into `base`: tables merge key by key, everything else replaces.
pub(crate) fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Parse a complete config document (tests, `config show`).
pub fn parse_str(file: &Path, text: &str) -> Result<Config, ConfigError> {
    let mut table = parse_table(Path::new("<embedded default>"), DEFAULT_TOML)?;
    merge(&mut table, parse_table(file, text)?);
    let merged = toml::to_string(&table).map_err(|e| ConfigError::Invalid {
        span: SourceSpan::from_offset(file, text, 0),
        message: e.to_string(),
    })?;
    // Re-check the user's own text first, so errors point into their file.
    if let Err(e) = toml::from_str::<PartialCheck>(text) {
        return Err(invalid(file, text, &e));
    }
    toml::from_str(&merged).map_err(|e| invalid(Path::new("<merged config>"), &merged, &e))
}

/// Placeholder for the user-file schema check; see `config/error` work (issue 2).
#[derive(serde::Deserialize)]
struct PartialCheck {}

/// Load the effective config: default, then `path` if given (or `./vmbuild.toml` if present).
pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
    let found = match path {
        Some(p) => Some(p.to_owned()),
        None => Some(PathBuf::from("vmbuild.toml")).filter(|p| p.exists()),
    };
    match found {
        None => parse_str(Path::new("<embedded default>"), ""),
        Some(p) => {
            let text = std::fs::read_to_string(&p).map_err(|source| ConfigError::Read {
                path: p.display().to_string(),
                source,
            })?;
            parse_str(&p, &text)
        }
    }
}
