//! Keystone v3: a project-scoped token and its service catalog.
use reqwest::Method;
use serde_json::{Value, json};

use super::catalog::Catalog;
use super::config::{Auth, CloudConfig, DomainRef, ProjectScope, UserRef};
use super::error::CloudError;
use super::http::Http;
use super::secret::Secret;

/// An authenticated session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// `X-Subject-Token`.
    pub(crate) token: Secret,
    /// The token's catalog.
    pub(crate) catalog: Catalog,
}

/// `POST` URL for tokens, from an `auth_url` with or without `/v3`.
pub(crate) fn token_url(auth_url: &str) -> String {
    let base = auth_url.trim_end_matches('/');
    if base.ends_with("/v3") {
        format!("{base}/auth/tokens")
    } else {
        format!("{base}/v3/auth/tokens")
    }
}

fn domain_json(d: &DomainRef) -> Value {
    match d {
        DomainRef::Id(id) => json!({ "id": id }),
        DomainRef::Name(n) => json!({ "name": n }),
    }
}

fn user_json(u: &UserRef) -> Value {
    match u {
        UserRef::Id(id) => json!({ "id": id }),
        UserRef::Name { name, domain } => json!({ "name": name, "domain": domain_json(domain) }),
    }
}

/// The `POST /v3/auth/tokens` body. It holds the secret: never log it.
pub(crate) fn auth_body(auth: &Auth) -> Value {
    match auth {
        Auth::Password {
            user,
            password,
            scope,
        } => {
            let mut u = user_json(user);
            u["password"] = json!(password.expose());
            let mut body =
                json!({"auth": {"identity": {"methods": ["password"], "password": {"user": u}}}});
            match scope {
                Some(ProjectScope::Id(id)) => {
                    body["auth"]["scope"] = json!({"project": {"id": id}})
                }
                Some(ProjectScope::Name { name, domain }) => {
                    body["auth"]["scope"] =
                        json!({"project": {"name": name, "domain": domain_json(domain)}});
                }
                None => {}
            }
            body
        }
        Auth::ApplicationCredential {
            id,
            name,
            user,
            secret,
        } => {
            let mut ac = json!({ "secret": secret.expose() });
            if let Some(id) = id {
                ac["id"] = json!(id);
            } else {
                ac["name"] = json!(name);
                if let Some(u) = user {
                    ac["user"] = user_json(u);
                }
            }
            json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": ac}}})
        }
    }
}

/// Get a token and catalog for `cloud`.
pub(crate) fn authenticate(http: &Http, cloud: &CloudConfig) -> Result<Session, CloudError> {
    let url = token_url(&cloud.auth_url);
    // Safe to repeat: a lost answer only leaves an unused token behind.
    let ans = http
        .send(Method::POST, &url, &[], Some(&auth_body(&cloud.auth)), true)
        .map_err(|e| match e {
            CloudError::Http {
                status: 401,
                method,
                url,
                body,
            } => CloudError::Http {
                method,
                url,
                status: 401,
                body: format!(
                    "{body} (check the credentials of cloud `{}` in {})",
                    cloud.name, cloud.source
                ),
            },
            other => other,
        })?;
    let token = ans
        .headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| CloudError::Protocol {
            method: "POST".into(),
            url: url.clone(),
            message: "no X-Subject-Token header".into(),
        })?;
    let catalog = Catalog::from_token_json(&ans.json()?).map_err(|m| CloudError::Protocol {
        method: "POST".into(),
        url,
        message: m,
    })?;
    Ok(Session {
        token: Secret::new(token),
        catalog,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_url_with_and_without_version() {
        assert_eq!(token_url("http://k:5000"), "http://k:5000/v3/auth/tokens");
        assert_eq!(
            token_url("http://k:5000/v3/"),
            "http://k:5000/v3/auth/tokens"
        );
        assert_eq!(
            token_url("https://k/identity"),
            "https://k/identity/v3/auth/tokens"
        );
    }

    #[test]
    fn password_body_scoped_by_names() {
        let auth = Auth::Password {
            user: UserRef::Name {
                name: "admin".into(),
                domain: DomainRef::Name("Default".into()),
            },
            password: Secret::new("pw"),
            scope: Some(ProjectScope::Name {
                name: "p".into(),
                domain: DomainRef::Id("default".into()),
            }),
        };
        assert_eq!(
            auth_body(&auth),
            json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": "admin", "domain": {"name": "Default"}, "password": "pw"}}},
                "scope": {"project": {"name": "p", "domain": {"id": "default"}}}}})
        );
    }

    #[test]
    fn application_credential_body() {
        let auth = Auth::ApplicationCredential {
            id: Some("abc".into()),
            name: None,
            user: None,
            secret: Secret::new("s3"),
        };
        assert_eq!(
            auth_body(&auth),
            json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"id": "abc", "secret": "s3"}}}})
        );
        let by_name = Auth::ApplicationCredential {
            id: None,
            name: Some("ci".into()),
            user: Some(UserRef::Id("u1".into())),
            secret: Secret::new("s3"),
        };
        assert_eq!(
            auth_body(&by_name)["auth"]["identity"]["application_credential"],
            json!({"name": "ci", "user": {"id": "u1"}, "secret": "s3"})
        );
    }
}
