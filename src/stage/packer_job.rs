//! What a base-box builder hands to the Packer run: the contract between
//! [`super::installer`] / [`super::debootstrap`] and [`super::base_box`].
use std::path::PathBuf;

/// A rendered Packer build, ready for `packer build`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackerJob {
    /// The rendered template (JSON) in the work dir.
    pub template: PathBuf,
    /// Directory `packer` runs in (relative paths in the template resolve here).
    pub work_dir: PathBuf,
    /// Packer's `output_directory` (must not exist when the build starts).
    pub packer_output_dir: PathBuf,
    /// The `.box` the vagrant post-processor writes (a temp path; moved into `builds/`).
    pub box_path: PathBuf,
    /// Named inputs and their SHA-256, for the cache key and the manifest.
    pub inputs: Vec<(String, String)>,
}
