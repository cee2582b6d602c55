//! OpenStack (issue 5): clouds.yaml, Keystone v3, Glance v2 upload.
pub mod cli;

use thiserror::Error;

/// Talking to the cloud failed.
#[derive(Debug, Error)]
pub enum CloudError {
    /// Credentials could not be found or read.
    #[error("{0}")]
    Credentials(String),
}
