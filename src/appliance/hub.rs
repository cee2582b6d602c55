//! `vmbuild hub show|set|unset|reload`: change the running hub's settings
//! over SSH with the appliance's own `tljh-config`, which validates the
//! value and restarts the hub. The VM is the project's Vagrant VM unless
//! `--host` names another machine (an OpenStack instance, say).
use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::{Args, HubAction, HubArgs};
use crate::context::{Context, RunOptions};
use crate::error::Error;
use crate::process::SystemRunner;
use crate::remote::RemoteCommand;
use crate::remote::Transport;
use crate::remote::ssh::{SshConfig, SshTransport, Target};
use crate::ui::Ui;

/// Where `tljh-config` is installed on the appliance (recipes/20-hub.toml).
pub const TLJH_CONFIG: &str = "/usr/local/sbin/tljh-config";

/// The remote command for `action` (arguments escaped by construction).
pub fn command(action: &HubAction) -> RemoteCommand {
    let c = RemoteCommand::new(TLJH_CONFIG);
    match action {
        HubAction::Show => c.arg("show"),
        HubAction::Set { key, value } => c.arg("set").arg(key).arg(value),
        HubAction::Unset { key } => c.arg("unset").arg(key),
        HubAction::Reload => c.arg("reload"),
    }
}

/// Run `vmbuild hub …`.
pub fn run(h: &HubArgs, args: &Args, ui: &Arc<Ui>) -> Result<(), Error> {
    let config = crate::config::resolve(args)?;
    for s in crate::config::secrets::secret_values(&config) {
        ui.add_secret(&s);
    }
    let project_dir =
        std::env::current_dir().map_err(|e| Error::Usage(format!("no current directory: {e}")))?;
    let (cfg, sudo) = match &h.host {
        Some(host) => {
            let target: Target = host.parse().map_err(|e: crate::remote::ssh::TargetError| {
                Error::Usage(format!("--host: {e}"))
            })?;
            let keys = h.key.iter().cloned().collect::<Vec<PathBuf>>();
            let mut cfg = SshConfig::new(&target, keys, &project_dir);
            if let Some(kh) = &h.known_hosts {
                cfg.known_hosts = kh.clone();
            }
            (cfg, target.user != "root")
        }
        None => {
            let ctx = Context {
                config,
                project_dir,
                runner: Arc::new(SystemRunner::new(Arc::clone(ui), false)),
                ui: Arc::clone(ui),
                opts: RunOptions::default(),
            };
            let v = crate::stage::up::vagrant(&ctx);
            if !crate::stage::up::machine_created(&v, &ctx.config.name) {
                return Err(Error::Usage(
                    "no VM for this project: bring it up with `vmbuild -u`, or name one with --host"
                        .into(),
                ));
            }
            let ssh = crate::stage::up::read_ssh_config(&ctx, &v)?;
            let kh = v.state_dir().join("vmbuild_known_hosts");
            let sudo = ssh.user != "root";
            (crate::stage::provision::transport_config(&ssh, kh), sudo)
        }
    };
    let mut cmd = command(&h.action);
    if sudo {
        cmd = cmd.sudo();
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    let out = rt.block_on(async {
        let t = SshTransport::connect(cfg).await?;
        let out = t.exec(&cmd).await;
        t.disconnect().await;
        out
    })?;
    // tljh-config's output is the answer (JSON for `show`): plain on
    // stdout for pipes, secrets masked, progress lines stay on stderr
    print!("{}", ui.mask(&out.stdout_str()));
    let err = out.stderr_str();
    match out.status {
        0 => Ok(()),
        // tljh-config's own "bad key or value"
        2 => Err(Error::Usage(err.trim().to_owned())),
        127 => Err(Error::Usage(format!(
            "{TLJH_CONFIG} is not on that machine: is it a vmbuild appliance (provisioned with -u)?"
        ))),
        s => Err(crate::recipe::RecipeError::Failed(format!(
            "`{}` exited {s}: {}",
            cmd.to_shell(),
            err.trim()
        ))
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_reach_tljh_config_as_single_arguments() {
        let c = command(&HubAction::Set {
            key: "admin_users".into(),
            value: "alice,bob; rm -rf /".into(),
        });
        assert_eq!(
            c.to_shell(),
            "/usr/local/sbin/tljh-config set admin_users 'alice,bob; rm -rf /'"
        );
        assert_eq!(
            command(&HubAction::Show).to_shell(),
            "/usr/local/sbin/tljh-config show"
        );
    }
}
