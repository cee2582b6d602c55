//! Facts: what the host looks like, gathered for many resources in one remote
//! script (one round trip). Each [`FactQuery`] is a small shell snippet whose
//! output lands in a delimited section; typed parsers live in one file per
//! family and are tested on captured samples.
pub mod files;
pub mod mounts;
pub mod packages;
pub mod paths;
pub mod script;
pub mod system;
pub mod systemd;
pub mod users;

use std::collections::HashMap;

use thiserror::Error;

pub use script::{batch_script, parse_batch};

/// One thing to find out about the host.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FactQuery {
    /// Type, mode, owner, group, sha256 or link target of a path.
    Path(String),
    /// The full content of a file (base64 on the wire).
    Content(String),
    /// Every package dpkg knows, with status and version.
    Dpkg,
    /// Age of the apt package lists.
    AptLists,
    /// `getent passwd` + supplementary groups of a user.
    User(String),
    /// `getent group` of a group.
    Group(String),
    /// Whether systemd runs, and a unit's load/active/enabled state.
    Systemd(String),
    /// Packages in a Python venv (`pip list --format=json`).
    Pip(String),
    /// Global npm packages (`npm ls -g --json`).
    Npm,
    /// Installed R packages.
    RPackages,
    /// `findmnt -J` for a mount point.
    Mount(String),
    /// The live value of a sysctl key.
    Sysctl(String),
    /// The running host name.
    Hostname,
    /// `locale -a`.
    Locales,
    /// Exit status of a user guard (`unless`/`onlyif`), run as `user`.
    Guard {
        /// Shell command.
        command: String,
        /// Run as this user (root if none).
        user: Option<String>,
    },
}

/// What one fact snippet printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactOutput {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit status of the snippet.
    pub rc: i32,
}

/// A fact was not gathered or its output could not be understood.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FactError {
    /// The engine did not gather this fact (a bug in a resource's `facts()`).
    #[error("fact {0:?} was not gathered")]
    Missing(FactQuery),
    /// The host is in a state the resource cannot fix (e.g. a directory where
    /// a file should be, systemd not running).
    #[error("{0}")]
    Conflict(String),
    /// The command printed something we cannot parse, or failed.
    #[error("cannot read {what}: {message}")]
    Parse {
        /// Which fact.
        what: String,
        /// What was wrong (with the stderr tail if the command failed).
        message: String,
    },
}

impl FactError {
    /// A parse error for fact `what`.
    pub fn parse(what: impl Into<String>, message: impl Into<String>) -> Self {
        FactError::Parse {
            what: what.into(),
            message: message.into(),
        }
    }
}

/// Gathered facts, looked up by query.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    map: HashMap<FactQuery, FactOutput>,
}

impl Facts {
    /// Facts from gathered outputs.
    pub fn new(map: HashMap<FactQuery, FactOutput>) -> Self {
        Facts { map }
    }

    /// Add or replace one fact (tests, re-gathering).
    pub fn insert(&mut self, q: FactQuery, out: FactOutput) {
        self.map.insert(q, out);
    }

    /// Merge newer facts over these.
    pub fn extend(&mut self, other: Facts) {
        self.map.extend(other.map);
    }

    /// The raw output of `q`.
    pub fn raw(&self, q: &FactQuery) -> Result<&FactOutput, FactError> {
        self.map.get(q).ok_or_else(|| FactError::Missing(q.clone()))
    }
}

/// The last `n` lines of `text`, for error messages.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// An error for a fact command that failed with `out`.
pub fn failed(what: &str, out: &FactOutput) -> FactError {
    FactError::parse(
        what,
        format!("exit status {}: {}", out.rc, tail(&out.stderr, 5)),
    )
}
