//! `vmbuild upload`: upload a qcow2 to Glance. Prints the image id on stdout.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::options::UploadOptions;
use super::upload::upload_image;
use crate::error::Error;
use crate::request::{Global, UploadRequest};
use crate::ui::Ui;

/// Upload an image to Glance.
pub fn upload(u: &UploadRequest, global: &Global, ui: &Arc<Ui>) -> Result<(), Error> {
    let config = crate::config::resolve(global)?;
    let image = match &u.image {
        Some(p) => p.clone(),
        None => {
            let dir = Path::new(&config.build.output_dir);
            newest_qcow2(dir)?.ok_or_else(|| {
                Error::Usage(format!(
                    "no image given and no .qcow2 in `{}`: run `vmbuild -e` first or name the file",
                    dir.display()
                ))
            })?
        }
    };
    if !image.is_file() {
        return Err(Error::Usage(format!(
            "image `{}` does not exist",
            image.display()
        )));
    }
    let opts = UploadOptions::from_config(&config, u.cloud.clone(), &image, u.name.clone())?;
    if global.dry_run {
        ui.step(&format!(
            "Would upload {} to cloud `{}` as `{}` ({:?}, {})",
            image.display(),
            opts.cloud.as_deref().unwrap_or("from OS_* variables"),
            opts.name,
            opts.method,
            opts.properties.create_body(&opts.name)
        ));
        return Ok(());
    }
    let done = upload_image(&opts, ui)?;
    println!("{}", done.id);
    Ok(())
}

/// The most recently modified `*.qcow2` in `dir` (none if `dir` is missing).
fn newest_qcow2(dir: &Path) -> Result<Option<PathBuf>, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::Usage(format!(
                "cannot list `{}`: {e}",
                dir.display()
            )));
        }
    };
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in entries {
        let entry =
            entry.map_err(|e| Error::Usage(format!("cannot list `{}`: {e}", dir.display())))?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "qcow2") {
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .map_err(|e| Error::Usage(format!("cannot stat `{}`: {e}", path.display())))?;
            if best.as_ref().is_none_or(|(t, _)| modified > *t) {
                best = Some((modified, path));
            }
        }
    }
    Ok(best.map(|(_, p)| p))
}
