//! Finding a cloud's settings the way openstacksdk does: clouds.yaml (merged
//! with secure.yaml) in `.`, `~/.config/openstack/`, `/etc/openstack/`, or
//! `OS_CLIENT_CONFIG_FILE`; the cloud named by the caller or `OS_CLOUD`; or
//! the `OS_*` variables as the cloud `envvars`.
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::config::CloudConfig;
use super::error::CloudError;
use crate::ui::Ui;

/// The cloud name openstacksdk gives the `OS_*` variables.
pub const ENVVARS_CLOUD: &str = "envvars";

/// Where clouds.yaml and secure.yaml are looked for, first match wins.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPaths {
    /// `OS_CLIENT_CONFIG_FILE`: tried before all others.
    pub clouds_override: Option<PathBuf>,
    /// `OS_CLIENT_SECURE_FILE`: tried before all others for secure.yaml.
    pub secure_override: Option<PathBuf>,
    /// Directories, in order: the current one, the user's, the system's.
    pub dirs: Vec<PathBuf>,
}

impl SearchPaths {
    /// The standard places, from the process environment.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> SearchPaths {
        let mut dirs = vec![PathBuf::from(".")];
        let user = env("XDG_CONFIG_HOME")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config")));
        if let Some(u) = user {
            dirs.push(u.join("openstack"));
        }
        dirs.push(PathBuf::from("/etc/openstack"));
        SearchPaths {
            clouds_override: env("OS_CLIENT_CONFIG_FILE")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            secure_override: env("OS_CLIENT_SECURE_FILE")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            dirs,
        }
    }

    fn candidates(&self, stem: &str, first: Option<&PathBuf>) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = first.into_iter().cloned().collect();
        for d in &self.dirs {
            for ext in ["yaml", "yml", "json"] {
                v.push(d.join(format!("{stem}.{ext}")));
            }
        }
        v
    }

    /// Every clouds.yaml candidate, in search order.
    pub fn clouds_candidates(&self) -> Vec<PathBuf> {
        self.candidates("clouds", self.clouds_override.as_ref())
    }

    /// Every secure.yaml candidate, in search order.
    pub fn secure_candidates(&self) -> Vec<PathBuf> {
        self.candidates("secure", self.secure_override.as_ref())
    }
}

/// Load the cloud `name` (or `OS_CLOUD`, or the `OS_*` variables) from the
/// process environment and the standard places. Every credential of the
/// cloud's entry is registered with `ui` before the entry is checked, so
/// it is masked in whatever is printed from then on, errors included.
pub fn load_cloud(name: Option<&str>, ui: &Ui) -> Result<CloudConfig, CloudError> {
    let env = |k: &str| std::env::var(k).ok();
    load_cloud_with(name, &SearchPaths::from_env(&env), &env, ui)
}

