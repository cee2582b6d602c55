//! One cloud's settings, as openstacksdk reads them from a clouds.yaml entry.
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::error::CloudError;
use super::secret::Secret;

/// A cloud's connection settings (the subset vmbuild uses).
#[derive(Debug, Clone, PartialEq)]
pub struct CloudConfig {
    /// Its name in clouds.yaml (`envvars` for `OS_*` variables).
    pub name: String,
    /// Where it came from, for messages.
    pub source: String,
    /// Keystone URL, with or without `/v3`.
    pub auth_url: String,
    /// How to authenticate.
    pub auth: Auth,
    /// `region_name`: which catalog region to use (any when absent).
    pub region_name: Option<String>,
    /// `interface`: `public` (default), `internal` or `admin`.
    pub interface: String,
    /// `image_endpoint_override`: use this Glance URL instead of the catalog's.
    pub image_endpoint_override: Option<String>,
    /// `cacert`: extra CA bundle for TLS.
    pub cacert: Option<PathBuf>,
    /// `verify`: check TLS certificates (default true).
    pub verify: bool,
}

/// Keystone v3 authentication methods.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    /// `password` / `v3password`.
    Password {
        /// Who.
        user: UserRef,
        /// Their password.
        password: Secret,
        /// The project to scope the token to.
        scope: Option<ProjectScope>,
    },
    /// `v3applicationcredential` (always scoped to its own project).
    ApplicationCredential {
        /// Credential id (alternatively `name` plus `user`).
        id: Option<String>,
        /// Credential name.
        name: Option<String>,
        /// Owner, needed with `name`.
        user: Option<UserRef>,
        /// The credential's secret.
        secret: Secret,
    },
}

/// A user or project named by id, or by name within a domain.
#[derive(Debug, Clone, PartialEq)]
pub enum UserRef {
    /// By id.
    Id(String),
    /// By name, in a domain given by id or name.
    Name {
        /// User name.
        name: String,
        /// Its domain.
        domain: DomainRef,
    },
}

/// A project scope: by id, or by name within a domain.
#[derive(Debug, Clone, PartialEq)]
pub enum ProjectScope {
    /// By id.
    Id(String),
    /// By name.
    Name {
        /// Project name.
        name: String,
        /// Its domain.
        domain: DomainRef,
    },
}

/// A domain by id or by name.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainRef {
    /// `*_domain_id`.
    Id(String),
    /// `*_domain_name`.
    Name(String),
}

impl CloudConfig {
    /// Read one cloud entry (after secure.yaml was merged in).
    pub fn from_value(name: &str, source: &str, v: &Value) -> Result<CloudConfig, CloudError> {
        let err = |m: String| CloudError::Credentials(format!("cloud `{name}` in {source}: {m}"));
        let empty = Map::new();
        let top = v
            .as_object()
            .ok_or_else(|| err("is not a mapping".into()))?;
        let auth = match top.get("auth") {
            Some(Value::Object(m)) => m,
            None => &empty,
            Some(_) => return Err(err("`auth` is not a mapping".into())),
        };
        let auth_url =
            text(auth, "auth_url").ok_or_else(|| err("`auth.auth_url` is missing".into()))?;
        let auth_type = text(top, "auth_type").unwrap_or_else(|| {
            if text(auth, "application_credential_secret").is_some() {
                "v3applicationcredential".into()
            } else {
                "password".into()
            }
        });
        let auth = match auth_type.as_str() {
            "password" | "v3password" => password_auth(auth).map_err(err)?,
            "v3applicationcredential" | "applicationcredential" | "application_credential" => {
                app_cred_auth(auth).map_err(err)?
            }
            other => {
                return Err(err(format!(
                    "auth_type `{other}` is not supported (use `password`, `v3password` or `v3applicationcredential`)"
                )));
            }
        };
        let interface = text(top, "interface").unwrap_or_else(|| "public".into());
        let interface = interface.trim_end_matches("URL").to_owned();
        if !["public", "internal", "admin"].contains(&interface.as_str()) {
            return Err(err(format!(
                "`interface: {interface}` must be `public`, `internal` or `admin`"
            )));
        }
        let verify = match top.get("verify") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(err(format!("`verify: {other}` must be true or false"))),
        };
        Ok(CloudConfig {
            name: name.to_owned(),
            source: source.to_owned(),
            auth_url,
            auth,
            region_name: text(top, "region_name"),
            interface,
            image_endpoint_override: text(top, "image_endpoint_override"),
            cacert: text(top, "cacert").map(PathBuf::from),
            verify,
        })
    }

    /// The secrets in this config, to register with the Ui.
    pub fn secrets(&self) -> Vec<&str> {
        match &self.auth {
            Auth::Password { password, .. } => vec![password.expose()],
            Auth::ApplicationCredential { secret, .. } => vec![secret.expose()],
        }
    }
}

/// A string-ish value (YAML may read ids as numbers); empty strings count as absent.
fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    match m.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The first of `keys` present.
fn first(m: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| text(m, k))
}

fn domain(m: &Map<String, Value>, kind: &str) -> Option<DomainRef> {
    let id = format!("{kind}_domain_id");
    let name = format!("{kind}_domain_name");
    if let Some(d) = first(m, &[&id, "default_domain_id", "domain_id"]) {
        return Some(DomainRef::Id(d));
    }
    first(m, &[&name, "default_domain_name", "domain_name"]).map(DomainRef::Name)
}

fn user(m: &Map<String, Value>) -> Result<Option<UserRef>, String> {
    if let Some(id) = text(m, "user_id") {
        return Ok(Some(UserRef::Id(id)));
    }
    let Some(name) = text(m, "username") else {
        return Ok(None);
    };
    let domain = domain(m, "user").ok_or_else(|| {
        "`auth.username` needs `auth.user_domain_name` or `auth.user_domain_id`".to_owned()
    })?;
    Ok(Some(UserRef::Name { name, domain }))
}

fn password_auth(m: &Map<String, Value>) -> Result<Auth, String> {
    let user = user(m)?.ok_or("`auth.username` or `auth.user_id` is missing")?;
    let password = text(m, "password").ok_or("`auth.password` is missing")?;
    let scope = if let Some(id) = first(m, &["project_id", "tenant_id"]) {
        Some(ProjectScope::Id(id))
    } else if let Some(name) = first(m, &["project_name", "tenant_name"]) {
        let domain = domain(m, "project").ok_or_else(|| {
            "`auth.project_name` needs `auth.project_domain_name` or `auth.project_domain_id`"
                .to_owned()
        })?;
        Some(ProjectScope::Name { name, domain })
    } else {
        None
    };
    Ok(Auth::Password {
        user,
        password: Secret::new(password),
        scope,
    })
}

fn app_cred_auth(m: &Map<String, Value>) -> Result<Auth, String> {
    let secret = text(m, "application_credential_secret")
        .ok_or("`auth.application_credential_secret` is missing")?;
    let id = text(m, "application_credential_id");
    let name = text(m, "application_credential_name");
    let user = user(m)?;
    if id.is_none() && (name.is_none() || user.is_none()) {
        return Err(
            "`auth.application_credential_id` is missing (or give `application_credential_name` with the user)"
                .into(),
        );
    }
    Ok(Auth::ApplicationCredential {
        id,
        name,
        user,
        secret: Secret::new(secret),
    })
}
