//! Verification: every changed resource that can tell is checked again,
//! piggybacked on the next fact batch.
use super::{Engine, Slot};
use crate::recipe::RecipeError;
use crate::recipe::facts::{FactQuery, Facts};
use crate::recipe::load::Entry;
use crate::recipe::report::Status;
use crate::remote::Transport;

impl<T: Transport> Engine<'_, T> {
    /// Gather `queries` plus the facts of every changed resource awaiting
    /// verification; settle those verifications.
    pub(super) async fn gather_with_verify(
        &mut self,
        entries: &[Entry],
        slots: &mut [Slot],
        queries: &[FactQuery],
    ) -> Result<Facts, RecipeError> {
        let pending: Vec<usize> = (0..slots.len()).filter(|i| slots[*i].verify).collect();
        let mut all = queries.to_vec();
        for i in &pending {
            all.extend(entries[*i].resource.facts(self.copts()));
        }
        if all.is_empty() {
            return Ok(Facts::default());
        }
        let facts = self.gather(&all).await?;
        for i in pending {
            let again = entries[i].resource.check(&facts, self.copts());
            if let Some(o) = slots[i].outcome.as_mut() {
                match again {
                    Ok(p) if p.is_ok() => {}
                    Ok(p) => {
                        o.status = Status::Failed;
                        o.reason = format!("applied, but a re-check still finds: {}", p.summary());
                    }
                    Err(err) => {
                        o.status = Status::Failed;
                        o.reason = format!("applied, but the re-check failed: {err}");
                    }
                }
            }
            slots[i].verify = false;
        }
        self.emit_ready(slots);
        Ok(facts)
    }
}
