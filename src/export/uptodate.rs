//! Whether `-e` may skip the work: the VM's disk is untouched since the
//! last export, which was made with the same settings, and its artifacts are
//! still there with the bytes it wrote. Sealing boots a copy of the VM, so
//! redoing an export costs minutes; checking costs a re-hash (about 1 GB/s).
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::hash::hash_file;
use super::{Artifact, Format};

/// What one export wrote, from which disk, with which settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRecord {
    /// The source disk's stamp (path, size, mtime).
    pub disk: String,
    /// A digest of everything else that shapes the artifacts (formats,
    /// names, OVF and box settings, vmbuild's version).
    pub settings: String,
    /// The artifacts: format name, path, sha256, size.
    pub artifacts: Vec<(String, PathBuf, String, u64)>,
}

impl ExportRecord {
    /// The record of `artifacts` made from `disk` with `settings`.
    pub fn new(disk: &str, settings: &str, artifacts: &[Artifact]) -> ExportRecord {
        ExportRecord {
            disk: disk.to_owned(),
            settings: settings.to_owned(),
            artifacts: artifacts
                .iter()
                .map(|a| {
                    (
                        a.format.extension().to_owned(),
                        a.path.clone(),
                        a.sha256.hex(),
                        a.size,
                    )
                })
                .collect(),
        }
    }

    /// Read `path` (`None` when missing or unreadable: then export again).
    pub fn read(path: &Path) -> Option<ExportRecord> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }

    /// Write it atomically to `path`.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        crate::artifact::write_atomic(path, text.as_bytes())
    }

    /// The artifacts again, if the record is for `disk` and `settings` and
    /// every artifact still has the bytes it was written with (re-hashed).
    pub fn still_valid(&self, disk: &str, settings: &str) -> Option<Vec<Artifact>> {
        if self.disk != disk || self.settings != settings || self.artifacts.is_empty() {
            return None;
        }
        self.artifacts
            .iter()
            .map(|(format, path, sha, size)| {
                let (digest, len) = hash_file(path).ok()?;
                let checksum_path = super::checksums::path_for(path);
                let listed = std::fs::read_to_string(&checksum_path).ok()?;
                (digest.hex() == *sha && len == *size && listed.starts_with(sha.as_str())).then(
                    || Artifact {
                        format: Format::from_name(format).unwrap_or(Format::Qcow2),
                        path: path.clone(),
                        checksum_path,
                        sha256: digest,
                        size: len,
                    },
                )
            })
            .collect()
    }
}
