//! Handlers: run once at the end, only if a resource that notifies them
//! changed something, and not at all after a failure stopped the run.
use super::{Engine, Failure, NOT_RUN};
use crate::recipe::RecipeError;
use crate::recipe::facts::FactQuery;
use crate::recipe::load::{Entry, Recipe};
use crate::recipe::report::{Outcome, Status};
use crate::recipe::resource::Plan;
use crate::remote::Transport;

impl<T: Transport> Engine<'_, T> {
    /// Run the handlers notified by changed `resources`.
    pub(super) async fn run_handlers(
        &mut self,
        recipe: &Recipe,
        resources: &[Outcome],
        stopped: bool,
    ) -> Result<Vec<Outcome>, RecipeError> {
        let mut notified: Vec<(&Entry, Vec<String>)> = Vec::new();
        for h in &recipe.handlers {
            let by: Vec<String> = recipe
                .entries
                .iter()
                .zip(resources)
                .filter(|(e, o)| o.status == Status::Changed && e.notify.contains(&h.name))
                .map(|(e, _)| e.label())
                .collect();
            if !by.is_empty() {
                notified.push((h, by));
            }
        }
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
