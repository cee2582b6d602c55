//! The base box `-p` leaves in `builds/`, as the providers of `-u` use it.
use std::path::{Path, PathBuf};

use crate::context::Context;
use crate::error::Error;
use crate::platform::Provider;
use crate::stage::StageError;

/// The base box for `provider`: `builds/<name>-<box provider>.box` (the qemu
/// provider runs the libvirt box; see [`crate::stage::base_box::box_destination`]).
pub fn file(ctx: &Context, provider: Provider) -> Result<PathBuf, Error> {
    let file = path(ctx, provider);
    if file.is_file() || ctx.runner.is_dry_run() {
        return Ok(file);
    }
    Err(StageError::Precondition(format!(
        "no base box `{}` for the {} provider: build it first with `vmbuild -p`",
        file.display(),
        provider.as_str()
    ))
    .into())
}

/// Where the base box for `provider` is (whether or not it exists).
pub fn path(ctx: &Context, provider: Provider) -> PathBuf {
    ctx.output_dir().join(format!(
        "{}-{}.box",
        ctx.config.name,
        provider.box_provider()
    ))
}

/// What identifies one build of the box file (cheap: no hashing of a GB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoxStamp(String);

impl BoxStamp {
    /// The stamp of `file`: absolute path, size and modification time.
    pub fn of(file: &Path) -> Result<BoxStamp, Error> {
        let io = |source| StageError::Io {
            what: "reading the base box",
            path: file.display().to_string(),
            source,
        };
        let path = std::path::absolute(file).map_err(io)?;
        let (size, mtime) = match std::fs::metadata(&path) {
            Ok(m) => (m.len(), m.modified().map_err(io)?),
            // --dry-run without a box: nothing will be read anyway
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, std::time::UNIX_EPOCH),
            Err(e) => return Err(io(e).into()),
        };
        let nanos = mtime
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Ok(BoxStamp(format!("{}\n{size}\n{nanos}\n", path.display())))
    }

    /// The stamp's text (what to store and compare).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The box file.
    pub fn path(&self) -> &Path {
        Path::new(self.0.lines().next().unwrap_or_default())
    }
}
