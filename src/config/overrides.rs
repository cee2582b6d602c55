//! The effective configuration of a run: default < file < `VMBUILD_*` < flags.
use std::path::Path;

use super::load::{Layers, Resolved, config_path, read};
use super::{Config, ConfigError, secrets};
use crate::cli::Args;
use crate::ui::Ui;

/// The effective configuration for this run: default < file < `VMBUILD_*` < flags.
///
/// This does not register secrets; a run that prints or logs anything should
/// use [`resolve_for_run`].
pub fn resolve(args: &Args) -> Result<Config, ConfigError> {
    Ok(resolve_layers(args, &env_vars())?.config)
}

/// [`resolve`], then register every secret of the config with `ui` so it is
/// masked in all output and logs from now on.
pub fn resolve_for_run(args: &Args, ui: &Ui) -> Result<Config, ConfigError> {
    let cfg = resolve(args)?;
    secrets::register(&cfg, ui);
    Ok(cfg)
}

/// The process's environment variables with the config prefix (UTF-8 only).
pub fn env_vars() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with(super::env::PREFIX))
        .collect()
}

/// Resolve with `env` as the environment, keeping track of the layers used.
pub fn resolve_layers(args: &Args, env: &[(String, String)]) -> Result<Resolved, ConfigError> {
    let mut layers = Layers::new()?;
    if let Some(path) = config_path(args.config.as_deref()) {
        layers.file(&path, &read(&path)?)?;
    }
    layers.env(env)?;
    if let Some(p) = args.provider {
        let value = super::ProviderChoice::from(p);
        let name = toml::Value::try_from(value)
            .map_err(|e| ConfigError::Internal(e.to_string()))?;
        layers.flag(&["provider"], name, "--provider");
    }
    if let Some(ip) = &args.ip {
        layers.flag(&["network", "ip"], toml::Value::String(ip.clone()), "-i");
    }
    if let Some(d) = &args.data_dir {
        layers.flag(&["shared_data", "host_dir"], toml::Value::String(d.clone()), "-d");
    }
    layers.finish()
}

/// Check a `-d` value: `none` or an existing directory.
pub fn check_data_dir(value: &str) -> Result<String, String> {
    if value == "none" || Path::new(value).is_dir() {
        Ok(value.to_owned())
    } else if Path::new(value).exists() {
        Err(format!("`{value}` is not a directory; expected a directory or `none`"))
    } else {
        Err(format!("directory `{value}` does not exist; expected a directory or `none`"))
    }
}

/// Check a `-i` value: `dhcp` or a host IPv4 address.
pub fn check_ip(value: &str) -> Result<String, String> {
    if super::validate::ip_ok(value) {
        Ok(value.to_owned())
    } else {
        Err(super::validate::ip_message(value))
    }
}
