//! The `qemu` provider: vmbuild runs the VM itself with plain qemu, for
//! machines where no Vagrant provider works (no VirtualBox, no libvirt daemon:
//! containers, CI runners, hosts without an init system).
//!
//! State lives in `<work_dir>/qemu/`: the VM's disk (a qcow2 overlay of the
//! base box's disk, which is extracted once into `<work_dir>/cache/`), the
//! forwarded ports and qemu's pid (`state.json`), the QMP socket, the serial
//! console log and the known_hosts file. A later `-u` finds the running VM
//! there and reuses it; `-e` shuts it down over QMP (ACPI) and exports its
//! disk; `-c` stops it and removes the directory.
//!
//! qemu runs in its own session, so it outlives a successful `vmbuild -u`.
//! Until `-u` has finished with it, it is registered with the orphan guard
//! ([`crate::process::guard`]): Ctrl-C or a SIGKILL of vmbuild stops it.
mod argv;
mod image;
pub mod qmp;
mod state;
pub mod throwaway;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use argv::{QemuSpec, Share};
use state::State;

use super::session::Endpoint;
use crate::context::Context;
use crate::error::Error;
use crate::platform::Provider;
use crate::remote::ssh::Target;
use crate::stage::StageError;
use crate::stage::io_err as io;

/// Vagrant's well-known insecure key: the base box's `vagrant` account
/// accepts it (Vagrant's convention, which the exported `.box` keeps).
/// Only used on 127.0.0.1 port forwards of VMs vmbuild runs itself.
const VAGRANT_INSECURE_KEY: &str = include_str!("vagrant_insecure_key");

/// How long a guest under software emulation may take to boot to SSH.
pub const BOOT_LIMIT: Duration = Duration::from_secs(900);

/// How long an ACPI shutdown may take before qemu is stopped outright.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(300);

/// The 9p mount tag the appliance mounts at `shared_data.mount_point`.
pub const SHARE_TAG: &str = "vmbuild_data";

/// The project's qemu VM (it may or may not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuVm {
    dir: PathBuf,
    name: String,
}

impl QemuVm {
    /// The qemu VM of the project `ctx` describes.
    pub fn for_project(ctx: &Context) -> QemuVm {
        QemuVm {
            dir: ctx.work_dir().join("qemu"),
            name: format!("vmbuild-{}", ctx.config.name),
        }
    }

    /// Its state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its disk (a qcow2 overlay of the base box's disk).
    pub fn disk(&self) -> PathBuf {
        self.dir.join("disk.qcow2")
    }

