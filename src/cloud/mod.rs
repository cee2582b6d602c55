//! OpenStack: clouds.yaml, Keystone v3 token, Glance v2 image upload.
//!
//! [`upload_image`] is the entry point for both `vmbuild upload` and the
//! export stage's `--openstack CLOUD` (through [`upload_after_export`]).
mod catalog;
pub mod cli;
mod clouds_yaml;
mod config;
mod error;
mod export_hook;
mod glance;
mod hashing;
mod http;
mod import;
mod keystone;
mod options;
mod properties;
mod redirect;
mod secret;
mod upload;
mod verify;
mod yaml_error;

pub use catalog::{Catalog, Endpoint, Service};
pub use clouds_yaml::{ENVVARS_CLOUD, SearchPaths, load_cloud};
pub use config::{Auth, CloudConfig, DomainRef, ProjectScope, UserRef};
pub use error::CloudError;
pub use export_hook::upload_after_export;
pub use glance::Image;
pub use options::UploadOptions;
pub use properties::{ImageProperties, compute_properties, detect_disk_format};
pub use secret::Secret;
pub use upload::{Uploaded, upload_image};
