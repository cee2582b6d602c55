//! What a run did: one [`Outcome`] per resource (each with its reason), a
//! recap like Ansible's, and a JSON report.
use serde::Serialize;

/// The result for one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Already as declared.
    Ok,
    /// Changed (or, with `--check`, would change).
    Changed,
    /// Failed.
    Failed,
    /// Not run (`when`, tags, an earlier failure).
    Skipped,
}

impl Status {
    /// The word printed in the status column.
    pub fn word(self, check: bool) -> &'static str {
        match (self, check) {
            (Status::Ok, _) => "ok",
            (Status::Changed, false) => "changed",
            (Status::Changed, true) => "would change",
            (Status::Failed, _) => "failed",
            (Status::Skipped, _) => "skipped",
        }
    }
}

/// A failed command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandFailure {
    /// The command line (secrets masked when shown).
    pub command: String,
    /// Exit status.
    pub status: u32,
    /// Last lines of its stderr (and stdout if stderr was empty).
    pub stderr_tail: String,
}

/// One resource's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// `type[name]`.
    pub label: String,
    /// Where it is declared.
    pub location: String,
    /// Result.
    pub status: Status,
    /// Why: the ok reason, the changes, the skip or failure reason.
    pub reason: String,
    /// Individual changes (made or, with `--check`, planned).
    pub changes: Vec<String>,
    /// File diffs (with `--diff`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<String>,
    /// The failed command, if a command failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<CommandFailure>,
}

/// The whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// `user@host:port`.
    pub host: String,
    /// `--check` run.
    pub check_mode: bool,
    /// Resources, in order.
    pub resources: Vec<Outcome>,
    /// Handlers that were notified.
    pub handlers: Vec<Outcome>,
    /// Remote commands run (fact batches included).
    pub round_trips: u32,
    /// Wall time in milliseconds.
    pub elapsed_ms: u128,
    /// The user stopped the run (Ctrl-C) before every resource ran.
    pub interrupted: bool,
}

/// Counts per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// ok.
    pub ok: usize,
    /// changed.
    pub changed: usize,
    /// failed.
    pub failed: usize,
    /// skipped.
    pub skipped: usize,
}

impl Report {
    /// Counts over resources and handlers.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for o in self.resources.iter().chain(&self.handlers) {
            match o.status {
                Status::Ok => c.ok += 1,
                Status::Changed => c.changed += 1,
                Status::Failed => c.failed += 1,
                Status::Skipped => c.skipped += 1,
            }
        }
        c
    }

    /// Whether anything failed.
    pub fn failed(&self) -> bool {
        self.counts().failed > 0
    }

    /// The recap lines printed at the end.
    pub fn recap(&self) -> Vec<String> {
        let c = self.counts();
        let mut lines = vec![format!(
            "{} : ok={} changed={} failed={} skipped={}  ({} round trips, {:.2} s)",
            self.host,
            c.ok,
            c.changed,
            c.failed,
            c.skipped,
            self.round_trips,
            self.elapsed_ms as f64 / 1000.0
        )];
        let failed: Vec<&Outcome> = self.all().filter(|o| o.status == Status::Failed).collect();
        for o in &failed {
            lines.push(format!("  failed: {} ({})", o.label, o.location));
        }
        let not_done: Vec<&Outcome> = self
            .all()
            .filter(|o| o.status == Status::Skipped && o.reason.starts_with(NOT_RUN))
            .collect();
        if !not_done.is_empty() {
            lines.push(format!("  not done ({}):", not_done.len()));
            for o in not_done {
                lines.push(format!("    {}", o.label));
            }
        }
        if self.check_mode {
            lines.push("  (check mode: nothing was changed)".into());
        }
        if self.interrupted {
            lines.push(
                "  (stopped by the user: resources after the one running were not run)".into(),
            );
        }
        lines
    }

    fn all(&self) -> impl Iterator<Item = &Outcome> {
        self.resources.iter().chain(&self.handlers)
    }

    /// The JSON report, with `mask` applied to every string before it is
    /// escaped (a secret holding `"` or `\\` would escape a mask applied to
    /// the JSON text), and once more to the text.
    pub fn to_json(&self, mask: &dyn Fn(&str) -> String) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        crate::mask::mask_strings(&mut v, mask);
        mask(&serde_json::to_string_pretty(&v).unwrap_or_default())
    }
}

/// Reason prefix of resources skipped because the run stopped early.
pub const NOT_RUN: &str = "not run";

/// The line printed for one outcome.
pub fn line(o: &Outcome, check: bool) -> String {
    format!("{:<12} {}  {}", o.status.word(check), o.label, o.reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(label: &str, status: Status, reason: &str) -> Outcome {
        Outcome {
            label: label.into(),
            location: "r.toml:1:1".into(),
            status,
            reason: reason.into(),
            changes: vec![],
            diffs: vec![],
            failure: None,
        }
    }

    #[test]
    fn recap_counts_and_lists_what_was_not_done() {
        let r = Report {
            host: "root@h:22".into(),
            resources: vec![
                o("file[a]", Status::Ok, "fine"),
                o("command[b]", Status::Failed, "exit 1"),
                o(
                    "file[c]",
                    Status::Skipped,
                    "not run: stopped after `command[b]` failed",
                ),
            ],
            round_trips: 3,
            elapsed_ms: 1500,
            ..Default::default()
        };
        let recap = r.recap();
        assert_eq!(
            recap[0],
            "root@h:22 : ok=1 changed=0 failed=1 skipped=1  (3 round trips, 1.50 s)"
        );
        assert_eq!(recap[1], "  failed: command[b] (r.toml:1:1)");
        assert_eq!(recap[3], "    file[c]");
        assert!(
            r.to_json(&|s| s.replace("fine", "****"))
                .contains("\"reason\": \"****\"")
        );
        assert_eq!(line(&r.resources[0], false), "ok           file[a]  fine");
    }
}
