//! `systemd.service`: a unit enabled/started (or disabled/stopped), and
//! restarted when used as a handler. Enabling works without a running
//! systemd (`systemctl --root=/` edits the symlinks); starting, stopping and
//! restarting need systemd as PID 1 and fail with that reason otherwise.
use super::super::RecipeError;
use super::super::facts::systemd::UnitInfo;
use super::super::facts::{FactError, FactQuery, Facts};
use super::super::fields::Fields;
use super::super::resource::{Change, CheckOptions, Plan, Resource};
use crate::remote::RemoteCommand;

/// A managed service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemdService {
    /// Unit name.
    pub unit: String,
    /// Enabled at boot (None: leave).
    pub enabled: Option<bool>,
    /// `started`, `stopped`, `restarted`, `reloaded` (None: leave).
    pub state: Option<&'static str>,
}

impl SystemdService {
    /// From a `systemd.service` table.
    pub fn from_fields(f: &mut Fields<'_>) -> Result<Self, RecipeError> {
        let s = SystemdService {
            unit: f.str("unit")?,
            enabled: f.opt_bool("enabled")?,
            state: f.opt_choice("state", &["started", "stopped", "restarted", "reloaded"])?,
        };
        if s.enabled.is_none() && s.state.is_none() {
            return Err(f.error("a `systemd.service` needs `enabled` and/or `state`"));
        }
        Ok(s)
    }

    fn systemctl(&self, verb: &str, info: &UnitInfo) -> RemoteCommand {
        let c = RemoteCommand::new("systemctl");
        // without a running systemd only the unit-file verbs work, offline
        let c = if info.running { c } else { c.arg("--root=/") };
        c.arg(verb).arg(&self.unit)
    }

    fn need_running(&self, info: &UnitInfo, verb: &str) -> Result<(), FactError> {
        if info.running {
            Ok(())
        } else {
            Err(FactError::Conflict(format!(
                "systemd is not running on the host (PID 1 is `{}`): cannot {verb} `{}`",
                info.pid1, self.unit
            )))
        }
    }
}

impl Resource for SystemdService {
    fn facts(&self, _: CheckOptions) -> Vec<FactQuery> {
        vec![FactQuery::Systemd(self.unit.clone())]
    }

    fn check(&self, facts: &Facts, _: CheckOptions) -> Result<Plan, FactError> {
        let info = facts.unit(&self.unit)?;
        if !info.systemctl {
            return Err(FactError::Conflict(
                "systemctl is not installed on the host".into(),
            ));
        }
        let mut changes = Vec::new();
        let mut ok = Vec::new();
        if let Some(want) = self.enabled {
            let is = info.enabled == "enabled";
            if info.enabled.is_empty() || info.enabled == "not-found" {
                return Err(FactError::Conflict(format!(
                    "unit `{}` does not exist",
                    self.unit
                )));
            }
            if want != is {
                let verb = if want { "enable" } else { "disable" };
                changes.push(Change::exec(
                    format!("{verb} `{}` (is {})", self.unit, info.enabled),
                    self.systemctl(verb, &info),
                ));
            } else {
                ok.push(format!("`{}` is {}", self.unit, info.enabled));
            }
        }
        match self.state {
            Some(s @ ("restarted" | "reloaded")) => {
                let verb = &s[..s.len() - 2];
                self.need_running(&info, verb)?;
                changes.push(Change::exec(
                    format!("{verb} `{}`", self.unit),
                    self.systemctl(verb, &info),
                ));
            }
            Some(s) => {
                let verb = if s == "started" { "start" } else { "stop" };
                self.need_running(&info, verb)?;
                let active = info.active.clone().unwrap_or_default();
                let is = active == "active" || active == "activating" || active == "reloading";
                if is != (s == "started") {
                    changes.push(Change::exec(
                        format!("{verb} `{}` (is {active})", self.unit),
                        self.systemctl(verb, &info),
                    ));
                } else {
                    ok.push(format!("`{}` is {active}", self.unit));
                }
            }
            None => {}
        }
        Ok(Plan::from_changes(changes, ok.join(", ")))
    }

    fn converges(&self) -> bool {
        !matches!(self.state, Some("restarted" | "reloaded"))
    }
}
