//! `vmbuild hub show|set|unset|reload`: change the running hub's settings
//! over SSH with the appliance's own `tljh-config`, which validates the
//! value and restarts the hub. The VM is the project's Vagrant VM unless
//! `--host` names another machine (an OpenStack instance, say). A value
//! travels on stdin, never in argv; a secret key's value is masked.
use std::io::Read;
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

/// Words that make a hub setting secret (`client_secret`,
/// `lookup_dn_search_password`, `api_token`, ...): its value is masked in
/// everything vmbuild prints. `tljh-config show` masks the same keys.
const SECRET_WORDS: &[&str] = &["secret", "password", "passwd", "token", "key"];

/// Whether the hub setting `key` holds a secret.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| key.contains(w))
}

/// A `vmbuild hub` action with the value of `set` in hand.
#[derive(Clone, PartialEq, Eq)]
pub enum Request {
    /// `tljh-config show`.
    Show,
    /// `tljh-config set KEY -`, the value on stdin.
    Set {
        /// Setting name.
        key: String,
        /// The value (never in argv).
        value: String,
    },
    /// `tljh-config unset KEY`.
    Unset {
        /// Setting name.
        key: String,
    },
    /// `tljh-config reload`.
    Reload,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // the value may be a secret
        match self {
            Request::Set { key, .. } => write!(f, "Set {{ key: {key:?}, .. }}"),
            Request::Show => f.write_str("Show"),
            Request::Unset { key } => write!(f, "Unset {{ key: {key:?} }}"),
            Request::Reload => f.write_str("Reload"),
        }
    }
}

impl Request {
    /// The request for `action`; `hub set KEY -` reads the value from
    /// `stdin` (vmbuild's own, so it stays out of the shell history). One
    /// trailing newline is dropped, as `read` would.
    pub fn from_action(action: &HubCommand, stdin: &mut dyn Read) -> Result<Request, Error> {
        Ok(match action {
            HubCommand::Show => Request::Show,
            HubCommand::Unset { key } => Request::Unset { key: key.clone() },
            HubCommand::Reload => Request::Reload,
            HubCommand::Set { key, value } if value == "-" => {
                let mut v = String::new();
                stdin.read_to_string(&mut v).map_err(|e| {
                    Error::Usage(format!(
                        "`hub set {key} -`: cannot read the value from standard input: {e}"
                    ))
                })?;
                let v = v.strip_suffix('\n').unwrap_or(&v);
                let v = v.strip_suffix('\r').unwrap_or(v);
                if v.is_empty() {
                    return Err(Error::Usage(format!(
                        "`hub set {key} -`: standard input was empty; expected the value"
                    )));
                }
                Request::Set {
                    key: key.clone(),
                    value: v.to_owned(),
                }
            }
            HubCommand::Set { key, value } => Request::Set {
                key: key.clone(),
                value: value.clone(),
            },
        })
    }

    /// The value to mask in output, when this sets a secret.
    pub fn secret(&self) -> Option<&str> {
        match self {
            Request::Set { key, value } if is_secret_key(key) => Some(value),
            _ => None,
        }
    }
}

/// The remote command for `r` (arguments escaped by construction). A value
/// travels on stdin, never in argv, where `ps` on the VM and sudo's log
/// would show it.
pub fn command(r: &Request) -> RemoteCommand {
    let c = RemoteCommand::new(TLJH_CONFIG);
    match r {
        Request::Show => c.arg("show"),
        Request::Set { key, value } => c.arg("set").arg(key).arg("-").stdin(value.as_bytes()),
        Request::Unset { key } => c.arg("unset").arg(key),
        Request::Reload => c.arg("reload"),
    }
}

/// Run `r` over `t` (as root when `sudo`) and return what `tljh-config`
/// printed on stdout, masked by `ui`.
pub async fn apply<T: Transport>(t: &T, r: &Request, sudo: bool, ui: &Ui) -> Result<String, Error> {
    if let Some(secret) = r.secret() {
        ui.add_secret(secret);
    }
    let mut cmd = command(r);
    if sudo {
        cmd = cmd.sudo();
    }
    let out = t.exec(&cmd).await?;
    let err = ui.mask(out.stderr_str().trim());
    match out.status {
        0 => Ok(ui.mask(&out.stdout_str())),
        // tljh-config's own "bad key or value"
        2 => Err(Error::Usage(err)),
        127 => Err(Error::Usage(format!(
            "{TLJH_CONFIG} is not on that machine: is it a vmbuild appliance (provisioned with -u)?"
        ))),
        s => Err(crate::recipe::RecipeError::Failed(format!(
            "`{}` exited {s}: {err}",
            cmd.to_shell()
        ))
        .into()),
    }
}

/// Run `vmbuild hub …`.
pub fn run(h: &HubRequest, global: &Global, ui: &Arc<Ui>) -> Result<(), Error> {
    let request = Request::from_action(&h.command, &mut std::io::stdin().lock())?;
    if let Some(secret) = request.secret() {
        ui.add_secret(secret);
    }
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
    let out = session::with_session(cfg, async |t| apply(t, &request, sudo, ui).await)?;
    // tljh-config's output is the answer (JSON for `show`): plain on
    // stdout for pipes, secrets masked, progress lines stay on stderr
    print!("{out}");
    Ok(())
}

#[cfg(test)]
#[path = "hub_tests.rs"]
mod tests;
