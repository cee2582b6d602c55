//! `VMBUILD_*` environment variables as a config layer.
//!
//! Mapping: drop the `VMBUILD_` prefix, split the rest at double underscores
//! (`__`) into keys, lower-case them. Single underscores stay part of a key:
//! `VMBUILD_VM__MEMORY_MB` is `vm.memory_mb`, `VMBUILD_SHARED_DATA__HOST_DIR` is
//! `shared_data.host_dir`, `VMBUILD_HUB__AUTHENTICATOR_SETTINGS__CLIENT_SECRET`
//! is `hub.authenticator_settings.client_secret`.
//!
//! Values for string keys are taken verbatim. Other values are read as TOML
//! values (`4`, `true`, `["box", "ova"]`, `{ a = 1 }`); text that is not a
//! TOML value is taken as a string, and then fails the type check with an
//! error naming the variable.
//!
//! Variables whose first key is not a top-level config key are not config
//! and are ignored (`VMBUILD_E2E` for tests; `VMBUILD_CONFIG` is `--config`'s
//! variable), unless they contain `__`, which only config variables do: those
//! are rejected as misspelled, with a suggestion.
use super::check::{Checker, did_you_mean};
use super::convert::{set_path, value_to_toml};
use super::error::{ConfigError, Origin};
use super::schema::{Shape, root};

/// The prefix of config variables.
pub const PREFIX: &str = "VMBUILD_";

/// A config variable's keys, or `None` if `var` is not a config variable.
fn keys_of(var: &str) -> Option<Vec<String>> {
    let rest = var.strip_prefix(PREFIX)?;
    let keys: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
    let is_config = root().field(&keys[0]).is_some() || rest.contains("__");
    is_config.then_some(keys)
}

/// The variable name for a dotted key path: `vm.cpus` -> `VMBUILD_VM__CPUS`.
pub fn var_name(keys: &[&str]) -> String {
    let upper: Vec<String> = keys.iter().map(|k| k.to_uppercase()).collect();
    format!("{PREFIX}{}", upper.join("__"))
}

/// Apply the config variables among `vars` to `table`; return the names used.
/// `vars` should be sorted so that errors are reported deterministically.
pub(crate) fn apply(
    table: &mut toml::Table,
    locations: &mut super::check::Locations,
    vars: &[(String, String)],
) -> Result<Vec<String>, ConfigError> {
    let mut used = Vec::new();
    for (var, raw) in vars {
        let Some(keys) = keys_of(var) else { continue };
        let shape = target_shape(var, &keys)?;
        let value = parse_value(raw, shape);
        let origin = Origin::Env(var.clone());
        let locate = |_| origin.clone();
        let mut checker = Checker::new(&locate);
        let path = keys.join(".");
        let item = toml_edit::Item::Value(value.clone());
        checker.item(&path, None, &item, shape);
        locations.extend(checker.finish()?);
        set_path(table, &keys, value_to_toml(&value));
        used.push(var.clone());
    }
    Ok(used)
}

/// The shape at `keys`, or an error naming the variable.
fn target_shape<'s>(var: &str, keys: &[String]) -> Result<&'s Shape, ConfigError> {
    let mut shape = root();
    for (i, key) in keys.iter().enumerate() {
        let path = keys[..=i].join(".");
        shape = match shape {
            Shape::Table(fields) => match fields.iter().find(|f| &f.name == key) {
                Some(f) => &f.shape,
                None => {
                    let names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
                    let mut message = format!("`{path}` is not a config key");
                    if let Some(best) = did_you_mean(key, &names) {
                        let mut fixed: Vec<&str> = keys.iter().map(String::as_str).collect();
                        fixed[i] = best;
                        message.push_str(&format!("; did you mean `{}`?", var_name(&fixed)));
                    }
                    return Err(env_error(var, &path, message));
                }
            },
            Shape::OpenTable | Shape::Any => return Ok(&Shape::Any),
            _ => {
                let parent = keys[..i].join(".");
                let message = format!("`{parent}` is not a table, so it has no key `{key}`");
                return Err(env_error(var, &path, message));
            }
        };
    }
    Ok(shape)
}

fn env_error(var: &str, key: &str, message: String) -> ConfigError {
    ConfigError::Value {
        origin: Origin::Env(var.to_owned()),
        key: key.to_owned(),
        message,
    }
}

/// Strings verbatim; anything else as a TOML value if it parses as one.
fn parse_value(raw: &str, shape: &Shape) -> toml_edit::Value {
    if matches!(shape, Shape::Str(_)) {
        return toml_edit::Value::from(raw);
    }
    match raw.trim().parse::<toml_edit::Value>() {
        Ok(v) => v,
        Err(_) => toml_edit::Value::from(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(vars: &[(&str, &str)]) -> Result<toml::Table, String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let mut table = toml::Table::new();
        let mut locs = Default::default();
        apply(&mut table, &mut locs, &vars).map_err(|e| e.to_string())?;
        Ok(table)
    }

    #[test]
    fn variables_map_to_nested_keys() {
        let t = run(&[
            ("VMBUILD_VM__CPUS", "4"),
            ("VMBUILD_SHARED_DATA__HOST_DIR", "none"),
            ("VMBUILD_EXPORT__FORMATS", "[\"qcow2\"]"),
            ("VMBUILD_HUB__ADMIN_PASSWORD", "1234567890"),
            ("VMBUILD_HUB__AUTHENTICATOR_SETTINGS__CLIENT_ID", "abc"),
            ("VMBUILD_E2E", "1"),
        ])
        .expect("ok");
        assert_eq!(
            toml::to_string(&t).expect("ser"),
            "[export]\nformats = [\"qcow2\"]\n\n[hub]\nadmin_password = \"1234567890\"\n\n[hub.authenticator_settings]\nclient_id = \"abc\"\n\n[shared_data]\nhost_dir = \"none\"\n\n[vm]\ncpus = 4\n"
        );
    }

    #[test]
    fn bad_variables_are_named() {
        assert_eq!(
            run(&[("VMBUILD_VM__CPUS", "two")]).unwrap_err(),
            "environment variable `VMBUILD_VM__CPUS`: expected an integer from 1 to 256, found \"two\""
        );
        assert_eq!(
            run(&[("VMBUILD_VM__MEMROY_MB", "4096")]).unwrap_err(),
            "environment variable `VMBUILD_VM__MEMROY_MB`: `vm.memroy_mb` is not a config key; did you mean `VMBUILD_VM__MEMORY_MB`?"
        );
        assert_eq!(
            run(&[("VMBUILD_VM__CPUS__MAX", "4")]).unwrap_err(),
            "environment variable `VMBUILD_VM__CPUS__MAX`: `vm.cpus` is not a table, so it has no key `max`"
        );
        assert_eq!(
            run(&[("VMBUILD_R__ENABLED", "yes")]).unwrap_err(),
            "environment variable `VMBUILD_R__ENABLED`: expected `true` or `false`, found \"yes\""
        );
    }
}
