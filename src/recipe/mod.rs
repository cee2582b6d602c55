//! The recipe engine: recipes (TOML) declare resources; each resource says
//! which facts it needs, `check`s them purely into a plan, and the engine
//! gathers facts in one batch, applies plans, verifies and runs handlers.
pub mod alive;
pub mod apply;
pub mod cli;
pub mod engine;
#[cfg(test)]
mod engine_tests;
pub mod facts;
pub mod fields;
pub mod load;
pub mod report;
pub mod resource;
pub mod resources;
pub mod value;
pub mod when;

use thiserror::Error;

/// A recipe could not be loaded or a resource failed.
#[derive(Debug, Error)]
pub enum RecipeError {
    /// A recipe file is malformed (user error).
    #[error("{span}: {message}")]
    Syntax {
        /// Where.
        span: crate::location::SourceSpan,
        /// What was expected.
        message: String,
    },
    /// A recipe file (or a file it names) could not be read (user error).
    #[error("cannot read recipe `{path}`: {source}")]
    Read {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Facts could not be gathered from the host.
    #[error("gathering facts: {0}")]
    Facts(String),
    /// The connection failed.
    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
    /// One or more resources failed.
    #[error("{0}")]
    Failed(String),
}

impl RecipeError {
    /// Whether this is the user's mistake (exit code 2) rather than a failed run.
    pub fn is_user_error(&self) -> bool {
        matches!(self, RecipeError::Syntax { .. } | RecipeError::Read { .. })
    }
}
