//! Starting, waiting for and stopping qemu guests; and throwaway guests: an
//! overlay of some disk booted for one job (the export's seal), removed after.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::argv::{self, QemuSpec};
use super::qmp::Qmp;
use super::state::alive;
use super::{BOOT_LIMIT, free_ports, qmp_socket};
use crate::context::Context;
use crate::error::Error;
use crate::machine::session::Endpoint;
use crate::remote::ssh::Target;
use crate::stage::StageError;

/// A qemu process vmbuild started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// Its pid (also its process group: it runs in its own session).
    pub pid: u32,
    /// The disk it runs (to tell it from a reused pid).
    pub disk: PathBuf,
}

/// Start qemu for `spec` in its own session, its output appended to `log`.
/// It is registered with the orphan guard until someone calls
/// [`crate::process::guard::forget`] for it.
pub fn start(ctx: &Context, spec: &QemuSpec, log: &Path) -> Result<Started, Error> {
    let cmd = argv::command(spec);
    let pid = ctx.runner.spawn_detached(&cmd, log)?;
    Ok(Started {
        pid,
        disk: spec.disk.clone(),
    })
}

/// The last `n` bytes of a log file, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text[text.len().saturating_sub(n)..]).into_owned();
    text.trim_end().to_owned()
}

/// sshd's banner on 127.0.0.1:`port`, if it answers.
fn banner(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut s) = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(5),
    ) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = [0u8; 8];
    s.read_exact(&mut buf).is_ok() && &buf == b"SSH-2.0-"
}

/// Wait until the guest's sshd answers on `port`: progress while booting,
/// an error with the console's tail if qemu dies or the limit passes.
pub fn wait_for_ssh(ctx: &Context, vm: &Started, port: u16, serial: &Path) -> Result<(), Error> {
    let start = Instant::now();
    let pb = ctx.ui.progress("booting the VM", None);
    let mut next_line = Duration::from_secs(30);
    let result = loop {
        if crate::interrupt::requested() {
            break Err(Error::Interrupted);
        }
        if !alive(vm.pid, &vm.disk) {
            break Err(StageError::Unexpected(format!(
                "qemu (pid {}) exited while the guest booted; its console ends with:\n{}",
                vm.pid,
                tail(serial, 2000)
            ))
            .into());
        }
        if banner(port) {
            break Ok(());
        }
        let waited = start.elapsed();
        if waited > BOOT_LIMIT {
            break Err(StageError::Unexpected(format!(
                "the guest's SSH did not answer within {} s; its console ends with:\n{}",
                BOOT_LIMIT.as_secs(),
                tail(serial, 2000)
            ))
            .into());
        }
        if waited >= next_line && !ctx.ui.is_terminal() {
            ctx.ui
                .info(&format!("still booting ({} s)", waited.as_secs()));
            next_line += Duration::from_secs(30);
        }
        pb.set_message(format!("waiting for SSH on 127.0.0.1:{port}"));
        std::thread::sleep(Duration::from_secs(2));
    };
    pb.finish_and_clear();
    if result.is_ok() {
        ctx.ui.info(&format!(
            "SSH answers after {:.0} s",
            start.elapsed().as_secs_f64()
        ));
    }
    result
}

/// Ask the guest to power off (ACPI over QMP) and wait up to `limit` for
/// qemu to exit; stop it outright after that.
pub fn power_down(
    ctx: &Context,
    pid: u32,
    qmp: &Path,
    disk: &Path,
    limit: Duration,
) -> Result<(), Error> {
    let asked = Qmp::connect(qmp).and_then(|mut q| q.execute("system_powerdown"));
    if let Err(e) = asked {
        ctx.ui.warn(&format!(
            "cannot ask the guest to power off ({e}); stopping qemu"
        ));
        stop(pid, qmp, disk);
        return Ok(());
    }
    wait_for_exit(ctx, pid, disk, limit)
}

