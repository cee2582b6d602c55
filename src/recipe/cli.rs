//! `vmbuild provision`: load recipes, connect, run the engine, print one line
//! per resource and a recap.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::RecipeError;
use super::engine::{Engine, RunOptions};
use super::load::Recipe;
use super::report::{Outcome, Report, Status, line};
use crate::cli::{Args, ProvisionArgs};
use crate::error::Error;
use crate::remote::Transport;
use crate::remote::ssh::{SshConfig, SshTransport, Target};
use crate::ui::{Ui, Verbosity};

/// Run recipes against a host.
pub fn provision(p: &ProvisionArgs, args: &Args, ui: &Arc<Ui>) -> Result<(), Error> {
    let target: Target = p
        .host
        .parse()
        .map_err(|e: crate::remote::ssh::TargetError| Error::Usage(format!("--host: {e}")))?;
    let config = crate::config::resolve(args)?;
    let project_dir =
        std::env::current_dir().map_err(|e| Error::Usage(format!("no current directory: {e}")))?;
    let site = crate::appliance::vars::Site {
        work_dir: project_dir.join(&config.build.work_dir),
        project_dir: project_dir.clone(),
        vagrant: false,
    };
    let recipe = crate::appliance::run::load_recipes(
        &config,
        &site,
        &p.recipes,
        crate::appliance::files::RecipeSet::Provision,
        &p.vars,
        ui,
    )?;
    let keys = match &p.key {
        Some(k) => vec![k.clone()],
        None => default_keys(),
    };
    let mut cfg = SshConfig::new(&target, keys, &project_dir);
    if let Some(kh) = &p.known_hosts {
        cfg.known_hosts = kh.clone();
    }
    let opts = RunOptions {
        check: p.check,
        diff: p.diff,
        tags: p.tags.clone(),
        keep_going: p.keep_going,
        sudo: target.user != "root",
        host: cfg.display_host(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    let cache = if p.check {
        crate::cache::Cache::none()
    } else {
        crate::cache::Cache::open(&config, ui)
    };
    cfg.remote_forward = cache.forward();
    let sudo = opts.sudo;
    let report = rt.block_on(async {
        let t = SshTransport::connect(cfg)
            .await
            .map_err(RecipeError::from)?;
        let r = cache
            .around(&t, sudo, ui, run_with(&t, &recipe, opts, ui))
            .await;
        t.disconnect().await;
        r
    })?;
    let done = finish(&report, p.report.as_deref(), ui);
    if let Some(line) = cache.summary() {
        ui.info(&line);
    }
    crate::appliance::run::announce_password(&config, &site, &report, ui);
    done
}

/// Run `recipe` over `t`, printing as it goes (used by `provision` and `-u`).
pub async fn run_with<T: Transport>(
    t: &T,
    recipe: &Recipe,
    opts: RunOptions,
    ui: &Ui,
) -> Result<Report, RecipeError> {
    let check = opts.check;
    ui.step(&format!(
        "{} {} resources on {}",
        if check { "Checking" } else { "Provisioning" },
        recipe.entries.len(),
        opts.host
    ));
    let bar = progress(ui, recipe.entries.len() as u64);
    let alive = super::alive::Alive::new(recipe.entries.iter().map(|e| e.label()).collect());
    let mut print = |o: &Outcome| {
        bar.suspend(|| print_outcome(ui, o, check));
        bar.inc(1);
        bar.set_message(o.label.clone());
        alive.done(&o.label);
    };
    let mut engine = Engine::new(t, opts, &mut print);
    let report = alive.watch(ui, &bar, engine.run(recipe)).await;
    bar.finish_and_clear();
    report
}

fn progress(ui: &Ui, total: u64) -> ProgressBar {
    if !ui.is_terminal() || ui.verbosity() != Verbosity::Normal {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_draw_target(ProgressDrawTarget::stderr());
    pb
}

fn print_outcome(ui: &Ui, o: &Outcome, check: bool) {
    let text = line(o, check);
    match o.status {
        Status::Failed => ui.warn(&text),
        _ => ui.info(&text),
    }
    if o.changes.len() > 1 {
        for c in &o.changes {
            ui.info(&format!("             - {c}"));
        }
    }
    for d in &o.diffs {
        for l in d.lines() {
            ui.info(&format!("             {l}"));
        }
    }
    if let Some(f) = &o.failure {
        ui.warn(&format!("    command: {}", f.command));
        ui.warn(&format!("    exit status: {}", f.status));
        for l in f.stderr_tail.lines() {
            ui.warn(&format!("    | {l}"));
        }
    }
}

fn finish(report: &Report, json: Option<&Path>, ui: &Ui) -> Result<(), Error> {
    ui.step("Recap");
    for l in report.recap() {
        ui.info(&l);
    }
    if let Some(path) = json {
        crate::artifact::write_atomic(path, report.to_json(&|s| ui.mask(s)).as_bytes())
            .map_err(|e| Error::Usage(format!("cannot write report `{}`: {e}", path.display())))?;
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

fn default_keys() -> Vec<PathBuf> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    ["id_ed25519", "id_rsa"]
        .iter()
        .map(|k| home.join(".ssh").join(k))
        .filter(|p| p.exists())
        .collect()
}
