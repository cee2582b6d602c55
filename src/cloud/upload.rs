//! Uploading an image file to Glance: authenticate, create, stream the data
//! (direct upload or glance-direct import), verify the checksums, and delete
//! the half-made image on any failure.
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::blocking::Body;

use super::catalog::image_api_root;
use super::clouds_yaml::load_cloud;
use super::config::CloudConfig;
use super::error::CloudError;
use super::glance::{DataTarget, Glance, Image};
use super::hashing::{HashingReader, Sums};
use super::http::Http;
use super::import::import;
use super::keystone::authenticate;
use super::options::UploadOptions;
use super::verify::verify;
use crate::config::UploadMethod;
use crate::ui::Ui;

/// How long a failed upload keeps trying to delete its image (the server may
/// be restarting).
const CLEANUP_WINDOW: Duration = Duration::from_secs(90);

/// The outcome of [`upload_image`].
#[derive(Debug, Clone, PartialEq)]
pub struct Uploaded {
    /// Glance image id.
    pub id: String,
    /// Bytes in the image.
    pub bytes: u64,
    /// sha512 of the data (verified against Glance's).
    pub sha512: String,
    /// Seconds the data transfer took (0 when reused).
    pub seconds: f64,
    /// An identical active image with this name existed; nothing was sent.
    pub reused: bool,
}

/// Upload `opts.image` to Glance and verify it. On any failure after the
/// image record was created, the record is deleted.
pub fn upload_image(opts: &UploadOptions, ui: &Arc<Ui>) -> Result<Uploaded, CloudError> {
    let cloud = load_cloud(opts.cloud.as_deref(), ui)?;
    let http = Http::new(&cloud)?;
    ui.step(&format!(
        "Uploading {} to cloud `{}` as `{}`",
        opts.image.display(),
        cloud.name,
        opts.name
    ));
    let session = authenticate(&http, &cloud)?;
    ui.add_secret(session.token.expose());
    let endpoint = match &cloud.image_endpoint_override {
        Some(u) => u.clone(),
        None => {
            session
                .catalog
                .endpoint("image", &cloud.interface, cloud.region_name.as_deref())?
        }
    };
    let glance = Glance {
        http: &http,
        root: image_api_root(&endpoint),
        token: &session.token,
    };
    ui.debug(&format!("image service: {}", glance.root));
    let size = std::fs::metadata(&opts.image)
        .map_err(|source| CloudError::Image {
            path: opts.image.clone(),
            source,
        })?
        .len();
    if let Some(done) = find_identical(&glance, opts, size, ui)? {
        return Ok(done);
    }
    let image = glance.create(&opts.properties.create_body(&opts.name))?;
    ui.info(&format!(
        "created image {} ({}, {} bytes)",
        image.id, opts.properties.disk_format, size
    ));
    match transfer_and_verify(&glance, &cloud, opts, &image.id, size, ui) {
        Ok(done) => {
            ui.info(&format!(
                "image {} is active; sha512 and md5 match ({:.1} MiB/s)",
                done.id,
                mib_per_s(done.bytes, done.seconds)
            ));
            Ok(done)
        }
        Err(e) => {
            let e = if crate::interrupt::requested() {
                CloudError::Interrupted
            } else {
                e
            };
            Err(CloudError::Aborted {
                source: Box::new(e),
                cleanup: cleanup(&glance, &cloud, &image.id, ui),
            })
        }
    }
}

fn mib_per_s(bytes: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        bytes as f64 / 1_048_576.0 / secs
    } else {
        0.0
    }
}

/// An active image with our name and size whose sha512 equals the file's:
/// a re-run then changes nothing. Hashes the file only when there is one.
fn find_identical(
    glance: &Glance<'_>,
    opts: &UploadOptions,
    size: u64,
    ui: &Arc<Ui>,
) -> Result<Option<Uploaded>, CloudError> {
    let candidates: Vec<Image> = glance
        .find_by_name(&opts.name)?
        .into_iter()
        .filter(|i| {
            i.status == "active"
                && i.size == Some(size)
                && i.os_hash_algo.as_deref() == Some("sha512")
        })
        .collect();
    if candidates.is_empty() {
        return Ok(None);
    }
    ui.info(&format!(
        "an image called `{}` exists; comparing checksums",
        opts.name
    ));
    let sums = hash_file(&opts.image, size, ui)?;
    Ok(candidates
        .into_iter()
        .find(|i| i.os_hash_value.as_deref() == Some(sums.sha512.as_str()))
        .map(|i| {
            ui.info(&format!(
                "image {} already holds this file; nothing to upload",
                i.id
            ));
            Uploaded {
                id: i.id,
                bytes: size,
                sha512: sums.sha512,
                seconds: 0.0,
                reused: true,
            }
        }))
}

