//! The installer builder: the Debian installer driven by Packer's
//! `boot_command`, answered by a preseed that Packer's HTTP server serves.
//!
//! [`prepare`] makes everything the Packer run needs: the installer ISO
//! (downloaded once into `<work>/cache/iso/<sha256>.iso`, verified, resumable),
//! the preseed (`<work>/installer/<builder>/http/preseed.cfg`, mode 0600) and
//! the Packer template (`<work>/installer/<builder>/packer.json`).
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::packer_job::PackerJob;
use crate::config::Config;
use crate::context::Context;
use crate::download::{self, DownloadError, Fetched};
use crate::error::Error;
use crate::stage::io_err;
use crate::template::TemplateError;
use crate::template::installer::{InstallerPaths, for_provider, render_installer};

/// Whether an executable file `name` is in one of the `PATH`-style `dirs`.
pub fn on_path(name: &str, dirs: Option<&OsStr>) -> bool {
    dirs.is_some_and(|d| {
        std::env::split_paths(d).any(|dir| {
            std::fs::metadata(dir.join(name))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// A value the config loader accepted but the installer cannot use (exit 2).
fn config_value(key: &str, message: String) -> Error {
    Error::Usage(format!("configuration key `{key}`: {message}"))
}

/// SHA-256 of `text`, hex.
fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Where the verified ISO with checksum `sha256` is cached.
fn iso_cache_path(ctx: &Context, sha256: &str) -> PathBuf {
    download::cache_path(&ctx.work_dir().join("cache").join("iso"), sha256, "iso")
}

/// Download the installer ISO to `iso` unless it is cached there.
fn ensure_iso(ctx: &Context, iso: &Path, sha256: &str) -> Result<(), Error> {
    let cfg = &ctx.config;
    let url = cfg.base.installer.iso_url.as_str();
    download::parse_source(url)
        .map_err(|e| config_value("base.installer.iso_url", e.to_string()))?;
    if iso.is_file() {
        ctx.ui
            .debug(&format!("installer ISO cached at {}", iso.display()));
        return Ok(());
    }
    if ctx.runner.is_dry_run() {
        ctx.ui
            .info(&format!("would download {url} to {}", iso.display()));
        return Ok(());
    }
    let resuming = download::part_path(iso).exists();
    ctx.ui.info(&format!(
        "{} installer ISO {url}",
        if resuming { "resuming" } else { "downloading" }
    ));
    let req = download::Request {
        url,
        sha256,
        dest: iso,
        proxy: cfg
            .proxy
            .http_proxy
            .as_deref()
            .filter(|p| !p.trim().is_empty()),
    };
    let mut pb: Option<indicatif::ProgressBar> = None;
    let mut quarter_shown = 0;
    let result = download::fetch(&req, &mut |done, total| {
        let bar = pb.get_or_insert_with(|| ctx.ui.progress("installer ISO", total));
        bar.set_position(done);
        // without a visible bar (not a terminal, -q, -v) a line per quarter
        if let Some(t) = total.filter(|t| *t > 0 && bar.is_hidden()) {
            let quarter = done * 4 / t;
            if quarter > quarter_shown {
                quarter_shown = quarter;
                ctx.ui
                    .info(&format!("installer ISO: {} of {} MiB", done >> 20, t >> 20));
            }
        }
    });
    if let Some(bar) = pb {
        bar.finish_and_clear();
    }
    match result {
        Ok(Fetched::Downloaded { transferred, .. }) => {
            ctx.ui.info(&format!(
                "installer ISO verified ({} MiB transferred)",
                transferred / (1024 * 1024)
            ));
            Ok(())
        }
        Ok(Fetched::Cached) => Ok(()),
        Err(DownloadError::Interrupted { .. }) => Err(Error::Interrupted),
        Err(e) => Err(Error::Download(e)),
    }
}

/// Packer's output must not exist when it starts; a leftover of an
/// interrupted run (and its box) is removed.
fn remove_leftovers(paths: &InstallerPaths, box_path: &Path) -> Result<(), Error> {
    let out = paths.output_dir();
    if out.exists() {
        std::fs::remove_dir_all(&out).map_err(io_err("removing stale Packer output", &out))?;
    }
    if box_path.exists() {
        std::fs::remove_file(box_path).map_err(io_err("removing stale box", box_path))?;
    }
    Ok(())
}

/// Write `text` to `dest` atomically, readable only by us (it may hold a proxy password).
fn write_private(dest: &Path, text: &str) -> Result<(), Error> {
    crate::artifact::write_atomic_mode(dest, text.as_bytes(), 0o600)
        .map_err(io_err("writing", dest))
}

/// Refuse a rendered template that is not JSON (e.g. a broken user override).
fn check_json(text: &str, origin: &str) -> Result<(), Error> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(|_| ())
        .map_err(|e| {
            Error::Template(TemplateError::Render {
                origin: origin.to_owned(),
                message: format!(
                    "the rendered Packer template is not valid JSON at line {} column {}: {e}",
                    e.line(),
                    e.column()
                ),
            })
        })
}

/// Mask credentials of the proxy URL in all output.
fn register_secrets(ctx: &Context, cfg: &Config) {
    if let Some(p) = cfg.proxy.http_proxy.as_deref()
        && let Some((userinfo, _)) = p.split_once("://").and_then(|(_, r)| r.split_once('@'))
    {
        ctx.ui.add_secret(p);
        if let Some((_, password)) = userinfo.split_once(':') {
            ctx.ui.add_secret(password);
        }
    }
}

/// Make everything the Packer run needs and describe it as a [`PackerJob`].
pub fn prepare(ctx: &Context) -> Result<PackerJob, Error> {
    let cfg = &ctx.config;
    register_secrets(ctx, cfg);
    let sha256 = download::parse_sha256(&cfg.base.installer.iso_sha256)
        .map_err(|e| config_value("base.installer.iso_sha256", e.to_string()))?;
    let platform = ctx.platform()?;
    let (provider, accel) = (platform.provider, platform.accel);
    let packer_type = for_provider::packer_type(provider);
    ctx.ui.step(&format!(
        "Preparing the Debian installer build ({packer_type})"
    ));
    let paths = InstallerPaths {
        iso: iso_cache_path(ctx, &sha256),
        job_dir: ctx.work_dir().join("installer").join(packer_type),
    };
    let templates = ctx.templates();
    let template_name = for_provider::template_name(provider);
    let rendered = render_installer(&templates, cfg, (provider, accel), &paths, &sha256).map_err(
        |e| match e {
            crate::template::installer::RenderError::Vars(v) => Error::Usage(v.to_string()),
            crate::template::installer::RenderError::Template(t) => Error::Template(t),
        },
    )?;
    let origin = templates
        .source(template_name)
        .map(|(_, o)| o.to_string())
        .unwrap_or_else(|_| template_name.to_owned());
    check_json(&rendered.packer_json, &origin)?;
    // config and templates are fine: only now fetch the (large) ISO
    ensure_iso(ctx, &paths.iso, &sha256)?;

    let box_path = paths.box_path(&cfg.name, provider);
    remove_leftovers(&paths, &box_path)?;
    let preseed_path = paths.http_dir().join("preseed.cfg");
    write_private(&preseed_path, &rendered.preseed)?;
    write_private(&paths.template(), &rendered.packer_json)?;
    Ok(PackerJob {
        template: paths.template(),
        work_dir: paths.job_dir.clone(),
        packer_output_dir: paths.output_dir(),
        box_path,
        inputs: vec![
            (
                "packer-template".to_owned(),
                sha256_hex(&rendered.packer_json),
            ),
            ("preseed".to_owned(), sha256_hex(&rendered.preseed)),
            ("installer-iso".to_owned(), sha256),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_lookup_needs_an_executable_file() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("VBoxManage");
        std::fs::write(&f, "").unwrap();
        let path = std::env::join_paths([Path::new("/nonexistent"), d.path()]).unwrap();
        assert!(!on_path("VBoxManage", Some(&path)));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(on_path("VBoxManage", Some(&path)));
        assert!(!on_path("VBoxManage", None));
    }
}
