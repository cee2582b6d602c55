//! Provisioning the VM that `-u` brought up: vmbuild's recipe engine over
//! SSH, to the endpoint and with the key `vagrant ssh-config` reported. No
//! `vagrant provision`, no agent or interpreter left in the guest.
use std::path::PathBuf;

use crate::context::Context;
use crate::error::Error;
use crate::recipe::RecipeError;
use crate::recipe::engine::RunOptions;
use crate::remote::ssh::{SshConfig, SshTransport, Target};
use crate::stage::StageError;
use crate::tool::vagrant;

/// The recipes `-u` applies: every `*.toml` directly in the project's
/// `recipes/` directory, in name order (number them to order them).
pub fn recipe_files(ctx: &Context) -> Result<Vec<PathBuf>, Error> {
    let dir = ctx.project_dir.join("recipes");
    let no_recipes = || {
        Error::from(StageError::Precondition(format!(
            "no recipes (`*.toml`) in `{}`: nothing to provision the VM with",
            dir.display()
        )))
    };
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(no_recipes()),
        Err(source) => {
            return Err(StageError::Io {
                what: "reading the recipes directory",
                path: dir.display().to_string(),
                source,
            }
            .into());
        }
    };
    let mut files = Vec::new();
    for e in rd {
        let e = e.map_err(|source| StageError::Io {
            what: "listing",
            path: dir.display().to_string(),
            source,
        })?;
        let p = e.path();
        if p.extension().is_some_and(|x| x == "toml") && p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(no_recipes());
    }
    Ok(files)
}

/// The transport settings for the machine `ssh` describes. The VM's host
/// keys are new whenever it is rebuilt, so they are trusted on first use and
/// recorded inside Vagrant's state dir, which `-c` and `-r` remove with the VM.
pub fn transport_config(ssh: &vagrant::SshConfig, known_hosts: PathBuf) -> SshConfig {
    let target = Target {
        user: ssh.user.clone(),
        host: ssh.host_name.clone(),
        port: ssh.port,
    };
    let mut cfg = SshConfig::new(
        &target,
        ssh.identity_files.clone(),
        std::path::Path::new("."),
    );
    cfg.known_hosts = known_hosts;
    cfg
}

/// Run the recipes against the VM.
pub fn run(ctx: &Context, ssh: &vagrant::SshConfig, known_hosts: PathBuf) -> Result<(), Error> {
    let files = recipe_files(ctx)?;
    if let Some(pw) = &ctx.config.hub.admin_password {
        ctx.ui.add_secret(pw);
    }
    let base = serde_json::json!({ "config": ctx.config });
    let recipe = crate::recipe::load::load(&files, base, &[])?;
    for s in &recipe.secrets {
        ctx.ui.add_secret(s);
    }
    let cfg = transport_config(ssh, known_hosts);
    let opts = RunOptions {
        sudo: ssh.user != "root",
        host: cfg.display_host(),
        ..RunOptions::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StageError::Unexpected(format!("cannot start the async runtime: {e}")))?;
    let report = rt.block_on(async {
        let t = SshTransport::connect(cfg)
            .await
            .map_err(RecipeError::from)?;
        let r = crate::recipe::cli::run_with(&t, &recipe, opts.clone(), &ctx.ui).await;
        t.disconnect().await;
        r
    })?;
    ctx.ui.step("Recap");
    for l in report.recap() {
        ctx.ui.info(&l);
    }
    let c = report.counts();
    if c.failed > 0 {
        return Err(RecipeError::Failed(format!(
            "{} of {} resources failed on {}",
            c.failed,
            recipe.entries.len(),
            opts.host
        ))
        .into());
    }
    Ok(())
}
