//! A small blocking HTTP client: typed errors with method, URL, status and a
//! body excerpt; retries of idempotent requests on connection errors;
//! redirects followed only within the origin ([`super::redirect`]).
use std::time::Duration;

use reqwest::Method;
use reqwest::blocking::{Body, Client, RequestBuilder, Response};
use serde_json::Value;

use super::config::CloudConfig;
use super::error::CloudError;

/// How long an ordinary (non-upload) request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Attempts for idempotent requests that fail without an answer.
const ATTEMPTS: u32 = 3;
/// At most this much of an error body goes into messages.
const EXCERPT_CHARS: usize = 300;

/// The HTTP client of one cloud.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: Client,
}

/// A successful answer, read whole (only small JSON answers are read whole).
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) method: Method,
    pub(crate) url: String,
}

impl Answer {
    /// The body as JSON.
    pub(crate) fn json(&self) -> Result<Value, CloudError> {
        serde_json::from_slice(&self.body).map_err(|e| CloudError::Protocol {
            method: self.method.to_string(),
            url: self.url.clone(),
            message: format!("body is not JSON ({e}): {}", excerpt(&self.body)),
        })
    }
}

impl Http {
    /// A client honouring the cloud's `cacert` and `verify` settings.
    ///
    /// Connection pooling is off: Keystone behind uwsgi closes kept-alive
    /// connections, and a request on a dead pooled socket fails with
    /// "connection reset"; a fresh connection per request costs ~1 ms on a LAN.
    pub(crate) fn new(cloud: &CloudConfig) -> Result<Http, CloudError> {
        let mut b = Client::builder()
            .timeout(None::<Duration>)
            .connect_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(0)
            .redirect(super::redirect::same_origin_only())
            .user_agent(concat!("vmbuild/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &cloud.cacert {
            let pem = std::fs::read(ca).map_err(|e| {
                CloudError::Credentials(format!(
                    "cloud `{}`: cannot read cacert `{}`: {e}",
                    cloud.name,
                    ca.display()
                ))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                CloudError::Credentials(format!(
                    "cloud `{}`: cacert `{}` is not PEM: {e}",
                    cloud.name,
                    ca.display()
                ))
            })?;
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        if !cloud.verify {
            b = b.danger_accept_invalid_certs(true);
        }
        let client = b.build().map_err(|e| {
            CloudError::Credentials(format!("cannot set up the HTTP client: {}", chain(&e)))
        })?;
        Ok(Http { client })
    }

    /// Send a request without a streamed body and read the answer whole.
    /// `idempotent` requests are retried when no answer came back.
    pub(crate) fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        json: Option<&Value>,
        idempotent: bool,
    ) -> Result<Answer, CloudError> {
        let attempts = if idempotent { ATTEMPTS } else { 1 };
        let mut last = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(250 * u64::from(attempt)));
            }
            let mut rb = self
                .client
                .request(method.clone(), url)
                .timeout(REQUEST_TIMEOUT);
            rb = add_headers(rb, headers);
            if let Some(j) = json {
                rb = rb.json(j);
            }
            match rb.send() {
                Ok(resp) => return read_answer(method, url, resp),
                // a refused redirect is an answer: asking again changes nothing
                Err(e) if super::redirect::off_origin(&e).is_some() => {
                    return Err(transport(&method, url, Some(&e)));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(transport(&method, url, last.as_ref()))
    }

    /// Send `body` (streamed, never retried: the reader is consumed).
    pub(crate) fn send_body(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Result<Answer, CloudError> {
        let rb = add_headers(self.client.request(method.clone(), url), headers).body(body);
        match rb.send() {
            Ok(resp) => read_answer(method, url, resp),
            Err(e) => Err(transport(&method, url, Some(&e))),
        }
    }
}

fn add_headers(mut rb: RequestBuilder, headers: &[(&str, &str)]) -> RequestBuilder {
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    rb
}

fn read_answer(method: Method, url: &str, resp: Response) -> Result<Answer, CloudError> {
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .bytes()
        .map_err(|e| transport(&method, url, Some(&e)))?;
    if !status.is_success() {
        return Err(CloudError::Http {
            method: method.to_string(),
            url: url.to_owned(),
            status: status.as_u16(),
            body: excerpt(&body),
        });
    }
    Ok(Answer {
        headers,
        body: body.to_vec(),
        method,
        url: url.to_owned(),
    })
}

fn transport(method: &Method, url: &str, e: Option<&reqwest::Error>) -> CloudError {
    if let Some(to) = e.and_then(super::redirect::off_origin) {
        return CloudError::Redirect {
            method: method.to_string(),
            url: url.to_owned(),
            to: to.to_string(),
        };
    }
    CloudError::Transport {
        method: method.to_string(),
        url: url.to_owned(),
        message: e.map_or_else(|| "no answer".to_owned(), |e| chain(e)),
    }
}

/// An error and its sources joined with ": ", without repeats.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// The start of a response body for an error message: HTML tags dropped,
/// common entities decoded, whitespace collapsed, at most 300 characters.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return "(empty body)".to_owned();
    }
    if collapsed.chars().count() > EXCERPT_CHARS {
        let cut: String = collapsed.chars().take(EXCERPT_CHARS).collect();
        format!("{cut}...")
    } else {
        collapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_strips_html_and_entities() {
        let body = b"<html>\n <head>\n  <title>400 Bad Request</title>\n </head>\n <body>\n  <h1>400 Bad Request</h1>\n  Provided object does not match schema &#x27;image&#x27;\n</body></html>";
        assert_eq!(
            excerpt(body),
            "400 Bad Request 400 Bad Request Provided object does not match schema 'image'"
        );
    }

    #[test]
    fn excerpt_keeps_json_and_truncates() {
        let json = br#"{"error":{"code":401,"message":"The request you have made requires authentication."}}"#;
        assert_eq!(excerpt(json), String::from_utf8_lossy(json));
        let long = "x".repeat(1000);
        assert_eq!(excerpt(long.as_bytes()).len(), 303);
        assert_eq!(excerpt(b"  \n"), "(empty body)");
    }
}
