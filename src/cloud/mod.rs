//! OpenStack: clouds.yaml, Keystone v3 token, Glance v2 image upload.
//!
//! [`upload_image`] is the entry point for both `vmbuild upload` and the
//! export stage's `--openstack CLOUD`.
mod catalog;
pub mod cli;
mod clouds_yaml;
mod config;
mod error;
mod glance;
mod hashing;
mod http;
mod keystone;
mod properties;
mod secret;
mod upload;

pub use catalog::{Catalog, Endpoint};
pub use clouds_yaml::{SearchPaths, load_cloud};
pub use config::{Auth, CloudConfig, ProjectScope, UserRef};
pub use error::CloudError;
pub use glance::Image;
pub use properties::{ImageProperties, compute_properties, detect_disk_format};
pub use secret::Secret;
pub use upload::{UploadOptions, Uploaded, upload_image};
