//! Applying one resource: its actions, merged with the installs right after
//! it into one transaction (the rule is in [`super`]), and the re-check
//! after a dropped connection.
use super::{Engine, Failure, Progress, Slot, assume};
use crate::recipe::RecipeError;
use crate::recipe::apply;
use crate::recipe::facts::{FactError, Facts};
use crate::recipe::load::Entry;
use crate::recipe::report::{Outcome, Status};
use crate::recipe::resource::{Action, Plan};
use crate::remote::{RemoteError, Transport};

/// A member of a merged transaction: its entry and its plan as re-checked
/// against the facts the earlier members leave.
struct Member {
    j: usize,
    plan: Plan,
    /// Everything it asked for is installed by earlier members already.
    covered: bool,
}

impl<T: Transport> Engine<'_, T> {
    /// Apply entry `i`'s plan (checked against `facts`); installs of
    /// `followers` (see [`Engine::followers`]) that still need something
    /// join its transaction.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn apply_one(
        &mut self,
        entries: &[Entry],
        plans: &mut [Option<Result<Plan, FactError>>],
        slots: &mut [Slot],
        i: usize,
        plan: Plan,
        facts: &Facts,
        followers: &[usize],
    ) -> Result<Outcome, RecipeError> {
        let e = &entries[i];
        let mut actions = plan.actions();
        let members = if apply::common_transaction(&actions).is_some() {
            self.members(entries, plans, slots, facts, followers, &actions)
        } else {
            Vec::new()
        };
        for m in &members {
            actions.extend(m.plan.actions());
        }
        self.progress(&Progress::Started {
            label: e.label(),
            with: members.iter().map(|m| entries[m.j].label()).collect(),
        });
        let actions = apply::merge(&actions);
        let mut result = self.execute(&actions).await;
        let mut note = "";
        if let Err(Failure::Remote(err)) = &result
            && !err.is_stopped()
        {
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
        if let Err(Failure::Remote(err)) = &result
            && err.is_stopped()
        {
            self.interrupted = true;
        }
        let mut o = self.planned(e, &Ok(plan));
        o.reason.push_str(note);
        for m in members {
            let mut oj = self.planned(&entries[m.j], &Ok(m.plan));
            match &result {
                Ok(()) if m.covered => {
                    oj.reason = format!(
                        "{}: done by the same transaction as `{}`",
                        oj.reason,
                        e.label()
                    )
                }
                Ok(()) => {
                    oj.reason = format!("{} (in one transaction with `{}`)", oj.reason, e.label())
                }
                Err(f) => {
                    oj.status = Status::Failed;
                    oj.reason =
                        format!("the transaction of `{}` failed: {}", e.label(), f.reason());
                }
            }
            slots[m.j].verify = oj.status == Status::Changed;
            slots[m.j].outcome = Some(oj);
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

    /// Re-check `followers` in order against `facts` as the leader's
    /// `actions` (and each earlier member's) leave them. Those already right
    /// on the host get their outcome now; those that need something join.
    /// A check error ends the transaction there (that entry runs on its own).
    fn members(
        &self,
        entries: &[Entry],
        plans: &mut [Option<Result<Plan, FactError>>],
        slots: &mut [Slot],
        facts: &Facts,
        followers: &[usize],
        actions: &[Action],
    ) -> Vec<Member> {
        let mut after = facts.clone();
        assume::assume(&mut after, actions);
        let mut out = Vec::new();
        for &j in followers {
            let r = &entries[j].resource;
            let now = match r.check(facts, self.copts()) {
                Ok(p) => p,
                Err(_) => break,
            };
            if now.is_ok() {
                slots[j].outcome = Some(self.planned(&entries[j], &Ok(now)));
                plans[j] = None;
                continue;
            }
            let (plan, covered) = match r.check(&after, self.copts()) {
                Ok(p) if p.is_ok() => (now, true),
                Ok(p) => (p, false),
                Err(_) => break,
            };
            if !covered {
                assume::assume(&mut after, &plan.actions());
            }
            plans[j] = None;
            out.push(Member { j, plan, covered });
        }
        out
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
