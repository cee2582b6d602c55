//! What the engine tells about long-running work while it runs.
use std::time::Duration;

/// What a long-running resource is doing, for progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A resource starts applying; `with` are the resources whose installs
    /// joined its transaction (they run now, with it).
    Started {
        /// `type[name]`.
        label: String,
        /// Labels of the members of its transaction.
        with: Vec<String>,
    },
    /// A command of the resource is still running (sent about once a
    /// second).
    Running {
        /// `type[name]`.
        label: String,
        /// Since the command started.
        elapsed: Duration,
        /// The latest thing its output says it works on ("Unpacking nginx").
        doing: Option<String>,
    },
}

/// The callback receiving [`Progress`].
pub type OnProgress<'a> = &'a mut (dyn FnMut(&Progress) + Send);
