//! Serving one connection from the guest (a forwarded SSH channel or a TCP
//! socket): requests one after the other, each routed, answered from the
//! store or fetched upstream first.
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite, BufReader};

use super::CacheError;
use super::http::{Request, read_request, send_bytes, send_file};
use super::pypi::html_page;
use super::route::{NPM_REGISTRY, PYPI_SIMPLE, Route, route};
use super::stats::{Kind, Stats};
use super::store::{Fetched, Store};

/// Everything a connection needs; shared by all of a run's connections.
#[derive(Debug)]
pub struct Server {
    /// The files.
    pub store: Store,
    /// Upstream client.
    pub client: reqwest::Client,
    /// Hits and misses.
    pub stats: Stats,
    /// Debian mirrors apt is sent here for (`host[:port]`).
    pub apt_hosts: Vec<String>,
    /// Problems worth telling the user (upstream failures), deduplicated.
    pub problems: std::sync::Mutex<Vec<String>>,
    /// Keys served in this run (each file is counted once).
    pub seen: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Server {
    /// Serve `stream` until the client closes it or an error ends it.
    pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(self: Arc<Self>, stream: S) {
        let (r, mut w) = tokio::io::split(stream);
        let mut r = BufReader::new(r);
        loop {
            let req = match read_request(&mut r).await {
                Ok(Some(req)) => req,
                Ok(None) => return,
                Err(e) => {
                    self.note(e.to_string());
                    return;
                }
            };
            let close = req.close;
            if let Err(e) = self.answer(&mut w, &req).await {
                // the guest went away mid-answer: nothing more to say to it
                self.note(format!("answering `{}`: {e}", req.target));
                return;
            }
            if close {
                return;
            }
        }
    }

    /// Whether `key` is served for the first time in this run.
    fn first_time(&self, key: &str) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned())
    }

    fn note(&self, problem: String) {
        let mut p = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        if !p.contains(&problem) && p.len() < 20 {
            p.push(problem);
        }
    }

    async fn answer<W: AsyncWrite + Unpin>(&self, w: &mut W, req: &Request) -> std::io::Result<()> {
        if req.method != "GET" && req.method != "HEAD" {
            return send_bytes(w, req, 405, "text/plain", b"GET and HEAD only\n").await;
        }
        match route(&req.target, &self.apt_hosts) {
            Route::AptFile { url, key } => {
                self.file(w, req, Some(Kind::Apt), &url, &key, None).await
            }
            Route::PypiFile { url, sha256, key } => {
                self.file(w, req, Some(Kind::Pypi), &url, &key, Some(&sha256))
                    .await
            }
            Route::PypiMetadata { url, key } => self.file(w, req, None, &url, &key, None).await,
            Route::NpmTarball { url, key } => {
                self.file(w, req, Some(Kind::Npm), &url, &key, None).await
            }
            Route::AptRelay { url } => {
                match super::upstream::get_small(&self.client, &url, None).await {
                    Ok((status, body)) => {
                        send_bytes(w, req, status, "application/octet-stream", &body).await
                    }
                    Err(e) => self.bad_gateway(w, req, e).await,
                }
            }
            Route::PypiProject { project } => {
                let url = format!("{PYPI_SIMPLE}{project}/");
                let json = "application/vnd.pypi.simple.v1+json";
                match super::upstream::get_small(&self.client, &url, Some(json)).await {
                    Ok((200, body)) => match html_page(&project, &body) {
                        Ok(page) => send_bytes(w, req, 200, "text/html", page.as_bytes()).await,
                        Err(e) => {
                            self.bad_gateway(w, req, CacheError::Upstream { url, message: e })
                                .await
                        }
                    },
                    Ok((status, body)) => send_bytes(w, req, status, "text/plain", &body).await,
                    Err(e) => self.bad_gateway(w, req, e).await,
                }
            }
            Route::NpmPackage { url } => {
                let accept = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8";
                match super::upstream::get_small(&self.client, &url, Some(accept)).await {
                    Ok((200, body)) => {
                        let here = format!(
                            "\"http://{}/npm/",
                            req.host.as_deref().unwrap_or("127.0.0.1")
                        );
                        let text = String::from_utf8_lossy(&body)
                            .replace(&format!("\"{NPM_REGISTRY}"), &here);
                        send_bytes(w, req, 200, "application/json", text.as_bytes()).await
                    }
                    Ok((status, body)) => {
                        send_bytes(w, req, status, "application/json", &body).await
                    }
                    Err(e) => self.bad_gateway(w, req, e).await,
                }
            }
            Route::Refused(why) => {
                send_bytes(w, req, 403, "text/plain", format!("{why}\n").as_bytes()).await
            }
        }
    }

    /// A file that never changes under its key: from the store, or fetched
    /// (and checked against `sha256`) first; counted under `kind` (wheel
    /// metadata files are not counted).
    async fn file<W: AsyncWrite + Unpin>(
        &self,
        w: &mut W,
        req: &Request,
        kind: Option<Kind>,
        url: &str,
        key: &str,
        sha256: Option<&str>,
    ) -> std::io::Result<()> {
        let ctype = "application/octet-stream";
        // each file counts once per run: a hit when it was in the store
        // already, a miss when it had to be fetched (uv reads a wheel's
        // metadata with range requests before it fetches the whole wheel)
        if let Some(p) = self.store.lookup(key) {
            if self.first_time(key)
                && let Some(k) = kind
            {
                self.stats.hit(k, size(&p));
            }
            return send_file(w, req, ctype, &p).await.map(|_| ());
        }
        match self.store.fetch(&self.client, url, key, sha256).await {
            Ok(Fetched::Stored(p)) => {
                if self.first_time(key)
                    && let Some(k) = kind
                {
                    self.stats.miss(k, size(&p));
                }
                send_file(w, req, ctype, &p).await.map(|_| ())
            }
            Ok(Fetched::Status(s)) => {
                send_bytes(
                    w,
                    req,
                    s,
                    "text/plain",
                    format!("upstream answered {s}\n").as_bytes(),
                )
                .await
            }
            Err(e) => {
                if let Some(k) = kind {
                    self.stats.failure(k);
                }
                self.bad_gateway(w, req, e).await
            }
        }
    }

    async fn bad_gateway<W: AsyncWrite + Unpin>(
        &self,
        w: &mut W,
        req: &Request,
        e: CacheError,
    ) -> std::io::Result<()> {
        let text = e.to_string();
        self.note(text.clone());
        send_bytes(w, req, 502, "text/plain", format!("{text}\n").as_bytes()).await
    }
}

fn size(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}
