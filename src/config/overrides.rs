//! Layering environment variables and flags over the loaded file.
use super::{Config, ConfigError, load};
use crate::cli::Args;

/// The effective configuration for this run: default < file < `VMBUILD_*` < flags.
pub fn resolve(args: &Args) -> Result<Config, ConfigError> {
    let mut cfg = load(args.config.as_deref())?;
    if let Some(p) = args.provider {
        cfg.provider = p.into();
    }
    if let Some(ip) = &args.ip {
        cfg.network.ip = ip.clone();
    }
    if let Some(d) = &args.data_dir {
        cfg.shared_data.host_dir = d.clone();
    }
    Ok(cfg)
}
