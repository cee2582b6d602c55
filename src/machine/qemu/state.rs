//! `state.json` of a qemu VM: what a later run needs to find and reach it.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The running VM as the run that started it recorded it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct State {
    /// qemu's pid.
    pub(super) pid: u32,
    /// Host port forwarded to the guest's sshd.
    pub(super) ssh_port: u16,
    /// Host port forwarded to the guest's port 80.
    pub(super) http_port: u16,
    /// Host port forwarded to the guest's port 443.
    pub(super) https_port: u16,
    /// QMP socket.
    pub(super) qmp: PathBuf,
}

impl State {
    /// Read `path`; `None` when there is none.
    pub(super) fn read(path: &Path) -> std::io::Result<Option<State>> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Write it atomically.
    pub(super) fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        crate::artifact::write_atomic(path, text.as_bytes())
    }
}

/// Whether `pid` is a live qemu running `disk` (not a zombie, not a reused
/// pid of some other program).
pub(super) fn alive(pid: u32, disk: &Path) -> bool {
    if pid == 0 {
        return false;
    }
    let proc = Path::new("/proc").join(pid.to_string());
    let zombie = std::fs::read_to_string(proc.join("stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true);
    if zombie {
        return false;
    }
    let cmdline = std::fs::read(proc.join("cmdline")).unwrap_or_default();
    let want = disk.display().to_string().replace(',', ",,");
    String::from_utf8_lossy(&cmdline).contains(&want)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_a_missing_file_is_none() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        assert_eq!(State::read(&p).unwrap(), None);
        let s = State {
            pid: 42,
            ssh_port: 1,
            http_port: 2,
            https_port: 3,
            qmp: "/q".into(),
        };
        s.write(&p).unwrap();
        assert_eq!(State::read(&p).unwrap(), Some(s));
    }

    #[test]
    fn only_a_process_running_the_disk_is_alive() {
        assert!(!alive(0, Path::new("/d")));
        // this test process does not run that disk
        assert!(!alive(std::process::id(), Path::new("/no/such/disk.qcow2")));
    }
}
