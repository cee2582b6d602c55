//! The recipe engine (issue 3): recipes, resources with `check`/`apply`, the engine.
pub mod cli;

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
    /// One or more resources failed.
    #[error("{0}")]
    Failed(String),
}

impl RecipeError {
    /// Whether this is the user's mistake (exit code 2) rather than a failed run.
    pub fn is_user_error(&self) -> bool {
        matches!(self, RecipeError::Syntax { .. })
    }
}
