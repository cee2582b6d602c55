//! Interoperable image import with `glance-direct`: stage, import, wait.
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::CloudError;
use super::glance::{DataTarget, Glance};
use super::hashing::Sums;
use super::options::UploadOptions;
use super::upload::send;
use crate::ui::Ui;

/// How long an import may stay in progress.
const IMPORT_WINDOW: Duration = Duration::from_secs(3600);

/// glance-direct import: stage the data, ask for the import, wait for it.
pub(crate) fn import(
    glance: &Glance<'_>,
    opts: &UploadOptions,
    id: &str,
    size: u64,
    ui: &Arc<Ui>,
) -> Result<Sums, CloudError> {
    if !glance
        .import_methods()?
        .iter()
        .any(|m| m == "glance-direct")
    {
        return Err(CloudError::Catalog(format!(
            "the image service at {} offers no glance-direct import; set `openstack.upload_method = \"upload\"`",
            glance.root
        )));
    }
    let sums = send(glance, opts, id, size, DataTarget::Stage, ui)?;
    glance.import(id, "glance-direct")?;
    ui.info("data staged; waiting for Glance to import it");
    wait_active(glance, id)?;
    Ok(sums)
}

fn wait_active(glance: &Glance<'_>, id: &str) -> Result<(), CloudError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(200);
    loop {
        let img = glance.get(id)?;
        let failed = img.os_glance_failed_import.as_deref().unwrap_or("");
        match img.status.as_str() {
            "active" => return Ok(()),
            "killed" | "deleted" | "pending_delete" => {
                return Err(CloudError::NotActive {
                    id: id.into(),
                    status: img.status,
                    detail: String::new(),
                });
            }
            // A failed glance-direct import puts the image back to `queued`.
            "queued" if !failed.is_empty() => {
                return Err(CloudError::NotActive {
                    id: id.into(),
                    status: img.status,
                    detail: format!("; import failed for store(s) {failed}"),
                });
            }
            _ => {}
        }
        if crate::interrupt::requested() {
            return Err(CloudError::Interrupted);
        }
        if started.elapsed() > IMPORT_WINDOW {
            return Err(CloudError::NotActive {
                id: id.into(),
                status: img.status,
                detail: format!("; still not active after {} s", IMPORT_WINDOW.as_secs()),
            });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_secs(3));
    }
}
