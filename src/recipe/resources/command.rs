//! `command` and `script`: run something, guarded by `creates`, `removes`,
//! `unless` or `onlyif` so that a re-run does nothing.
use super::super::RecipeError;
use super::super::facts::files::PathKind;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Change, CheckOptions, Plan, Resource};
use crate::remote::RemoteCommand;

/// A guarded command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// What runs.
    pub cmd: RemoteCommand,
    /// How it is shown.
    pub display: String,
    /// Skip if this path exists.
    pub creates: Option<String>,
    /// Skip unless this path exists.
    pub removes: Option<String>,
    /// Skip if this shell command succeeds.
    pub unless: Option<String>,
    /// Skip unless this shell command succeeds.
    pub onlyif: Option<String>,
    /// Run as this user.
    pub user: Option<String>,
}

impl Command {
    /// From a `command` (`command` shell line or `argv`) or `script`
    /// (`script` text run by `interpreter`, default `/bin/sh`) table.
    pub fn from_fields(f: &mut Fields<'_>, script: bool) -> Result<Self, RecipeError> {
        let (mut cmd, display) = if script {
            let text = f.str("script")?;
            let interp = f
                .opt_str("interpreter")?
                .unwrap_or_else(|| "/bin/sh".into());
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_owned();
            (
                RemoteCommand::new(&interp).arg("-c").arg(text),
                format!("{interp} script: {first} …"),
            )
        } else {
            match (f.opt_str("command")?, f.str_list("argv")?) {
                (Some(c), a) if a.is_empty() => (RemoteCommand::shell(&c), c),
                (None, a) if !a.is_empty() => {
                    let shown = crate::remote::escape::join(&a);
                    (
                        RemoteCommand::new(&a[0]).args(a[1..].iter().cloned()),
                        shown,
                    )
                }
                _ => return Err(f.error(
                    "a `command` needs exactly one of `command` (a shell line) and `argv` (a list)",
                )),
            }
        };
        if let Some(dir) = f.opt_str("cwd")? {
            cmd = cmd.current_dir(dir);
        }
        // Secrets (a password to hash) go in on stdin, never on a command line.
        if let Some(input) = f.opt_str("stdin")? {
            cmd = cmd.stdin(input.into_bytes());
        }
        let user = f.opt_str("user")?;
        if let Some(u) = &user {
            cmd = cmd.sudo_user(u.clone());
        }
        Ok(Command {
            cmd,
            display,
            creates: f.opt_str("creates")?,
            removes: f.opt_str("removes")?,
            unless: f.opt_str("unless")?,
            onlyif: f.opt_str("onlyif")?,
            user,
        })
    }

    fn guard(&self, c: &str) -> FactQuery {
        FactQuery::Guard {
            command: c.to_owned(),
            user: self.user.clone(),
        }
    }
}

impl Resource for Command {
    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        let mut q = Vec::new();
        q.extend(
            self.creates
                .iter()
                .chain(&self.removes)
                .map(|p| FactQuery::Path(p.clone())),
        );
        q.extend(
            self.unless
                .iter()
                .chain(&self.onlyif)
                .map(|c| self.guard(c)),
        );
        q
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        if let Some(p) = &self.creates
            && facts.path(p)?.kind != PathKind::Absent
        {
            return Ok(Plan::ok(format!("`{p}` exists (creates)")));
        }
        if let Some(p) = &self.removes
            && facts.path(p)?.kind == PathKind::Absent
        {
            return Ok(Plan::ok(format!("`{p}` does not exist (removes)")));
        }
        if let Some(c) = &self.unless
            && facts.guard(c, self.user.as_deref())?
        {
            return Ok(Plan::ok(format!("`{c}` succeeded (unless)")));
        }
        if let Some(c) = &self.onlyif
            && !facts.guard(c, self.user.as_deref())?
        {
            return Ok(Plan::ok(format!("`{c}` failed (onlyif)")));
        }
        let why = if self.creates.is_some() {
            format!(
                "run `{}` (`{}` is missing)",
                self.display,
                self.creates.as_deref().unwrap_or("")
            )
        } else if self.unless.is_some() {
            format!("run `{}` (unless-guard failed)", self.display)
        } else if self.removes.is_some() || self.onlyif.is_some() {
            format!("run `{}` (guard says so)", self.display)
        } else {
            format!("run `{}` (no guard: runs every time)", self.display)
        };
        Ok(Plan::from_changes(
            vec![Change::exec(why, self.cmd.clone())],
            "",
        ))
    }

    fn converges(&self) -> bool {
        self.creates.is_some()
            || self.removes.is_some()
            || self.unless.is_some()
            || self.onlyif.is_some()
    }
}
