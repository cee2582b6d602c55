//! Packer: argv builders and the `-machine-readable` parser.
//!
//! Machine-readable lines are `timestamp,target,type,data...`; commas inside a
//! field are written as `%!(PACKER_COMMA)` and newlines as a literal `\n`.
use std::path::Path;

use crate::process::Cmd;

/// Seconds Packer gets after SIGINT to stop its VM and delete its output
/// directory before we escalate (qemu under TCG can take a while to die).
pub const INTERRUPT_GRACE_SECS: u64 = 90;

/// `packer build -machine-readable` of `template`, run in `work_dir`.
pub fn build(template: &Path, work_dir: &Path) -> Cmd {
    Cmd::new("packer")
        .args([
            "build",
            "-machine-readable",
            "-color=false",
            "-on-error=cleanup",
        ])
        .arg(template)
        .current_dir(work_dir)
        .env("CHECKPOINT_DISABLE", "1")
        .interrupt_grace(INTERRUPT_GRACE_SECS)
}

/// `packer validate` of `template`, run in `work_dir`.
pub fn validate(template: &Path, work_dir: &Path) -> Cmd {
    Cmd::new("packer")
        .arg("validate")
        .arg(template)
        .current_dir(work_dir)
        .env("CHECKPOINT_DISABLE", "1")
}

/// `packer version` (for the manifest).
pub fn version() -> Cmd {
    Cmd::new("packer")
        .arg("version")
        .env("CHECKPOINT_DISABLE", "1")
}

/// The version number from `packer version` output (`Packer v1.6.6` → `1.6.6`).
pub fn parse_version(out: &str) -> Option<String> {
    let first = out.lines().next()?.trim();
    let v = first.strip_prefix("Packer v")?;
    Some(v.split_whitespace().next()?.to_owned())
}

/// One machine-readable line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackerLine {
    /// Unix time the line was written.
    pub timestamp: u64,
    /// The build it concerns (`qemu`), empty for global lines.
    pub target: String,
    /// What it says.
    pub event: PackerEvent,
}

/// What a machine-readable line reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackerEvent {
    /// A phase heading (`==> qemu: Waiting for SSH to become available...`).
    Say(String),
    /// Ordinary output, e.g. a provisioner's (`    qemu: ...`).
    Message(String),
    /// An error message.
    Error(String),
    /// How many artifacts a build produced.
    ArtifactCount(u32),
    /// One fact about an artifact (`file`, `id`, `builder-id`, `end`, ...).
    Artifact {
        /// Index of the artifact within the build.
        index: u32,
        /// Which fact.
        key: String,
        /// Its values.
        values: Vec<String>,
    },
    /// How many builds errored.
    ErrorCount(u32),
    /// Any other line type, kept verbatim.
    Other {
        /// The type field.
        kind: String,
        /// The data fields, unescaped.
        data: Vec<String>,
    },
}

/// Undo Packer's escaping of one field.
pub fn unescape(field: &str) -> String {
    field
        .replace("%!(PACKER_COMMA)", ",")
        .replace("\\n", "\n")
        .replace("\\r", "\r")
}

/// Parse one line; `None` if it is not a machine-readable line (Packer
/// prints some plain text on stdout/stderr, e.g. plugin crash output).
pub fn parse_line(line: &str) -> Option<PackerLine> {
    let mut fields = line.trim_end_matches(['\r', '\n']).split(',');
    let timestamp = fields.next()?.parse().ok()?;
    let target = unescape(fields.next()?);
    let kind = fields.next()?.to_owned();
    let data: Vec<String> = fields.map(unescape).collect();
    let num = |s: Option<&String>| s.and_then(|s| s.parse().ok());
    let event = match (kind.as_str(), data.first().map(String::as_str)) {
        ("ui", Some("say")) => PackerEvent::Say(data[1..].join(",")),
        ("ui", Some("message")) => PackerEvent::Message(data[1..].join(",")),
        ("ui", Some("error")) => PackerEvent::Error(data[1..].join(",")),
        ("artifact-count", _) => match num(data.first()) {
            Some(n) => PackerEvent::ArtifactCount(n),
            None => PackerEvent::Other { kind, data },
        },
        ("error-count", _) => match num(data.first()) {
            Some(n) => PackerEvent::ErrorCount(n),
            None => PackerEvent::Other { kind, data },
        },
        ("artifact", _) if data.len() >= 2 => match num(data.first()) {
            Some(index) => PackerEvent::Artifact {
                index,
                key: data[1].clone(),
                values: data[2..].to_vec(),
            },
            None => PackerEvent::Other { kind, data },
        },
        _ => PackerEvent::Other { kind, data },
    };
    Some(PackerLine {
        timestamp,
        target,
        event,
    })
}

/// The phase text of a `Say` heading: `==> qemu: Starting VM` → `Starting VM`,
/// `==> qemu (vagrant): Creating box` → `Creating box`. Other says
/// (warnings, summaries) are returned trimmed.
pub fn phase_text(say: &str) -> String {
    let s = say.trim();
    let Some(rest) = s.strip_prefix("==> ").or_else(|| s.strip_prefix("--> ")) else {
        return s.to_owned();
    };
    let is_name =
        |t: &str| !t.is_empty() && t.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c));
    match rest.split_once(": ") {
        Some((prefix, text)) => {
            let (build, pp) = match prefix.split_once(" (") {
                Some((b, p)) => (b, p.strip_suffix(')').unwrap_or("")),
                None => (prefix, "x"),
            };
            if is_name(build) && is_name(pp) {
                text.trim().to_owned()
            } else {
                rest.to_owned()
            }
        }
        None => rest.to_owned(),
    }
}

/// The files of the artifacts reported in `lines` (e.g. the `.box`).
pub fn artifact_files(lines: &[PackerLine]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| match &l.event {
            // `artifact,<n>,file,<file index>,<path>`
            PackerEvent::Artifact { key, values, .. } if key == "file" => values.last().cloned(),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
