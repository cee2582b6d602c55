//! The hub's per-instance secrets: cookie secret, proxy token, admin
//! password hashes and the hub database. Each instance must make its own.
use super::Context;
use super::owner::AdminPassword;
use crate::audit::error::AuditError;
use crate::audit::finding::{Expected, Finding, FindingKind, Findings};

/// JupyterHub's cookie secret.
pub const COOKIE_SECRET: &str = "/opt/tljh/state/jupyterhub_cookie_secret";
/// configurable-http-proxy's API token.
pub const PROXY_ENV: &str = "/etc/tljh/proxy.env";
/// PBKDF2 hashes of the hub admins' password.
pub const ADMIN_PASSWORDS: &str = "/opt/tljh/state/admin-passwords.json";
/// The hub's database (users, hashed API tokens, OAuth clients).
pub const HUB_DB: &str = "/opt/tljh/state/jupyterhub.sqlite";

/// The hub detector.
pub fn check(ctx: &Context<'_>, out: &mut Findings) -> Result<(), AuditError> {
    let root = ctx.root;
    if let Some(m) = root.stat(COOKIE_SECRET)?.filter(|m| m.size > 0) {
        out.add(
            Finding::new(
                FindingKind::HubSecret,
                COOKIE_SECRET,
                "the hub's cookie secret",
                "every instance would share it: whoever has the image can forge login cookies for any instance",
            )
            .with_size(m.size),
        );
    }
    if let Some(text) = root.read_text(PROXY_ENV)?
        && text.lines().any(|l| {
            l.trim_start()
                .strip_prefix("CONFIGPROXY_AUTH_TOKEN=")
                .is_some_and(|v| !v.trim().is_empty())
        })
    {
        out.add(Finding::new(
            FindingKind::HubSecret,
            PROXY_ENV,
            "the proxy's API token (CONFIGPROXY_AUTH_TOKEN)",
            "every instance would share it: whoever has the image can reroute any instance's hub traffic",
        ));
    }
    if root.is_file(ADMIN_PASSWORDS)? {
        let detail = "hub admin password hashes (PBKDF2)";
        match ctx.owner.admin_password {
            Some(AdminPassword::Owner) => out.expect(Expected::new(
                FindingKind::HubSecret,
                ADMIN_PASSWORDS,
                detail,
                "the owner set hub.admin_password in vmbuild.toml: every instance shares it, on purpose",
            )),
            _ => out.add(Finding::new(
                FindingKind::HubSecret,
                ADMIN_PASSWORDS,
                detail,
                "a password nobody chose on purpose, shared by every instance; its hashes can be cracked offline",
            )),
        }
    }
    if let Some(m) = root.stat(HUB_DB)?.filter(|m| m.size > 0) {
        out.add(
            Finding::new(
                FindingKind::HubSecret,
                HUB_DB,
                "the hub's database from the build (users, hashed API tokens, OAuth clients)",
                "every instance would start with the build's users and tokens",
            )
            .with_size(m.size),
        );
    }
    Ok(())
}
