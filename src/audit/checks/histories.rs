//! Shell and tool histories in every home: they record what was typed
//! during the build (commands, sometimes passwords and tokens).
use super::Context;
use crate::audit::error::AuditError;
use crate::audit::finding::{Finding, FindingKind, Findings};
use crate::audit::root::{Kind, join};

/// History files, relative to a home.
pub const HISTORIES: [&str; 17] = [
    ".bash_history",
    ".zsh_history",
    ".sh_history",
    ".ash_history",
    ".history",
    ".python_history",
    ".lesshst",
    ".viminfo",
    ".mysql_history",
    ".psql_history",
    ".sqlite_history",
    ".node_repl_history",
    ".Rhistory",
    ".wget-hsts",
    ".local/share/nano/search_history",
    ".ipython/profile_default/history.sqlite",
    ".local/share/jupyter/runtime/history.sqlite",
];

/// The history detector (empty files are harmless and left out).
pub fn check(ctx: &Context<'_>, out: &mut Findings) -> Result<(), AuditError> {
    for home in ctx.homes() {
        for rel in HISTORIES {
            let path = join(&home, rel);
            if let Some(m) = ctx.root.stat(&path)?
                && m.kind == Kind::File
                && m.size > 0
            {
                out.add(
                    Finding::new(
                        FindingKind::History,
                        &path,
                        format!("`{rel}` from the build"),
                        "it records what was typed while building (commands, sometimes secrets)",
                    )
                    .with_size(m.size),
                );
            }
        }
    }
    Ok(())
}
