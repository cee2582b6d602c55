//! Export (issue 5): compressed qcow2, streamOptimized VMDK, OVA, checksums.
//!
//! [`export_disk`] turns one VM disk into the requested artifacts in the output
//! directory. Each artifact is written to a `.partial-` temp file and renamed
//! into place only when complete ([`crate::artifact`]), and hashed in the pass
//! that writes (or, for files qemu-img writes, reads) it. Next to each artifact
//! goes `<artifact>.sha256` in `sha256sum` format.
//!
//! The Vagrant `box` (libvirt provider) is packed from the compressed qcow2
//! ([`vagrant_box`]); which disk is exported, the provisioned VM's or the base
//! box's, is decided by [`crate::stage::export`].
use std::path::PathBuf;

use thiserror::Error;

pub mod checksums;
mod disk;
pub mod hash;
pub mod ova;
pub mod ovf;
pub mod ovf_check;
pub mod qcow2;
pub mod uptodate;
pub mod ustar;
pub mod vagrant_box;
pub mod vmdk;

pub use disk::{ExportRequest, export_disk, record};
pub use hash::Sha256Digest;

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
    /// qemu-img (or another tool) failed or was stopped.
    #[error(transparent)]
    Process(#[from] crate::process::ProcessError),
    /// A tool's output was not what we expected.
    #[error("unexpected output from `{tool}`: {detail}")]
    ToolOutput {
        /// The tool.
        tool: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The OVF descriptor we generated breaks an importer rule (a bug in vmbuild).
    #[error("generated OVF descriptor would be refused by VirtualBox:\n  {}", .0.join("\n  "))]
    Descriptor(Vec<String>),
    /// A file changed size while we streamed it.
    #[error("`{path}` changed while being packed: expected {expected} bytes, read {actual}")]
    SizeChanged {
        /// The file.
        path: String,
        /// Size when we started.
        expected: u64,
        /// Bytes actually read.
        actual: u64,
    },
    /// No disk to export.
    #[error("{0}")]
    NoInput(String),
    /// The user interrupted the export; partial files were removed.
    #[error("export interrupted; no partial artifacts were left")]
    Interrupted,
}

impl ExportError {
    /// Wrap an I/O error, turning the user's interruption into [`ExportError::Interrupted`].
    pub fn io(what: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::Interrupted && crate::interrupt::requested() {
            return ExportError::Interrupted;
        }
        ExportError::Io {
            what,
            path: path.display().to_string(),
            source,
        }
    }

    /// Whether the user interrupted us (directly or by stopping a tool).
    pub fn is_interrupted(&self) -> bool {
        match self {
            ExportError::Interrupted => true,
            ExportError::Process(p) => p.is_interrupted(),
            _ => false,
        }
    }
}

/// An artifact format made from the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// qcow2 with compressed clusters (`qemu-img convert -c`).
    Qcow2,
    /// streamOptimized VMDK.
    Vmdk,
    /// OVF 1.0 package: descriptor, streamOptimized VMDK, SHA-256 manifest.
    Ova,
    /// Vagrant box for the libvirt provider (its disk is the compressed qcow2).
    Box,
}

impl Format {
    /// Parse a config name (`box`, `ova`, `qcow2`, `vmdk`).
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "qcow2" => Some(Format::Qcow2),
            "vmdk" => Some(Format::Vmdk),
            "ova" => Some(Format::Ova),
            "box" => Some(Format::Box),
            _ => None,
        }
    }

    /// The file extension (and config name).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Qcow2 => "qcow2",
            Format::Vmdk => "vmdk",
            Format::Ova => "ova",
            Format::Box => "box",
        }
    }
}

/// A finished artifact in the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Its format.
    pub format: Format,
    /// Where it is.
    pub path: PathBuf,
    /// Its `<path>.sha256` file.
    pub checksum_path: PathBuf,
    /// SHA-256 of its bytes.
    pub sha256: Sha256Digest,
    /// Its size in bytes.
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in [Format::Qcow2, Format::Vmdk, Format::Ova, Format::Box] {
            assert_eq!(Format::from_name(f.extension()), Some(f));
        }
        assert_eq!(Format::from_name("iso"), None);
    }
}
