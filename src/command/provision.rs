//! `vmbuild provision`: the appliance (or given recipes) on any host over
//! SSH: load, connect, run the engine with one line per resource, recap.
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::Error;
use crate::machine::session;
use crate::recipe::engine::RunOptions;
use crate::remote::known_hosts::OnFirstUse;
use crate::remote::ssh::{HostKeyPolicy, SshConfig, Target};
use crate::request::{Global, ProvisionRequest, RemoteHost};
use crate::ui::Ui;

/// Run recipes against a host.
pub fn run(p: &ProvisionRequest, global: &Global, ui: &Arc<Ui>) -> Result<(), Error> {
    let config = crate::config::resolve(global)?;
    let project_dir =
        std::env::current_dir().map_err(|e| Error::Usage(format!("no current directory: {e}")))?;
    let cfg = ssh_config(&p.remote, &project_dir, ui)?;
    let site = crate::appliance::vars::Site {
        work_dir: project_dir.join(&config.build.work_dir),
        project_dir: project_dir.clone(),
        vagrant: false,
        build_vm: false,
    };
    let recipe = crate::appliance::run::load_recipes(
        &config,
        &site,
        &p.recipes,
        crate::appliance::files::RecipeSet::Provision,
        &p.vars,
        ui,
    )?;
    let opts = RunOptions {
        check: p.check,
        diff: p.diff,
        tags: p.tags.clone(),
        keep_going: p.keep_going,
        sudo: cfg.user != "root",
        host: cfg.display_host(),
        ..RunOptions::default()
    };
    // a --check run leaves the guest alone: no cache set up in it
    let cache = if p.check {
        crate::cache::Cache::none()
    } else {
        crate::cache::Cache::open(&config, ui)
    };
    let report = session::run_recipe(cfg, &recipe, opts, &cache, ui)?;
    if let Some(path) = &p.report {
        crate::artifact::write_atomic(path, report.to_json(&|s| ui.mask(s)).as_bytes())
            .map_err(|e| Error::Usage(format!("cannot write report `{}`: {e}", path.display())))?;
    }
    let done = session::recap(&report, ui);
    crate::appliance::run::announce_password(&config, &site, &report, ui);
    done
}

/// The transport settings for `--host`, `--key`, `--known-hosts` and
/// `--strict`. A host key trusted on first use is shown through `ui` with
/// its fingerprint.
pub fn ssh_config(
    remote: &RemoteHost,
    project_dir: &std::path::Path,
    ui: &Arc<Ui>,
) -> Result<SshConfig, Error> {
    let target: Target = remote
        .host
        .parse()
        .map_err(|e: crate::remote::ssh::TargetError| Error::Usage(format!("--host: {e}")))?;
    let keys = if remote.keys.is_empty() {
        default_keys()
    } else {
        remote.keys.clone()
    };
    let mut cfg = SshConfig::new(&target, keys, project_dir);
    if let Some(kh) = &remote.known_hosts {
        cfg.known_hosts = kh.clone();
    }
    if remote.strict {
        cfg.policy = HostKeyPolicy::Strict;
    }
    let shown = Arc::clone(ui);
    cfg.on_first_use = Some(OnFirstUse::new(move |f| shown.warn(&f.to_string())));
    Ok(cfg)
}

/// `~/.ssh/id_ed25519`, then `~/.ssh/id_rsa`, those that exist.
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
