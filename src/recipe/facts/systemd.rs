//! systemd facts: is systemd PID 1, is the unit enabled, its active state.
use super::{FactError, FactQuery, Facts, failed};

/// What we know about one unit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitInfo {
    /// Name of PID 1 (`systemd` on a booted machine).
    pub pid1: String,
    /// Whether `systemctl` exists at all.
    pub systemctl: bool,
    /// Whether systemd is running (`/run/systemd/system` exists).
    pub running: bool,
    /// `systemctl --root=/ is-enabled` (works offline): enabled, disabled, static...
    /// Empty when the unit file does not exist.
    pub enabled: String,
    /// `ActiveState` (only when systemd runs).
    pub active: Option<String>,
    /// `LoadState` (only when systemd runs).
    pub load: Option<String>,
}

/// Parse the [`FactQuery::Systemd`] snippet.
pub fn parse_unit(text: &str) -> Result<UnitInfo, String> {
    let mut u = UnitInfo {
        systemctl: true,
        ..Default::default()
    };
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("pid1|") {
            u.pid1 = v.to_owned();
        } else if line == "systemctl|absent" {
            u.systemctl = false;
        } else if let Some(v) = line.strip_prefix("enabled|") {
            u.enabled = v.trim().to_owned();
        } else if let Some(v) = line.strip_prefix("ActiveState=") {
            u.active = Some(v.to_owned());
            u.running = true;
        } else if let Some(v) = line.strip_prefix("LoadState=") {
            u.load = Some(v.to_owned());
            u.running = true;
        }
    }
    if u.pid1.is_empty() {
        return Err("no pid1 line".into());
    }
    Ok(u)
}

impl Facts {
    /// Facts about systemd unit `unit`.
    pub fn unit(&self, unit: &str) -> Result<UnitInfo, FactError> {
        let out = self.raw(&FactQuery::Systemd(unit.to_owned()))?;
        let what = format!("systemd unit `{unit}`");
        if out.rc != 0 {
            return Err(failed(&what, out));
        }
        parse_unit(&out.stdout).map_err(|m| FactError::parse(what, m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booted_and_offline_samples() {
        let b = parse_unit(
            "pid1|systemd\nenabled|enabled\nLoadState=loaded\nActiveState=active\nSubState=running\n",
        )
        .unwrap();
        assert!(b.running && b.systemctl);
        assert_eq!(b.active.as_deref(), Some("active"));
        let o = parse_unit("pid1|sshd\nenabled|disabled\n").unwrap();
        assert!(!o.running);
        assert_eq!(o.enabled, "disabled");
        let n = parse_unit("pid1|sshd\nsystemctl|absent\n").unwrap();
        assert!(!n.systemctl);
    }
}
