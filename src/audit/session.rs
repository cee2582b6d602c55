//! Opening the image read-only: extract a compressed box's disk, export the
//! disk as raw bytes over FUSE with `qemu-storage-daemon` (no conversion, no
//! copy: only the blocks the audit reads are decompressed), find the root
//! partition, loop-mount it read-only. All of it happens in the calling
//! thread's private mount namespace, below one temp directory.
//!
//! [`Session`]'s `Drop` undoes everything however the audit ends (error,
//! Ctrl-C, panic): mounts detached (their loop devices free themselves),
//! the daemon stopped, the temp directory removed. If vmbuild itself is
//! killed, the orphan guard ([`crate::process::guard`]) terminates the
//! daemon's process group (its mount namespace, and with it the mounts and
//! loop device, goes with it) and removes the temp directory; should the
//! guard be gone too, the next audit stops the daemon named in a dead
//! audit's temp directory and removes it ([`sweep`]).
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::cmds::{self, DiskSpec, Partition};
use super::error::AuditError;
use super::root::ImageRoot;
use super::source::{self, DiskFormat, DiskLocation, Sniff, Source};
use super::sys;
use crate::interrupt;
use crate::process::{Runner, guard};
use crate::ui::Ui;

/// Temp directories of audits are named `vmbuild-audit-<pid>-<random>`.
const TEMP_PREFIX: &str = "vmbuild-audit-";
const PIDFILE: &str = "qsd.pid";

/// An opened image: mounts and the storage daemon, undone on drop.
pub struct Session {
    tmp: PathBuf,
    export: PathBuf,
    daemon: Option<i32>,
    daemon_group: Option<u32>,
    mounts: Vec<PathBuf>,
    /// Where the root filesystem is mounted.
    pub root: PathBuf,
    /// Which partition it is, and its filesystem (`partition 1, ext4`).
    pub describe: String,
    // last: removed after Drop has unmounted everything in it
    _workdir: Workdir,
}

/// The audit's temp directory, removed on drop; should vmbuild be killed,
/// the orphan guard removes it.
pub struct Workdir {
    path: PathBuf,
    cleanup: Option<guard::Cleanup>,
}

impl Workdir {
    /// Sweep what killed audits left, then create the directory in `$TMPDIR`.
    /// Call before entering the private mount namespace: the guard (started
    /// here if it is not running yet) must live in the machine's namespace,
    /// where the directory holds no mounts and can simply be removed.
    pub fn create(ui: &Ui) -> Result<Workdir, AuditError> {
        sweep(ui, &std::env::temp_dir());
        let path = tempfile::Builder::new()
            .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
            .tempdir()
            .map_err(|e| AuditError::io("creating a temp directory in", std::env::temp_dir(), e))?
            .keep();
        let cleanup = guard::on_exit(&[
            "rm".to_owned(),
            "-rf".to_owned(),
            "--one-file-system".to_owned(),
            path.to_string_lossy().into_owned(),
        ]);
        Ok(Workdir {
            path,
            cleanup: Some(cleanup),
        })
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if std::fs::remove_dir_all(&self.path).is_ok()
            && let Some(c) = self.cleanup.take()
        {
            c.disarm();
        }
    }
}

impl Session {
    /// Open `source` read-only in `workdir` (call from a thread in a private
    /// mount namespace).
    pub fn open(
        runner: &dyn Runner,
        ui: &Ui,
        source: &Source,
        workdir: Workdir,
    ) -> Result<Session, AuditError> {
        let tmp = workdir.path.clone();
        let mut s = Session {
            export: tmp.join("disk.raw"),
            tmp,
            _workdir: workdir,
            daemon: None,
            daemon_group: None,
            mounts: Vec::new(),
            root: PathBuf::new(),
            describe: String::new(),
        };
        s.start_daemon(runner, ui, source)?;
        s.mount_root(runner)?;
        Ok(s)
    }

