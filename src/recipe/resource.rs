//! The resource model: `facts` says what to look at, `check` (pure) turns
//! facts into a [`Plan`], and a plan's changes carry their [`Action`]s as data.
//! Only the engine executes actions.
use std::fmt::Debug;

use super::facts::{FactError, FactQuery, Facts};
use crate::remote::RemoteCommand;

/// Options that change what `check` gathers or reports.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckOptions {
    /// Produce file diffs (needs file contents as facts).
    pub diff: bool,
}

/// One step that changes the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run a command as root; a non-zero exit fails the resource.
    Exec(RemoteCommand),
    /// Write a file atomically (temp file in the same directory, then rename),
    /// with mode and optional owner/group set before the rename.
    Put {
        /// Destination.
        path: String,
        /// Bytes.
        content: Vec<u8>,
        /// Permission bits.
        mode: u32,
        /// Owner (unchanged: root).
        owner: Option<String>,
        /// Group (unchanged: root).
        group: Option<String>,
    },
    /// `apt-get install` these; merged with other apt resources' installs.
    AptInstall {
        /// Package names (optionally `name=version`).
        packages: Vec<String>,
        /// Refresh the package lists first (they are missing or stale).
        update: bool,
        /// Install recommended packages too.
        recommends: bool,
    },
    /// `apt-get remove` these.
    AptRemove(Vec<String>),
    /// The package lists must be refreshed before the next install (a
    /// repository changed).
    AptListsStale,
    /// `pip install` into a venv (created if missing); merged per venv.
    PipInstall {
        /// The venv directory.
        venv: String,
        /// Interpreter used to create the venv.
        python: String,
        /// Requirement strings.
        packages: Vec<String>,
    },
}

/// One thing that differs, why, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What differs, for the user ("mode 0600 → 0644").
    pub what: String,
    /// Steps that make it right.
    pub actions: Vec<Action>,
    /// A unified diff for `--diff` (file contents).
    pub diff: Option<String>,
}

impl Change {
    /// A change fixed by `actions`.
    pub fn new(what: impl Into<String>, actions: Vec<Action>) -> Self {
        Change {
            what: what.into(),
            actions,
            diff: None,
        }
    }

    /// A change fixed by one command.
    pub fn exec(what: impl Into<String>, cmd: RemoteCommand) -> Self {
        Change::new(what, vec![Action::Exec(cmd)])
    }
}

/// The result of `check`: nothing to do (with the reason), or changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Why the resource is already right (used when `changes` is empty).
    pub ok_reason: String,
    /// What must change.
    pub changes: Vec<Change>,
}

impl Plan {
    /// Nothing to do, because `reason`.
    pub fn ok(reason: impl Into<String>) -> Self {
        Plan {
            ok_reason: reason.into(),
            changes: Vec::new(),
        }
    }

    /// `changes`, or ok with `reason` if there are none.
    pub fn from_changes(changes: Vec<Change>, reason: impl Into<String>) -> Self {
        Plan {
            ok_reason: reason.into(),
            changes,
        }
    }

    /// Whether nothing needs doing.
    pub fn is_ok(&self) -> bool {
        self.changes.is_empty()
    }

    /// Every action, in order.
    pub fn actions(&self) -> Vec<Action> {
        self.changes
            .iter()
            .flat_map(|c| c.actions.iter().cloned())
            .collect()
    }

    /// The changes as one line ("a; b").
    pub fn summary(&self) -> String {
        self.changes
            .iter()
            .map(|c| c.what.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A kind of thing on the host that a recipe declares.
pub trait Resource: Send + Sync + Debug {
    /// The facts `check` needs.
    fn facts(&self, opts: CheckOptions) -> Vec<FactQuery>;

    /// Compare facts with the desired state. Pure: reads only `facts`.
    fn check(&self, facts: &Facts, opts: CheckOptions) -> Result<Plan, FactError>;

    /// Whether re-checking after apply must find nothing to do (false for
    /// commands, whose effect we cannot observe).
    fn converges(&self) -> bool {
        true
    }

    /// The transaction this resource's installs can share with neighbouring
    /// installs of the same kind (`"apt"`, `"pip /venv"`), if any.
    fn transaction(&self) -> Option<String> {
        None
    }
}
