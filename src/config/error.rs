//! Configuration errors: each names the file, line and column.
use thiserror::Error;

use crate::location::SourceSpan;

/// A configuration problem the user must fix.
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
    /// The file is not valid TOML or does not match the schema.
    #[error("{span}: {message}")]
    Invalid {
        /// Where.
        span: SourceSpan,
        /// What was wrong and what was expected.
        message: String,
    },
    /// An environment variable has a bad value.
    #[error("environment variable `{var}`: {message}")]
    Env {
        /// The variable.
        var: String,
        /// What was wrong.
        message: String,
    },
    /// A value is well-formed but not acceptable.
    #[error("{origin}: `{key}`: {message}")]
    Value {
        /// Where the value came from (file:line:col, env var, flag).
        origin: String,
        /// The dotted key.
        key: String,
        /// What was wrong and what was expected.
        message: String,
    },
}
