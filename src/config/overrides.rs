//! The effective configuration of a run: default < file < `VMBUILD_*` < flags.
use std::path::Path;

use super::load::{Layers, Resolved, config_path, read};
use super::{Config, ConfigError, secrets};
use crate::request::Global;
use crate::ui::Ui;

/// The effective configuration for this run: default < file < `VMBUILD_*` < flags.
///
/// This does not register secrets; a run that prints or logs anything should
/// use [`resolve_for_run`].
pub fn resolve(global: &Global) -> Result<Config, ConfigError> {
    Ok(resolve_layers(global, &env_vars())?.config)
}

/// [`resolve`], then register every secret of the config with `ui` so it is
/// masked in all output and logs from now on.
pub fn resolve_for_run(global: &Global, ui: &Ui) -> Result<Config, ConfigError> {
    let cfg = resolve(global)?;
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
pub fn resolve_layers(global: &Global, env: &[(String, String)]) -> Result<Resolved, ConfigError> {
    let mut layers = Layers::new()?;
    if let Some(path) = config_path(global.config_file.as_deref()) {
        layers.file(&path, &read(&path)?)?;
    }
    layers.env(env)?;
    let flags = &global.overrides;
    if let Some(value) = flags.provider {
        let name =
            toml::Value::try_from(value).map_err(|e| ConfigError::Internal(e.to_string()))?;
        layers.flag(&["provider"], name, "--provider");
    }
    if let Some(ip) = &flags.ip {
        layers.flag(&["network", "ip"], toml::Value::String(ip.clone()), "-i");
    }
    if let Some(d) = &flags.data_dir {
        layers.flag(
            &["shared_data", "host_dir"],
            toml::Value::String(d.clone()),
            "-d",
        );
    }
    layers.finish()
}

/// Check a `-d` value: `none` or an existing directory.
pub fn check_data_dir(value: &str) -> Result<String, String> {
    if value == "none" || Path::new(value).is_dir() {
        Ok(value.to_owned())
    } else if Path::new(value).exists() {
        Err(format!(
            "`{value}` is not a directory; expected a directory or `none`"
        ))
    } else {
        Err(format!(
            "directory `{value}` does not exist; expected a directory or `none`"
        ))
    }
}

/// Check a `-i` value: `dhcp` or a host IPv4 address.
pub fn check_ip(value: &str) -> Result<String, String> {
    if super::patterns::ip_ok(value) {
        Ok(value.to_owned())
    } else {
        Err(super::patterns::ip_message(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Args;
    use crate::config::Origin;
    use clap::Parser;

    fn vars(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn precedence_is_default_file_env_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("v.toml");
        let text = "[vm]\ncpus = 3\nmemory_mb = 4096\n[network]\nip = \"10.0.0.5\"\n";
        std::fs::write(&file, text).expect("write");
        let file_arg = file.to_str().expect("utf-8");
        let args = Args::try_parse_from(["vmbuild", "-u", "--config", file_arg, "-i", "10.0.0.7"])
            .expect("args");
        let env = vars(&[
            ("VMBUILD_VM__CPUS", "5"),
            ("VMBUILD_NETWORK__IP", "10.0.0.6"),
        ]);
        let r = resolve_layers(&args.into_request().global, &env).expect("valid");
        let c = &r.config;
        assert_eq!((c.vm.cpus, c.vm.memory_mb, c.vm.disk_gb), (5, 4096, 20));
        assert_eq!(c.network.ip, "10.0.0.7");
        assert_eq!(
            r.locations["vm.cpus"],
            Origin::Env("VMBUILD_VM__CPUS".into())
        );
        assert_eq!(r.locations["network.ip"], Origin::Flag("-i".into()));
        let Origin::File(span) = &r.locations["vm.memory_mb"] else {
            panic!("memory_mb from the file")
        };
        assert_eq!((span.line, span.col), (3, 13));
        assert!(
            !r.locations.contains_key("vm.disk_gb"),
            "defaults have no location"
        );
        assert_eq!(r.layers.len(), 4, "{:?}", r.layers);
    }

    #[test]
    fn flag_values_are_checked() {
        assert!(check_ip("dhcp").is_ok() && check_ip("192.168.56.10").is_ok());
        assert!(check_ip("192.168.56.0").is_err());
        assert!(check_data_dir("none").is_ok() && check_data_dir(".").is_ok());
        assert_eq!(
            check_data_dir("/no/such/dir").unwrap_err(),
            "directory `/no/such/dir` does not exist; expected a directory or `none`"
        );
    }
}
