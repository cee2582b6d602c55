//! Errors from running external programs.
use thiserror::Error;

use super::{Cmd, Output};

/// How many trailing stderr lines an error keeps.
pub(super) const STDERR_TAIL_LINES: usize = 20;

/// An external program could not be run or failed.
#[derive(Debug, Error)]
pub enum ProcessError {
    /// The program could not be started (not installed, not executable).
    #[error("could not run `{program}`: {source}{hint}")]
    Spawn {
        /// The program name.
        program: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
        /// A hint on how to install it, or empty.
        hint: String,
    },
    /// The program exited non-zero or was killed.
    #[error("`{command}` failed ({status}){}", tail_block(.stderr_tail))]
    Failed {
        /// The command line, quoted.
        command: String,
        /// "exit code 3" or "killed by signal".
        status: String,
        /// The last lines of its standard error.
        stderr_tail: String,
    },
    /// We stopped it because the user interrupted us.
    #[error("`{command}` was interrupted and stopped")]
    Interrupted {
        /// The command line, quoted.
        command: String,
    },
    /// I/O with the child failed.
    #[error("i/o with `{command}`: {source}")]
    Io {
        /// The command line, quoted.
        command: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

fn tail_block(tail: &str) -> String {
    if tail.trim().is_empty() {
        String::new()
    } else {
        format!("\n--- last lines of its output ---\n{}", tail.trim_end())
    }
}

/// The last `n` lines of `text`.
pub(super) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl ProcessError {
    /// The error for `cmd` having produced the unsuccessful `out`.
    pub fn failed(cmd: &Cmd, out: &Output) -> Self {
        let status = match out.code {
            Some(c) => format!("exit code {c}"),
            None => "killed by a signal".to_owned(),
        };
        ProcessError::Failed {
            command: cmd.to_string(),
            status,
            stderr_tail: last_lines(&String::from_utf8_lossy(&out.stderr), STDERR_TAIL_LINES),
        }
    }

    /// Whether this failure was caused by the user interrupting us.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, ProcessError::Interrupted { .. })
    }
}

/// The Debian package providing `program`, for "not installed" hints.
pub(super) fn install_hint(program: &str) -> String {
    let pkg = match program {
        "packer" => "packer",
        "vagrant" => "vagrant",
        "qemu-img" => "qemu-utils",
        "qemu-system-x86_64" => "qemu-system-x86",
        "debootstrap" => "debootstrap",
        "sfdisk" => "fdisk",
        "mkfs.ext4" | "e2fsck" => "e2fsprogs",
        "xorriso" => "xorriso",
        "debconf-set-selections" => "debconf",
        _ => return String::new(),
    };
    format!(" (is it installed? `scripts/setup.sh` installs it, or `apt-get install {pkg}`)")
}
