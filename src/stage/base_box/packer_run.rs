//! Running `packer build` for a [`PackerJob`], whichever builder made it:
//! a clean start, phases from the machine-readable output, and no partial
//! artifact left behind when it fails or is interrupted.
use std::path::Path;

use crate::context::Context;
use crate::error::Error;
use crate::stage::StageError;
use crate::stage::debootstrap::progress::PhaseDisplay;
use crate::stage::packer_job::PackerJob;
use crate::tool::packer::{self, PackerEvent};

/// How many of Packer's error lines a failure report quotes.
const ERROR_TAIL: usize = 15;

/// Run Packer for `job`; on success the box is at `job.box_path`.
pub(crate) fn run(ctx: &Context, job: &PackerJob) -> Result<(), Error> {
    remove_leftovers(job)?;
    ctx.ui.step("Running Packer");
    ctx.ui
        .info(&format!("template: {}", job.template.display()));
    let mut display = PhaseDisplay::new(&ctx.ui, "packer");
    let mut errors: Vec<String> = Vec::new();
    let result = ctx.runner.stream(
        &packer::build(&job.template, &job.work_dir),
        &mut |_, line| {
            let Some(parsed) = packer::parse_line(line) else {
                display.detail(line);
                return;
            };
            match parsed.event {
                PackerEvent::Say(s)
                    if s.trim_start().starts_with("==>") || s.trim_start().starts_with("-->") =>
                {
                    display.phase(&packer::phase_text(&s));
                }
                PackerEvent::Say(s) | PackerEvent::Message(s) => display.detail(&s),
                PackerEvent::Error(e) => {
                    display.detail(&e);
                    errors.push(e);
                    if errors.len() > 200 {
                        errors.drain(..100);
                    }
                }
                _ => {}
            }
        },
    );
    display.finish();
    match result {
        Ok(_) => Ok(()),
        Err(e) => {
            // Packer removes its output on cancel; make sure, and drop a partial box
            let _ = remove_leftovers(job);
            if e.is_interrupted() {
                return Err(e.into());
            }
            let tail: Vec<String> = errors
                .iter()
                .rev()
                .take(ERROR_TAIL)
                .rev()
                .map(|l| ctx.ui.mask(l))
                .collect();
            Err(StageError::Unexpected(format!(
                "{e}\n--- packer's last error lines (full log with -l) ---\n{}",
                tail.join("\n")
            ))
            .into())
        }
    }
}

/// Packer refuses to start over an existing output directory; a previous run
/// killed hard may have left one, and maybe a partial box.
fn remove_leftovers(job: &PackerJob) -> Result<(), Error> {
    remove_path(&job.packer_output_dir)?;
    remove_path(&job.box_path)
}

fn remove_path(p: &Path) -> Result<(), Error> {
    let r = if p.is_dir() {
        std::fs::remove_dir_all(p)
    } else {
        std::fs::remove_file(p)
    };
    match r {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StageError::Io {
            what: "removing",
            path: p.display().to_string(),
            source: e,
        }
        .into()),
        _ => Ok(()),
    }
}
