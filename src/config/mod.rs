//! The configuration (`vmbuild.toml`): types, defaults and loading.
//!
//! Precedence, lowest first: the embedded default ([`DEFAULT_TOML`]), the
//! user's file, `VMBUILD_*` environment variables, command-line flags.
//! Unknown keys are rejected with a `file:line:col` error.
mod error;
mod load;
mod types;

pub use error::ConfigError;
pub use load::{Source, load, parse_str};
pub use types::*;

/// The embedded default configuration: a bare `vmbuild -pue` builds this.
pub const DEFAULT_TOML: &str = include_str!("default.toml");
pub mod cli;
mod overrides;

pub use overrides::resolve;
