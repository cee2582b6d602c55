//! The apply phase: resources in recipe order, re-checked once something
//! changed, installs merged with the ones right after them, stopping after
//! a failure or when the user asks.
use super::{Engine, NOT_RUN, Slot, Stop};
use crate::recipe::RecipeError;
use crate::recipe::facts::{FactError, Facts};
use crate::recipe::load::Entry;
use crate::recipe::report::Status;
use crate::recipe::resource::Plan;
use crate::remote::Transport;

impl<T: Transport> Engine<'_, T> {
    /// The apply phase; returns whether the run stopped early (a failure
    /// or the user).
    pub(super) async fn apply_all(
        &mut self,
        entries: &[Entry],
        plans: &mut [Option<Result<Plan, FactError>>],
        slots: &mut [Slot],
        first: &Facts,
    ) -> Result<bool, RecipeError> {
        let mut dirty = false;
        let mut stopped: Option<Stop> = None;
        for i in 0..entries.len() {
            let e = &entries[i];
            if slots[i].outcome.is_some() {
                self.emit_ready(slots);
                continue;
            }
            if stopped.is_none() && (self.opts.stop)() {
                stopped = Some(Stop::User);
            }
            if let Some(why) = &stopped {
                let reason = match why {
                    Stop::Failed(by) => format!("{NOT_RUN}: stopped after {by} failed"),
                    Stop::User => format!("{NOT_RUN}: stopped by the user"),
                };
                slots[i].outcome = Some(Self::outcome(e, Status::Skipped, reason));
                plans[i] = None;
                self.emit_ready(slots);
                continue;
            }
            let Some(mut plan) = plans[i].take() else {
                continue;
            };
            // the installs that may join this one's transaction
            let followers = self.followers(entries, slots, i);
            // Once something changed, every later check is redone with fresh
            // facts, "ok" ones too: installing nginx creates the default site
            // a later resource removes, writing a CA file makes a later
            // `unless` guard false.
            let facts = if dirty {
                let mut qs = e.resource.facts(self.copts());
                for j in &followers {
                    qs.extend(entries[*j].resource.facts(self.copts()));
                }
                let f = self.gather_with_verify(entries, slots, &qs).await?;
                plan = e.resource.check(&f, self.copts());
                f
            } else {
                first.clone()
            };
            let outcome = match plan {
                Ok(p) if !p.is_ok() => {
                    dirty = true;
                    self.current = e.label();
                    self.apply_one(entries, plans, slots, i, p, &facts, &followers)
                        .await?
                }
                other => self.planned(e, &other),
            };
            if outcome.status == Status::Failed && !self.opts.keep_going {
                stopped = Some(Stop::Failed(format!("`{}`", e.label())));
            }
            if self.interrupted {
                stopped = Some(Stop::User);
            }
            slots[i].verify = outcome.status == Status::Changed && e.resource.converges();
            slots[i].outcome = Some(outcome);
            self.emit_ready(slots);
        }
        if matches!(stopped, Some(Stop::User)) {
            // no more remote work after a stop than recording what is owed:
            // the changed resources are reported without their re-check
            self.interrupted = true;
            for s in slots.iter_mut() {
                s.verify = false;
            }
            self.emit_ready(slots);
        } else {
            self.gather_with_verify(entries, slots, &[]).await?;
        }
        Ok(stopped.is_some())
    }

    /// The entries after `i` whose installs may join `i`'s transaction: the
    /// run of installs of the same kind right after it, skipped entries
    /// aside. Anything else ends the run (see the module docs).
    fn followers(&self, entries: &[Entry], slots: &[Slot], i: usize) -> Vec<usize> {
        let Some(tx) = entries[i].resource.transaction() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (j, e) in entries.iter().enumerate().skip(i + 1) {
            if slots[j].outcome.is_some() {
                continue; // skipped by `when` or tags: it does not run
            }
            if e.resource.transaction().as_ref() != Some(&tx) {
                break;
            }
            out.push(j);
        }
        out
    }
}
