//! SSH sessions to a machine: the one place that starts the async runtime,
//! connects, runs something and disconnects. `-u`, `-e`'s cleanup and seal,
//! `vmbuild provision` and `vmbuild hub` all come through here.
use std::path::PathBuf;

use crate::appliance::files::RecipeSet;
use crate::appliance::run::load_recipes;
use crate::appliance::vars::Site;
use crate::cache::Cache;
use crate::context::Context;
use crate::error::Error;
use crate::recipe::RecipeError;
use crate::recipe::engine::RunOptions;
use crate::recipe::load::Recipe;
use crate::recipe::report::Report;
use crate::remote::ssh::{SshConfig, SshTransport, Target};
use crate::stage::StageError;
use crate::ui::Ui;

/// How to reach a machine over SSH, and where its hub is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `user@host:port` of sshd.
    pub target: Target,
    /// Private keys to try.
    pub keys: Vec<PathBuf>,
    /// The known_hosts file for this machine.
    pub known_hosts: PathBuf,
    /// Host port forwarded to the guest's HTTP port 80, if any.
    pub http_port: Option<u16>,
    /// Host port forwarded to the guest's HTTPS port 443, if any.
    pub https_port: Option<u16>,
}

impl Endpoint {
    /// The transport settings. The VM's host keys are new whenever it is
    /// rebuilt, so they are trusted on first use and recorded in a
    /// known_hosts file that lives and dies with the VM's state.
    pub fn ssh_config(&self) -> SshConfig {
        let mut cfg = SshConfig::new(&self.target, self.keys.clone(), std::path::Path::new("."));
        cfg.known_hosts = self.known_hosts.clone();
        cfg
    }

    /// Whether commands need sudo (not logged in as root).
    pub fn sudo(&self) -> bool {
        self.target.user != "root"
    }

    /// The hub's URL from the host, preferring HTTPS.
    pub fn hub_url(&self) -> Option<String> {
        match (self.https_port, self.http_port) {
            (Some(p), _) => Some(format!("https://127.0.0.1:{p}/")),
            (None, Some(p)) => Some(format!("http://127.0.0.1:{p}/")),
            _ => None,
        }
    }
}

/// Connect with `cfg`, run `f` on the session, disconnect; blocking.
pub fn with_session<T>(
    cfg: SshConfig,
    f: impl AsyncFnOnce(&SshTransport) -> Result<T, Error>,
) -> Result<T, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StageError::Unexpected(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async {
        let t = SshTransport::connect(cfg)
            .await
            .map_err(RecipeError::from)?;
        let r = f(&t).await;
        t.disconnect().await;
        r
    })
}

/// Run `recipe` on the machine `cfg` reaches, printing as it goes, with
/// `cache` serving the guest's package downloads over the same connection;
/// returns the report (failed resources are in it, not an error).
pub fn run_recipe(
    mut cfg: SshConfig,
    recipe: &Recipe,
    opts: RunOptions,
    cache: &Cache,
    ui: &Ui,
) -> Result<Report, Error> {
    cfg.remote_forward = cache.forward();
    let sudo = opts.sudo;
    let report = with_session(cfg, async |t| {
        let run = crate::recipe::cli::run_with(t, recipe, opts, ui);
        Ok(cache.around(t, sudo, ui, run).await?)
    })?;
    if let Some(line) = cache.summary() {
        ui.info(&line);
    }
    Ok(report)
}

/// Print the recap of `report`; a failed resource is an error.
pub fn recap(report: &Report, ui: &Ui) -> Result<(), Error> {
    ui.step("Recap");
    for l in report.recap() {
        ui.info(&l);
    }
    let c = report.counts();
    if c.failed > 0 {
        return Err(RecipeError::Failed(format!(
            "{} of {} resources failed on {}",
            c.failed,
            report.resources.len() + report.handlers.len(),
            report.host
        ))
        .into());
    }
    Ok(())
}

/// Where the appliance recipes run from for this project.
pub fn site(ctx: &Context, shares_data_itself: bool) -> Site {
    Site {
        project_dir: ctx.project_dir.clone(),
        work_dir: ctx.work_dir(),
        vagrant: shares_data_itself,
        build_vm: true,
    }
}

/// Apply the appliance's recipe `set` to the project's machine at `endpoint`,
/// with a recap; a failed resource is an error. Returns the report.
pub fn apply_set(
    ctx: &Context,
    endpoint: &Endpoint,
    set: RecipeSet,
    shares_data_itself: bool,
) -> Result<Report, Error> {
    let site = site(ctx, shares_data_itself);
    let recipe = load_recipes(&ctx.config, &site, &[], set, &[], &ctx.ui)?;
    let cfg = endpoint.ssh_config();
    let opts = RunOptions {
        sudo: endpoint.sudo(),
        host: cfg.display_host(),
        ..RunOptions::default()
    };
    // only provisioning downloads; the cleanup removes the build-time guest
    // settings itself, and the seal removes the account a teardown would use
    let cache = match set {
        RecipeSet::Provision => Cache::open(&ctx.config, &ctx.ui),
        RecipeSet::Cleanup | RecipeSet::Seal => Cache::none(),
    };
    let report = run_recipe(cfg, &recipe, opts, &cache, &ctx.ui)?;
    if set == RecipeSet::Provision {
        crate::appliance::run::announce_password(&ctx.config, &site, &report, &ctx.ui);
    }
    // the engine finishes its current command on Ctrl-C; then we stop
    if crate::interrupt::requested() {
        return Err(Error::Interrupted);
    }
    recap(&report, &ctx.ui)?;
    Ok(report)
}
