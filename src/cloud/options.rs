//! What `upload_image` uploads, and how the defaults come from the config.
use std::path::{Path, PathBuf};

use super::error::CloudError;
use super::properties::{ImageProperties, compute_properties, detect_disk_format};
use crate::config::{Config, UploadMethod};

/// What to upload where.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// clouds.yaml cloud; `None`: `OS_CLOUD` or the `OS_*` variables.
    pub cloud: Option<String>,
    /// The image file.
    pub image: PathBuf,
    /// Name in Glance.
    pub name: String,
    /// Formats and properties.
    pub properties: ImageProperties,
    /// Direct upload, import, or direct with fallback.
    pub method: UploadMethod,
}

impl UploadOptions {
    /// Options from the configuration: cloud from `cloud`, else `OS_CLOUD`,
    /// else `openstack.cloud`; name from `name`, else `openstack.image_name`, else
    /// `<name>-<UTC date and time>`; properties computed from the config and
    /// the file's format.
    pub fn from_config(
        config: &Config,
        cloud: Option<String>,
        image: &Path,
        name: Option<String>,
    ) -> Result<UploadOptions, CloudError> {
        let format = detect_disk_format(image).map_err(|source| CloudError::Image {
            path: image.to_owned(),
            source,
        })?;
        let name = name
            .or_else(|| config.openstack.image_name.clone())
            .unwrap_or_else(|| default_name(&config.name));
        Ok(UploadOptions {
            cloud: cloud
                .or_else(|| std::env::var("OS_CLOUD").ok().filter(|c| !c.is_empty()))
                .or_else(|| config.openstack.cloud.clone()),
            image: image.to_owned(),
            name,
            properties: compute_properties(config, format)?,
            method: config.openstack.upload_method,
        })
    }
}

fn default_name(base: &str) -> String {
    let now = time::OffsetDateTime::now_utc();
    let stamp = now
        .format(&time::macros::format_description!(
            "[year][month][day]-[hour][minute]"
        ))
        .unwrap_or_default();
    format!("{base}-{stamp}")
}
