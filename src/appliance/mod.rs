//! The JupyterHub appliance: the recipes that turn the base box into the
//! product (`recipes/` in the repository, compiled in for a bare `vmbuild`),
//! and the variables vmbuild derives for them from the config.
pub mod embedded;
pub mod files;
pub mod groups;
pub mod password;
pub mod run;
pub mod trust;
pub mod vars;

use thiserror::Error;

/// Preparing the appliance's recipes or variables failed.
#[derive(Debug, Error)]
pub enum ApplianceError {
    /// A file the config names cannot be read (user error).
    #[error("{key}: cannot read `{path}`: {source}")]
    ReadInput {
        /// The config key naming it.
        key: &'static str,
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file the config names is not what the key expects (user error).
    #[error("{key}: `{path}` {problem}")]
    BadInput {
        /// The config key naming it.
        key: &'static str,
        /// The path.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// vmbuild's own state (work dir) cannot be written.
    #[error("{what} `{path}`: {source}")]
    State {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl ApplianceError {
    /// Whether this is the user's mistake (exit code 2).
    pub fn is_user_error(&self) -> bool {
        !matches!(self, ApplianceError::State { .. })
    }
}
