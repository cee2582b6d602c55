//! The engine: gather facts for every resource in one batch, check, apply in
//! order, verify, then run notified handlers.
//!
//! **Merging**: an install joins the transaction of the install just before
//! it only when nothing runs between them: every resource in between is
//! skipped or is itself an install of the same kind (all `apt.packages`
//! installs share one transaction, `pip.packages` one per venv). So a file,
//! command or repository written before an install is always in place when
//! it runs, and the output order is the order things ran in. The members
//! are re-checked when the transaction runs, against the facts as the
//! earlier members leave them, so each reason says what that member adds.
//!
//! Facts are gathered once up front, so a run where nothing changes costs one
//! round trip. Once something has changed, every later resource is
//! re-checked with fresh facts before it is applied (an earlier resource may
//! have created its file, installed its tool or made a guard false). Changed
//! resources are verified by re-checking them, piggybacked on the next fact
//! batch. If the connection drops while applying, the resource is re-checked
//! after the transport reconnects and applied again only if it can tell
//! whether the first attempt finished (it converges). Handlers a stopped run
//! could not run are remembered on the host and run by the next run.
use std::time::Instant;

use super::RecipeError;
use super::facts::{FactError, FactQuery};
use super::load::{Entry, Recipe};
use super::report::{CommandFailure, NOT_RUN, Outcome, Report, Status};
use super::resource::{CheckOptions, Plan};
use crate::remote::{RemoteCommand, RemoteError, Transport};

mod assume;
mod exec;
mod handlers;
mod order;
mod progress;
mod transaction;
mod verify;

pub use progress::{OnProgress, Progress};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `--check`: report only.
    pub check: bool,
    /// `--diff`: include file diffs.
    pub diff: bool,
    /// `--tags`: only resources with one of these.
    pub tags: Vec<String>,
    /// `--keep-going`: continue after a failure.
    pub keep_going: bool,
    /// Wrap commands in `sudo` (the login user is not root).
    pub sudo: bool,
    /// `user@host:port` for the report.
    pub host: String,
    /// Polled between resources: true means the user asked to stop
    /// (default: Ctrl-C / SIGTERM, [`crate::interrupt::requested`]).
    pub stop: fn() -> bool,
    /// Secrets: a diff that shows one is not shown at all.
    pub secrets: crate::mask::Secrets,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            check: false,
            diff: false,
            tags: Vec::new(),
            keep_going: false,
            sudo: false,
            host: String::new(),
            stop: crate::interrupt::requested,
            secrets: crate::mask::Secrets::new(),
        }
    }
}

/// Shown instead of a diff that would show a secret.
pub const DIFF_HIDDEN_SECRET: &str = "(diff not shown: the content holds a secret)";

enum Failure {
    Command(CommandFailure),
    Remote(RemoteError),
}

/// Why the apply phase stopped early.
enum Stop {
    /// A resource failed (and not `--keep-going`).
    Failed(String),
    /// The user asked to stop.
    User,
}

impl Failure {
    fn reason(&self) -> String {
        match self {
            Failure::Command(c) => format!(
                "`{}` exited {}: {}",
                short_cmd(&c.command),
                c.status,
                c.stderr_tail.lines().last().unwrap_or("")
            ),
            Failure::Remote(e) => e.to_string(),
        }
    }
}

fn short_cmd(c: &str) -> String {
    if c.chars().count() > 160 {
        format!("{}…", c.chars().take(160).collect::<String>())
    } else {
        c.to_owned()
    }
}

/// One run over one host.
pub struct Engine<'a, T: Transport> {
    t: &'a T,
    opts: RunOptions,
    round_trips: u32,
    apt_stale: bool,
    on_outcome: &'a mut (dyn FnMut(&Outcome) + Send),
    on_progress: Option<OnProgress<'a>>,
    /// The resource being applied (for progress).
    current: String,
    interrupted: bool,
}

struct Slot {
    outcome: Option<Outcome>,
    /// Changed and waiting for its verification re-check.
    verify: bool,
    emitted: bool,
}

impl<'a, T: Transport> Engine<'a, T> {
    /// An engine over `t`, calling `on_outcome` for every finished resource
    /// (in recipe order).
    pub fn new(
        t: &'a T,
        opts: RunOptions,
        on_outcome: &'a mut (dyn FnMut(&Outcome) + Send),
    ) -> Self {
        Engine {
            t,
            opts,
            round_trips: 0,
            apt_stale: false,
            on_outcome,
            on_progress: None,
            current: String::new(),
            interrupted: false,
        }
    }

