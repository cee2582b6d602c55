//! One file per resource type, named after its recipe key, and the registry
//! that builds a resource from its recipe table.
pub mod apt_packages;
pub mod apt_repository;
pub mod apt_update;
pub mod attrs;
pub mod block;
pub mod command;
pub mod directory;
pub mod edit;
pub mod file;
#[cfg(test)]
mod fixture_tests;
pub mod group;
pub mod hostname;
pub mod line;
pub mod locale;
pub mod mount;
pub mod npm_global;
pub mod pip_install;
pub mod pip_packages;
pub mod python_venv;
pub mod r_packages;
pub mod symlink;
pub mod sysctl;
pub mod systemd_service;
pub mod systemd_unit;
pub mod timezone;
pub mod user;

use super::RecipeError;
use super::fields::Fields;
use super::resource::Resource;

/// Every resource type a recipe may use.
pub const KINDS: &[&str] = &[
    "apt.packages",
    "apt.repository",
    "apt.update",
    "file",
    "directory",
    "symlink",
    "line",
    "block",
    "user",
    "group",
    "systemd.unit",
    "systemd.service",
    "command",
    "script",
    "pip.packages",
    "python.venv",
    "npm.global",
    "r.packages",
    "mount",
    "sysctl",
    "hostname",
    "timezone",
    "locale",
];

/// Build a resource of type `kind` from its keys (the common keys `name`,
/// `type`, `tags`, `when`, `notify` were already taken).
pub fn build(kind: &str, f: &mut Fields<'_>) -> Result<Box<dyn Resource>, RecipeError> {
    Ok(match kind {
        "apt.packages" => Box::new(apt_packages::AptPackages::from_fields(f)?),
        "apt.repository" => Box::new(apt_repository::AptRepository::from_fields(f)?),
        "apt.update" => Box::new(apt_update::AptUpdate::from_fields(f)?),
        "file" => Box::new(file::File::from_fields(f)?),
        "directory" => Box::new(directory::Directory::from_fields(f)?),
        "symlink" => Box::new(symlink::Symlink::from_fields(f)?),
        "line" => Box::new(line::Line::from_fields(f)?),
        "block" => Box::new(block::Block::from_fields(f)?),
        "user" => Box::new(user::User::from_fields(f)?),
        "group" => Box::new(group::Group::from_fields(f)?),
        "systemd.unit" => Box::new(systemd_unit::SystemdUnit::from_fields(f)?),
        "systemd.service" => Box::new(systemd_service::SystemdService::from_fields(f)?),
        "command" => Box::new(command::Command::from_fields(f, false)?),
        "script" => Box::new(command::Command::from_fields(f, true)?),
        "pip.packages" => Box::new(pip_packages::PipPackages::from_fields(f)?),
        "python.venv" => Box::new(python_venv::PythonVenv::from_fields(f)?),
        "npm.global" => Box::new(npm_global::NpmGlobal::from_fields(f)?),
        "r.packages" => Box::new(r_packages::RPackages::from_fields(f)?),
        "mount" => Box::new(mount::Mount::from_fields(f)?),
        "sysctl" => Box::new(sysctl::Sysctl::from_fields(f)?),
        "hostname" => Box::new(hostname::Hostname::from_fields(f)?),
        "timezone" => Box::new(timezone::Timezone::from_fields(f)?),
        "locale" => Box::new(locale::Locale::from_fields(f)?),
        other => {
            return Err(f.error(format!(
                "unknown resource type `{other}`{}",
                super::fields::suggestion(other, KINDS)
            )));
        }
    })
}

/// `present` (default) or `absent`.
pub fn state_present(f: &mut Fields<'_>) -> Result<bool, RecipeError> {
    Ok(f.opt_choice("state", &["present", "absent"])? != Some("absent"))
}

/// A unified diff of `before` → `after` for `path`.
pub fn unified_diff(path: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{path} (host)"), &format!("{path} (recipe)"))
        .to_string()
}

/// Short form of a sha256 for messages.
pub fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

/// sha256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Stands in for a resource whose `when` is false and whose table is not
/// complete (an empty list from the config is often why it is skipped).
#[derive(Debug)]
pub struct Skipped(pub String);

impl Resource for Skipped {
    fn facts(&self, _: super::resource::CheckOptions) -> Vec<super::facts::FactQuery> {
        Vec::new()
    }

    fn check(
        &self,
        _: &super::facts::Facts,
        _: super::resource::CheckOptions,
    ) -> Result<super::resource::Plan, super::facts::FactError> {
        Ok(super::resource::Plan::ok(self.0.clone()))
    }
}
