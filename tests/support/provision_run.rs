//! Running the real `vmbuild provision` binary against a test host and
//! reading its JSON report (shared by the recipe end-to-end suites). Each
//! run is recorded as the step of the deadline armed on the test's thread
//! (tests/support/gate.rs), so a hang names the run it hung in.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use super::gate;
use super::testhost::TestHost;

/// One `vmbuild provision` run.
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// What it printed (its progress lines go to stderr).
    pub stderr: String,
    /// The `--report` JSON.
    pub report: serde_json::Value,
}

impl Run {
    fn all(&self) -> Vec<serde_json::Value> {
        let list = |k: &str| self.report[k].as_array().cloned().unwrap_or_default();
        list("resources")
            .into_iter()
            .chain(list("handlers"))
            .collect()
    }

    /// How many resources and handlers ended with `status`.
    pub fn count(&self, status: &str) -> usize {
        self.all().iter().filter(|o| o["status"] == status).count()
    }

    /// The outcome labelled `label` (`type[name]`).
    pub fn outcome(&self, label: &str) -> serde_json::Value {
        self.all()
            .into_iter()
            .find(|o| o["label"] == label)
            .unwrap_or_else(|| panic!("no outcome {label} in {:#}", self.report))
    }
}

/// `vmbuild provision` as `user` on `host` with `recipes` and `extra` flags,
/// from a fresh directory (its own known_hosts and report).
pub fn provision_as(user: &str, host: &TestHost, recipes: &[&Path], extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let names: Vec<String> = recipes
        .iter()
        .map(|r| {
            r.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    gate::step(&format!(
        "vmbuild provision --host {user}@{}:{} {} {}",
        host.addr,
        host.port,
        extra.join(" "),
        names.join(" ")
    ));
    let out = Command::new(env!("CARGO_BIN_EXE_vmbuild"))
        .arg("provision")
        .arg("--host")
        .arg(format!("{user}@{}:{}", host.addr, host.port))
        .arg("--key")
        .arg(&host.key_path)
        .arg("--known-hosts")
        .arg(dir.path().join("known_hosts"))
        .arg("--report")
        .arg(&report)
        .args(extra)
        .args(recipes)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = std::fs::read_to_string(&report)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or_else(|_| panic!("no report; stderr:\n{stderr}"));
    eprintln!("{stderr}");
    Run {
        code: out.status.code().unwrap_or(-1),
        stderr,
        report,
    }
}
