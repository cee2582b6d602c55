//! Export (issue 5): qcow2, streamOptimized VMDK, OVA, checksums.
use thiserror::Error;

/// Export failed.
#[derive(Debug, Error)]
pub enum ExportError {
    /// I/O on an artifact.
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
}
