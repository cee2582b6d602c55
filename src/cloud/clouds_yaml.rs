//! Finding a cloud's settings the way openstacksdk does: clouds.yaml (merged
//! with secure.yaml) in `.`, `~/.config/openstack/`, `/etc/openstack/`, or
//! `OS_CLIENT_CONFIG_FILE`; the cloud named by the caller or `OS_CLOUD`; or
//! the `OS_*` variables as the cloud `envvars`.
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::config::CloudConfig;
use super::error::CloudError;

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
            clouds_override: env("OS_CLIENT_CONFIG_FILE").filter(|s| !s.is_empty()).map(PathBuf::from),
            secure_override: env("OS_CLIENT_SECURE_FILE").filter(|s| !s.is_empty()).map(PathBuf::from),
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
/// process environment and the standard places.
pub fn load_cloud(name: Option<&str>) -> Result<CloudConfig, CloudError> {
    let env = |k: &str| std::env::var(k).ok();
    load_cloud_with(name, &SearchPaths::from_env(&env), &env)
}

/// [`load_cloud`] with explicit search paths and environment (for tests).
pub(crate) fn load_cloud_with(
    name: Option<&str>,
    paths: &SearchPaths,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<CloudConfig, CloudError> {
    let name = match name.map(str::to_owned).or_else(|| env("OS_CLOUD").filter(|s| !s.is_empty())) {
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
        return CloudConfig::from_value(&name, "the OS_* environment variables", &env_cloud(env));
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
        Some(v) => CloudConfig::from_value(&name, &source, v),
        None => {
            let known: Vec<&str> = clouds.keys().map(String::as_str).collect();
            Err(CloudError::Credentials(format!(
                "cloud `{name}` is not in {source} (it has: {})",
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
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

/// Parse clouds.yaml text; errors name the file and the position.
pub(crate) fn parse_clouds(path: &Path, text: &str) -> Result<Map<String, Value>, CloudError> {
    let bad = |message: String| CloudError::CloudsYaml {
        path: path.to_owned(),
        message,
    };
    let doc: Value = serde_saphyr::from_str(text).map_err(|e| bad(e.to_string()))?;
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
        "AUTH_URL", "USERNAME", "USER_ID", "PASSWORD", "PROJECT_NAME", "PROJECT_ID",
        "TENANT_NAME", "TENANT_ID", "USER_DOMAIN_NAME", "USER_DOMAIN_ID",
        "PROJECT_DOMAIN_NAME", "PROJECT_DOMAIN_ID", "DOMAIN_NAME", "DOMAIN_ID",
        "DEFAULT_DOMAIN_NAME", "DEFAULT_DOMAIN_ID", "APPLICATION_CREDENTIAL_ID",
        "APPLICATION_CREDENTIAL_NAME", "APPLICATION_CREDENTIAL_SECRET", "REGION_NAME",
        "INTERFACE", "AUTH_TYPE", "CACERT", "IMAGE_ENDPOINT_OVERRIDE", "IDENTITY_API_VERSION",
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
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::cloud::config::{Auth, DomainRef, ProjectScope, UserRef};

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openstack")
    }

    /// Search paths over the fixture tree: `cwd`, `user/openstack`, `etc/openstack`,
    /// keeping only the directories named in `dirs`.
    fn paths(dirs: &[&str]) -> SearchPaths {
        let root = fixtures().join("lookup");
        SearchPaths {
            clouds_override: None,
            secure_override: None,
            dirs: dirs.iter().map(|d| root.join(d)).collect(),
        }
    }

    fn load(name: Option<&str>, p: &SearchPaths, env: &[(&str, &str)]) -> Result<CloudConfig, CloudError> {
        let map: HashMap<String, String> =
            env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        load_cloud_with(name, p, &|k| map.get(k).cloned())
    }

    #[test]
    fn standard_search_order() {
        let env: HashMap<&str, &str> = [("HOME", "/home/u")].into();
        let p = SearchPaths::from_env(&|k| env.get(k).map(|v| (*v).to_owned()));
        let c: Vec<String> = p.clouds_candidates().iter().map(|p| p.display().to_string()).collect();
        assert_eq!(c[0], "./clouds.yaml");
        assert_eq!(c[1], "./clouds.yml");
        assert_eq!(c[3], "/home/u/.config/openstack/clouds.yaml");
        assert_eq!(c[6], "/etc/openstack/clouds.yaml");
        let env: HashMap<&str, &str> =
            [("XDG_CONFIG_HOME", "/x"), ("OS_CLIENT_CONFIG_FILE", "/o/c.yaml")].into();
        let p = SearchPaths::from_env(&|k| env.get(k).map(|v| (*v).to_owned()));
        assert_eq!(p.clouds_candidates()[0], Path::new("/o/c.yaml"));
        assert_eq!(p.clouds_candidates()[4], Path::new("/x/openstack/clouds.yaml"));
        assert_eq!(p.secure_candidates()[0], Path::new("./secure.yaml"));
    }

    #[test]
    fn first_file_wins_and_secure_yaml_is_merged() {
        let c = load(Some("mycloud"), &paths(&["cwd", "user/openstack", "etc/openstack"]), &[]).unwrap();
        assert_eq!(c.auth_url, "https://keystone.example.org:5000/v3");
        assert_eq!(c.region_name.as_deref(), Some("RegionTwo"));
        assert_eq!(c.interface, "internal");
        assert!(c.source.ends_with("lookup/cwd/clouds.yaml"));
        assert_eq!(
            c.auth,
            Auth::Password {
                user: UserRef::Name { name: "alice".into(), domain: DomainRef::Name("Default".into()) },
                password: crate::cloud::Secret::new("from-secure-yaml"),
                scope: Some(ProjectScope::Name { name: "course".into(), domain: DomainRef::Id("default".into()) }),
            }
        );
        // The user's file is not read when ./clouds.yaml exists.
        let e = load(Some("usercloud"), &paths(&["cwd", "user/openstack"]), &[]).unwrap_err();
        assert!(e.to_string().contains("cloud `usercloud` is not in"), "{e}");
        assert!(e.to_string().contains("appcred, mycloud, numeric"), "{e}");
    }

    #[test]
    fn falls_through_to_user_then_system_dir() {
        let c = load(Some("usercloud"), &paths(&["missing", "user/openstack", "etc/openstack"]), &[]).unwrap();
        assert_eq!(c.interface, "public");
        assert!(c.verify);
        let c = load(None, &paths(&["missing", "etc/openstack"]), &[("OS_CLOUD", "systemcloud")]).unwrap();
        assert!(!c.verify);
        let Auth::Password { scope, .. } = &c.auth else { panic!("{c:?}") };
        assert_eq!(
            scope,
            &Some(ProjectScope::Name { name: "ops".into(), domain: DomainRef::Name("Default".into()) })
        );
    }

    #[test]
    fn os_client_config_file_comes_first() {
        let mut p = paths(&["cwd"]);
        p.clouds_override = Some(fixtures().join("lookup/override/my-clouds.yaml"));
        let c = load(Some("overridden"), &p, &[]).unwrap();
        assert_eq!(c.auth_url, "http://override.example:5000");
    }

    #[test]
    fn application_credential_and_numeric_ids() {
        let p = paths(&["cwd"]);
        let c = load(Some("appcred"), &p, &[]).unwrap();
        assert!(matches!(&c.auth, Auth::ApplicationCredential { id: Some(id), .. } if id == "4a9f"));
        assert_eq!(c.secrets(), vec!["s3cret-app"]);
        assert!(!format!("{c:?}").contains("s3cret-app"), "Debug must redact");
        let c = load(Some("numeric"), &p, &[]).unwrap();
        let Auth::Password { user, scope, .. } = &c.auth else { panic!() };
        assert_eq!(user, &UserRef::Id("12345".into()));
        assert_eq!(scope, &Some(ProjectScope::Id("678".into())));
    }

    #[test]
    fn envvars_cloud() {
        let env = [
            ("OS_AUTH_URL", "http://env.example:5000/v3"),
            ("OS_USERNAME", "erin"),
            ("OS_PASSWORD", "pw-env"),
            ("OS_PROJECT_NAME", "p"),
            ("OS_USER_DOMAIN_NAME", "Default"),
            ("OS_PROJECT_DOMAIN_NAME", "Default"),
            ("OS_REGION_NAME", "R1"),
            ("OS_INTERFACE", "public"),
        ];
        let c = load(None, &paths(&["cwd"]), &env).unwrap();
        assert_eq!(c.name, ENVVARS_CLOUD);
        assert_eq!(c.region_name.as_deref(), Some("R1"));
        assert_eq!(c.secrets(), vec!["pw-env"]);
        // A named cloud wins over OS_* variables.
        let c = load(Some("appcred"), &paths(&["cwd"]), &env).unwrap();
        assert_eq!(c.name, "appcred");
    }

    #[test]
    fn nothing_named_is_a_clear_user_error() {
        let e = load(None, &paths(&["cwd"]), &[]).unwrap_err();
        assert!(e.is_user_error());
        assert!(e.to_string().contains("OS_CLOUD"), "{e}");
        let e = load(Some("x"), &paths(&["missing"]), &[]).unwrap_err();
        assert!(e.to_string().contains("no clouds.yaml found"), "{e}");
    }

    #[test]
    fn malformed_files_name_file_and_position() {
        let bad = fixtures().join("bad");
        let text = std::fs::read_to_string(bad.join("bad-indent.yaml")).unwrap();
        let e = parse_clouds(&bad.join("bad-indent.yaml"), &text).unwrap_err().to_string();
        assert!(e.contains("bad-indent.yaml") && e.contains('5'), "{e}");
        let text = std::fs::read_to_string(bad.join("no-clouds.yaml")).unwrap();
        let e = parse_clouds(Path::new("no-clouds.yaml"), &text).unwrap_err().to_string();
        assert!(e.contains("no `clouds:` mapping"), "{e}");
        let e = parse_clouds(Path::new("e.yaml"), "").unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
    }

    #[test]
    fn unsupported_or_incomplete_auth_is_explained() {
        let mut p = paths(&[]);
        p.clouds_override = Some(fixtures().join("bad/unsupported.yaml"));
        let e = load(Some("tokencloud"), &p, &[]).unwrap_err().to_string();
        assert!(e.contains("auth_type `v3token` is not supported"), "{e}");
        let e = load(Some("nodomain"), &p, &[]).unwrap_err().to_string();
        assert!(e.contains("user_domain_name"), "{e}");
    }
}
