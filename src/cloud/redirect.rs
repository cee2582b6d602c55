//! The redirect policy of the cloud client: same origin only.
//!
//! reqwest's default policy follows up to 10 redirects anywhere and drops
//! only the standard credential headers (`Authorization`, cookies) when the
//! host changes; Keystone's `X-Auth-Token` would go along to whatever a
//! redirect names, and a 307/308 would re-send the password body. So a
//! redirect is followed only to the origin (scheme, host, port) of the
//! request it answers; any other is refused with [`OffOrigin`], which
//! [`super::http`] reports as [`super::CloudError::Redirect`].
use reqwest::Url;
use reqwest::redirect::{Attempt, Policy};

/// Redirects followed within one origin before giving up.
const MAX_REDIRECTS: usize = 10;

/// The policy: follow same-origin redirects (at most [`MAX_REDIRECTS`]),
/// refuse any other.
pub(crate) fn same_origin_only() -> Policy {
    Policy::custom(decide)
}

fn decide(attempt: Attempt<'_>) -> reqwest::redirect::Action {
    let Some(first) = attempt.previous().first().cloned() else {
        return attempt.stop();
    };
    if !same_origin(&first, attempt.url()) {
        let to = attempt.url().clone();
        return attempt.error(OffOrigin { to });
    }
    if attempt.previous().len() > MAX_REDIRECTS {
        return attempt.error(TooMany);
    }
    attempt.follow()
}

/// Whether `a` and `b` have the same scheme, host and (effective) port.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// A redirect to another origin, refused.
#[derive(Debug)]
pub(crate) struct OffOrigin {
    /// Where the server wanted us to go.
    pub(crate) to: Url,
}

impl std::fmt::Display for OffOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "redirect to another origin ({}) refused", self.to)
    }
}

impl std::error::Error for OffOrigin {}

#[derive(Debug)]
struct TooMany;

impl std::fmt::Display for TooMany {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {MAX_REDIRECTS} redirects")
    }
}

impl std::error::Error for TooMany {}

/// The refused destination, when `e` is a refused off-origin redirect.
pub(crate) fn off_origin(e: &reqwest::Error) -> Option<&Url> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(o) = err.downcast_ref::<OffOrigin>() {
            return Some(&o.to);
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use reqwest::Method;
    use serde_json::json;

    use super::*;
    use crate::cloud::CloudError;
    use crate::cloud::config::CloudConfig;
    use crate::cloud::http::Http;

    /// A loopback HTTP server answering each connection with the next of
    /// `answers` (`Connection: close`; `{PORT}` is its own port) and
    /// recording every request's head and body.
    struct Server {
        port: u16,
        seen: Arc<Mutex<Vec<String>>>,
    }

    impl Server {
        fn start(answers: Vec<String>) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let answers: Vec<String> = answers
                .iter()
                .map(|a| a.replace("{PORT}", &port.to_string()))
                .collect();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let log = Arc::clone(&seen);
            std::thread::spawn(move || {
                for answer in answers {
                    let Ok((stream, _)) = listener.accept() else {
                        return;
                    };
                    let mut r = BufReader::new(stream.try_clone().unwrap());
                    let mut head = String::new();
                    let mut len = 0;
                    loop {
                        let mut line = String::new();
                        if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                        head.push_str(&line);
                    }
                    let mut body = vec![0; len];
                    r.read_exact(&mut body).unwrap();
                    head.push_str(&String::from_utf8_lossy(&body));
                    log.lock().unwrap().push(head);
                    let mut w = stream;
                    w.write_all(answer.as_bytes()).unwrap();
                }
            });
            Server { port, seen }
        }

        fn requests(&self) -> Vec<String> {
            self.seen.lock().unwrap().clone()
        }
    }

    fn redirect(status: &str, location: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    }

    fn ok() -> String {
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}".into()
    }

    fn http() -> Http {
        let cloud = CloudConfig::from_value(
            "test",
            "test",
            &json!({"auth": {"auth_url": "http://127.0.0.1:1/v3", "user_id": "u", "password": "pw"}}),
        )
        .unwrap();
        Http::new(&cloud).unwrap()
    }

    #[test]
    fn a_redirect_to_another_port_is_refused_and_gets_no_token() {
        let elsewhere = Server::start(vec![ok(), ok()]);
        let to = format!("http://127.0.0.1:{}/v2/images", elsewhere.port);
        let origin = Server::start(vec![redirect("302 Found", &to)]);
        let url = format!("http://127.0.0.1:{}/v2/images", origin.port);
        let err = http()
            .send(
                Method::GET,
                &url,
                &[("X-Auth-Token", "tok-s3cret")],
                None,
                true,
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "GET {url}: the server redirects to another origin ({to}); vmbuild follows redirects only within the origin it was given, so no token or password goes there: use that address in the configuration (clouds.yaml `auth_url`, `image_endpoint_override`)"
            )
        );
        assert!(matches!(err, CloudError::Redirect { .. }));
        assert_eq!(origin.requests().len(), 1, "not retried");
        assert!(origin.requests()[0].contains("tok-s3cret"));
        assert!(
            elsewhere.requests().is_empty(),
            "{:?}",
            elsewhere.requests()
        );
    }

    #[test]
    fn a_307_does_not_resend_the_password_to_another_host() {
        // the same server under another name is another origin all the same
        let origin = Server::start(vec![
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://localhost:{PORT}/v3/auth/tokens\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
            ok(),
        ]);
        let url = format!("http://127.0.0.1:{}/v3/auth/tokens", origin.port);
        let body = json!({"auth": {"identity": {"password": {"user": {"password": "pw-s3cret"}}}}});
        let err = http()
            .send(Method::POST, &url, &[], Some(&body), false)
            .unwrap_err();
        assert!(matches!(err, CloudError::Redirect { .. }), "{err}");
        let seen = origin.requests();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].contains("pw-s3cret"));
    }

    #[test]
    fn same_origin_redirects_are_followed_with_the_token() {
        let s = Server::start(vec![redirect("301 Moved Permanently", "/v2/images/"), ok()]);
        let url = format!("http://127.0.0.1:{}/v2/images", s.port);
        let a = http()
            .send(Method::GET, &url, &[("X-Auth-Token", "tok")], None, true)
            .unwrap();
        assert_eq!(a.body, b"{}");
        let seen = s.requests();
        assert_eq!(seen.len(), 2);
        assert!(seen[1].starts_with("GET /v2/images/ "), "{}", seen[1]);
        assert!(
            seen[1].to_ascii_lowercase().contains("x-auth-token: tok"),
            "{}",
            seen[1]
        );
    }

    #[test]
    fn origins_compare_scheme_host_and_effective_port() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(same_origin(
            &u("https://a.example/x"),
            &u("https://a.example:443/y")
        ));
        assert!(!same_origin(
            &u("https://a.example/x"),
            &u("http://a.example/x")
        ));
        assert!(!same_origin(
            &u("http://a.example/x"),
            &u("http://b.example/x")
        ));
        assert!(!same_origin(
            &u("http://a.example:80/"),
            &u("http://a.example:8080/")
        ));
    }
}