    /// Also report what long-running resources are doing.
    pub fn with_progress(mut self, on_progress: OnProgress<'a>) -> Self {
        self.on_progress = Some(on_progress);
        self
    }

    fn progress(&mut self, p: &Progress) {
        if let Some(cb) = self.on_progress.as_mut() {
            cb(p);
        }
    }

    fn copts(&self) -> CheckOptions {
        CheckOptions {
            diff: self.opts.diff,
        }
    }

    fn wrap(&self, cmd: RemoteCommand) -> RemoteCommand {
        if self.opts.sudo && !cmd.is_sudo() {
            cmd.sudo()
        } else {
            cmd
        }
    }

    fn outcome(e: &Entry, status: Status, reason: String) -> Outcome {
        Outcome {
            label: e.label(),
            location: e.span.to_string(),
            status,
            reason,
            changes: Vec::new(),
            diffs: Vec::new(),
            failure: None,
        }
    }

    fn planned(&self, e: &Entry, plan: &Result<Plan, FactError>) -> Outcome {
        match plan {
            Err(err) => Self::outcome(e, Status::Failed, err.to_string()),
            Ok(p) if p.is_ok() => Self::outcome(e, Status::Ok, p.ok_reason.clone()),
            Ok(p) => {
                let mut o = Self::outcome(e, Status::Changed, p.summary());
                o.changes = p.changes.iter().map(|c| c.what.clone()).collect();
                if self.opts.diff {
                    o.diffs = p
                        .changes
                        .iter()
                        .filter_map(|c| c.diff.as_deref())
                        .map(|d| {
                            if self.opts.secrets.appears_in(d) {
                                DIFF_HIDDEN_SECRET.to_owned()
                            } else {
                                d.to_owned()
                            }
                        })
                        .collect();
                }
                o
            }
        }
    }

    fn selected(&self, e: &Entry) -> Result<(), String> {
        if let Some(why) = &e.skip {
            return Err(why.clone());
        }
        if !self.opts.tags.is_empty() && !e.tags.iter().any(|t| self.opts.tags.contains(t)) {
            return Err(format!("not tagged {}", self.opts.tags.join(",")));
        }
        Ok(())
    }

    fn emit_ready(&mut self, slots: &mut [Slot]) {
        for s in slots.iter_mut() {
            if s.emitted {
                continue;
            }
            match &s.outcome {
                Some(o) if !s.verify => {
                    (self.on_outcome)(o);
                    s.emitted = true;
                }
                _ => return,
            }
        }
    }

    /// Run `recipe` and report what happened.
    pub async fn run(&mut self, recipe: &Recipe) -> Result<Report, RecipeError> {
        let start = Instant::now();
        let entries = &recipe.entries;
        let mut slots: Vec<Slot> = entries
            .iter()
            .map(|_| Slot {
                outcome: None,
                verify: false,
                emitted: false,
            })
            .collect();
        let mut queries = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            match self.selected(e) {
                Ok(()) => queries.extend(e.resource.facts(self.copts())),
                Err(why) => slots[i].outcome = Some(Self::outcome(e, Status::Skipped, why)),
            }
        }
        queries.push(FactQuery::Content(handlers::PENDING.into()));
        let facts = self.gather(&queries).await?;
        let pending = handlers::pending(&facts);
        let mut plans: Vec<Option<Result<Plan, FactError>>> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                slots[i]
                    .outcome
                    .is_none()
                    .then(|| e.resource.check(&facts, self.copts()))
            })
            .collect();
        let stopped = if self.opts.check {
            let mut earlier_change = false;
            for (i, e) in entries.iter().enumerate() {
                if let Some(p) = &plans[i] {
                    let mut o = self.planned(e, p);
                    if o.status == Status::Failed && earlier_change {
                        // e.g. a file an earlier resource would create
                        o.status = Status::Skipped;
                        o.reason = format!(
                            "cannot tell until earlier changes are applied: {}",
                            o.reason
                        );
                    }
                    earlier_change |= o.status == Status::Changed;
                    slots[i].outcome = Some(o);
                }
            }
            self.emit_ready(&mut slots);
            false
        } else {
            self.apply_all(entries, &mut plans, &mut slots, &facts)
                .await?
        };
        let resources: Vec<Outcome> = slots.into_iter().filter_map(|s| s.outcome).collect();
        let handlers = self
            .run_handlers(recipe, &resources, &pending, stopped)
            .await?;
        Ok(Report {
            host: self.opts.host.clone(),
            check_mode: self.opts.check,
            resources,
            handlers,
            round_trips: self.round_trips,
            elapsed_ms: start.elapsed().as_millis(),
            interrupted: self.interrupted,
        })
    }
}
