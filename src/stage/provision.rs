//! Provisioning the VM that `-u` brought up: vmbuild's recipe engine over
//! SSH, to the endpoint and with the key `vagrant ssh-config` reported. No
//! `vagrant provision`, no agent or interpreter left in the guest.
use std::path::PathBuf;

use crate::appliance::files::RecipeSet;
use crate::appliance::run::load_recipes;
use crate::appliance::vars::Site;
use crate::context::Context;
use crate::error::Error;
use crate::recipe::RecipeError;
use crate::recipe::engine::RunOptions;
use crate::remote::ssh::{SshConfig, SshTransport, Target};
use crate::stage::StageError;
use crate::tool::vagrant;

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

/// Where the appliance recipes run from for this project.
pub fn site(ctx: &Context) -> Site {
    Site {
        project_dir: ctx.project_dir.clone(),
        work_dir: ctx.work_dir(),
        vagrant: true,
    }
}

/// Run the recipes of `set` against the VM.
pub fn run(
    ctx: &Context,
    ssh: &vagrant::SshConfig,
    known_hosts: PathBuf,
    set: RecipeSet,
) -> Result<(), Error> {
    let site = site(ctx);
    let recipe = load_recipes(&ctx.config, &site, &[], set, &[], &ctx.ui)?;
    let mut cfg = transport_config(ssh, known_hosts);
    let cache = crate::cache::Cache::open(&ctx.config, &ctx.ui);
    cfg.remote_forward = cache.forward();
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
        let run = crate::recipe::cli::run_with(&t, &recipe, opts.clone(), &ctx.ui);
        let r = cache.around(&t, opts.sudo, &ctx.ui, run).await;
        t.disconnect().await;
        r
    })?;
    crate::appliance::run::announce_password(&ctx.config, &site, &report, &ctx.ui);
    ctx.ui.step("Recap");
    for l in report.recap() {
        ctx.ui.info(&l);
    }
    if let Some(line) = cache.summary() {
        ctx.ui.info(&line);
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
