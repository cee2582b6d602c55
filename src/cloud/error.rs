//! Errors of the OpenStack client.
use std::path::PathBuf;

use thiserror::Error;

/// Talking to the cloud failed.
#[derive(Debug, Error)]
pub enum CloudError {
    /// Credentials could not be found or are incomplete.
    #[error("{0}")]
    Credentials(String),
    /// The `[openstack]` settings of vmbuild.toml are invalid.
    #[error("vmbuild.toml: {0}")]
    Config(String),
    /// A clouds.yaml or secure.yaml file is unreadable or malformed.
    #[error("{path}: {message}")]
    CloudsYaml {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column where known.
        message: String,
    },
    /// A clouds.yaml or secure.yaml file is not valid YAML. Only the
    /// position is shown: the file's text may hold credentials.
    #[error("{}:{line}:{col}: invalid YAML: {expected} (the file's text is not shown: it may hold credentials)", path.display())]
    CloudsYamlSyntax {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        col: u64,
        /// What was wrong or expected.
        expected: String,
    },
    /// The server answered with an error status.
    #[error("{method} {url} failed: HTTP {status}: {body}")]
    Http {
        /// HTTP method.
        method: String,
        /// Full URL.
        url: String,
        /// Status code.
        status: u16,
        /// The start of the response body, tags stripped.
        body: String,
    },
    /// The request did not get an answer (connection refused or reset, timeout).
    #[error("{method} {url} failed: {message}")]
    Transport {
        /// HTTP method.
        method: String,
        /// Full URL.
        url: String,
        /// The error chain, flattened.
        message: String,
    },
    /// The server redirected to another origin. Not followed: the token (or
    /// the password of a token request) would go along.
    #[error(
        "{method} {url}: the server redirects to another origin ({to}); vmbuild follows redirects only within the origin it was given, so no token or password goes there: use that address in the configuration (clouds.yaml `auth_url`, `image_endpoint_override`)"
    )]
    Redirect {
        /// HTTP method.
        method: String,
        /// The URL requested.
        url: String,
        /// Where the server pointed.
        to: String,
    },
    /// The server answered something we cannot use.
    #[error("{method} {url}: unexpected response: {message}")]
    Protocol {
        /// HTTP method.
        method: String,
        /// Full URL.
        url: String,
        /// What was wrong with it.
        message: String,
    },
    /// The service catalog has no usable image endpoint.
    #[error("{0}")]
    Catalog(String),
    /// The local image file could not be read.
    #[error("cannot read image `{}`: {source}", path.display())]
    Image {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Glance's checksum of the stored image differs from ours.
    #[error("image {id}: Glance's {algo} is {remote}, but the local file's is {local}")]
    HashMismatch {
        /// Image id.
        id: String,
        /// `sha512`, `md5` or `size`.
        algo: String,
        /// Ours.
        local: String,
        /// Theirs.
        remote: String,
    },
    /// The image did not become active.
    #[error("image {id} ended in status `{status}`{detail}")]
    NotActive {
        /// Image id.
        id: String,
        /// Its last status.
        status: String,
        /// Extra detail (failed import stores), starting with "; " when present.
        detail: String,
    },
    /// The user pressed Ctrl-C.
    #[error("interrupted")]
    Interrupted,
    /// The upload failed after the image was created; says what happened to it.
    #[error("{source}; {cleanup}")]
    Aborted {
        /// Why the upload failed.
        #[source]
        source: Box<CloudError>,
        /// "the half-created image X was deleted" or how to delete it by hand.
        cleanup: String,
    },
}

impl CloudError {
    /// Whether the user's input (files, names, credentials config) is at fault.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            CloudError::Credentials(_)
                | CloudError::CloudsYaml { .. }
                | CloudError::CloudsYamlSyntax { .. }
                | CloudError::Config(_)
        )
    }

    /// Whether the user interrupted the work.
    pub fn is_interrupted(&self) -> bool {
        match self {
            CloudError::Interrupted => true,
            CloudError::Aborted { source, .. } => source.is_interrupted(),
            _ => false,
        }
    }
}
