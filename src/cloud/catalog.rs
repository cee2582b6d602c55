//! The service catalog of a Keystone v3 token, and endpoint selection.
use serde::Deserialize;

use super::error::CloudError;

/// The services of a token's catalog.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct Catalog {
    /// One entry per service.
    #[serde(default)]
    pub services: Vec<Service>,
}

/// A catalog service.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Service {
    /// `image`, `identity`, ...
    #[serde(rename = "type")]
    pub service_type: String,
    /// `glance`, `keystone`, ...
    #[serde(default)]
    pub name: Option<String>,
    /// Its endpoints.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
}

/// One endpoint of a service.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Endpoint {
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// Region id (Keystone sends both `region_id` and the legacy `region`).
    #[serde(default)]
    pub region_id: Option<String>,
    /// Legacy region name.
    #[serde(default)]
    pub region: Option<String>,
    /// Base URL.
    pub url: String,
}

impl Catalog {
    /// The catalog of a `POST /v3/auth/tokens` answer (`{"token": {"catalog": [...]}}`).
    pub fn from_token_json(v: &serde_json::Value) -> Result<Catalog, String> {
        let list = v
            .pointer("/token/catalog")
            .ok_or("the token has no catalog (is it scoped to a project?)")?;
        let services: Vec<Service> =
            serde_json::from_value(list.clone()).map_err(|e| format!("malformed catalog: {e}"))?;
        Ok(Catalog { services })
    }

    /// The URL of `service_type` at `interface`, in `region` when given.
    pub fn endpoint(
        &self,
        service_type: &str,
        interface: &str,
        region: Option<&str>,
    ) -> Result<String, CloudError> {
        let services: Vec<&Service> = self
            .services
            .iter()
            .filter(|s| s.service_type == service_type)
            .collect();
        if services.is_empty() {
            let types: Vec<&str> = self
                .services
                .iter()
                .map(|s| s.service_type.as_str())
                .collect();
            return Err(CloudError::Catalog(format!(
                "the service catalog has no `{service_type}` service (it has: {})",
                types.join(", ")
            )));
        }
        let in_region = |e: &Endpoint| {
            region
                .is_none_or(|r| e.region_id.as_deref() == Some(r) || e.region.as_deref() == Some(r))
        };
        let found = services
            .iter()
            .flat_map(|s| s.endpoints.iter())
            .find(|e| e.interface == interface && in_region(e));
        match found {
            Some(e) => Ok(e.url.clone()),
            None => {
                let have: Vec<String> = services
                    .iter()
                    .flat_map(|s| s.endpoints.iter())
                    .map(|e| {
                        format!(
                            "{} in {}",
                            e.interface,
                            e.region_id
                                .as_deref()
                                .or(e.region.as_deref())
                                .unwrap_or("no region")
                        )
                    })
                    .collect();
                Err(CloudError::Catalog(format!(
                    "no `{service_type}` endpoint with interface `{interface}`{} (the catalog has: {}); set `interface` or `region_name` in clouds.yaml",
                    region
                        .map(|r| format!(" in region `{r}`"))
                        .unwrap_or_default(),
                    have.join(", ")
                )))
            }
        }
    }
}

/// Glance's root URL from a catalog entry: Glance endpoints may or may not
/// carry a version (`http://h:9292`, `http://h/image/v2/`); API paths are
/// appended to the unversioned root.
pub(crate) fn image_api_root(url: &str) -> String {
    let mut u = url.trim_end_matches('/').to_owned();
    if let Some(pos) = u.rfind('/') {
        let last = &u[pos + 1..];
        let is_version = last.len() > 1
            && last.starts_with('v')
            && last[1..].chars().all(|c| c.is_ascii_digit() || c == '.');
        if is_version {
            u.truncate(pos);
        }
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Catalog {
        let text = include_str!("../../tests/fixtures/openstack/keystone-token-response.json");
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        Catalog::from_token_json(&v).unwrap()
    }

    #[test]
    fn finds_image_endpoint_in_captured_catalog() {
        let c = sample();
        assert_eq!(
            c.endpoint("image", "public", Some("RegionOne")).unwrap(),
            "http://127.0.0.1:19292"
        );
        assert_eq!(
            c.endpoint("image", "internal", None).unwrap(),
            "http://127.0.0.1:19292"
        );
        assert_eq!(
            c.endpoint("identity", "public", None).unwrap(),
            "http://127.0.0.1:15000/v3/"
        );
    }

    #[test]
    fn missing_region_or_service_is_explained() {
        let c = sample();
        let e = c
            .endpoint("image", "public", Some("Mars"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("region `Mars`") && e.contains("public in RegionOne"),
            "{e}"
        );
        let e = c
            .endpoint("compute", "public", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no `compute` service") && e.contains("image"),
            "{e}"
        );
    }

    #[test]
    fn unscoped_token_has_no_catalog() {
        let v = serde_json::json!({"token": {"methods": ["password"]}});
        assert!(Catalog::from_token_json(&v).unwrap_err().contains("scoped"));
    }

    #[test]
    fn image_root_strips_version() {
        assert_eq!(image_api_root("http://h:9292"), "http://h:9292");
        assert_eq!(image_api_root("http://h:9292/"), "http://h:9292");
        assert_eq!(image_api_root("https://h/image/v2/"), "https://h/image");
        assert_eq!(image_api_root("https://h/image/v2.1"), "https://h/image");
        assert_eq!(image_api_root("https://h/vault"), "https://h/vault");
    }
}
