//! What a run leaves for the user, said once at the end: the artifacts with
//! their sizes and checksums, where the local VM's hub is, where the admin
//! password is, and what to do with the OVA and the qcow2.
use crate::context::Context;
use crate::export::{Artifact, Format};
use crate::stage::up::Up;

/// Collected by the pipeline as the stages finish.
#[derive(Debug, Default)]
pub struct Summary {
    /// `-u` ran: the VM and its hub.
    pub up: Option<Up>,
    /// `-e` wrote these.
    pub artifacts: Vec<Artifact>,
    /// Wall time of each stage that ran, in order.
    pub stage_secs: Vec<(&'static str, f64)>,
}

fn size(bytes: u64) -> String {
    let mib = bytes as f64 / 1048576.0;
    if mib >= 1024.0 {
        format!("{:.2} GiB", mib / 1024.0)
    } else {
        format!("{mib:.0} MiB")
    }
}

/// `83 s` or `12 min 5 s`.
fn duration(secs: f64) -> String {
    let s = secs.round() as u64;
    if s < 120 {
        format!("{s} s")
    } else {
        format!("{} min {} s", s / 60, s % 60)
    }
}

impl Summary {
    /// Run stage `flag`, recording its wall time.
    pub fn time<T, E>(
        &mut self,
        flag: &'static str,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let t = std::time::Instant::now();
        let r = f();
        self.stage_secs.push((flag, t.elapsed().as_secs_f64()));
        r
    }

    /// The summary's lines (empty when the run made nothing worth one).
    pub fn lines(&self, ctx: &Context) -> Vec<String> {
        let mut out = Vec::new();
        for a in &self.artifacts {
            out.push(format!(
                "{}  {}  sha256 {}",
                a.path.display(),
                size(a.size),
                a.sha256.hex()
            ));
        }
        if let Some(up) = &self.up {
            let url = up
                .endpoint
                .hub_url()
                .unwrap_or_else(|| "(no port forwarded to the hub)".into());
            if self.artifacts.is_empty() {
                out.push(format!("hub of the local VM: {url}"));
            } else {
                out.push(format!(
                    "local VM: shut down for the export; `vmbuild -u` starts it again (hub at {url})"
                ));
            }
        }
        if self.up.is_some() || !self.artifacts.is_empty() {
            let users = ctx.config.hub.admin_users.join(", ");
            if ctx
                .config
                .hub
                .admin_password
                .as_deref()
                .is_some_and(|p| !p.is_empty())
            {
                out.push(format!(
                    "admin password ({users}): the one set in hub.admin_password; every copy of the image shares it"
                ));
            } else {
                let file = crate::appliance::vars::password_file(&ctx.work_dir());
                if file.is_file() {
                    out.push(format!(
                        "admin password ({users}) of the local VM: {} (mode 0600)",
                        file.display()
                    ));
                }
                if self.artifacts.iter().any(|a| a.format != Format::Box) {
                    out.push(
                        "each VM made from the OVA or qcow2 makes its own admin password at first boot and prints it on its console"
                            .into(),
                    );
                }
            }
        }
        if self.up.is_some() || !self.artifacts.is_empty() {
            out.push(format!(
                "time: {}",
                self.stage_secs
                    .iter()
                    .map(|(f, s)| format!("{f} {}", duration(*s)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for a in &self.artifacts {
            match a.format {
                Format::Ova => out.push(format!(
                    "import the OVA: `VBoxManage import {}` (or VirtualBox: File > Import Appliance)",
                    a.path.display()
                )),
                Format::Qcow2 => out.push(format!(
                    "upload the qcow2 to OpenStack: `vmbuild upload {} --cloud CLOUD` (or `-e --openstack CLOUD`)",
                    a.path.display()
                )),
                Format::Box => out.push(format!(
                    "use the box: `vagrant box add --name {} {}`, then `vagrant init {}` and `vagrant up`",
                    ctx.config.name,
                    a.path.display(),
                    ctx.config.name
                )),
                Format::Vmdk => {}
            }
        }
        out
    }

    /// Print the summary (nothing when there is nothing to say).
    pub fn print(&self, ctx: &Context) {
        let lines = self.lines(ctx);
        if lines.is_empty() {
            return;
        }
        ctx.ui.step("Summary");
        for l in lines {
            ctx.ui.info(&l);
        }
    }
}