    /// Whether the VM was created (its disk exists).
    pub fn exists(&self) -> bool {
        self.disk().is_file()
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// The state of the running VM, if qemu still runs it.
    fn running(&self) -> Option<State> {
        let st = State::read(&self.state_path()).ok()??;
        state::alive(st.pid, &self.disk()).then_some(st)
    }

    /// Create the VM if needed, boot it unless it runs, wait for SSH.
    pub fn up(&self, ctx: &Context) -> Result<Endpoint, Error> {
        if let Some(st) = self.running() {
            ctx.ui
                .info(&format!("the VM is running (qemu pid {})", st.pid));
            return Ok(self.endpoint_of(&st));
        }
        std::fs::create_dir_all(&self.dir).map_err(io("creating", &self.dir))?;
        self.write_key()?;
        if !self.exists() {
            self.create(ctx)?;
        } else {
            self.warn_if_box_changed(ctx);
        }
        self.boot(ctx)
    }

    /// The overlay disk over the (extracted) base box disk.
    fn create(&self, ctx: &Context) -> Result<(), Error> {
        let box_file = super::base_box::file(ctx, Provider::Qemu)?;
        let base = image::base_image(ctx, &box_file)?;
        ctx.ui.info(&format!(
            "creating the VM's disk {} over {}",
            self.disk().display(),
            base.display()
        ));
        let tmp = self
            .dir
            .join(format!("{}disk.qcow2", crate::artifact::PARTIAL_PREFIX));
        ctx.runner
            .run(&crate::tool::qemu_img::overlay(&base, &tmp))?;
        if !ctx.runner.is_dry_run() {
            std::fs::rename(&tmp, self.disk()).map_err(io("renaming", &tmp))?;
        }
        let stamp = super::base_box::BoxStamp::of(&box_file)?;
        crate::artifact::write_atomic(&self.dir.join("box.stamp"), stamp.as_str().as_bytes())
            .map_err(io("writing", &self.dir))?;
        Ok(())
    }

    fn warn_if_box_changed(&self, ctx: &Context) {
        let Ok(box_file) = super::base_box::file(ctx, Provider::Qemu) else {
            return;
        };
        let now = super::base_box::BoxStamp::of(&box_file).ok();
        let then = std::fs::read_to_string(self.dir.join("box.stamp")).ok();
        if now.is_some_and(|n| then.as_deref() != Some(n.as_str())) {
            ctx.ui.warn(
                "the base box changed, but the VM was made from the old one; `vmbuild -c -u` rebuilds it from the new box",
            );
        }
    }

    /// Start qemu on the existing disk and wait for SSH.
    fn boot(&self, ctx: &Context) -> Result<Endpoint, Error> {
        let accel = ctx.platform()?.accel;
        let [ssh, http, https] = free_ports::<3>().map_err(io("choosing free ports", &self.dir))?;
        let share = share(ctx)?;
        let spec = QemuSpec {
            name: self.name.clone(),
            disk: self.disk(),
            accel,
            cpus: ctx.config.vm.cpus,
            memory_mb: ctx.config.vm.memory_mb,
            forwards: vec![(ssh, 22), (http, 80), (https, 443)],
            share,
            qmp: qmp_socket(&self.dir),
            serial: self.dir.join("serial.log"),
            pidfile: self.dir.join("qemu.pid"),
        };
        let _ = std::fs::remove_file(&spec.qmp);
        let vm = throwaway::start(ctx, &spec, &self.dir.join("qemu.log"))?;
        let st = State {
            pid: vm.pid,
            ssh_port: ssh,
            http_port: http,
            https_port: https,
            qmp: spec.qmp.clone(),
        };
        st.write(&self.state_path())
            .map_err(io("writing", &self.state_path()))?;
        ctx.ui.info(&format!(
            "qemu started (pid {}, {} with CPU `{}`); SSH on 127.0.0.1:{ssh}, hub on 127.0.0.1:{https} (https) and :{http}",
            vm.pid,
            accel.as_str(),
            accel.qemu_cpu()
        ));
        if let Err(e) = throwaway::wait_for_ssh(ctx, &vm, ssh, &spec.serial) {
            self.stop_after_interrupt(ctx);
            return Err(e);
        }
        Ok(self.endpoint_of(&st))
    }

    fn endpoint_of(&self, st: &State) -> Endpoint {
        Endpoint {
            target: Target {
                user: "vagrant".into(),
                host: "127.0.0.1".into(),
                port: st.ssh_port,
            },
            keys: vec![self.dir.join("vagrant_insecure_key")],
            known_hosts: self.dir.join("known_hosts"),
            http_port: Some(st.http_port),
            https_port: Some(st.https_port),
        }
    }

    /// The running VM's SSH endpoint.
    pub fn endpoint(&self, ctx: &Context) -> Result<Endpoint, Error> {
        if ctx.runner.is_dry_run() {
            return Ok(self.endpoint_of(&State::default()));
        }
        self.running()
            .map(|st| self.endpoint_of(&st))
            .ok_or_else(|| {
                StageError::Precondition(
                    "the project's VM is not running; `vmbuild -u` starts it".into(),
                )
                .into()
            })
    }

    /// Write the key the VM's `vagrant` account accepts (0600).
    pub fn write_key(&self) -> Result<(), Error> {
        let p = self.dir.join("vagrant_insecure_key");
        write_private(&p, VAGRANT_INSECURE_KEY.as_bytes()).map_err(io("writing", &p))
    }

    /// `-u` is done with the VM: from now on it outlives vmbuild.
    pub fn keep_running(&self) {
        if let Some(st) = self.running() {
            crate::process::guard::forget(st.pid);
        }
    }

    /// ACPI shutdown over QMP; qemu is stopped outright if the guest does not
    /// power off in time.
    pub fn halt(&self, ctx: &Context) -> Result<(), Error> {
        if ctx.runner.is_dry_run() {
            ctx.ui.info("would shut the VM down (QMP system_powerdown)");
            return Ok(());
        }
        let Some(st) = self.running() else {
            ctx.ui.info("the VM is not running");
            return Ok(());
        };
        ctx.ui.info("shutting the VM down (ACPI, over QMP)");
        throwaway::power_down(ctx, st.pid, &st.qmp, &self.disk(), SHUTDOWN_LIMIT)
    }

    /// Stop qemu now (QMP `quit`, else SIGKILL); the disk stays.
    pub fn stop_after_interrupt(&self, ctx: &Context) {
        if let Some(st) = State::read(&self.state_path()).ok().flatten()
            && state::alive(st.pid, &self.disk())
        {
            ctx.ui
                .warn(&format!("stopping the VM (qemu pid {})", st.pid));
            throwaway::stop(st.pid, &st.qmp, &self.disk());
        }
    }

    /// Stop it and remove its directory (disk, state, logs).
    pub fn destroy(&self, ctx: &Context) -> Result<(), Error> {
        if ctx.runner.is_dry_run() {
            ctx.ui.info(&format!(
                "would stop the VM and remove {}",
                self.dir.display()
            ));
            return Ok(());
        }
        if let Some(st) = self.running() {
            ctx.ui
                .info(&format!("stopping the VM (qemu pid {})", st.pid));
            throwaway::stop(st.pid, &st.qmp, &self.disk());
        }
        ctx.ui.info(&format!("removing {}", self.dir.display()));
        std::fs::remove_dir_all(&self.dir).map_err(io("removing", &self.dir))
    }
}

/// The shared folder of `-d DIR` (config `shared_data.host_dir`) over 9p.
fn share(ctx: &Context) -> Result<Option<Share>, Error> {
    let s = &ctx.config.shared_data;
    let Some(dir) = super::shared_data_dir(ctx)? else {
        return Ok(None);
    };
    if !matches!(s.kind.as_str(), "auto" | "9p") {
        return Err(Error::Usage(format!(
            "shared_data.kind `{}` does not work with the qemu provider (it shares folders over 9p): use `auto` or `9p`",
            s.kind
        )));
    }
    Ok(Some(Share {
        dir,
        tag: SHARE_TAG.into(),
        read_only: s.read_only,
    }))
}

/// The QMP socket for a VM whose state is in `dir`. A unix socket path has
/// at most 107 bytes; a deep work dir gets one under /tmp named by a hash.
pub fn qmp_socket(dir: &Path) -> PathBuf {
    let p = dir.join("qmp.sock");
    if p.as_os_str().len() < 100 {
        return p;
    }
    let h = crate::manifest::sha256_hex(dir.as_os_str().as_encoded_bytes());
    std::env::temp_dir().join(format!("vmbuild-qmp-{}.sock", &h[..16]))
}

/// `N` distinct free TCP ports on 127.0.0.1 (held until all are picked).
pub fn free_ports<const N: usize>() -> std::io::Result<[u16; N]> {
    let listeners = (0..N)
        .map(|_| std::net::TcpListener::bind(("127.0.0.1", 0)))
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut ports = [0u16; N];
    for (p, l) in ports.iter_mut().zip(&listeners) {
        *p = l.local_addr()?.port();
    }
    Ok(ports)
}

/// Create `path` with mode 0600 (never wider in between), replacing it.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_a_long_dir_gets_a_short_socket() {
        let [a, b, c] = free_ports::<3>().unwrap();
        assert!(a != b && b != c && a != c);
        assert_eq!(
            qmp_socket(Path::new("/p/.vmbuild/qemu")),
            Path::new("/p/.vmbuild/qemu/qmp.sock")
        );
        let deep = Path::new("/").join("d".repeat(120));
        assert!(qmp_socket(&deep).as_os_str().len() < 100);
    }

    #[test]
    fn the_embedded_key_is_vagrants_insecure_key() {
        assert!(VAGRANT_INSECURE_KEY.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        let pubkey = crate::stage::debootstrap::recipe::VAGRANT_INSECURE_PUBLIC_KEY;
        assert!(
            pubkey.starts_with(
                "ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr"
            )
        );
    }
}
