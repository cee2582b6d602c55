//! The configuration (`vmbuild.toml`): types, defaults, loading and checking.
//!
//! Precedence, lowest first: the embedded default ([`DEFAULT_TOML`]), the
//! user's file, `VMBUILD_*` environment variables (mapping in [`env`]),
//! command-line flags. Each layer is checked against the schema derived from
//! [`Config`] on its own text: unknown keys and bad values are reported with
//! the file's `file:line:col` (or the variable or flag), the dotted key and
//! what was expected.
mod check;
pub mod cli;
mod convert;
mod data_types;
pub mod env;
mod error;
pub mod init;
mod load;
mod overrides;
mod patterns;
mod schema;
pub mod secrets;
mod ssh_key;
mod types;
mod validate;
mod validate_data;
mod work_dir;

pub use data_types::*;
pub use error::{ConfigError, Origin};
pub use load::{Resolved, config_path, load, parse_str};
pub use overrides::{check_data_dir, check_ip, env_vars, resolve, resolve_for_run, resolve_layers};
pub use types::*;

/// The embedded default configuration: a bare `vmbuild -pue` builds this.
pub const DEFAULT_TOML: &str = include_str!("default.toml");
