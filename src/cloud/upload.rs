//! Uploading an image file to Glance: authenticate, create, stream the data
//! (direct upload or glance-direct import), verify the checksums, and delete
//! the half-made image on any failure.
use std::path::{Path, PathBuf};
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
use super::keystone::authenticate;
use super::properties::{ImageProperties, compute_properties, detect_disk_format};
use crate::config::{Config, UploadMethod};
use crate::ui::Ui;

/// How long a failed upload keeps trying to delete its image (the server may
/// be restarting).
const CLEANUP_WINDOW: Duration = Duration::from_secs(90);
/// How long an import may stay in progress.
const IMPORT_WINDOW: Duration = Duration::from_secs(3600);

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
        .format(&time::macros::format_description!("[year][month][day]-[hour][minute]"))
        .unwrap_or_default();
    format!("{base}-{stamp}")
}

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
    let cloud = load_cloud(opts.cloud.as_deref())?;
    for s in cloud.secrets() {
        ui.add_secret(s);
    }
    let http = Http::new(&cloud)?;
    ui.step(&format!("Uploading {} to cloud `{}` as `{}`", opts.image.display(), cloud.name, opts.name));
    let session = authenticate(&http, &cloud)?;
    ui.add_secret(session.token.expose());
    let endpoint = match &cloud.image_endpoint_override {
        Some(u) => u.clone(),
        None => session
            .catalog
            .endpoint("image", &cloud.interface, cloud.region_name.as_deref())?,
    };
    let glance = Glance {
        http: &http,
        root: image_api_root(&endpoint),
        token: &session.token,
    };
    ui.debug(&format!("image service: {}", glance.root));
    let size = std::fs::metadata(&opts.image)
        .map_err(|source| CloudError::Image { path: opts.image.clone(), source })?
        .len();
    if let Some(done) = find_identical(&glance, opts, size, ui)? {
        return Ok(done);
    }
    let image = glance.create(&opts.properties.create_body(&opts.name))?;
    ui.info(&format!("created image {} ({}, {} bytes)", image.id, opts.properties.disk_format, size));
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
            let e = if crate::interrupt::requested() { CloudError::Interrupted } else { e };
            Err(CloudError::Aborted {
                source: Box::new(e),
                cleanup: cleanup(&glance, &cloud, &image.id, ui),
            })
        }
    }
}

fn mib_per_s(bytes: u64, secs: f64) -> f64 {
    if secs > 0.0 { bytes as f64 / 1_048_576.0 / secs } else { 0.0 }
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
        .filter(|i| i.status == "active" && i.size == Some(size) && i.os_hash_algo.as_deref() == Some("sha512"))
        .collect();
    if candidates.is_empty() {
        return Ok(None);
    }
    ui.info(&format!("an image called `{}` exists; comparing checksums", opts.name));
    let sums = hash_file(&opts.image, size, ui)?;
    Ok(candidates
        .into_iter()
        .find(|i| i.os_hash_value.as_deref() == Some(sums.sha512.as_str()))
        .map(|i| {
            ui.info(&format!("image {} already holds this file; nothing to upload", i.id));
            Uploaded { id: i.id, bytes: size, sha512: sums.sha512, seconds: 0.0, reused: true }
        }))
}

fn hash_file(path: &Path, size: u64, ui: &Arc<Ui>) -> Result<Sums, CloudError> {
    let file = std::fs::File::open(path)
        .map_err(|source| CloudError::Image { path: path.to_owned(), source })?;
    let bar = ui.progress("checksum", Some(size));
    let (mut reader, digests) = HashingReader::new(file, size, bar.clone(), Arc::new(Ui::silent()));
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(|source| {
        if crate::interrupt::requested() {
            return CloudError::Interrupted;
        }
        CloudError::Image { path: path.to_owned(), source }
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
                if !glance.import_methods()?.iter().any(|m| m == "glance-direct") {
                    return Err(CloudError::Credentials(format!(
                        "cloud `{}` refused the direct upload (HTTP {status}) and offers no glance-direct import",
                        cloud.name
                    )));
                }
                ui.info(&format!("direct upload refused (HTTP {status}); using the image import API"));
                import(glance, opts, id, size, ui)?
            }
            other => other?,
        },
    };
    let seconds = started.elapsed().as_secs_f64();
    if sums.bytes != size {
        return Err(CloudError::Image {
            path: opts.image.clone(),
            source: std::io::Error::other(format!("read {} bytes, expected {size}: the file changed during the upload", sums.bytes)),
        });
    }
    let image = glance.get(id)?;
    verify(&image, &sums, &opts.properties.disk_format)?;
    Ok(Uploaded { id: id.to_owned(), bytes: size, sha512: sums.sha512, seconds, reused: false })
}

