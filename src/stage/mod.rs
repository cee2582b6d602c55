//! The build stages, peers in pipeline order (clean, reset, base box, up,
//! export); each calls down into [`crate::machine`] for the VM's lifecycle.
pub mod base_box;
pub mod clean;
pub mod debootstrap;
pub mod export;
pub mod installer;
pub mod packer_job;
pub mod reset;
pub mod up;

use thiserror::Error;

/// A stage failed for a reason other than a tool or template error.
#[derive(Debug, Error)]
pub enum StageError {
    /// File-system work failed.
    #[error("{what} `{path}`: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A precondition does not hold (e.g. not root for debootstrap).
    #[error("{0}")]
    Precondition(String),
    /// A tool produced something we did not expect.
    #[error("{0}")]
    Unexpected(String),
}

/// `map_err` for file-system work: `what` failed on `path`.
pub fn io_err(
    what: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> crate::error::Error + use<> {
    let path = path.display().to_string();
    move |source| crate::error::Error::Stage(StageError::Io { what, path, source })
}
