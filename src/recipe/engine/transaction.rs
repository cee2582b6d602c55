//! Applying one resource: its actions, merged with later resources' apt or
//! pip installs into one transaction, and the re-check after a dropped
//! connection.
use super::{Engine, Failure, Slot};
use crate::recipe::RecipeError;
use crate::recipe::apply;
use crate::recipe::facts::FactError;
use crate::recipe::load::Entry;
use crate::recipe::report::{Outcome, Status};
use crate::recipe::resource::{Action, Plan};
use crate::remote::{RemoteError, Transport};

impl<T: Transport> Engine<'_, T> {
    /// Apply entry `i`'s plan, merging later entries' apt/pip installs into
    /// the same transaction.
    pub(super) async fn apply_one(
        &mut self,
        entries: &[Entry],
        plans: &mut [Option<Result<Plan, FactError>>],
        slots: &mut [Slot],
        i: usize,
        plan: Plan,
    ) -> Result<Outcome, RecipeError> {
        let e = &entries[i];
        let mut actions = plan.actions();
        let mut joined = Vec::new();
        if let Some(tx) = apply::common_transaction(&actions) {
            for j in i + 1..entries.len() {
                let Some(Ok(pj)) = &plans[j] else { continue };
                let aj = pj.actions();
                if aj.contains(&Action::AptListsStale) {
                    break; // a repository changes what apt can install
                }
                if !pj.is_ok()
                    && slots[j].outcome.is_none()
                    && apply::common_transaction(&aj).as_ref() == Some(&tx)
                {
                    actions.extend(aj);
                    joined.push(j);
                }
            }
        }
        let actions = apply::merge(&actions);
        let mut result = self.execute(&actions).await;
        let mut note = "";
        if let Err(Failure::Remote(err)) = &result {
            // the transport has reconnected (or given up): look again
            let msg = err.to_string();
            let facts = self.gather(&e.resource.facts(self.copts())).await?;
            match e.resource.check(&facts, self.copts()) {
                Ok(p) if p.is_ok() && e.resource.converges() => {
                    note = " (the connection dropped; a re-check shows it is done)";
                    result = Ok(());
                }
                Ok(_) if e.resource.converges() => {
                    note = " (the connection dropped; re-checked and applied again)";
                    result = self.execute(&actions).await;
                }
                _ => {
                    result = Err(Failure::Remote(RemoteError::Ssh(format!(
                        "{msg}; not retried: it cannot be checked whether the first attempt finished"
                    ))))
                }
            }
        }
        let mut o = self.planned(e, &Ok(plan));
        o.reason.push_str(note);
        for j in joined {
            let Some(Ok(pj)) = plans[j].take() else {
                continue;
            };
            let mut oj = self.planned(&entries[j], &Ok(pj));
            match &result {
                Ok(()) => {
                    oj.reason = format!("{} (in one transaction with `{}`)", oj.reason, e.label())
                }
                Err(f) => {
                    oj.status = Status::Failed;
                    oj.reason =
                        format!("the transaction of `{}` failed: {}", e.label(), f.reason());
                }
            }
            slots[j].verify = oj.status == Status::Changed;
            slots[j].outcome = Some(oj);
        }
        if let Err(f) = result {
            o.status = Status::Failed;
            o.reason = format!("{}: {}", o.reason, f.reason());
            if let Failure::Command(c) = f {
                o.failure = Some(c);
            }
        }
        Ok(o)
    }

    pub(super) async fn execute(&mut self, actions: &[Action]) -> Result<(), Failure> {
        for a in actions {
            match a {
                Action::Exec(c) => self.exec(c.clone()).await?,
                Action::Put {
                    path,
                    content,
                    mode,
                    owner,
                    group,
                } => {
                    let tag = format!("{:08x}", rand::random::<u32>());
                    self.exec(apply::put_cmd(
                        path,
                        content,
                        *mode,
                        owner.as_deref(),
                        group.as_deref(),
                        &tag,
                    ))
                    .await?
                }
                Action::AptInstall {
                    packages,
                    update,
                    recommends,
                } => {
                    if *update || self.apt_stale {
                        self.exec(apply::apt_update_cmd()).await?;
                        self.apt_stale = false;
                    }
                    self.exec(apply::apt_install_cmd(packages, *recommends))
                        .await?
                }
                Action::AptRemove(p) => self.exec(apply::apt_remove_cmd(p)).await?,
                Action::AptListsStale => self.apt_stale = true,
                Action::PipInstall {
                    venv,
                    python,
                    packages,
                } => {
                    self.exec(apply::pip_install_cmd(venv, python, packages))
                        .await?
                }
            }
        }
        Ok(())
    }
}