/// [`load_cloud`] with explicit search paths and environment (for tests).
pub(crate) fn load_cloud_with(
    name: Option<&str>,
    paths: &SearchPaths,
    env: &dyn Fn(&str) -> Option<String>,
    ui: &Ui,
) -> Result<CloudConfig, CloudError> {
    let name = match name
        .map(str::to_owned)
        .or_else(|| env("OS_CLOUD").filter(|s| !s.is_empty()))
    {
        Some(n) => n,
        None if env("OS_AUTH_URL").is_some() => ENVVARS_CLOUD.to_owned(),
        None => {
            return Err(CloudError::Credentials(
                "no cloud given: pass a cloud name (`--cloud` / `--openstack`), set OS_CLOUD, set `openstack.cloud` in vmbuild.toml, or set the OS_* variables (OS_AUTH_URL, ...)".into(),
            ));
        }
    };
    let clouds_file = paths.clouds_candidates().into_iter().find(|p| p.is_file());
    if name == ENVVARS_CLOUD && env("OS_AUTH_URL").is_some() {
        let cloud = env_cloud(env);
        register_credentials(&cloud, ui);
        return CloudConfig::from_value(&name, "the OS_* environment variables", &cloud);
    }
    let Some(clouds_file) = clouds_file else {
        let searched: Vec<String> = paths
            .clouds_candidates()
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        return Err(CloudError::Credentials(format!(
            "cloud `{name}`: no clouds.yaml found (looked for {})",
            searched.join(", ")
        )));
    };
    let mut clouds = read_clouds(&clouds_file)?;
    if let Some(secure) = paths.secure_candidates().into_iter().find(|p| p.is_file()) {
        merge(&mut clouds, read_clouds(&secure)?);
    }
    let source = clouds_file.display().to_string();
    match clouds.get(&name) {
        Some(v) => {
            register_credentials(v, ui);
            CloudConfig::from_value(&name, &source, v)
        }
        None => {
            let known: Vec<&str> = clouds.keys().map(String::as_str).collect();
            Err(CloudError::Credentials(format!(
                "cloud `{name}` is not in {source} (it has: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )))
        }
    }
}

/// The `clouds:` mapping of a clouds.yaml or secure.yaml file.
fn read_clouds(path: &Path) -> Result<Map<String, Value>, CloudError> {
    let text = std::fs::read_to_string(path).map_err(|e| CloudError::CloudsYaml {
        path: path.to_owned(),
        message: format!("cannot read: {e}"),
    })?;
    parse_clouds(path, &text)
}

/// Words that make a key's value a credential (`password`,
/// `application_credential_secret`, `token`, ...).
const CREDENTIAL_WORDS: &[&str] = &["password", "secret", "token", "passcode"];

/// Register every string under a credential-like key of `entry` (at any
/// depth) as a secret with `ui`.
fn register_credentials(entry: &Value, ui: &Ui) {
    match entry {
        Value::Object(m) => {
            for (k, v) in m {
                let k = k.to_ascii_lowercase();
                match v {
                    Value::String(s) if CREDENTIAL_WORDS.iter().any(|w| k.contains(w)) => {
                        ui.add_secret(s);
                    }
                    Value::Number(n) if CREDENTIAL_WORDS.iter().any(|w| k.contains(w)) => {
                        ui.add_secret(&n.to_string());
                    }
                    other => register_credentials(other, ui),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| register_credentials(v, ui)),
        _ => {}
    }
}

/// Parse clouds.yaml text; errors name the file and the position.
pub(crate) fn parse_clouds(path: &Path, text: &str) -> Result<Map<String, Value>, CloudError> {
    let bad = |message: String| CloudError::CloudsYaml {
        path: path.to_owned(),
        message,
    };
    let doc: Value =
        serde_saphyr::from_str(text).map_err(|e| super::yaml_error::syntax_error(path, &e))?;
    match doc {
        Value::Object(mut top) => match top.remove("clouds") {
            Some(Value::Object(c)) => Ok(c),
            Some(Value::Null) | None => Err(bad("has no `clouds:` mapping".into())),
            Some(_) => Err(bad("`clouds` is not a mapping of cloud names".into())),
        },
        Value::Null => Err(bad("is empty; expected a `clouds:` mapping".into())),
        _ => Err(bad("is not a mapping; expected a `clouds:` mapping".into())),
    }
}

/// Deep-merge `from` into `into` (secure.yaml over clouds.yaml).
fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) => merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

/// Top-level (non-`auth`) keys an `OS_*` variable may set.
const TOP_LEVEL: &[&str] = &[
    "region_name",
    "interface",
    "auth_type",
    "cacert",
    "image_endpoint_override",
    "identity_api_version",
];

/// The `envvars` cloud: `OS_FOO_BAR` becomes `foo_bar` under `auth:` or at
/// the top, as openstacksdk does.
fn env_cloud(env: &dyn Fn(&str) -> Option<String>) -> Value {
    const KEYS: &[&str] = &[
        "AUTH_URL",
        "USERNAME",
        "USER_ID",
        "PASSWORD",
        "PROJECT_NAME",
        "PROJECT_ID",
        "TENANT_NAME",
        "TENANT_ID",
        "USER_DOMAIN_NAME",
        "USER_DOMAIN_ID",
        "PROJECT_DOMAIN_NAME",
        "PROJECT_DOMAIN_ID",
        "DOMAIN_NAME",
        "DOMAIN_ID",
        "DEFAULT_DOMAIN_NAME",
        "DEFAULT_DOMAIN_ID",
        "TOKEN",
        "APPLICATION_CREDENTIAL_ID",
        "APPLICATION_CREDENTIAL_NAME",
        "APPLICATION_CREDENTIAL_SECRET",
        "REGION_NAME",
        "INTERFACE",
        "AUTH_TYPE",
        "CACERT",
        "IMAGE_ENDPOINT_OVERRIDE",
        "IDENTITY_API_VERSION",
    ];
    let mut top = Map::new();
    let mut auth = Map::new();
    for k in KEYS {
        let Some(v) = env(&format!("OS_{k}")).filter(|v| !v.is_empty()) else {
            continue;
        };
        let key = k.to_ascii_lowercase();
        if TOP_LEVEL.contains(&key.as_str()) {
            top.insert(key, Value::String(v));
        } else {
            auth.insert(key, Value::String(v));
        }
    }
    if env("OS_INSECURE").is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1") {
        top.insert("verify".into(), Value::Bool(false));
    }
    top.insert("auth".into(), Value::Object(auth));
    Value::Object(top)
}

#[cfg(test)]
#[path = "clouds_yaml_tests.rs"]
mod tests;