/// Statuses of a refused direct upload that the import API may get past:
/// forbidden by policy, method not allowed, or a conflicting image state.
pub(crate) fn falls_back(status: u16) -> bool {
    matches!(status, 403 | 405 | 409)
}

/// Stream the file to `target`, hashing on the way.
fn send(
    glance: &Glance<'_>,
    opts: &UploadOptions,
    id: &str,
    size: u64,
    target: DataTarget,
    ui: &Arc<Ui>,
) -> Result<Sums, CloudError> {
    let file = std::fs::File::open(&opts.image)
        .map_err(|source| CloudError::Image { path: opts.image.clone(), source })?;
    let bar = ui.progress("upload", Some(size));
    let (reader, digests) = HashingReader::new(file, size, bar.clone(), Arc::clone(ui));
    let result = glance.put_data(id, target, Body::sized(reader, size));
    bar.finish_and_clear();
    result?;
    Ok(digests.sums())
}

/// glance-direct import: stage the data, ask for the import, wait for it.
fn import(
    glance: &Glance<'_>,
    opts: &UploadOptions,
    id: &str,
    size: u64,
    ui: &Arc<Ui>,
) -> Result<Sums, CloudError> {
    if !glance.import_methods()?.iter().any(|m| m == "glance-direct") {
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
                return Err(CloudError::NotActive { id: id.into(), status: img.status, detail: String::new() });
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

/// Compare Glance's record with what we sent.
pub(crate) fn verify(image: &Image, sums: &Sums, disk_format: &str) -> Result<(), CloudError> {
    let mismatch = |algo: &str, local: String, remote: String| CloudError::HashMismatch {
        id: image.id.clone(),
        algo: algo.into(),
        local,
        remote,
    };
    if image.status != "active" {
        return Err(CloudError::NotActive {
            id: image.id.clone(),
            status: image.status.clone(),
            detail: String::new(),
        });
    }
    if image.disk_format.as_deref().is_some_and(|f| f != disk_format) {
        // A conversion plugin rewrote the data: its checksums are of other bytes.
        return Ok(());
    }
    if image.size != Some(sums.bytes) {
        let remote = image.size.map_or("unknown".to_owned(), |s| s.to_string());
        return Err(mismatch("size", sums.bytes.to_string(), remote));
    }
    if let Some(md5) = &image.checksum {
        if md5 != &sums.md5 {
            return Err(mismatch("md5", sums.md5.clone(), md5.clone()));
        }
    }
    match (image.os_hash_algo.as_deref(), &image.os_hash_value) {
        (Some("sha512"), Some(v)) if v != &sums.sha512 => {
            Err(mismatch("sha512", sums.sha512.clone(), v.clone()))
        }
        (Some("sha512"), Some(_)) => Ok(()),
        // Other multihash algorithms: md5 and size were checked above.
        (Some(_), Some(_)) => Ok(()),
        _ if image.checksum.is_some() => Ok(()),
        _ => Err(mismatch("sha512", sums.sha512.clone(), "none (Glance recorded no checksum)".into())),
    }
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

    fn image(status: &str, size: u64, md5: &str, sha: &str) -> Image {
        Image {
            id: "i1".into(),
            name: None,
            status: status.into(),
            size: Some(size),
            checksum: Some(md5.into()),
            os_hash_algo: Some("sha512".into()),
            os_hash_value: Some(sha.into()),
            disk_format: Some("qcow2".into()),
            os_glance_failed_import: None,
        }
    }

    fn sums() -> Sums {
        Sums { sha512: "s".into(), md5: "m".into(), bytes: 5 }
    }

    #[test]
    fn verify_accepts_matching_record() {
        verify(&image("active", 5, "m", "s"), &sums(), "qcow2").unwrap();
    }

    #[test]
    fn verify_names_the_mismatch() {
        let cases = [
            (image("active", 6, "m", "s"), "size"),
            (image("active", 5, "x", "s"), "md5"),
            (image("active", 5, "m", "x"), "sha512"),
            (image("queued", 5, "m", "s"), "status `queued`"),
        ];
        for (img, want) in cases {
            let e = verify(&img, &sums(), "qcow2").unwrap_err().to_string();
            assert!(e.contains(want), "{want}: {e}");
        }
    }

    #[test]
    fn fallback_only_for_refusals() {
        assert!(falls_back(403) && falls_back(405) && falls_back(409));
        assert!(!falls_back(400) && !falls_back(401) && !falls_back(500));
    }
}
