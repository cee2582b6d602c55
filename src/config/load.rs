//! Layering: the embedded default, then the user's file, then `VMBUILD_*`
//! variables, then flags. Each layer is checked on its own text, so errors
//! point into the user's file (or name the variable or flag), never into a
//! merged document.
use std::path::{Path, PathBuf};

use super::check::{Checker, Locations};
use super::convert::{item_to_toml, merge, set_path};
use super::error::{ConfigError, Origin};
use super::schema::root;
use super::{Config, DEFAULT_TOML, env, validate, work_dir};
use crate::location::SourceSpan;

/// The name errors use for the embedded default.
const DEFAULT_NAME: &str = "<embedded default>";

/// The effective configuration and the layers it was made from.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The configuration.
    pub config: Config,
    /// Human descriptions of the layers that contributed, lowest precedence first.
    pub layers: Vec<String>,
    /// Where each non-default value came from (dotted keys; array items as `key[i]`).
    pub locations: std::collections::BTreeMap<String, Origin>,
}

/// Builds a [`Resolved`] config one layer at a time.
#[derive(Debug)]
pub(crate) struct Layers {
    table: toml::Table,
    locations: Locations,
    layers: Vec<String>,
    env: Vec<String>,
    flags: Vec<String>,
}

impl Layers {
    /// Start from the embedded default.
    pub(crate) fn new() -> Result<Layers, ConfigError> {
        let mut layers = Layers {
            table: toml::Table::new(),
            locations: Locations::new(),
            layers: vec!["embedded default".into()],
            env: Vec::new(),
            flags: Vec::new(),
        };
        layers.add_text(Path::new(DEFAULT_NAME), DEFAULT_TOML)?;
        layers.locations.clear();
        Ok(layers)
    }

    /// Layer the TOML document `text`, read from `file`.
    pub(crate) fn file(&mut self, file: &Path, text: &str) -> Result<(), ConfigError> {
        self.add_text(file, text)?;
        self.layers.push(format!("file {}", file.display()));
        Ok(())
    }

    fn add_text(&mut self, file: &Path, text: &str) -> Result<(), ConfigError> {
        let at = |offset: usize| SourceSpan::from_offset(file, text, offset);
        let doc = toml_edit::Document::parse(text).map_err(|e| ConfigError::Syntax {
            span: at(e.span().map_or(0, |s| s.start)),
            message: e.message().trim_end().to_owned(),
        })?;
        let locate =
            |span: Option<std::ops::Range<usize>>| Origin::File(at(span.map_or(0, |s| s.start)));
        let mut checker = Checker::new(&locate);
        checker.item("", None, doc.as_item(), root());
        let locations = checker.finish()?;
        if let Some(toml::Value::Table(t)) = item_to_toml(doc.as_item()) {
            merge(&mut self.table, t);
        }
        self.locations.extend(locations);
        self.locations.remove("");
        Ok(())
    }

    /// Layer the `VMBUILD_*` variables among `vars` (see [`super::env`]).
    pub(crate) fn env(&mut self, vars: &[(String, String)]) -> Result<(), ConfigError> {
        let mut vars = vars.to_vec();
        vars.sort();
        let used = env::apply(&mut self.table, &mut self.locations, &vars)?;
        if !used.is_empty() {
            self.layers.push(format!("environment {}", used.join(", ")));
            self.env = used;
        }
        Ok(())
    }

    /// Set `keys` to `value` from command-line flag `flag` (already validated by clap).
    pub(crate) fn flag(&mut self, keys: &[&str], value: toml::Value, flag: &str) {
        let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        set_path(&mut self.table, &keys, value);
        self.locations
            .insert(keys.join("."), Origin::Flag(flag.to_owned()));
        self.flags.push(flag.to_owned());
    }

    /// Deserialize and validate the result.
    pub(crate) fn finish(mut self) -> Result<Resolved, ConfigError> {
        if !self.flags.is_empty() {
            self.layers.push(format!("flags {}", self.flags.join(", ")));
        }
        let config: Config = toml::Value::Table(self.table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Internal(e.to_string()))?;
        validate::validate(&config, &self.locations)?;
        work_dir::check(&config, &self.locations, &work_dir::Site::current())?;
        Ok(Resolved {
            config,
            layers: self.layers,
            locations: self.locations,
        })
    }
}

/// Parse a config document layered over the embedded default (no env, no flags).
pub fn parse_str(file: &Path, text: &str) -> Result<Config, ConfigError> {
    let mut layers = Layers::new()?;
    layers.file(file, text)?;
    Ok(layers.finish()?.config)
}

/// The config file to use: `path` if given, else `./vmbuild.toml` if it exists.
pub fn config_path(path: Option<&Path>) -> Option<PathBuf> {
    match path {
        Some(p) => Some(p.to_owned()),
        None => Some(PathBuf::from("vmbuild.toml")).filter(|p| p.exists()),
    }
}

/// Read `path` as text.
pub(crate) fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Load the default and the file (see [`config_path`]); no env, no flags.
pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
    match config_path(path) {
        None => parse_str(Path::new(DEFAULT_NAME), ""),
        Some(p) => parse_str(&p, &read(&p)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_str(Path::new("v.toml"), text)
            .expect_err("should fail")
            .to_string()
    }

    #[test]
    fn the_default_is_valid_and_an_empty_file_changes_nothing() {
        let d = parse_str(Path::new("v.toml"), "").expect("default");
        assert_eq!(d.vm.cpus, 2);
        assert_eq!(d.export.formats, ["box", "ova", "qcow2"]);
    }

    #[test]
    fn user_values_override_and_errors_point_into_the_user_file() {
        let c = parse_str(Path::new("v.toml"), "[vm]\ncpus = 4\n").expect("ok");
        assert_eq!((c.vm.cpus, c.vm.memory_mb), (4, 2048));
        assert_eq!(
            err("# x\n[vm]\ncpus = \"four\"\n"),
            "v.toml:3:8: `vm.cpus`: expected an integer from 1 to 256, found \"four\""
        );
        assert_eq!(
            err("vm.memroy_mb = 1\n"),
            "v.toml:1:4: `vm.memroy_mb`: unknown key; did you mean `memory_mb`?"
        );
        assert_eq!(
            err("[vm]\ncpus = 2\ncpus = 3\n"),
            "v.toml:3:1: invalid TOML: duplicate key"
        );
    }

    #[test]
    fn crlf_and_byte_order_mark_keep_columns_right() {
        assert_eq!(
            err("\u{feff}[vm]\r\nhostname = \"a b\"\r\n"),
            "v.toml:2:12: `vm.hostname`: expected a host name (letters, digits and `-`, at most 63 characters), found \"a b\""
        );
    }

    #[test]
    fn floats_are_shown_as_floats() {
        assert_eq!(
            err("vm.cpus = 2.0\n"),
            "v.toml:1:11: `vm.cpus`: expected an integer from 1 to 256, found 2.0"
        );
    }

    #[test]
    fn the_first_error_in_the_text_is_reported() {
        assert_eq!(
            err("[vm]\ncpus = 0\n[hub]\nbogus = 1\n"),
            "v.toml:2:8: `vm.cpus`: expected an integer from 1 to 256, found 0"
        );
    }
}
