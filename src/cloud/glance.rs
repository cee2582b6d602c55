//! Glance v2 image API calls.
use reqwest::Method;
use reqwest::blocking::Body;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::CloudError;
use super::http::Http;
use super::secret::Secret;

/// An image record as `GET /v2/images/{id}` returns it (the fields we use).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Image {
    /// Image id (UUID).
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// `queued`, `saving`, `uploading`, `importing`, `active`, `killed`, ...
    pub status: String,
    /// Stored size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// md5 of the data.
    #[serde(default)]
    pub checksum: Option<String>,
    /// Algorithm of `os_hash_value` (Glance's default is sha512).
    #[serde(default)]
    pub os_hash_algo: Option<String>,
    /// Multihash of the data.
    #[serde(default)]
    pub os_hash_value: Option<String>,
    /// Disk format.
    #[serde(default)]
    pub disk_format: Option<String>,
    /// Stores whose import failed (`os_glance_failed_import`).
    #[serde(default)]
    pub os_glance_failed_import: Option<String>,
}

/// A Glance endpoint with a token.
pub(crate) struct Glance<'a> {
    pub(crate) http: &'a Http,
    /// Unversioned root URL.
    pub(crate) root: String,
    pub(crate) token: &'a Secret,
}

impl Glance<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.root)
    }

    fn json_call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<super::http::Answer, CloudError> {
        self.http.send(
            method,
            &self.url(path),
            &[("X-Auth-Token", self.token.expose())],
            body,
            idempotent,
        )
    }

    fn image_from(ans: &super::http::Answer) -> Result<Image, CloudError> {
        serde_json::from_value(ans.json()?).map_err(|e| CloudError::Protocol {
            method: ans.method.to_string(),
            url: ans.url.clone(),
            message: format!("not an image record: {e}"),
        })
    }

    /// Import methods the cloud offers (`GET /v2/info/import`); empty when
    /// the cloud has no import API (404).
    pub(crate) fn import_methods(&self) -> Result<Vec<String>, CloudError> {
        match self.json_call(Method::GET, "/v2/info/import", None, true) {
            Ok(ans) => Ok(parse_import_methods(&ans.json()?)),
            Err(CloudError::Http { status: 404, .. }) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// `POST /v2/images`.
    pub(crate) fn create(&self, body: &Value) -> Result<Image, CloudError> {
        let ans = self.json_call(Method::POST, "/v2/images", Some(body), false)?;
        Self::image_from(&ans)
    }

    /// `GET /v2/images/{id}`.
    pub(crate) fn get(&self, id: &str) -> Result<Image, CloudError> {
        let ans = self.json_call(Method::GET, &format!("/v2/images/{id}"), None, true)?;
        Self::image_from(&ans)
    }

    /// Images called `name` (`GET /v2/images?name=`), first page only.
    pub(crate) fn find_by_name(&self, name: &str) -> Result<Vec<Image>, CloudError> {
        let mut url = reqwest::Url::parse(&self.url("/v2/images"))
            .map_err(|e| CloudError::Catalog(format!("bad image endpoint `{}`: {e}", self.root)))?;
        url.query_pairs_mut().append_pair("name", name);
        let ans = self.http.send(
            Method::GET,
            url.as_str(),
            &[("X-Auth-Token", self.token.expose())],
            None,
            true,
        )?;
        let v = ans.json()?;
        serde_json::from_value(v.get("images").cloned().unwrap_or(json!([]))).map_err(|e| {
            CloudError::Protocol {
                method: "GET".into(),
                url: url.to_string(),
                message: format!("not an image list: {e}"),
            }
        })
    }

    /// `DELETE /v2/images/{id}`; a missing image counts as deleted.
    pub(crate) fn delete(&self, id: &str) -> Result<(), CloudError> {
        match self.json_call(Method::DELETE, &format!("/v2/images/{id}"), None, true) {
            Ok(_) | Err(CloudError::Http { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Stream `body` to `/v2/images/{id}/file` (direct upload) or
    /// `/v2/images/{id}/stage` (import step 1).
    pub(crate) fn put_data(
        &self,
        id: &str,
        target: DataTarget,
        body: Body,
    ) -> Result<(), CloudError> {
        let path = match target {
            DataTarget::File => format!("/v2/images/{id}/file"),
            DataTarget::Stage => format!("/v2/images/{id}/stage"),
        };
        self.http.send_body(
            Method::PUT,
            &self.url(&path),
            &[
                ("X-Auth-Token", self.token.expose()),
                ("Content-Type", "application/octet-stream"),
            ],
            body,
        )?;
        Ok(())
    }

    /// `POST /v2/images/{id}/import` with `method` (import step 2).
    pub(crate) fn import(&self, id: &str, method: &str) -> Result<(), CloudError> {
        let body = json!({"method": {"name": method}});
        self.json_call(
            Method::POST,
            &format!("/v2/images/{id}/import"),
            Some(&body),
            false,
        )?;
        Ok(())
    }
}

/// Where image data goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataTarget {
    /// `PUT /file`: the image becomes active when the request ends.
    File,
    /// `PUT /stage`: the data waits for `POST /import`.
    Stage,
}

/// The method names of a `GET /v2/info/import` answer.
pub(crate) fn parse_import_methods(v: &Value) -> Vec<String> {
    v.pointer("/import-methods/value")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_methods_from_captured_answer() {
        let v: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/openstack/glance-info-import.json"
        ))
        .unwrap();
        assert_eq!(parse_import_methods(&v), vec!["glance-direct"]);
        assert!(parse_import_methods(&json!({})).is_empty());
    }

    #[test]
    fn image_record_from_captured_answer() {
        let v: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/openstack/glance-image-queued.json"
        ))
        .unwrap();
        let img: Image = serde_json::from_value(v).unwrap();
        assert_eq!(img.status, "queued");
        assert_eq!(img.size, None);
        assert_eq!(img.disk_format.as_deref(), Some("qcow2"));
    }
}
