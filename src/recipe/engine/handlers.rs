//! Handlers: run once at the end, only if a resource that notifies them
//! changed something, and not after a failure stopped the run. Then the
//! notified handlers are written to [`PENDING`] on the host, and the next run
//! runs them even though nothing changes any more (otherwise a restart
//! would be lost: the change that called for it is already made).
use super::{Engine, Failure, NOT_RUN};
use crate::recipe::RecipeError;
use crate::recipe::facts::{FactQuery, Facts};
use crate::recipe::load::{Entry, Recipe};
use crate::recipe::report::{Outcome, Status};
use crate::recipe::resource::Plan;
use crate::remote::RemoteCommand;
use crate::remote::Transport;

/// Handlers notified by a run that stopped before running them, one name
/// per line.
pub(super) const PENDING: &str = "/var/lib/vmbuild/pending-handlers";

/// The handler names an earlier, stopped run left in [`PENDING`].
pub(super) fn pending(facts: &Facts) -> Vec<String> {
    facts
        .text(PENDING)
        .ok()
        .flatten()
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The command that records `names` in [`PENDING`] (none: removes it).
pub(super) fn record_cmd(names: &[&str]) -> RemoteCommand {
    if names.is_empty() {
        return RemoteCommand::new("rm").args(["-f", "--", PENDING]);
    }
    let dir = PENDING.rsplit_once('/').map_or("/", |(d, _)| d);
    // through stdin and a rename: a name never lands on a command line, and
    // a dropped connection leaves the old list, not half a new one
    RemoteCommand::new("sh")
        .arg("-c")
        .arg("mkdir -p \"$1\" && cat > \"$2.tmp\" && mv \"$2.tmp\" \"$2\"")
        .args(["vmbuild-pending", dir, PENDING])
        .stdin(format!("{}\n", names.join("\n")).into_bytes())
}

impl<T: Transport> Engine<'_, T> {
    /// Run the handlers notified by changed `resources` or left `pending`.
    pub(super) async fn run_handlers(
        &mut self,
        recipe: &Recipe,
        resources: &[Outcome],
        pending: &[String],
        stopped: bool,
    ) -> Result<Vec<Outcome>, RecipeError> {
        let mut notified: Vec<(&Entry, Vec<String>)> = Vec::new();
        for h in &recipe.handlers {
            let mut by: Vec<String> = recipe
                .entries
                .iter()
                .zip(resources)
                .filter(|(e, o)| o.status == Status::Changed && e.notify.contains(&h.name))
                .map(|(e, _)| e.label())
                .collect();
            if pending.contains(&h.name) {
                by.push("an earlier run that could not run it".into());
            }
            if !by.is_empty() {
                notified.push((h, by));
            }
        }
        let out = self.run_notified(notified, stopped).await?;
        if !self.opts.check {
            // what is still owed: all of it after a stop, else what failed
            let owed: Vec<&str> = recipe
                .handlers
                .iter()
                .filter(|h| {
                    out.iter()
                        .any(|o| o.label == h.label() && (stopped || o.status == Status::Failed))
                })
                .map(|h| h.name.as_str())
                .collect();
            if !owed.is_empty() || !pending.is_empty() {
                self.exec(record_cmd(&owed)).await.map_err(|f| {
                    RecipeError::Failed(format!("recording handlers still to run: {}", f.reason()))
                })?;
            }
        }
        Ok(out)
    }

    async fn run_notified(
        &mut self,
        notified: Vec<(&Entry, Vec<String>)>,
        stopped: bool,
    ) -> Result<Vec<Outcome>, RecipeError> {
        let mut out = Vec::new();
        if notified.is_empty() {
            return Ok(out);
        }
        if self.opts.check || stopped {
            for (h, by) in notified {
                let why = if stopped {
                    format!("{NOT_RUN}: the run stopped after a failure")
                } else {
                    format!("would run: notified by {}", by.join(", "))
                };
                let st = if stopped {
                    Status::Skipped
                } else {
                    Status::Changed
                };
                let o = Self::outcome(h, st, why);
                (self.on_outcome)(&o);
                out.push(o);
            }
            return Ok(out);
        }
        let queries: Vec<FactQuery> = notified
            .iter()
            .flat_map(|(h, _)| h.resource.facts(self.copts()))
            .collect();
        let facts = self.gather(&queries).await?;
        for (h, by) in notified {
            let o = match h.resource.check(&facts, self.copts()) {
                Ok(p) if !p.is_ok() => {
                    self.current = h.label();
                    let mut o = self.apply_handler(h, p).await;
                    o.reason = format!("{} (notified by {})", o.reason, by.join(", "));
                    o
                }
                other => self.planned(h, &other),
            };
            (self.on_outcome)(&o);
            out.push(o);
        }
        Ok(out)
    }

    async fn apply_handler(&mut self, h: &Entry, plan: Plan) -> Outcome {
        let result = self.execute(&plan.actions()).await;
        let mut o = self.planned(h, &Ok(plan));
        if let Err(f) = result {
            o.status = Status::Failed;
            o.reason = format!("{}: {}", o.reason, f.reason());
            if let Failure::Command(c) = f {
                o.failure = Some(c);
            }
        }
        o
    }
}