    fn start_daemon(
        &mut self,
        runner: &dyn Runner,
        ui: &Ui,
        source: &Source,
    ) -> Result<(), AuditError> {
        let extracted = self.tmp.join("disk.img");
        let (file, slice, format) = match &source.location {
            DiskLocation::File(p) => (p.clone(), None, source.disk),
            DiskLocation::Member {
                archive,
                offset,
                size,
                ..
            } => (archive.clone(), Some((*offset, *size)), source.disk),
            DiskLocation::Compressed(archive) => {
                let format = extract_disk(ui, archive, &extracted)?;
                (extracted.clone(), None, Some(format))
            }
        };
        let format = format.unwrap_or(DiskFormat::Raw);
        std::fs::write(&self.export, b"")
            .map_err(|e| AuditError::io("creating", &self.export, e))?;
        let pidfile = self.tmp.join(PIDFILE);
        let spec = DiskSpec {
            file: &file,
            slice,
            format,
        };
        let started = runner.run(&cmds::storage_daemon(&spec, &self.export, &pidfile));
        // the pid first: even a failed start may have left a daemon behind
        self.daemon = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|p| p.trim().parse().ok());
        // it daemonized into a session of its own: the guard stops its group
        // if vmbuild is killed
        self.daemon_group = self.daemon.and_then(sys::process_group);
        if let Some(g) = self.daemon_group {
            guard::watch(g);
        }
        started?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while !sys::is_mount_point(&self.export) {
            if Instant::now() > deadline {
                return Err(AuditError::ExportTimeout {
                    path: file.display().to_string(),
                    secs: 30,
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn mount_root(&mut self, runner: &dyn Runner) -> Result<(), AuditError> {
        let size = std::fs::metadata(&self.export)
            .map_err(|e| AuditError::io("reading", &self.export, e))?
            .len();
        let out = runner.run_unchecked(&cmds::sfdisk(&self.export))?;
        let mut parts = if out.success() {
            cmds::parse_sfdisk(&out.stdout_str()).map_err(|e| AuditError::ToolOutput {
                tool: "sfdisk --json",
                detail: e.to_string(),
            })?
        } else {
            Vec::new()
        };
        if parts.is_empty() {
            // no partition table: a filesystem on the whole disk
            parts.push(Partition {
                number: 0,
                offset: 0,
                size,
                kind: String::new(),
            });
        }
        let mut seen = Vec::new();
        for p in parts {
            if interrupt::requested() {
                return Err(AuditError::Interrupted);
            }
            let probe = runner.run_unchecked(&cmds::blkid(&self.export, p.offset, p.size))?;
            let Some(fstype) = cmds::parse_blkid_type(&probe.stdout_str()) else {
                continue;
            };
            let name = if p.number == 0 {
                "the whole disk".to_owned()
            } else {
                format!("partition {}", p.number)
            };
            seen.push(format!("{name}: {fstype}"));
            let target = self.tmp.join(format!("p{}", p.number));
            let Some(mount) = cmds::mount(&self.export, &fstype, p.offset, p.size, &target) else {
                continue;
            };
            std::fs::create_dir(&target).map_err(|e| AuditError::io("creating", &target, e))?;
            runner.run(&mount)?;
            self.mounts.push(target.clone());
            if ImageRoot::open(&target)?.is_file("/etc/passwd")? {
                self.root = target;
                self.describe = format!("{name}, {fstype}");
                return Ok(());
            }
            self.mounts.pop();
            let _ = sys::lazy_umount(&target);
        }
        let path = self.export.display().to_string();
        if seen.iter().any(|s| s.ends_with("LVM2_member")) {
            return Err(AuditError::Unsupported {
                path,
                what: "a root filesystem on LVM".into(),
            });
        }
        Err(AuditError::NoRoot {
            path,
            detail: if seen.is_empty() {
                "no filesystem found".into()
            } else {
                format!("looked at {}", seen.join("; "))
            },
        })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for m in self.mounts.drain(..).rev() {
            let _ = sys::lazy_umount(&m);
        }
        // interrupted while starting: the daemon may have written its pid since
        let pid = self.daemon.take().or_else(|| {
            std::fs::read_to_string(self.tmp.join(PIDFILE))
                .ok()
                .and_then(|p| p.trim().parse().ok())
        });
        if let Some(pid) = pid {
            stop_daemon(pid);
        }
        if let Some(g) = self.daemon_group.take() {
            guard::forget(g);
        }
        // the daemon may die without unmounting its export (it does so on
        // SIGKILL); the mount is ours to drop then
        if sys::is_mount_point(&self.export) {
            let _ = sys::lazy_umount(&self.export);
        }
        // the workdir goes next, with the fields
    }
}

/// SIGTERM, up to 5 s, then SIGKILL.
fn stop_daemon(pid: i32) {
    if !sys::signal(pid, libc::SIGTERM) {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !sys::process_gone(pid) {
        if Instant::now() > deadline {
            sys::signal(pid, libc::SIGKILL);
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Remove what a killed audit left in `dir`: its storage daemon (identified
/// by its pidfile and command line) and its temp directory.
pub fn sweep(ui: &Ui, dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(owner) = name
            .strip_prefix(TEMP_PREFIX)
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        if owner == std::process::id() as i32 || !sys::process_gone(owner) {
            continue;
        }
        let path = e.path();
        if let Some(pid) = std::fs::read_to_string(path.join(PIDFILE))
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let ours = String::from_utf8_lossy(&cmdline).contains(&*path.to_string_lossy());
            if ours && !sys::process_gone(pid) {
                ui.warn(&format!(
                    "stopping qemu-storage-daemon (pid {pid}) left by an interrupted audit"
                ));
                stop_daemon(pid);
            }
        }
        let _ = std::fs::remove_dir_all(&path);
    }
}

/// Stream a compressed box and copy its disk member to `dest`, showing
/// progress over the compressed bytes; the disk's format from its magic.
fn extract_disk(ui: &Ui, archive: &Path, dest: &Path) -> Result<DiskFormat, AuditError> {
    let file = std::fs::File::open(archive).map_err(|e| AuditError::io("opening", archive, e))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    ui.info(&format!(
        "extracting the disk from `{}` ({} compressed)",
        archive.display(),
        super::finding::human_size(total)
    ));
    let progress = ui.progress("extracting", Some(total));
    let reader = ProgressReader {
        inner: file,
        read: 0,
        total,
        progress: &progress,
        ui,
        last_line: Instant::now(),
    };
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let entries = tar
        .entries()
        .map_err(|e| AuditError::io("reading the compressed archive", archive, e))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| interrupted_or(e, "reading the compressed archive", archive))?;
        let name = entry
            .path()
            .map_err(|e| AuditError::io("reading the compressed archive", archive, e))?
            .to_string_lossy()
            .into_owned();
        if !source::is_disk_member(&name) {
            continue;
        }
        let mut out =
            std::fs::File::create(dest).map_err(|e| AuditError::io("creating", dest, e))?;
        std::io::copy(&mut entry, &mut out)
            .map_err(|e| interrupted_or(e, "extracting", archive))?;
        progress.finish_and_clear();
        let mut head = vec![0; 4096];
        let n = std::fs::File::open(dest)
            .and_then(|mut f| f.read(&mut head))
            .map_err(|e| AuditError::io("reading", dest, e))?;
        return match source::sniff(&head[..n]) {
            Sniff::Disk(d) => Ok(d),
            _ => Err(AuditError::NotAnImage {
                path: archive.display().to_string(),
                why: format!("its member `{name}` is no disk image qemu reads"),
            }),
        };
    }
    progress.finish_and_clear();
    Err(AuditError::NotAnImage {
        path: archive.display().to_string(),
        why: "a compressed archive with no disk (box.img, *.vmdk, *.qcow2, *.img)".into(),
    })
}

fn interrupted_or(e: std::io::Error, what: &'static str, path: &Path) -> AuditError {
    if interrupt::requested() {
        AuditError::Interrupted
    } else {
        AuditError::io(what, path, e)
    }
}

/// Counts compressed bytes for the progress bar and stops on Ctrl-C.
struct ProgressReader<'a, R> {
    inner: R,
    read: u64,
    total: u64,
    progress: &'a indicatif::ProgressBar,
    ui: &'a Ui,
    last_line: Instant,
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // not ErrorKind::Interrupted: io::copy and the decoder retry on that
        if interrupt::requested() {
            return Err(std::io::Error::other("interrupted by the user"));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.progress.set_position(self.read);
        if !self.ui.is_terminal() && self.last_line.elapsed() > Duration::from_secs(10) {
            self.last_line = Instant::now();
            self.ui.info(&format!(
                "extracted {}%",
                self.read * 100 / self.total.max(1)
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_removes_dirs_of_dead_audits_only() {
        let d = tempfile::tempdir().unwrap();
        // pid 0x7fff_fff0 cannot exist (above pid_max)
        let dead = d.path().join(format!("{TEMP_PREFIX}2147483632-abc"));
        let alive = d.path().join(format!("{TEMP_PREFIX}1-abc"));
        let mine = d
            .path()
            .join(format!("{TEMP_PREFIX}{}-abc", std::process::id()));
        let other = d.path().join("unrelated");
        for p in [&dead, &alive, &mine, &other] {
            std::fs::create_dir_all(p.join("p1")).unwrap();
        }
        // a pidfile naming a process that is not our daemon is never signalled
        std::fs::write(dead.join(PIDFILE), "1\n").unwrap();
        sweep(&Ui::silent(), d.path());
        assert!(!dead.exists());
        assert!(alive.exists() && mine.exists() && other.exists());
    }
}
