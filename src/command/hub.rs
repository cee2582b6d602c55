//! `vmbuild hub show|set|unset|reload`: change the running hub's settings
//! over SSH with the appliance's own `tljh-config`, which validates the
//! value and restarts the hub. The VM is the project's Vagrant VM unless
//! `--host` names another machine (an OpenStack instance, say).
use std::sync::Arc;

use crate::context::{Context, RunOptions};
use crate::error::Error;
use crate::machine::session;
use crate::process::SystemRunner;
use crate::remote::RemoteCommand;
use crate::remote::Transport;
use crate::request::{Global, HubCommand, HubRequest};
use crate::ui::Ui;

/// Where `tljh-config` is installed on the appliance (recipes/20-hub.toml).
pub const TLJH_CONFIG: &str = "/usr/local/sbin/tljh-config";

/// The remote command for `action` (arguments escaped by construction).
pub fn command(action: &HubCommand) -> RemoteCommand {
    let c = RemoteCommand::new(TLJH_CONFIG);
    match action {
        HubCommand::Show => c.arg("show"),
        HubCommand::Set { key, value } => c.arg("set").arg(key).arg(value),
        HubCommand::Unset { key } => c.arg("unset").arg(key),
        HubCommand::Reload => c.arg("reload"),
    }
}

/// Run `vmbuild hub …`.
pub fn run(h: &HubRequest, global: &Global, ui: &Arc<Ui>) -> Result<(), Error> {
    let config = crate::config::resolve(global)?;
    for s in crate::config::secrets::secret_values(&config) {
        ui.add_secret(&s);
    }
    let project_dir =
        std::env::current_dir().map_err(|e| Error::Usage(format!("no current directory: {e}")))?;
    let cfg = match &h.remote {
        Some(remote) => super::provision::ssh_config(remote, &project_dir, ui)?,
        None => {
            let ctx = Context::new(
                config,
                project_dir,
                Arc::new(SystemRunner::new(Arc::clone(ui), false)),
                Arc::clone(ui),
                RunOptions::default(),
            );
            let Some(m) = crate::machine::existing(&ctx) else {
                return Err(Error::Usage(
                    "no VM for this project: bring it up with `vmbuild -u`, or name one with --host"
                        .into(),
                ));
            };
            m.endpoint(&ctx)?.ssh_config()
        }
    };
    let sudo = cfg.user != "root";
    let mut cmd = command(&h.command);
    if sudo {
        cmd = cmd.sudo();
    }
    let out = session::with_session(cfg, async |t| Ok(t.exec(&cmd).await?))?;
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
        let c = command(&HubCommand::Set {
            key: "admin_users".into(),
            value: "alice,bob; rm -rf /".into(),
        });
        assert_eq!(
            c.to_shell(),
            "/usr/local/sbin/tljh-config set admin_users 'alice,bob; rm -rf /'"
        );
        assert_eq!(
            command(&HubCommand::Show).to_shell(),
            "/usr/local/sbin/tljh-config show"
        );
    }
}
