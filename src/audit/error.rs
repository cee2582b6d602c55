//! Why an audit could not be done, or did not pass.
use std::path::Path;

use thiserror::Error;

use crate::error::ExitCode;
use crate::process::ProcessError;

/// An audit failed to run, or ran and found what must not ship.
#[derive(Debug, Error)]
pub enum AuditError {
    /// The image file does not exist or cannot be opened.
    #[error("cannot open image `{path}`: {source}")]
    Open {
        /// The image as given.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a disk image in a format we recognise.
    #[error("`{path}` is not a disk image: {why}")]
    NotAnImage {
        /// The image as given.
        path: String,
        /// What we found instead.
        why: String,
    },
    /// A disk image, but one the audit cannot read.
    #[error("`{path}`: {what} is not supported by `vmbuild audit`")]
    Unsupported {
        /// The image as given.
        path: String,
        /// What it is (e.g. "a VDI disk", "LVM").
        what: String,
    },
    /// No partition holds a Linux root filesystem (`/etc/passwd`).
    #[error("`{path}`: no Linux root filesystem found ({detail})")]
    NoRoot {
        /// The image as given.
        path: String,
        /// What was looked at.
        detail: String,
    },
    /// Reading the image or a file in it failed.
    #[error("{what} `{path}`: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// The path (in the image, or on this machine).
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A helper program (qemu-storage-daemon, sfdisk, mount, ...) failed.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// A helper program's output was not what we expected.
    #[error("unexpected output from `{tool}`: {detail}")]
    ToolOutput {
        /// The tool.
        tool: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The storage daemon did not make the disk readable in time.
    #[error("qemu-storage-daemon did not export `{path}` within {secs} s")]
    ExportTimeout {
        /// The image.
        path: String,
        /// How long we waited.
        secs: u64,
    },
    /// Writing the JSON report failed.
    #[error("cannot write the report `{path}`: {source}")]
    Report {
        /// The report path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Mounting needs root.
    #[error(
        "`vmbuild audit` needs root: it mounts the image read-only in a private mount namespace"
    )]
    NeedsRoot,
    /// The user pressed Ctrl-C (or we got SIGTERM).
    #[error("audit interrupted")]
    Interrupted,
    /// The auditing thread panicked (a bug in vmbuild).
    #[error("the auditing thread panicked (a bug in vmbuild)")]
    Panicked,
    /// The audit ran and found what must not ship.
    #[error("`{image}`: {count} finding(s); this image must not ship as it is")]
    Findings {
        /// The image.
        image: String,
        /// How many findings.
        count: usize,
    },
}

impl AuditError {
    /// An I/O error on `path` while doing `what`.
    pub(crate) fn io(what: &'static str, path: impl AsRef<Path>, source: std::io::Error) -> Self {
        AuditError::Io {
            what,
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    /// The exit code: 1 findings or a failure, 2 bad input, 130 interrupted.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            AuditError::Open { .. }
            | AuditError::NotAnImage { .. }
            | AuditError::Unsupported { .. }
            | AuditError::NoRoot { .. } => ExitCode::Usage,
            AuditError::Interrupted => ExitCode::Interrupted,
            AuditError::Process(e) if e.is_interrupted() => ExitCode::Interrupted,
            AuditError::Io { source, .. } if source.kind() == std::io::ErrorKind::Interrupted => {
                ExitCode::Interrupted
            }
            _ => ExitCode::Failed,
        }
    }
}
