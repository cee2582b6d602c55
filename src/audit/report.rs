//! [`AuditReport`]: the findings of one image, for people (one line per
//! finding) and as JSON (stable field names: `kind`, `path`, `detail`, `size`).
use serde::Serialize;

use super::finding::{Expected, Finding, human_size};

/// What one audit found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditReport {
    /// The image as given.
    pub image: String,
    /// Its container format (`qcow2`, `OVA`, ...).
    pub format: String,
    /// Which partition and filesystem was audited.
    pub filesystem: String,
    /// What must not ship.
    pub findings: Vec<Finding>,
    /// What would be a finding but is there on purpose.
    pub expected: Vec<Expected>,
    /// What the audit could not look at.
    pub notes: Vec<String>,
    /// How long the audit took.
    pub seconds: f64,
}

impl AuditReport {
    /// Whether nothing must be removed before shipping.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// One line per finding (`path: what: detail — why`), then expected
    /// items and notes.
    pub fn finding_lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .findings
            .iter()
            .map(|f| {
                let size = match f.size {
                    Some(s) if !f.detail.contains(&human_size(s)) => {
                        format!(" ({})", human_size(s))
                    }
                    _ => String::new(),
                };
                format!(
                    "{}: {}: {}{size} — {}",
                    f.path,
                    f.kind.label(),
                    f.detail,
                    f.why
                )
            })
            .collect();
        out.extend(self.expected.iter().map(|e| {
            format!(
                "expected {}: {}: {} ({})",
                e.path,
                e.kind.label(),
                e.detail,
                e.reason
            )
        }));
        out.extend(self.notes.iter().map(|n| format!("note: {n}")));
        out
    }

    /// The closing line.
    pub fn summary(&self) -> String {
        let verdict = if self.is_clean() {
            "clean: nothing that must not ship".to_owned()
        } else {
            format!("{} finding(s): must not ship as it is", self.findings.len())
        };
        format!(
            "{} ({}, {}): {verdict}; {} expected; audited in {:.1} s",
            self.image,
            self.format,
            self.filesystem,
            self.expected.len(),
            self.seconds
        )
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::finding::FindingKind;

    #[test]
    fn one_line_per_finding_with_path_what_and_why() {
        let r = AuditReport {
            image: "x.qcow2".into(),
            format: "qcow2".into(),
            filesystem: "partition 1, ext4".into(),
            findings: vec![
                Finding::new(
                    FindingKind::History,
                    "/root/.bash_history",
                    "`.bash_history` from the build",
                    "it records",
                )
                .with_size(2048),
            ],
            expected: vec![Expected::new(
                FindingKind::Nopasswd,
                "/etc/sudoers.d/a",
                "line 2",
                "hub admins",
            )],
            notes: vec![],
            seconds: 1.25,
        };
        assert_eq!(
            r.finding_lines(),
            [
                "/root/.bash_history: history: `.bash_history` from the build (2.0 KiB) — it records",
                "expected /etc/sudoers.d/a: NOPASSWD sudo: line 2 (hub admins)",
            ]
        );
        assert_eq!(
            r.summary(),
            "x.qcow2 (qcow2, partition 1, ext4): 1 finding(s): must not ship as it is; 1 expected; audited in 1.2 s"
        );
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["findings"][0]["kind"], "history");
        assert_eq!(v["findings"][0]["size"], 2048);
    }
}