fn hash_file(path: &Path, size: u64, ui: &Arc<Ui>) -> Result<Sums, CloudError> {
    let file = std::fs::File::open(path).map_err(|source| CloudError::Image {
        path: path.to_owned(),
        source,
    })?;
    let bar = ui.progress("checksum", Some(size));
    let (mut reader, digests) = HashingReader::new(file, size, bar.clone(), Arc::new(Ui::silent()));
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(|source| {
        if crate::interrupt::requested() {
            return CloudError::Interrupted;
        }
        CloudError::Image {
            path: path.to_owned(),
            source,
        }
    })?;
    bar.finish_and_clear();
    Ok(digests.sums())
}

/// Send the data by the chosen method, wait for `active`, compare checksums.
fn transfer_and_verify(
    glance: &Glance<'_>,
    cloud: &CloudConfig,
    opts: &UploadOptions,
    id: &str,
    size: u64,
    ui: &Arc<Ui>,
) -> Result<Uploaded, CloudError> {
    let started = Instant::now();
    let sums = match opts.method {
        UploadMethod::Upload => send(glance, opts, id, size, DataTarget::File, ui)?,
        UploadMethod::Import => import(glance, opts, id, size, ui)?,
        UploadMethod::Auto => match send(glance, opts, id, size, DataTarget::File, ui) {
            Err(CloudError::Http { status, .. }) if falls_back(status) => {
                if !glance
                    .import_methods()?
                    .iter()
                    .any(|m| m == "glance-direct")
                {
                    return Err(CloudError::Credentials(format!(
                        "cloud `{}` refused the direct upload (HTTP {status}) and offers no glance-direct import",
                        cloud.name
                    )));
                }
                ui.info(&format!(
                    "direct upload refused (HTTP {status}); using the image import API"
                ));
                import(glance, opts, id, size, ui)?
            }
            other => other?,
        },
    };
    let seconds = started.elapsed().as_secs_f64();
    if sums.bytes != size {
        return Err(CloudError::Image {
            path: opts.image.clone(),
            source: std::io::Error::other(format!(
                "read {} bytes, expected {size}: the file changed during the upload",
                sums.bytes
            )),
        });
    }
    let image = glance.get(id)?;
    verify(&image, &sums, &opts.properties.disk_format)?;
    Ok(Uploaded {
        id: id.to_owned(),
        bytes: size,
        sha512: sums.sha512,
        seconds,
        reused: false,
    })
}

/// Statuses of a refused direct upload that the import API may get past:
/// forbidden by policy, method not allowed, or a conflicting image state.
pub(crate) fn falls_back(status: u16) -> bool {
    matches!(status, 403 | 405 | 409)
}

/// Stream the file to `target`, hashing on the way.
pub(crate) fn send(
    glance: &Glance<'_>,
    opts: &UploadOptions,
    id: &str,
    size: u64,
    target: DataTarget,
    ui: &Arc<Ui>,
) -> Result<Sums, CloudError> {
    let file = std::fs::File::open(&opts.image).map_err(|source| CloudError::Image {
        path: opts.image.clone(),
        source,
    })?;
    let bar = ui.progress("upload", Some(size));
    let (reader, digests) = HashingReader::new(file, size, bar.clone(), Arc::clone(ui));
    let result = glance.put_data(id, target, Body::sized(reader, size));
    bar.finish_and_clear();
    result?;
    Ok(digests.sums())
}

/// Delete a half-made image, retrying while the server is unreachable.
/// Returns the sentence for the error message.
fn cleanup(glance: &Glance<'_>, cloud: &CloudConfig, id: &str, ui: &Arc<Ui>) -> String {
    let started = Instant::now();
    let mut pause = Duration::from_millis(500);
    loop {
        match glance.delete(id) {
            Ok(()) => {
                ui.info(&format!("deleted the half-created image {id}"));
                return format!("the half-created image {id} was deleted");
            }
            Err(e @ (CloudError::Transport { .. } | CloudError::Http { status: 500.., .. }))
                if started.elapsed() < CLEANUP_WINDOW =>
            {
                ui.warn(&format!("cannot delete image {id} yet ({e}); retrying"));
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                return format!(
                    "the half-created image {id} could NOT be deleted ({e}); delete it with `openstack --os-cloud {} image delete {id}`",
                    cloud.name
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_only_for_refusals() {
        assert!(falls_back(403) && falls_back(405) && falls_back(409));
        assert!(!falls_back(400) && !falls_back(401) && !falls_back(500));
    }
}
