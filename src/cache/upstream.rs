//! The host's side of the cache: fetching from the mirrors and registries
//! at native speed, through the configured proxy and with the extra CAs.
use std::time::Duration;

use super::CacheError;
use crate::config::Config;

/// An HTTP client for the upstream registries.
pub fn client(config: &Config) -> Result<reqwest::Client, CacheError> {
    let setup = |message: String| CacheError::Setup(message);
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(120))
        .user_agent(concat!("vmbuild-cache/", env!("CARGO_PKG_VERSION")));
    for path in &config.proxy.extra_ca_certs {
        let pem = std::fs::read(path).map_err(|e| {
            setup(format!(
                "cannot read `proxy.extra_ca_certs` file `{path}`: {e}"
            ))
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| setup(format!("`{path}` is not a PEM certificate bundle: {e}")))?;
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    if let Some(p) = &config.proxy.http_proxy {
        let p = reqwest::Proxy::http(p).map_err(|e| setup(format!("`proxy.http_proxy`: {e}")))?;
        b = b.proxy(p);
    }
    if let Some(p) = config
        .proxy
        .https_proxy
        .as_ref()
        .or(config.proxy.http_proxy.as_ref())
    {
        let p = reqwest::Proxy::https(p).map_err(|e| setup(format!("`proxy.https_proxy`: {e}")))?;
        b = b.proxy(p);
    }
    b.build()
        .map_err(|e| setup(format!("cannot set up the HTTP client: {}", chain(&e))))
}

/// A small document (index, package page) read whole: status and body.
pub async fn get_small(
    client: &reqwest::Client,
    url: &str,
    accept: Option<&str>,
) -> Result<(u16, Vec<u8>), CacheError> {
    let mut req = client.get(url);
    if let Some(a) = accept {
        req = req.header(reqwest::header::ACCEPT, a);
    }
    let up = |e: reqwest::Error| CacheError::Upstream {
        url: url.to_owned(),
        message: chain(&e),
    };
    let resp = req.send().await.map_err(up)?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.map_err(up)?;
    Ok((status, body.to_vec()))
}

/// An error with its causes ("a: b: c"): reqwest's own text hides the cause.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
