//! `vmbuild audit IMAGE` (issue 12): inspect a qcow2, VMDK, raw disk, OVA or
//! Vagrant box offline — read-only, no boot — and list what must not ship:
//! authorized keys, usable passwords, NOPASSWD sudo rules, private keys, the
//! build proxy and CA, hub secrets, tokens, S3 credentials, histories and
//! package caches. What the owner declared in `/etc/vmbuild/owner.json` is
//! reported as expected instead.
//!
//! How the image is read ([`session`]): `qemu-storage-daemon` exports the
//! disk (in place, even inside an OVA; a tar.gz box's disk is extracted
//! first) as raw bytes over FUSE, and the root partition is loop-mounted
//! read-only (`ro,noload`) in a private mount namespace of the auditing
//! thread. Nothing is converted or copied, so only the blocks the detectors
//! read are decompressed. The detectors ([`checks`]) read the tree through
//! [`root::ImageRoot`], which resolves every path inside the image.
pub mod checks;
pub mod cli;
pub mod cmds;
pub mod error;
pub mod finding;
pub mod report;
pub mod root;
pub mod session;
pub mod source;
mod sys;

use std::path::Path;
use std::time::Instant;

pub use error::AuditError;
pub use finding::{Expected, Finding, FindingKind};
pub use report::AuditReport;

use crate::process::Runner;
use crate::ui::Ui;

/// How to judge the image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditOptions {
    /// The image is a Vagrant box: Vagrant's conventions (its insecure key
    /// for `vagrant`, which `vagrant up` replaces at first boot, and
    /// `vagrant`'s NOPASSWD rule) are expected, not findings.
    pub vagrant_box: bool,
}

/// Audit `image` (read-only; the file is never modified). Findings are in
/// the report; an error means the audit itself could not be done.
pub fn audit_image(
    runner: &dyn Runner,
    ui: &Ui,
    image: &Path,
    opts: &AuditOptions,
) -> Result<AuditReport, AuditError> {
    let started = Instant::now();
    let source = source::identify(image)?;
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(AuditError::NeedsRoot);
    }
    ui.step(&format!(
        "Auditing `{}` ({})",
        image.display(),
        source.format
    ));
    // here, not in the namespace: see Workdir::create
    let workdir = session::Workdir::create(ui)?;
    let (found, filesystem) = std::thread::scope(|s| {
        s.spawn(|| -> Result<_, AuditError> {
            sys::enter_private_mount_namespace()
                .map_err(|e| AuditError::io("entering a private mount namespace", "/", e))?;
            let session = session::Session::open(runner, ui, &source, workdir)?;
            ui.info(&format!("reading {} read-only", session.describe));
            let root = root::ImageRoot::open(&session.root)?;
            let found = checks::run_all(&root, ui, opts)?;
            Ok((found, session.describe.clone()))
        })
        .join()
        .unwrap_or(Err(AuditError::Panicked))
    })?;
    Ok(AuditReport {
        image: image.display().to_string(),
        format: source.format.to_string(),
        filesystem,
        findings: found.findings,
        expected: found.expected,
        notes: found.notes,
        seconds: started.elapsed().as_secs_f64(),
    })
}
