//! The export stage's one call: upload the fresh qcow2 when a cloud is named.
use std::path::Path;

use super::error::CloudError;
use super::options::UploadOptions;
use super::upload::{Uploaded, upload_image};
use crate::context::Context;

/// Upload `qcow2` when `--openstack CLOUD` or `openstack.cloud` names a
/// cloud; `Ok(None)` when neither does. With `--dry-run` it only says what
/// it would upload.
pub fn upload_after_export(ctx: &Context, qcow2: &Path) -> Result<Option<Uploaded>, CloudError> {
    let Some(cloud) = ctx
        .opts
        .openstack
        .clone()
        .or_else(|| ctx.config.openstack.cloud.clone())
    else {
        return Ok(None);
    };
    let opts = UploadOptions::from_config(&ctx.config, Some(cloud), qcow2, None)?;
    if ctx.opts.dry_run {
        ctx.ui.step(&format!(
            "Would upload {} to cloud `{}` as `{}`",
            qcow2.display(),
            opts.cloud.as_deref().unwrap_or_default(),
            opts.name
        ));
        return Ok(None);
    }
    upload_image(&opts, &ctx.ui).map(Some)
}