/// Wait up to `limit` for the guest to power off (qemu exits); stop it
/// outright after that, or at once on Ctrl-C.
pub fn wait_for_exit(ctx: &Context, pid: u32, disk: &Path, limit: Duration) -> Result<(), Error> {
    let start = Instant::now();
    let pb = ctx.ui.progress("waiting for the guest to power off", None);
    let outcome = loop {
        if !alive(pid, disk) {
            break Ok(());
        }
        if crate::interrupt::requested() {
            stop_pid(pid, disk);
            break Err(Error::Interrupted);
        }
        if start.elapsed() > limit {
            ctx.ui.warn(&format!(
                "the guest did not power off within {} s; stopping qemu",
                limit.as_secs()
            ));
            stop_pid(pid, disk);
            break Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    pb.finish_and_clear();
    crate::process::guard::forget(pid);
    outcome
}

/// Stop qemu now: QMP `quit` (qemu flushes its disks), else SIGKILL.
pub fn stop(pid: u32, qmp: &Path, disk: &Path) {
    if let Ok(mut q) = Qmp::connect(qmp) {
        let _ = q.execute("quit");
    }
    stop_pid(pid, disk);
    crate::process::guard::forget(pid);
}

fn stop_pid(pid: u32, disk: &Path) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid, disk) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    if alive(pid, disk) {
        // SAFETY: kill(2) of a qemu we started, checked to run our disk.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
}

/// A guest booted from an overlay of some disk for one job; stopped and
/// removed (overlay included) when dropped.
pub struct Throwaway {
    dir: tempfile::TempDir,
    vm: Started,
    qmp: PathBuf,
    endpoint: Endpoint,
}

impl Throwaway {
    /// Boot an overlay of `base` (left untouched) in a temp dir under
    /// `<work_dir>/qemu-throwaway/`, and wait for SSH. `label` names it in
    /// messages and in `ps`.
    pub fn boot(ctx: &Context, base: &Path, label: &str) -> Result<Throwaway, Error> {
        let parent = ctx.work_dir().join("qemu-throwaway");
        let io = |what: &'static str, path: &Path| {
            let path = path.display().to_string();
            move |source| Error::Stage(StageError::Io { what, path, source })
        };
        std::fs::create_dir_all(&parent).map_err(io("creating", &parent))?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("{label}-"))
            .tempdir_in(&parent)
            .map_err(io("creating a temp dir in", &parent))?;
        let d = dir.path();
        let overlay = d.join("disk.qcow2");
        ctx.runner
            .run(&crate::tool::qemu_img::overlay(base, &overlay))?;
        let key = d.join("vagrant_insecure_key");
        super::write_private(&key, super::VAGRANT_INSECURE_KEY.as_bytes())
            .map_err(io("writing", &key))?;
        let [ssh] = free_ports::<1>().map_err(io("choosing a free port", d))?;
        let spec = QemuSpec {
            name: format!("vmbuild-{label}"),
            disk: overlay,
            accel: ctx.platform()?.accel,
            cpus: ctx.config.vm.cpus,
            memory_mb: ctx.config.vm.memory_mb,
            forwards: vec![(ssh, 22)],
            share: None,
            qmp: qmp_socket(d),
            serial: d.join("serial.log"),
            pidfile: d.join("qemu.pid"),
        };
        ctx.ui.info(&format!(
            "booting a throwaway copy of {} ({label})",
            base.display()
        ));
        let vm = start(ctx, &spec, &d.join("qemu.log"))?;
        let t = Throwaway {
            endpoint: Endpoint {
                target: Target {
                    user: "vagrant".into(),
                    host: "127.0.0.1".into(),
                    port: ssh,
                },
                keys: vec![key],
                known_hosts: d.join("known_hosts"),
                http_port: None,
                https_port: None,
            },
            qmp: spec.qmp.clone(),
            vm,
            dir,
        };
        wait_for_ssh(ctx, &t.vm, ssh, &spec.serial)?;
        Ok(t)
    }

    /// How to reach it.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The overlay it runs (base + its changes).
    pub fn disk(&self) -> &Path {
        &self.vm.disk
    }

    /// The serial console log.
    pub fn serial(&self) -> PathBuf {
        self.dir.path().join("serial.log")
    }

    /// Whether qemu still runs it.
    pub fn is_running(&self) -> bool {
        alive(self.vm.pid, &self.vm.disk)
    }

    /// Shut it down (ACPI over QMP).
    pub fn power_down(&self, ctx: &Context) -> Result<(), Error> {
        power_down(
            ctx,
            self.vm.pid,
            &self.qmp,
            &self.vm.disk,
            Duration::from_secs(300),
        )
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        if alive(self.vm.pid, &self.vm.disk) {
            stop(self.vm.pid, &self.qmp, &self.vm.disk);
        }
    }
}
