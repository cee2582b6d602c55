//! Configuration errors: each names where the bad value came from
//! (`file:line:col`, an environment variable or a flag), the key, and what was expected.
use std::fmt;

use thiserror::Error;

use crate::location::SourceSpan;

/// Where a value of the effective configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The embedded default.
    Default,
    /// A position in the user's file.
    File(SourceSpan),
    /// A `VMBUILD_*` environment variable.
    Env(String),
    /// A command-line flag such as `-i`.
    Flag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("<embedded default>"),
            Origin::File(span) => write!(f, "{span}"),
            Origin::Env(var) => write!(f, "environment variable `{var}`"),
            Origin::Flag(flag) => write!(f, "flag `{flag}`"),
        }
    }
}

/// A configuration problem the user must fix (exit code 2).
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file `{path}`: {source}")]
    Read {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{span}: invalid TOML: {message}")]
    Syntax {
        /// Where.
        span: SourceSpan,
        /// What the parser said.
        message: String,
    },
    /// A key is unknown or its value is not acceptable.
    #[error("{}", render_value(origin, key, message))]
    Value {
        /// Where the value came from.
        origin: Origin,
        /// The full dotted key, e.g. `vm.cpus`.
        key: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// `config init` would overwrite a file.
    #[error("`{path}` already exists; use --force to overwrite it")]
    Exists {
        /// The path.
        path: String,
    },
    /// A file could not be written.
    #[error("cannot write `{path}`: {source}")]
    Write {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The layers passed validation yet do not form a config: a vmbuild bug.
    #[error("internal error: the merged configuration does not deserialize: {0}")]
    Internal(String),
}

/// Environment and flag origins already name the key, so only file positions repeat it.
fn render_value(origin: &Origin, key: &str, message: &str) -> String {
    match origin {
        Origin::Default | Origin::File(_) => format!("{origin}: `{key}`: {message}"),
        Origin::Env(_) | Origin::Flag(_) => format!("{origin}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_errors_name_origin_and_key() {
        let file = ConfigError::Value {
            origin: Origin::File(SourceSpan {
                file: "vmbuild.toml".into(),
                line: 3,
                col: 8,
            }),
            key: "vm.cpus".into(),
            message: "expected an integer".into(),
        };
        assert_eq!(
            file.to_string(),
            "vmbuild.toml:3:8: `vm.cpus`: expected an integer"
        );
        let env = ConfigError::Value {
            origin: Origin::Env("VMBUILD_VM__CPUS".into()),
            key: "vm.cpus".into(),
            message: "expected an integer".into(),
        };
        assert_eq!(
            env.to_string(),
            "environment variable `VMBUILD_VM__CPUS`: expected an integer"
        );
    }
}
