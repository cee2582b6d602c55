//! `vmbuild audit IMAGE`: output and exit codes (the arguments are parsed in
//! `crate::cli` into an [`AuditRequest`]).
use std::sync::Arc;

use super::{AuditError, AuditOptions, audit_image};
use crate::error::Error;
use crate::process::SystemRunner;
use crate::request::AuditRequest;
use crate::ui::Ui;

/// Run the audit; findings make it fail with exit code 1.
pub fn run(req: &AuditRequest, ui: &Arc<Ui>) -> Result<(), Error> {
    // the audit changes nothing, so --dry-run does not apply to it
    let runner = SystemRunner::new(Arc::clone(ui), false);
    let opts = AuditOptions {
        vagrant_box: req.vagrant_box,
    };
    let report = audit_image(&runner, ui, &req.image, &opts)?;
    if let Some(path) = &req.report {
        crate::artifact::write_atomic(path, report.to_json().as_bytes()).map_err(|source| {
            AuditError::Report {
                path: path.display().to_string(),
                source,
            }
        })?;
    }
    if req.json {
        println!("{}", report.to_json());
        eprintln!("{}", report.summary());
    } else {
        for line in report.finding_lines() {
            println!("{line}");
        }
        println!("{}", report.summary());
    }
    if report.is_clean() {
        Ok(())
    } else {
        Err(AuditError::Findings {
            image: report.image.clone(),
            count: report.findings.len(),
        }
        .into())
    }
}
